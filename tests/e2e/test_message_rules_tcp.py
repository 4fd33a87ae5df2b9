"""SPEC sections 1-3 over TCP: segments and billing, senders, money, limits.

Every destination routes to Kyivstar, priced at 10 kopecks a segment here,
so a balance says exactly how many segments were billed.
"""
from __future__ import annotations

import json
import threading

import pytest

from clients import Esme, RawConn, tlv
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.constants import Tag

PRICE = 10
USER, PW = "shop", "shoppw"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    from server_process import ServerProcess, write_config

    d = tmp_path_factory.mktemp("rules")
    cfg = write_config(d / "c.toml", d / "s.db", operators_kyivstar={"price": PRICE})
    s = ServerProcess(cfg).start()
    yield s
    s.kill()


_accounts = iter(range(1000))


def new_user(srv, balance="100", *alpha: str, mode="user", extra=()) -> str:
    system_id = f"u{next(_accounts)}"
    names = [a for n in (alpha or ("SMSClub",)) for a in ("--alpha", n)]
    srv.cli("account", "add", system_id, "--password", PW, "--mode", mode, "--balance", balance,
            *names, *extra)
    return system_id


def balance(srv, system_id: str) -> int:
    return json.loads(srv.cli("account", "show", system_id, "--json").stdout)["balance_kopecks"]


def bound(srv, system_id: str) -> RawConn:
    c = RawConn(srv.connect_raw())
    assert c.bind(C.BIND_TRANSMITTER, system_id, PW).status == S.ESME_ROK
    return c


def send(c: RawConn, text: str | bytes, dc: int = 0, **kw) -> int:
    """Submit text (in short_message when it fits, else message_payload)."""
    if isinstance(text, str):
        body = text.encode("utf-16-be") if dc == 8 else text.encode("latin-1")
    else:
        body = text
    if len(body) > 254:
        kw["tlvs"] = kw.get("tlvs", b"") + tlv(Tag.MESSAGE_PAYLOAD, body)
        body = b""
    status, _ = c.submit(next(_seq), text=body, dc=dc, rd=0, **kw)
    return status


_seq = iter(range(1, 10**6))

GSM = [(160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4), (612, 4)]
UCS2 = [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4), (268, 4)]


def test_gsm_and_cyrillic_boundaries_bill_per_segment(srv):
    sid = new_user(srv)
    c = bound(srv, sid)
    billed = 0
    for length, segments in GSM:
        assert send(c, "a" * length) == S.ESME_ROK, length
        billed += segments
    for length, segments in UCS2:
        assert send(c, "ж" * length, dc=8) == S.ESME_ROK, length
        billed += segments
    assert send(c, "a" * 613) == S.ESME_RINVMSGLEN
    assert send(c, "ж" * 269, dc=8) == S.ESME_RINVMSGLEN
    assert balance(srv, sid) == 10000 - billed * PRICE


def test_extension_characters_count_two_and_emoji_forces_ucs2(srv):
    sid = new_user(srv)
    c = bound(srv, sid)
    # 159 + one extension char (two septets) = 161 septets: two segments
    # (sent as IA5/ASCII: in the GSM default alphabet 0x5B is 'Ä')
    assert send(c, "a" * 159 + "[", dc=1) == S.ESME_ROK
    # GSM 03.38 escape in data_coding 0: 0x1B 0x3C is '['
    assert send(c, b"a" * 158 + b"\x1b\x3c") == S.ESME_ROK  # 160 septets: one segment
    # one emoji (a surrogate pair, 2 UCS-2 units) + 68 chars = 70 units: one segment
    assert send(c, "😀" + "b" * 68, dc=8) == S.ESME_ROK
    assert send(c, "😀" + "b" * 69, dc=8) == S.ESME_ROK  # 71 units: two
    assert balance(srv, sid) == 10000 - (2 + 1 + 1 + 2) * PRICE


def test_ucs2_text_that_fits_gsm_is_billed_as_gsm(srv):
    sid = new_user(srv)
    c = bound(srv, sid)
    assert send(c, "a" * 100, dc=8) == S.ESME_ROK  # 100 GSM chars: one segment
    assert balance(srv, sid) == 10000 - PRICE


def test_client_udh_and_sar_segments_are_one_segment_each(srv):
    sid = new_user(srv)
    c = bound(srv, sid)
    for seq in (1, 2, 3):
        udh = bytes([5, 0, 3, 0x42, 3, seq])
        assert send(c, udh + b"x" * 153, esm=0x40) == S.ESME_ROK
    for seq in (1, 2):
        sar = tlv(Tag.SAR_MSG_REF_NUM, b"\x01\x02") + tlv(Tag.SAR_TOTAL_SEGMENTS, b"\x02") \
            + tlv(Tag.SAR_SEGMENT_SEQNUM, bytes([seq]))
        assert send(c, b"y" * 150, tlvs=sar) == S.ESME_ROK
    assert balance(srv, sid) == 10000 - 5 * PRICE


def test_broken_udh_and_sar_are_refused_and_free(srv):
    sid = new_user(srv)
    c = bound(srv, sid)
    assert send(c, bytes([9, 0, 3, 1, 2, 1]) + b"x", esm=0x40) == S.ESME_RINVESMCLASS  # UDHL too long
    assert send(c, bytes([5, 0, 3, 1, 2, 3]) + b"x", esm=0x40) == S.ESME_RINVESMCLASS  # seq > total
    assert send(c, b"x", tlvs=tlv(Tag.SAR_MSG_REF_NUM, b"\x00\x01")) == S.ESME_RMISSINGOPTPARAM
    assert send(c, b"\xff\xfe", dc=0) != S.ESME_ROK  # not GSM septets
    assert balance(srv, sid) == 10000


def test_senders(srv):
    sid = new_user(srv, "100", "MyShop", "380501112233")
    c = bound(srv, sid)
    assert send(c, "hi", src="MyShop") == S.ESME_ROK
    assert send(c, "hi", src="380501112233", ton=1) == S.ESME_ROK
    assert send(c, "hi", src="OtherShop") == S.ESME_RINVSRCADR
    assert send(c, "hi", src="SMSClub") == S.ESME_RINVSRCADR  # user accounts: registered only
    assert send(c, "hi", src="TwelveLetter") == S.ESME_RINVSRCADR
    assert send(c, "hi", src="My Shop") == S.ESME_RINVSRCADR
    assert balance(srv, sid) == 10000 - 2 * PRICE
    # registered while bound: takes effect without a new bind
    srv.cli("account", "alpha", "add", sid, "OtherShop")
    import time

    deadline = time.monotonic() + 5
    while send(c, "hi", src="OtherShop") != S.ESME_ROK:
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_balance_exactly_enough_then_one_kopeck_short(srv):
    sid = new_user(srv, "0.30")  # 3 segments' worth
    c = bound(srv, sid)
    assert send(c, "a" * 307) == S.ESME_ROK  # 3 segments: exactly 30 kopecks
    assert balance(srv, sid) == 0
    assert send(c, "a") == S.ESME_RSUBMITFAIL
    sid2 = new_user(srv, "0.29")
    c2 = bound(srv, sid2)
    assert send(c2, "a" * 307) == S.ESME_RSUBMITFAIL  # one kopeck short
    assert send(c2, "a" * 306) == S.ESME_ROK
    assert balance(srv, sid2) == 9


def test_topup_while_bound_reaches_the_server(srv):
    sid = new_user(srv, "0")
    c = bound(srv, sid)
    assert send(c, "a") == S.ESME_RSUBMITFAIL
    srv.cli("account", "topup", sid, "0.10")
    import time

    deadline = time.monotonic() + 5
    while send(c, "a") != S.ESME_ROK:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert balance(srv, sid) == 0


def test_concurrent_binds_race_for_the_last_kopecks(srv):
    sid = new_user(srv, "1.00")  # 10 messages
    results: list[int] = []
    lock = threading.Lock()

    def worker():
        c = bound(srv, sid)
        mine = [send(c, "race") for _ in range(10)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(S.ESME_ROK) == 10
    assert results.count(S.ESME_RSUBMITFAIL) == 30
    assert balance(srv, sid) == 0


def test_test_account_universal_alpha_only(srv):
    sid = new_user(srv, "2.00", mode="test")
    c = bound(srv, sid)
    assert send(c, "hi", src="SMSClub") == S.ESME_ROK
    assert send(c, "hi", src="MyShop") == S.ESME_RINVSRCADR
    assert balance(srv, sid) == 200 - PRICE


def test_test_account_defaults(srv):
    r = srv.cli("account", "add", "trialx")
    assert "password: " in r.stdout
    shown = json.loads(srv.cli("account", "show", "trialx", "--json").stdout)
    assert (shown["mode"], shown["balance_kopecks"]) == ("test", 200)


def test_user_rate_limit_and_max_binds(srv):
    sid = new_user(srv, "100", extra=("--rate", "2", "--max-binds", "1"))
    c = bound(srv, sid)
    statuses = [send(c, "x") for _ in range(6)]
    assert statuses[:2] == [S.ESME_ROK, S.ESME_ROK]
    assert S.ESME_RTHROTTLED in statuses
    accepted = statuses.count(S.ESME_ROK)
    assert balance(srv, sid) == 10000 - accepted * PRICE  # throttled ones cost nothing
    second = RawConn(srv.connect_raw())
    assert second.bind(C.BIND_TRANSMITTER, sid, PW).status == S.ESME_RBINDFAIL
    c.sock.close()


def test_smpplib_client_sees_refusal_status(srv):
    sid = new_user(srv, "100", "MyShop")
    esme = Esme(srv.port)
    esme.bind("transmitter", sid, PW)
    esme.submit(b"hello", source_addr="Unknown1")
    esme.pump_until(lambda: len(esme.resps) == 1)
    assert esme.resps[0].status == S.ESME_RINVSRCADR
    esme.close()
