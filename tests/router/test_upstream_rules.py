"""Router mode's pure rules (smsc/operators/upstream_rules.py)."""
from __future__ import annotations

import struct

import pytest

from smsc.operators.upstream_rules import (
    RETRY, canonical, id_keys, is_receipt, parse_receipt, parts, refusal_stat, worst,
)
from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.constants import Tag
from smsc.pdu.pdus import DataSm, DeliverSm
from smsc.pdu.text import analyse, split
from smsc.records import Message


@pytest.mark.parametrize("status, stat", [
    (S.ESME_RINVDSTADR, "REJECTD"), (S.ESME_RINVSRCADR, "REJECTD"), (S.ESME_RINVMSGLEN, "REJECTD"),
    (0x45, "UNDELIV"), (S.ESME_RSYSERR, "UNDELIV"), (S.ESME_RX_T_APPN, "UNDELIV"), (0x401, "REJECTD"),
])
def test_a_refusal_is_rejectd_unless_it_is_the_upstreams_own_failure(status, stat):
    assert refusal_stat(status) == stat


def test_throttling_and_a_full_queue_are_retried():
    assert RETRY == {S.ESME_RTHROTTLED, S.ESME_RMSGQFUL}


@pytest.mark.parametrize("given, keys", [
    ("6A1F3C0000001", ("6a1f3c0000001", str(0x6A1F3C0000001))),
    ("000123", ("123", "7b", "291")),  # padded decimal: itself, as hex, as decimal of hex
    ("abc-def", ("abc-def",)),          # neither: a uuid-ish id only matches itself
    ("0", ("0",)),
])
def test_an_id_is_tried_as_written_then_in_the_other_base(given, keys):
    assert id_keys(given) == keys
    assert canonical(given) == keys[0]


def _receipt_pdu(text: bytes, tlvs=(), esm: int = 0x04) -> DeliverSm:
    return DeliverSm(sequence_number=1, esm_class=esm, short_message=text, tlvs=tuple(tlvs))


def test_the_receipted_message_id_tlv_wins_over_the_text():
    pdu = _receipt_pdu(b"id:999 sub:001 dlvrd:000 submit date:2601011200 done date:2601011201 "
                       b"stat:UNDELIV err:034 text:hi", [(Tag.RECEIPTED_MESSAGE_ID, b"ABC\0")])
    r = parse_receipt(pdu)
    assert r is not None and (r.keys[0], r.stat, r.error, r.intermediate) == ("abc", "UNDELIV", 34, False)


def test_a_receipt_with_only_tlvs_gives_its_state_and_network_error():
    tlvs = [(Tag.RECEIPTED_MESSAGE_ID, b"77\0"), (Tag.MESSAGE_STATE, b"\x03"),
            (Tag.NETWORK_ERROR_CODE, struct.pack(">BH", 3, 27))]
    r = parse_receipt(DataSm(sequence_number=1, esm_class=0x04, tlvs=tuple(tlvs)))
    assert r is not None and (r.keys[0], r.stat, r.error) == ("77", "EXPIRED", 27)


@pytest.mark.parametrize("text, keys0, stat, error", [
    (b"ID:00012 Sub:001 Stat:UNDELIV ERR:005 text:stat:DELIVRD", "12", "UNDELIV", 5),  # any case, first wins
    (b"msgid:5 id: 7 substat:X xerr:9 stat:  REJECTD err:3", "7", "REJECTD", 3),  # fields start a word
    (b"id:AbC_1 stat:delivrd err:000", "abc_1", "DELIVRD", 0),
])
def test_receipt_text_fields_are_read_in_any_case_at_a_word_start(text, keys0, stat, error):
    r = parse_receipt(_receipt_pdu(text))
    assert r is not None and (r.keys[0], r.stat, r.error) == (keys0, stat, error)


@pytest.mark.parametrize("word, stat", [
    ("DELIVRD", "DELIVRD"), ("delivered", "DELIVRD"), ("UNKNOWN", "NOREPORT"), ("REJECTED", "REJECTD"),
    ("DELETED", "DELETED"), ("FAILED", "FAILED"), ("ACCEPTD", "ACCEPTD"),
])
def test_stat_words_of_the_wild_map_to_ours(word, stat):
    r = parse_receipt(_receipt_pdu(f"id:1 stat:{word} err:0".encode()))
    assert r is not None and r.stat == stat


def test_an_unreadable_receipt_is_none_and_an_intermediate_one_is_enroute():
    assert parse_receipt(_receipt_pdu(b"no fields here")) is None
    assert parse_receipt(_receipt_pdu(b"id:1 stat:WHATEVER err:0")) is None
    r = parse_receipt(_receipt_pdu(b"id:1 stat:ENROUTE err:000", esm=0x20))
    assert r is not None and (r.stat, r.intermediate) == ("ENROUTE", True)


def test_what_is_a_receipt_and_what_is_an_mo():
    assert is_receipt(_receipt_pdu(b"", esm=0x04)) and is_receipt(_receipt_pdu(b"", esm=0x20))
    assert not is_receipt(_receipt_pdu(b"hello", esm=0x00)) and not is_receipt(_receipt_pdu(b"", esm=0x40))
    assert is_receipt(DataSm(sequence_number=1, tlvs=((Tag.RECEIPTED_MESSAGE_ID, b"1\0"),)))
    assert not is_receipt(DataSm(sequence_number=1))


def test_the_worst_part_wins():
    assert worst([("DELIVRD", 0), ("EXPIRED", 27), ("UNDELIV", 1)]) == ("UNDELIV", 1)
    assert worst([("DELIVRD", 0), ("NOREPORT", 0)]) == ("NOREPORT", 0)
    assert worst([("DELETED", 0), ("REJECTD", 13)]) == ("REJECTD", 13)


def _stored(text: str) -> Message:
    a = analyse(text.encode("utf-16-be"), 8, max_segments=10)
    return Message(0x1234, "shop", 5, 0, "Shop", 1, 1, "380671234567", 0, a.data_coding, 1, a.payload,
                   0.0, "380671234567", "kyivstar", a.segments), a


@pytest.mark.parametrize("text", ["hello", "x" * 161, "Привіт " * 30, "€" * 100, "a" * 152 + "€"])
def test_parts_of_a_stored_message_are_the_split_the_engine_billed(text):
    m, a = _stored(text)
    got = parts(m, None)
    assert [body for body, _ in got] == split(a, 0x34)
    assert len(got) == a.segments
    if a.segments > 1:
        assert all(udh == bytes((5, 0, 3, 0x34, a.segments, seq)) for seq, (_, udh) in enumerate(got, 1))
    else:
        assert got == [(a.payload, b"")]


def test_a_client_segment_goes_with_its_udh():
    m, _ = _stored("hi")
    assert parts(m, b"\x05\x00\x03\x01\x02\x01") == [(b"\x05\x00\x03\x01\x02\x01" + m.short_message,
                                                      b"\x05\x00\x03\x01\x02\x01")]
