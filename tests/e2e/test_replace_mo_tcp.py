"""replace_sm and MO (mobile originated) messages over TCP.

Bodies are built with struct (tests/clients.py); MO deliveries are also
read with smpplib, the library users run.
"""
from __future__ import annotations

import itertools
import time

import pytest

from clients import PW, RawConn, balance, bound, cstr, new_user, parse_deliver_sm
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.receipt import parse_receipt_text

DELIVRD = "380671231001"
RULES = [{"suffix": "1001", "outcome": "DELIVRD", "delay": 0.0}]
#: relative SMPP times
IN_3_SECONDS = "000000000003000R"  # room for a balance check (a loaded machine) before the replace
ONE_MINUTE = "000000000100000R"

_seq = itertools.count(2)








def submit(c: RawConn, text: bytes, **kw) -> str:
    status, mid = c.submit(next(_seq), dst=DELIVRD, rd=1, text=text, **kw)
    assert S(status) is S.ESME_ROK, S(status).name
    return mid


def replace_body(mid: str, text: bytes, src: str = "SMSClub", schedule: str = "", validity: str = "",
                 rd: int = 1) -> bytes:
    return (cstr(mid) + bytes([5, 0]) + cstr(src) + cstr(schedule) + cstr(validity)
            + bytes([rd, 0, len(text)]) + text)


def replace(c: RawConn, mid: str, text: bytes, **kw) -> S:
    return S(c.call(C.REPLACE_SM, next(_seq), replace_body(mid, text, **kw)).status)


def receipt_for(c: RawConn, mid: str, timeout: float = 10.0):
    def found(delivered) -> bool:
        return any(parse_deliver_sm(p.body).tlvs.get(0x001E, b"").rstrip(b"\0").decode() == mid
                   for p in delivered)

    c.wait_delivered(found, timeout)
    return next(r for r in map(lambda p: parse_deliver_sm(p.body), c.delivered)
                if r.tlvs.get(0x001E, b"").rstrip(b"\0").decode() == mid)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    from server_process import ServerProcess, write_config

    d = tmp_path_factory.mktemp("replace")
    s = ServerProcess(write_config(
        d / "c.toml", d / "s.db", rules=RULES, operators_kyivstar={"price": 1},
        mo={"numbers": {"7090": "mo1", "7091": "mo2", "7092": "mo3"}},
    )).start()
    yield s
    s.kill()


# --- replace_sm ------------------------------------------------------------------

def test_replace_scheduled_message_changes_text_and_refunds(srv):
    sid = new_user(srv)
    c = bound(srv, sid)
    mid = submit(c, b"x" * 161, schedule=IN_3_SECONDS)  # 2 segments, 2 kopecks
    assert balance(srv, sid) == 10000 - 2
    assert replace(c, mid, b"replaced text, shorter") is S.ESME_ROK
    assert balance(srv, sid) == 10000 - 1  # 1 segment now: 1 kopeck back
    r = receipt_for(c, mid)
    f = parse_receipt_text(r.short_message)
    assert (f["stat"], f["text"]) == ("DELIVRD", "replaced text, short")
    assert f["sub"] == "001"


def test_replace_charges_a_longer_text(srv):
    sid = new_user(srv)
    c = bound(srv, sid)
    mid = submit(c, b"short", schedule=ONE_MINUTE)
    assert replace(c, mid, b"y" * 200, schedule=IN_3_SECONDS) is S.ESME_ROK  # 2 segments
    assert balance(srv, sid) == 10000 - 2
    f = parse_receipt_text(receipt_for(c, mid).short_message)
    assert (f["stat"], f["text"]) == ("DELIVRD", "y" * 20)


def test_replace_over_the_balance_changes_nothing(srv):
    sid = new_user(srv, balance="0.01")
    c = bound(srv, sid)
    mid = submit(c, b"short", schedule=IN_3_SECONDS)
    assert replace(c, mid, b"z" * 254) is S.ESME_RSUBMITFAIL  # 2 segments: 1 more, none left
    assert balance(srv, sid) == 0
    f = parse_receipt_text(receipt_for(c, mid).short_message)
    assert (f["stat"], f["text"]) == ("DELIVRD", "short")


def test_replace_of_delivered_unknown_or_other_accounts_message_fails(srv):
    sid, other = new_user(srv), new_user(srv)
    c, o = bound(srv, sid), bound(srv, other)
    mid = submit(c, b"hello")
    receipt_for(c, mid)
    assert replace(c, mid, b"too late") is S.ESME_RREPLACEFAIL
    assert replace(c, "ffffff", b"none") is S.ESME_RREPLACEFAIL
    theirs = submit(o, b"theirs", schedule=ONE_MINUTE)
    assert replace(c, theirs, b"mine now") is S.ESME_RREPLACEFAIL
    assert replace(o, theirs, b"x", src="Other") is S.ESME_RREPLACEFAIL
    assert balance(srv, sid) == 10000 - 1


# --- MO --------------------------------------------------------------------------

def add_account(srv, system_id: str) -> None:
    srv.cli("account", "add", system_id, "--password", PW, "--mode", "user", "--balance", "1")


def inject(srv, to: str, text: str, source: str = "380671112233") -> None:
    r = srv.cli("mo", "inject", "--to", to, "--from", source, "--text", text)
    assert "queued MO" in r.stdout


def data_coding(body: bytes) -> int:
    """data_coding of a deliver_sm body, read by hand (SMPP 3.4 4.6.1)."""
    at = body.index(b"\0") + 3  # service_type, source ton/npi
    at = body.index(b"\0", at) + 3  # source_addr, dest ton/npi
    at = body.index(b"\0", at) + 4  # destination_addr, esm_class, protocol_id, priority_flag
    at = body.index(b"\0", at) + 1  # schedule_delivery_time
    at = body.index(b"\0", at) + 1  # validity_period
    return body[at + 2]  # after registered_delivery, replace_if_present_flag


def mo_text(parts) -> str:
    """The text of UDH-concatenated (or single) deliver_sm bodies, in order."""
    from smsc.pdu.text import decode

    def seq(d) -> int:
        return d.short_message[5] if d.esm_class & 0x40 else 1

    out = []
    for d, dc in sorted(parts, key=lambda p: seq(p[0])):
        body = d.short_message[6:] if d.esm_class & 0x40 else d.short_message
        out.append(decode(body, dc))
    return "".join(out)


def test_mo_single_reaches_smpplib_receiver(srv):
    from clients import Esme

    add_account(srv, "mo1")
    esme = Esme(srv.port)
    esme.bind("receiver", "mo1", PW)
    inject(srv, "7090", "STOP 1234")
    inject(srv, "7090", "Привіт, це MO")
    esme.pump_until(lambda: len(esme.receipts) == 2)
    first, second = esme.receipts
    assert (first.esm_class, int(first.data_coding)) == (0, 0)
    assert first.short_message == b"STOP 1234"
    assert first.source_addr.decode() == "380671112233"
    assert (int(first.source_addr_ton), int(first.source_addr_npi)) == (1, 1)
    assert first.destination_addr.decode() == "7090"
    assert int(second.data_coding) == 8
    assert second.short_message.decode("utf-16-be") == "Привіт, це MO"
    esme.close()


def test_mo_unknown_number_is_refused(srv):
    r = srv.cli("mo", "inject", "--to", "9999", "--from", "380671112233", "--text", "x", check=False)
    assert r.returncode == 1
    assert r.stderr.strip().startswith("smsc: error: --to 9999")
    assert len(r.stderr.strip().splitlines()) == 1
    r = srv.cli("mo", "inject", "--to", "7090", "--from", "12345", "--text", "x", check=False)
    assert r.returncode == 1


def test_mo_multipart_held_until_bind_then_reassembled(srv):
    add_account(srv, "mo2")
    text = "".join(f"{i:04d} " for i in range(80))  # 400 GSM characters: 3 parts
    inject(srv, "7091", text)
    time.sleep(1.5)  # picked up by the server with no receiver bound
    c = bound(srv, "mo2")
    c.wait_delivered(lambda d: len(d) == 3)
    parts = [parse_deliver_sm(p.body) for p in c.delivered]
    codings = [data_coding(p.body) for p in c.delivered]
    assert all(p.esm_class == 0x40 for p in parts) and codings == [0, 0, 0]
    assert [(p.short_message[4], p.short_message[5]) for p in parts] == [(3, 1), (3, 2), (3, 3)]
    assert len({p.short_message[3] for p in parts}) == 1  # one reference
    assert mo_text(list(zip(parts, codings, strict=True))) == text
    c.drain(1.5)
    assert len(c.delivered) == 3  # acknowledged: not again


def test_mo_not_delivered_twice_after_restart(server_factory):
    mo = {"numbers": {"7093": "mo4"}}
    srv = server_factory(mo=mo)
    add_account(srv, "mo4")
    c = bound(srv, "mo4", C.BIND_RECEIVER)
    inject(srv, "7093", "once only")
    c.wait_delivered(lambda d: len(d) == 1)
    assert parse_deliver_sm(c.delivered[0].body).short_message == b"once only"
    c.drain(0.5)  # let the acknowledgement land
    inject(srv, "7093", "while down")  # queued; the server may or may not see it before the stop
    assert srv.stop() == 0
    again = server_factory(mo=mo)
    c2 = bound(again, "mo4", C.BIND_RECEIVER)

    def texts() -> list[bytes]:
        return [parse_deliver_sm(p.body).short_message for p in c.delivered + c2.delivered]

    # the queued MO comes within a pick-up interval of the restart; a repeat
    # of the delivered one would come with it
    c2.wait_delivered(lambda _: b"while down" in texts())
    c2.drain(0.5)
    assert texts().count(b"once only") == 1
    assert texts().count(b"while down") == 1
