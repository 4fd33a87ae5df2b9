"""Faults on demand and the conformance report over real TCP: a fault added
with the CLI reaches the running server within a second, acts only in its
scope, ends on time and loses nothing; a misbehaving raw client gets its
findings, a well-behaved smpplib client none."""
from __future__ import annotations

import json
import re
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

import pytest

from clients import Esme, RawConn, raw_pdu
from smsc.pdu.constants import CommandStatus as S


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    from server_process import ServerProcess, write_config

    d = tmp_path_factory.mktemp("faults")
    s = ServerProcess(write_config(d / "c.toml", d / "s.db")).start()
    yield s
    s.kill()


_accounts = iter(range(1000))


@pytest.fixture
def account(shared) -> tuple[str, str]:
    system_id, password = f"f{next(_accounts)}", "pw123"
    shared.cli("account", "add", system_id, "--password", password, "--mode", "test")
    return system_id, password


def raw(shared, account) -> RawConn:
    conn = RawConn(shared.connect_raw())
    assert conn.bind(0x00000009, *account).status == S.ESME_ROK
    return conn


def test_a_throttle_fault_reaches_the_server_acts_on_its_account_only_and_ends(shared, account):
    other = (account[0] + "x", "pw123")
    shared.cli("account", "add", other[0], "--password", other[1], "--mode", "test")
    mine, theirs = raw(shared, account), raw(shared, other)
    shared.cli("fault", "add", "throttle", "--scope", "account", "--target", account[0], "--duration", "3")
    time.sleep(1.5)  # polled once a second
    assert mine.submit(2)[0] == S.ESME_RTHROTTLED
    assert theirs.submit(2)[0] == S.ESME_ROK
    time.sleep(2.0)
    status, _ = mine.submit(3)
    assert status == S.ESME_ROK
    # nothing lost: every accepted message gets exactly one receipt
    delivered = theirs.wait_delivered(lambda d: len(d) >= 1)
    mine.wait_delivered(lambda d: len(d) >= 1)
    assert len(delivered) == 1 and len(mine.delivered) == 1
    assert "fault" not in shared.cli("fault", "list").stdout


def test_a_link_fault_nacks_the_next_requests_then_answers_again(shared, account):
    conn = raw(shared, account)
    out = shared.cli("fault", "add", "link", "--scope", "account", "--target", account[0],
                     "-p", "action=nack", "-p", "count=2").stdout
    fault_id = out.split()[2]
    time.sleep(1.5)
    for seq in (2, 3):
        conn.send(__import__("clients").raw_pdu(0x00000015, seq))  # enquire_link
        r = conn.read()
        assert (r.command_id, r.seq) == (0x80000000, seq)  # generic_nack
    assert conn.submit(4)[0] == S.ESME_ROK
    shared.cli("fault", "remove", fault_id)


def test_a_slow_fault_delays_submit_sm_resp(shared, account):
    conn = raw(shared, account)
    shared.cli("fault", "add", "slow", "--scope", "account", "--target", account[0],
               "-p", "delay_ms=700", "--duration", "4")
    time.sleep(1.5)
    t = time.monotonic()
    assert conn.submit(2)[0] == S.ESME_ROK
    assert time.monotonic() - t >= 0.65


def test_a_misbehaving_client_gets_findings_and_a_good_one_none(shared, account):
    conn = raw(shared, account)
    # an alpha sender with TON 1, a national number with TON 1, the same text twice, an unregistered sender
    conn.submit(2, src="SMSClub", ton=1)
    conn.submit(3, dst="0671234567")
    conn.submit(4, text=b"again")
    conn.submit(5, text=b"again")
    conn.submit(6, src="Nobody")  # an alpha-name not registered
    from clients import submit_body

    conn.send(raw_pdu(0x00000004, 7, submit_body(tlvs=b"\x04\x24\x00\x10ab")))  # a TLV past the end
    r = conn.read()
    assert (r.command_id, r.status, r.seq) == (0x80000004, S.ESME_RINVOPTPARSTREAM, 7)  # by the decoder
    conn.sock.close()
    good = (account[0] + "g", "pw123")
    shared.cli("account", "add", good[0], "--password", good[1], "--mode", "test")
    esme = Esme(shared.port)
    esme.bind("transceiver", *good)
    esme.submit(b"one")
    esme.submit(b"two", dest="380671234568")
    esme.pump_until(lambda: len(esme.receipts) >= 2)
    esme.close()
    time.sleep(0.5)
    bad = json.loads(shared.cli("report", "client", account[0], "--json").stdout)
    kinds = {f["kind"] for f in bad["findings"]}
    assert {"wrong_source_ton", "wrong_dest_ton", "resubmit", "refused_ESME_RINVSRCADR",
            "refused_ESME_RINVOPTPARSTREAM"} <= kinds, kinds
    f = next(f for f in bad["findings"] if f["kind"] == "resubmit")
    assert f["count"] == 2 and f["example"]  # "again" twice; "hi" to the same number in 2 and 6 and f["advice"]
    clean = json.loads(shared.cli("report", "client", good[0], "--json").stdout)
    assert len(clean["binds"]) == 1 and clean["findings"] == []


# --- each fault kind over TCP: starts, acts in its scope only, ends on time, loses nothing ---------

ENQUIRE_LINK, UNBIND, UNBIND_RESP = 0x00000015, 0x00000006, 0x80000006
#: the server reads faults once a second: a fault is on by then
PICKED_UP = 1.3


#: the in-process CLI captures this process's stdout and log: one call at a time
_cli = threading.Lock()


def cli(shared, *args: str):
    with _cli:
        return shared.cli(*args)


def two(shared, account) -> tuple[RawConn, RawConn]:
    """A session of the fault's account and one of another account."""
    other = (account[0] + "o", "pw123")
    cli(shared, "account", "add", other[0], "--password", other[1], "--mode", "test")
    return raw(shared, account), raw(shared, other)


def add_fault(shared, kind: str, target: str, duration: float, **params) -> tuple[int, float]:
    """(its id, when it was added: time.monotonic())."""
    pairs = [a for k, v in params.items() for a in ("-p", f"{k}={v}")]
    out = cli(shared, "fault", "add", kind, "--scope", "account", "--target", target,
                     "--duration", str(duration), *pairs).stdout
    return int(out.split()[2]), time.monotonic()


def stat(pdu) -> str:
    from clients import parse_deliver_sm

    return re.search(rb"stat:(\w+)", parse_deliver_sm(pdu.body).short_message).group(1).decode()


def receipt_id(pdu) -> str:
    from clients import parse_deliver_sm

    return re.search(rb"id:(\S+)", parse_deliver_sm(pdu.body).short_message).group(1).decode()


def ended(shared, fault_id: int) -> None:
    """The fault is over: logged, and no longer listed."""
    deadline = time.monotonic() + 3
    while not any(f"fault ended: fault {fault_id} " in line for line in shared.output):
        assert time.monotonic() < deadline, "".join(shared.output[-20:])
        time.sleep(0.05)
    assert any(f"fault started: fault {fault_id} " in line for line in shared.output)
    assert f"fault {fault_id} " not in cli(shared, "fault", "list").stdout


def enquire(conn: RawConn, seq: int, timeout: float = 1.0):
    """enquire_link -> its response, or None when none comes within ``timeout``."""
    conn.send(raw_pdu(ENQUIRE_LINK, seq))
    try:
        return conn.read(timeout=timeout)
    except TimeoutError:
        return None


def check_an_outage_holds_its_accounts_messages_until_it_ends_then_delivers_each_once(shared, account):
    mine, theirs = two(shared, account)
    fault_id, t0 = add_fault(shared, "outage", account[0], 3.0)
    time.sleep(PICKED_UP)
    assert mine.submit(2)[0] == S.ESME_ROK  # accepted: it waits, durably
    assert theirs.submit(2)[0] == S.ESME_ROK
    assert [stat(d) for d in theirs.wait_delivered(lambda d: len(d) >= 1, timeout=2)] == ["DELIVRD"]
    assert mine.drain(0.8) == []  # held
    mine.wait_delivered(lambda d: len(d) >= 1, timeout=5)
    assert 2.9 <= time.monotonic() - t0 < 4.5  # when the outage ended
    ended(shared, fault_id)
    assert [stat(d) for d in mine.drain(0.5)] == ["DELIVRD"]  # exactly one


def check_an_outage_in_fail_mode_ends_its_messages_undeliv_and_then_delivers_again(shared, account):
    mine, theirs = two(shared, account)
    fault_id, t0 = add_fault(shared, "outage", account[0], 2.5, mode="fail", error=13)
    time.sleep(PICKED_UP)
    _, failed = mine.submit(2)
    theirs.submit(2)
    mine.wait_delivered(lambda d: len(d) >= 1, timeout=3)
    assert [stat(d) for d in mine.delivered] == ["UNDELIV"]
    assert b"err:013" in mine.delivered[0].body and receipt_id(mine.delivered[0]) == failed
    assert [stat(d) for d in theirs.wait_delivered(lambda d: len(d) >= 1, timeout=2)] == ["DELIVRD"]
    time.sleep(max(0.0, t0 + 2.7 - time.monotonic()))
    ended(shared, fault_id)
    _, later = mine.submit(3)
    mine.wait_delivered(lambda d: len(d) >= 2, timeout=3)
    assert [(receipt_id(d), stat(d)) for d in mine.drain(0.4)] == [(failed, "UNDELIV"), (later, "DELIVRD")]


def check_a_receipt_delay_holds_its_accounts_receipts_for_that_long_only(shared, account):
    mine, theirs = two(shared, account)
    fault_id, t0 = add_fault(shared, "receipts", account[0], 3.0, delay=1.5)
    time.sleep(PICKED_UP)
    sent = time.monotonic()
    mine.submit(2)
    theirs.submit(2)
    theirs.wait_delivered(lambda d: len(d) >= 1, timeout=1.2)  # not held
    mine.wait_delivered(lambda d: len(d) >= 1, timeout=4)
    assert time.monotonic() - sent >= 1.45
    time.sleep(max(0.0, t0 + 3.2 - time.monotonic()))
    ended(shared, fault_id)
    sent = time.monotonic()
    mine.submit(3)
    mine.wait_delivered(lambda d: len(d) >= 2, timeout=2)
    assert time.monotonic() - sent < 1.2  # no longer held
    assert [stat(d) for d in mine.drain(0.4)] == ["DELIVRD", "DELIVRD"]


def check_lost_receipts_come_as_noreport_when_the_validity_ends(shared, account):
    mine, theirs = two(shared, account)
    fault_id, t0 = add_fault(shared, "receipts", account[0], 2.5, ratio=1.0)
    time.sleep(PICKED_UP)
    sent = time.monotonic()
    _, lost = mine.submit(2, validity="000000000002000R")  # valid for 2 s
    theirs.submit(2, validity="000000000002000R")
    assert [stat(d) for d in theirs.wait_delivered(lambda d: len(d) >= 1, timeout=1.2)] == ["DELIVRD"]
    mine.wait_delivered(lambda d: len(d) >= 1, timeout=4)
    assert time.monotonic() - sent >= 0.95  # at the end of its validity (a whole second), not before
    # NOREPORT, which SMPP 3.4's stat words say as UNKNOWN (README "Receipts"; faq_words keeps NOREPORT)
    assert (receipt_id(mine.delivered[0]), stat(mine.delivered[0])) == (lost, "UNKNOWN")
    time.sleep(max(0.0, t0 + 2.7 - time.monotonic()))
    ended(shared, fault_id)
    mine.submit(3)
    mine.wait_delivered(lambda d: len(d) >= 2, timeout=2)
    assert [stat(d) for d in mine.drain(0.4)] == ["UNKNOWN", "DELIVRD"]


def check_lost_receipts_chosen_as_nothing_send_none_but_the_message_ends(shared, account):
    from clients import parse_query_resp, query_body

    mine, theirs = two(shared, account)
    fault_id, t0 = add_fault(shared, "receipts", account[0], 2.5, ratio=1.0, lost="nothing")
    time.sleep(PICKED_UP)
    _, lost = mine.submit(2)
    theirs.submit(2)
    theirs.wait_delivered(lambda d: len(d) >= 1, timeout=1.2)
    assert mine.drain(1.0) == []
    # not lost: stored final (DELIVERED), only its receipt is not sent
    assert parse_query_resp(mine.call(0x00000003, 3, query_body(lost, "SMSClub", 5)).body)[2] == 2
    time.sleep(max(0.0, t0 + 2.7 - time.monotonic()))
    ended(shared, fault_id)
    _, later = mine.submit(4)
    mine.wait_delivered(lambda d: len(d) >= 1, timeout=2)
    assert [receipt_id(d) for d in mine.drain(0.4)] == [later]


def check_a_link_unbind_unbinds_its_accounts_sessions_once_and_the_receipt_owed_comes_again(shared, account):
    mine, theirs = two(shared, account)
    _, message_id = mine.submit(2)
    first = mine.read()
    assert first.command_id == 0x00000005  # its receipt, left unanswered for now
    fault_id, t0 = add_fault(shared, "link", account[0], 2.5, action="unbind")
    unbind = mine.read(timeout=2)
    assert unbind.command_id == UNBIND
    mine.send(raw_pdu(UNBIND_RESP, unbind.seq))
    assert mine.read(timeout=2) is None  # closed
    assert enquire(theirs, 5).command_id == 0x80000015  # the other account's session stays
    again = raw(shared, account)  # a bind during the fault is left alone (once)
    again.wait_delivered(lambda d: len(d) >= 1, timeout=2)
    assert [receipt_id(d) for d in again.delivered] == [message_id]  # owed: offered again, once answered
    time.sleep(max(0.0, t0 + 2.7 - time.monotonic()))
    ended(shared, fault_id)
    assert enquire(again, 9).command_id == 0x80000015
    assert again.drain(0.3) == again.delivered and len(again.delivered) == 1


def check_a_link_drop_every_second_cuts_its_accounts_sessions_until_it_ends(shared, account):
    mine, theirs = two(shared, account)
    _, message_id = mine.submit(2)
    assert mine.read().command_id == 0x00000005  # unanswered when the link is cut
    fault_id, t0 = add_fault(shared, "link", account[0], 2.6, action="drop", every=1)

    def cut(conn: RawConn, within: float) -> bool:
        end = time.monotonic() + within
        while time.monotonic() < end:
            try:
                if conn.read(timeout=end - time.monotonic()) is None:
                    return True
            except TimeoutError:
                return False
        return False

    assert cut(mine, 2.0)
    assert cut(raw(shared, account), 1.6)  # bound again during the fault: cut again by the next round
    assert enquire(theirs, 5).command_id == 0x80000015
    time.sleep(max(0.0, t0 + 2.8 - time.monotonic()))
    ended(shared, fault_id)
    last = raw(shared, account)
    last.wait_delivered(lambda d: len(d) >= 1, timeout=2)
    assert not cut(last, 1.2)  # no more drops
    assert [receipt_id(d) for d in last.delivered] == [message_id]


def check_a_link_no_enquire_leaves_its_accounts_enquire_link_unanswered_until_it_ends(shared, account):
    mine, theirs = two(shared, account)
    fault_id, t0 = add_fault(shared, "link", account[0], 2.5, action="no_enquire")
    time.sleep(PICKED_UP)
    assert enquire(mine, 5, timeout=0.6) is None
    assert enquire(theirs, 5).command_id == 0x80000015
    time.sleep(max(0.0, t0 + 2.7 - time.monotonic()))
    ended(shared, fault_id)
    r = enquire(mine, 6)
    assert (r.command_id, r.seq) == (0x80000015, 6)


CHECKS = [f for name, f in sorted(globals().items()) if name.startswith("check_")]


def test_each_fault_kind_starts_acts_in_its_scope_only_ends_on_time_and_loses_nothing(shared):
    """The checks above, all at once (each on its own two accounts): each
    is seconds of waiting for a fault to be read, to act and to end, so
    together they take as long as the longest (~5 s, not ~30)."""
    assert len(CHECKS) == 8
    with ThreadPoolExecutor(len(CHECKS)) as pool:
        runs = {}
        for check in CHECKS:
            system_id = f"k{next(_accounts)}"
            cli(shared, "account", "add", system_id, "--password", "pw123", "--mode", "test")
            runs[check.__name__] = pool.submit(check, shared, (system_id, "pw123"))
        failed = {}
        for name, run in runs.items():
            try:
                run.result(timeout=30)
            except Exception:
                failed[name] = traceback.format_exc()
    assert not failed, "\n".join(f"{name}:\n{tb}" for name, tb in failed.items())
