from smsc.engine import format_message_id, parse_message_id, receipt_owed


def test_message_ids_round_trip_and_strangers_are_none():
    for n in (0, 1, 0x1B9F0E5A00001, (1 << 63) - 1):
        assert parse_message_id(format_message_id(n)) == n
    assert parse_message_id("1B9F0E5A00001") == 0x1B9F0E5A00001  # upper-cased by a client
    for s in ("", "xyz", "-1", "0x1f", " 1f", "1_f", "01f", format(1 << 63, "x")):
        assert parse_message_id(s) is None, s


def test_receipt_owed_by_registered_delivery():
    assert not receipt_owed(0, "DELIVRD") and not receipt_owed(0x10, "UNDELIV")
    assert receipt_owed(1, "DELIVRD") and receipt_owed(0x11, "DELETED")
    assert not receipt_owed(2, "DELIVRD") and receipt_owed(2, "UNDELIV") and receipt_owed(2, "DELETED")
