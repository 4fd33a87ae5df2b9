"""data_sm as a submission and submit_multi, over TCP.

The request bodies are built here with ``struct`` (not our codec), and the
responses taken apart by hand. Every destination routes to Kyivstar at
PRICE kopecks a segment, so the balance counts the billed messages.
"""
from __future__ import annotations

import itertools
import struct

import pytest

from clients import (
    PW, RawConn, balance, bound, cstr, new_user, parse_deliver_sm, parse_query_resp, query_body, tlv,
)
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.constants import MessageState as MS
from smsc.pdu.constants import Tag
from smsc.pdu.receipt import parse_receipt_text

PRICE = 10
#: no operator serves 020: no route
UNROUTABLE = "380201234567"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    from server_process import ServerProcess, write_config

    d = tmp_path_factory.mktemp("multi")
    cfg = write_config(d / "c.toml", d / "s.db", operators_kyivstar={"price": PRICE})
    s = ServerProcess(cfg).start()
    yield s
    s.kill()


_seq = itertools.count(2)








def data_sm_body(src: str = "SMSClub", dst: str = "380671234567", text: bytes = b"hello data",
                 rd: int = 1, *, ton: int = 5, dc: int = 0, extra_tlvs: bytes = b"") -> bytes:
    """SMPP 3.4 4.7.1: service_type, source, destination, esm_class,
    registered_delivery, data_coding, then TLVs (the body in message_payload)."""
    return (
        cstr("") + bytes([ton, 0]) + cstr(src) + bytes([1, 1]) + cstr(dst)
        + bytes([0, rd, dc]) + tlv(Tag.MESSAGE_PAYLOAD, text) + extra_tlvs
    )


def multi_body(dests: list[tuple[int, str]], src: str = "SMSClub", text: bytes = b"hi all",
               rd: int = 1) -> bytes:
    """SMPP 3.4 4.5.1; ``dests``: (dest_flag, address); SME ones are TON 1 NPI 1."""
    out = cstr("") + bytes([5, 0]) + cstr(src) + bytes([len(dests)])
    for flag, address in dests:
        out += (bytes([1, 1, 1]) if flag == 1 else bytes([2])) + cstr(address)
    return out + bytes([0, 0, 0]) + cstr("") + cstr("") + bytes([rd, 0, 0, 0, len(text)]) + text


def parse_multi_resp(body: bytes) -> tuple[str, list[tuple[int, int, str, int]]]:
    """submit_multi_resp body -> (message_id, [(ton, npi, address, error_status_code)])."""
    end = body.index(b"\0")
    message_id, at = body[:end].decode(), end + 1
    count = body[at]
    at += 1
    failed = []
    for _ in range(count):
        ton, npi = body[at], body[at + 1]
        end = body.index(b"\0", at + 2)
        address = body[at + 2:end].decode()
        (code,) = struct.unpack_from(">I", body, end + 1)
        failed.append((ton, npi, address, code))
        at = end + 5
    assert at == len(body)
    return message_id, failed


def receipts_by_id(c: RawConn, ids: set[str]) -> dict[str, object]:
    c.wait_delivered(lambda got: ids <= {
        parse_deliver_sm(r.body).tlvs.get(Tag.RECEIPTED_MESSAGE_ID, b"").rstrip(b"\0").decode()
        for r in got
    })
    out = {}
    for r in c.delivered:
        d = parse_deliver_sm(r.body)
        out[d.tlvs[Tag.RECEIPTED_MESSAGE_ID].rstrip(b"\0").decode()] = d
    return out


# --- data_sm -------------------------------------------------------------------


def test_data_sm_is_accepted_billed_and_receipted(srv):
    sid = new_user(srv)
    c = bound(srv, sid)
    seq = next(_seq)
    r = c.call(C.DATA_SM, seq, data_sm_body(text=b"x" * 200))  # 200 GSM chars: 2 segments
    assert r.status == S.ESME_ROK
    message_id = r.body.rstrip(b"\0").decode()
    assert message_id
    d = receipts_by_id(c, {message_id})[message_id]
    assert d.esm_class == 0x04  # a deliver_sm receipt, as for submit_sm
    assert (d.source_addr, d.destination_addr) == ("380671234567", "SMSClub")
    f = parse_receipt_text(d.short_message)
    assert (f["id"], f["stat"]) == (message_id, "DELIVRD")
    assert f["text"] == "x" * 20
    assert balance(srv, sid) == 10000 - 2 * PRICE
    q = c.call(C.QUERY_SM, next(_seq), query_body(message_id))
    assert q.status == S.ESME_ROK
    assert parse_query_resp(q.body)[2] == MS.DELIVERED


def test_data_sm_with_qos_time_to_live_is_accepted(srv):
    sid = new_user(srv)
    c = bound(srv, sid)
    ttl = tlv(Tag.QOS_TIME_TO_LIVE, struct.pack(">I", 3600))
    assert c.call(C.DATA_SM, next(_seq), data_sm_body(rd=0, extra_tlvs=ttl)).status == S.ESME_ROK
    assert balance(srv, sid) == 10000 - PRICE


def test_data_sm_refusals_use_the_submit_sm_rules(srv):
    sid = new_user(srv)
    c = bound(srv, sid)
    assert c.call(C.DATA_SM, next(_seq), data_sm_body(src="Unknown")).status == S.ESME_RINVSRCADR
    assert c.call(C.DATA_SM, next(_seq), data_sm_body(dst=UNROUTABLE)).status == S.ESME_RINVDSTADR
    assert c.call(C.DATA_SM, next(_seq), data_sm_body(text=b"a" * 613)).status == S.ESME_RINVMSGLEN
    assert balance(srv, sid) == 10000
    # the session goes on
    assert c.call(C.DATA_SM, next(_seq), data_sm_body(rd=0)).status == S.ESME_ROK


def test_data_sm_from_a_receiver_is_rinvbndsts(srv):
    sid = new_user(srv)
    c = RawConn(srv.connect_raw())
    assert c.bind(C.BIND_RECEIVER, sid, PW).status == S.ESME_ROK
    assert c.call(C.DATA_SM, next(_seq), data_sm_body()).status == S.ESME_RINVBNDSTS


# --- submit_multi --------------------------------------------------------------


def test_submit_multi_each_destination_is_its_own_message(srv):
    sid = new_user(srv)
    c = bound(srv, sid)
    dests = [(1, "380671230001"), (1, UNROUTABLE), (1, "+380671230002"), (2, "friends")]
    r = c.call(C.SUBMIT_MULTI, next(_seq), multi_body(dests))
    assert r.status == S.ESME_ROK
    message_id, failed = parse_multi_resp(r.body)
    assert failed == [(1, 1, UNROUTABLE, S.ESME_RINVDSTADR), (0, 0, "friends", S.ESME_RINVDLNAME)]
    assert balance(srv, sid) == 10000 - 2 * PRICE
    # one receipt per accepted destination, each with its own id; the
    # response's id is the first one's
    receipts = c.wait_delivered(lambda got: len(got) >= 2)
    by_dest = {parse_deliver_sm(x.body).source_addr: parse_deliver_sm(x.body) for x in receipts}
    assert set(by_dest) == {"380671230001", "+380671230002"}
    ids = {dest: parse_receipt_text(d.short_message)["id"] for dest, d in by_dest.items()}
    assert ids["380671230001"] == message_id
    assert ids["+380671230002"] != message_id
    for mid in ids.values():
        q = c.call(C.QUERY_SM, next(_seq), query_body(mid))
        assert q.status == S.ESME_ROK
        assert parse_query_resp(q.body)[2] == MS.DELIVERED


def test_submit_multi_all_refused_answers_the_first_refusal(srv):
    sid = new_user(srv)
    c = bound(srv, sid)
    r = c.call(C.SUBMIT_MULTI, next(_seq), multi_body([(2, "staff"), (1, UNROUTABLE)]))
    assert r.status == S.ESME_RINVDLNAME
    message_id, failed = parse_multi_resp(r.body)
    assert message_id == ""
    assert [code for *_, code in failed] == [S.ESME_RINVDLNAME, S.ESME_RINVDSTADR]
    r = c.call(C.SUBMIT_MULTI, next(_seq), multi_body([(1, "380671230003")], src="Nope"))
    assert r.status == S.ESME_RINVSRCADR
    assert balance(srv, sid) == 10000


def test_submit_multi_balance_is_checked_per_destination(srv):
    sid = new_user(srv, balance="0.15")  # one message at 10 kopecks
    c = bound(srv, sid)
    r = c.call(C.SUBMIT_MULTI, next(_seq), multi_body([(1, "380671230004"), (1, "380671230005")], rd=0))
    assert r.status == S.ESME_ROK
    _, failed = parse_multi_resp(r.body)
    assert failed == [(1, 1, "380671230005", S.ESME_RSUBMITFAIL)]
    assert balance(srv, sid) == 15 - PRICE


@pytest.mark.parametrize(
    "body, status",
    [
        (cstr("") + bytes([5, 0]) + cstr("SMSClub") + b"\0", S.ESME_RINVNUMDESTS),  # no destinations
        (cstr("") + bytes([5, 0]) + cstr("SMSClub") + b"\x01\x07", S.ESME_RINVDESTFLAG),
        (cstr("") + bytes([5, 0]) + cstr("SMSClub") + b"\x02\x01\x01\x01", S.ESME_RINVCMDLEN),
        (multi_body([(1, "380671230006")])[:-2] + b"\x05", S.ESME_RINVMSGLEN),
    ],
    ids=["zero-dests", "bad-flag", "cut-short", "sm-length"],
)
def test_broken_submit_multi_gets_its_resp_and_the_session_lives(srv, body, status):
    sid = new_user(srv)
    c = bound(srv, sid)
    r = c.call(C.SUBMIT_MULTI, next(_seq), body)
    assert r.status == status
    assert c.call(C.ENQUIRE_LINK, next(_seq), b"").status == S.ESME_ROK
    assert c.call(C.SUBMIT_MULTI, next(_seq), multi_body([(1, "380671230007")], rd=0)).status == S.ESME_ROK
