"""Per-account receipt options: message id text and receipt dates."""
from __future__ import annotations

import calendar

import pytest

from smsc.accounts.ids import DEFAULT_ID_FORMAT, ID_LIMIT, MessageIdFormat
from smsc.accounts.live import LiveAccount
from smsc.config import LimitsConfig
from smsc.engine import format_message_id
from smsc.pdu.codec import encode
from smsc.pdu.receipt import date_formatter, encode_receipt, format_date, parse_receipt_text, receipt_pdu
from smsc.records import Account

IDS = (0, 1, 0x1B9F0E5A00001, ID_LIMIT - 1)


@pytest.mark.parametrize("fmt", [
    MessageIdFormat(), MessageIdFormat("hex", 16), MessageIdFormat("hex", 64),
    MessageIdFormat("decimal"), MessageIdFormat("decimal", 20), MessageIdFormat("uuid"),
])
def test_ids_round_trip(fmt):
    for n in IDS:
        s = fmt.format(n)
        assert fmt.parse(s) == n and len(s) <= 64
        assert fmt.parse(s.upper()) == n  # some clients upper-case ids
        if fmt.width:
            assert len(s) == fmt.width


def test_id_text_by_format():
    n = 0x1B9F0E5A00001
    assert MessageIdFormat().format(n) == format_message_id(n) == "1b9f0e5a00001"
    assert MessageIdFormat("hex", 16).format(n) == "0001b9f0e5a00001"
    assert MessageIdFormat("decimal").format(n) == str(n)
    assert MessageIdFormat("decimal", 20).format(n) == f"{n:020d}"
    assert MessageIdFormat("uuid").format(n) == "00000000-0000-0000-0001-b9f0e5a00001"
    assert len(MessageIdFormat("uuid").format(ID_LIMIT - 1)) == 36


def test_strangers_are_none():
    dec = MessageIdFormat("decimal", 20)
    for s in ("", "x", "-1", "+1", " 1", "1_0", "1", "٣" * 20, str(ID_LIMIT).zfill(20), "0" * 21):
        assert dec.parse(s) is None, s
    hexa = MessageIdFormat("hex", 16)
    assert hexa.parse("1b9f0e5a00001") is None  # unpadded: not this account's id
    assert DEFAULT_ID_FORMAT.parse("01f") is None and DEFAULT_ID_FORMAT.parse("1F") == 31
    uid = MessageIdFormat("uuid")
    for s in ("1f", "{00000000-0000-0000-0000-00000000001f}", "0000000000000000000000000000001f",
              "80000000-0000-0000-0000-000000000000", "00000000-0000-0000-8000-000000000000"):
        assert uid.parse(s) is None, s
    # another format's id is not taken
    assert dec.parse(MessageIdFormat().format(31)) is None


@pytest.mark.parametrize("kind, width", [
    ("octal", 0), ("hex", 15), ("hex", 65), ("decimal", 18), ("decimal", -1), ("uuid", 36),
])
def test_widths_that_cannot_hold_the_ids_are_refused(kind, width):
    with pytest.raises(ValueError):
        MessageIdFormat(kind, width)


def _utc(*t):
    return float(calendar.timegm(t))


def test_dates_in_a_zone_with_dst():
    kyiv = date_formatter(False, "Europe/Kyiv")
    kyiv12 = date_formatter(True, "Europe/Kyiv")
    winter = _utc(2026, 11, 18, 11, 6, 40)  # EET, +2
    summer = _utc(2026, 7, 1, 21, 30, 5)  # EEST, +3: the next day there
    assert (kyiv(winter), kyiv12(winter)) == ("2611181306", "261118130640")
    assert (kyiv(summer), kyiv12(summer)) == ("2607020030", "260702003005")
    # cached per minute / per second: still right when asked again
    assert (kyiv(winter + 10), kyiv12(winter + 1)) == ("2611181306", "261118130641")
    # DST starts 2026-03-29 01:00 UTC: 02:59:59 +2 -> 04:00:00 +3
    assert kyiv12(_utc(2026, 3, 29, 0, 59, 59)) == "260329025959"
    assert kyiv12(_utc(2026, 3, 29, 1, 0, 0)) == "260329040000"


def test_default_dates_are_the_shared_fast_path():
    assert date_formatter() is format_date
    assert date_formatter(False, "UTC") is format_date
    t = _utc(2026, 11, 18, 11, 6, 40)
    assert date_formatter(True)(t) == format_date(t, seconds=True) == "261118110640"
    with pytest.raises(KeyError, match="Mars/Olympus_Mons"):
        date_formatter(False, "Mars/Olympus_Mons")


def test_encode_receipt_with_options_equals_the_general_encoder():
    fmt, dates = MessageIdFormat("decimal", 20), date_formatter(True, "Europe/Kyiv")
    mid = fmt.format(0x1B9F0E5A00001)
    args = (7, mid, "DELIVRD", 0, _utc(2026, 7, 1, 9, 0, 0), _utc(2026, 7, 1, 9, 0, 3),
            5, 0, "SMSClub", 1, 1, "380671234567", b"hello", 0x04)
    raw = encode_receipt(*args, dates)
    pdu = receipt_pdu(*args, dates)
    assert raw == encode(pdu)
    fields = parse_receipt_text(pdu.short_message)
    assert fields is not None
    assert (fields["id"], fields["submit_date"], fields["done_date"]) == (mid, "260701120000", "260701120003")


def test_live_account_caches_its_options():
    record = Account("acc", "h", "user", 0)
    live = LiveAccount(record, LimitsConfig(), 0, 0, 0.0)
    assert live.format_id(255) == "ff" and live.format_date is format_date
    live.update(Account("acc", "h", "user", 0, id_format="decimal", id_width=20,
                        receipt_seconds=True, receipt_tz="Europe/Kyiv"), 0.0)
    assert live.format_id(255) == "0" * 17 + "255" and live.id_format.parse("0" * 17 + "255") == 255
    assert live.format_date(_utc(2026, 11, 18, 11, 6, 40)) == "261118130640"
    fmt = live.format_id
    live.update(Account("acc", "h", "user", 5, id_format="decimal", id_width=20,
                        receipt_seconds=True, receipt_tz="Europe/Kyiv"), 0.0)
    assert live.format_id is fmt  # unchanged options: nothing rebuilt
    # a store edited by hand: the defaults, not a failing bind
    live.update(Account("acc", "h", "user", 0, id_format="octal", receipt_tz="Nowhere/Land"), 0.0)
    assert live.format_id(255) == "ff" and live.format_date(0.0) == "7001010000"
