"""Faults on demand and the conformance report over real TCP: a fault added
with the CLI reaches the running server within a second, acts only in its
scope, ends on time and loses nothing; a misbehaving raw client gets its
findings, a well-behaved smpplib client none."""
from __future__ import annotations

import json
import time

import pytest

from clients import Esme, RawConn
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
    assert {"wrong_source_ton", "wrong_dest_ton", "resubmit", "refused_ESME_RINVSRCADR"} <= kinds, kinds
    f = next(f for f in bad["findings"] if f["kind"] == "resubmit")
    assert f["count"] == 2 and f["example"]  # "again" twice; "hi" to the same number in 2 and 6 and f["advice"]
    clean = json.loads(shared.cli("report", "client", good[0], "--json").stdout)
    assert len(clean["binds"]) == 1 and clean["findings"] == []
