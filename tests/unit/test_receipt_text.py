import struct

from smsc.pdu.constants import ESM_CLASS_DELIVERY_RECEIPT, MessageState, Tag
from smsc.pdu.pdus import DeliverSm, tlv_value
from smsc.pdu.receipt import format_date, parse_receipt_text, receipt_pdu, receipt_text, text_sample

T0 = 1795000000.0  # 2026-11-18 11:06:40 UTC


def test_date_formats():
    assert format_date(T0) == "2611181106"
    assert format_date(T0, seconds=True) == "261118110640"
    assert format_date(T0 + 20) == "2611181107"


def test_text_is_appendix_b_exactly():
    text = receipt_text("1a2b", "DELIVRD", 0, T0, T0 + 60, b"hello world")
    assert text == (
        b"id:1a2b sub:001 dlvrd:001 submit date:2611181106 done date:2611181107 "
        b"stat:DELIVRD err:000 text:hello world"
    )
    undeliv = receipt_text("ff", "UNDELIV", 34, T0, T0, b"")
    assert b"dlvrd:000 " in undeliv and b"err:034 " in undeliv and undeliv.endswith(b"text:")


def test_parse_roundtrip_and_rejects_other_text():
    fields = parse_receipt_text(receipt_text("abc", "EXPIRED", 1, T0, T0, b"x y z"))
    assert fields == {
        "id": "abc", "sub": "001", "dlvrd": "000", "submit_date": "2611181106",
        "done_date": "2611181106", "stat": "EXPIRED", "err": "001", "text": "x y z",
    }
    assert parse_receipt_text(b"hello, not a receipt") is None
    assert parse_receipt_text(b"id:1 sub:001 dlvrd:001 submit date:26 done date:26 stat:X err:0 text:") is None


def test_sample_is_twenty_characters_as_ascii():
    assert text_sample(b"a" * 30, 0) == b"a" * 20
    assert text_sample("Привіт, світе! Як справи у вас?".encode("utf-16-be"), 8) == b"??????, ?????! ?? ??"
    assert text_sample(b"caf\xe9", 3) == b"caf?"


def test_receipt_pdu_fields():
    pdu = receipt_pdu(9, "abc", "UNDELIV", 21, T0, T0, 5, 0, "SMSClub", 1, 1, "380671234567", b"hi")
    assert type(pdu) is DeliverSm and pdu.sequence_number == 9
    assert pdu.esm_class == ESM_CLASS_DELIVERY_RECEIPT
    assert pdu.short_message.startswith(b"id:abc sub:001 dlvrd:000 ") and pdu.short_message.endswith(b"text:hi")
    assert (pdu.source_addr, pdu.source_addr_ton, pdu.destination_addr, pdu.dest_addr_ton) == (
        "380671234567", 1, "SMSClub", 5)
    assert tlv_value(pdu.tlvs, Tag.RECEIPTED_MESSAGE_ID) == b"abc\0"
    assert tlv_value(pdu.tlvs, Tag.MESSAGE_STATE) == bytes([MessageState.UNDELIVERABLE])
    assert tlv_value(pdu.tlvs, Tag.NETWORK_ERROR_CODE) == struct.pack(">BH", 3, 21)


def test_hot_path_encoder_matches_the_general_one():
    from smsc.pdu.codec import encode
    from smsc.pdu.receipt import encode_receipt

    for stat, err in (("DELIVRD", 0), ("UNDELIV", 34), ("REJECTD", 13)):
        args = (7, "1b9f0e5a00001", stat, err, T0, T0 + 90, 5, 0, "SMSClub", 1, 1, "380671234567", b"hello")
        assert encode_receipt(*args) == encode(receipt_pdu(*args))


def test_intermediate_notification_is_the_same_format_with_esm_class_0x20():
    from smsc.pdu.codec import encode
    from smsc.pdu.constants import ESM_CLASS_INTERMEDIATE_NOTIFICATION
    from smsc.pdu.receipt import encode_receipt

    args = (8, "1b9f0e5a00002", "ENROUTE", 0, T0, T0 + 5, 5, 0, "SMSClub", 1, 1, "380671234567", b"hello",
            ESM_CLASS_INTERMEDIATE_NOTIFICATION)
    pdu = receipt_pdu(*args)
    assert pdu.esm_class == ESM_CLASS_INTERMEDIATE_NOTIFICATION
    assert tlv_value(pdu.tlvs, Tag.MESSAGE_STATE) == bytes([MessageState.ENROUTE])
    fields = parse_receipt_text(pdu.short_message)
    assert (fields["stat"], fields["dlvrd"], fields["err"]) == ("ENROUTE", "000", "000")
    assert encode_receipt(*args) == encode(pdu)
    assert encode_receipt(*args[:-1]) == encode(receipt_pdu(*args[:-1]))  # 0x04 by default
    assert receipt_pdu(*args[:-1]).esm_class == ESM_CLASS_DELIVERY_RECEIPT
