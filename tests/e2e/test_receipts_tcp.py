"""submit_sm -> submit_sm_resp -> deliver_sm receipt, over TCP with smpplib."""
from __future__ import annotations

import itertools
import json

import pytest

from clients import Esme
from smsc.pdu.constants import MessageState
from smsc.pdu.receipt import parse_receipt_text


def _receipt_ids(esme: Esme) -> list[str]:
    return [r.receipted_message_id.decode() for r in esme.receipts]


def _add_user(server, system_id="alice", password="secret1"):
    server.cli("account", "add", system_id, "--password", password, "--mode", "user",
               "--balance", "100", "--alpha", "SMSClub")
    return system_id, password


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One server for the tests that need no config of their own; each makes
    accounts of its own there, so no receipt of one test reaches another."""
    from server_process import ServerProcess, write_config

    d = tmp_path_factory.mktemp("receipts")
    s = ServerProcess(write_config(d / "c.toml", d / "s.db")).start()
    yield s
    s.kill()


_names = itertools.count()


def _fresh(name: str) -> str:
    return f"{name}{next(_names)}"


def _add_test_account(server) -> tuple[str, str]:
    """A test-mode account, as the first start makes."""
    system_id, password = _fresh("t"), "pwtest"
    server.cli("account", "add", system_id, "--password", password, "--mode", "test")
    return system_id, password


def test_receipt_on_transceiver(shared):
    server = shared
    system_id, password = _add_test_account(server)
    esme = Esme(server.port)
    esme.bind("transceiver", system_id, password)
    esme.submit(b"hello world, this is a long enough text")
    esme.pump_until(lambda: len(esme.receipts) == 1)
    [mid] = esme.message_ids()
    r = esme.receipts[0]
    assert r.esm_class & 0x04
    assert r.receipted_message_id.decode() == mid
    assert int(r.message_state) == MessageState.DELIVERED
    fields = parse_receipt_text(r.short_message)
    assert fields is not None
    assert fields["id"] == mid
    assert (fields["sub"], fields["dlvrd"], fields["stat"], fields["err"]) == ("001", "001", "DELIVRD", "000")
    assert fields["text"] == "hello world, this is"
    # the receipt comes from the handset, to the sender
    assert r.source_addr.decode() == "380671234567"
    assert r.destination_addr.decode() == "SMSClub"
    esme.close()


def test_no_receipt_when_not_requested(shared):
    server = shared
    system_id, password = _add_test_account(server)
    esme = Esme(server.port)
    esme.bind("transceiver", system_id, password)
    esme.submit(b"one", registered_delivery=0)
    esme.submit(b"two", registered_delivery=1)
    esme.pump_until(lambda: len(esme.receipts) == 1 and len(esme.message_ids()) == 2)
    assert _receipt_ids(esme) == [esme.message_ids()[1]]
    esme.close()


def test_receipts_on_tx_rx_pair(shared):
    server = shared
    system_id, password = _add_user(server, _fresh("alice"))
    rx = Esme(server.port)
    rx.bind("receiver", system_id, password)
    tx = Esme(server.port)
    tx.bind("transmitter", system_id, password)
    for i in range(5):
        tx.submit(f"msg {i}".encode())
    tx.pump_until(lambda: len(tx.message_ids()) == 5)
    rx.pump_until(lambda: len(rx.receipts) == 5)
    assert sorted(_receipt_ids(rx)) == sorted(tx.message_ids())
    tx.close()
    rx.close()


def test_receipts_of_one_account_never_reach_another(shared):
    server = shared
    alice = _add_user(server, _fresh("alice"), "pwalice")
    bob = _add_user(server, _fresh("bob"), "pwbob")
    a, b = Esme(server.port), Esme(server.port)
    a.bind("transceiver", *alice)
    b.bind("receiver", *bob)
    a.submit(b"for alice only")
    a.pump_until(lambda: len(a.receipts) == 1)
    b.client._socket.settimeout(0.5)
    try:
        b.pump_until(lambda: len(b.receipts) > 0, timeout=1.0)
    except AssertionError:
        pass
    assert b.receipts == []
    a.close()
    b.close()


def test_receipts_held_until_receiver_binds(server_factory):
    # no delay: the messages become final in the order they were sent
    server = server_factory(operators_kyivstar={"delay_min": 0.0, "delay_max": 0.0})
    system_id, password = _add_user(server)
    tx = Esme(server.port)
    tx.bind("transmitter", system_id, password)
    for i in range(10):
        tx.submit(f"held {i}".encode())
    tx.pump_until(lambda: len(tx.message_ids()) == 10)
    tx.close()
    rx = Esme(server.port)
    rx.bind("receiver", system_id, password)
    rx.pump_until(lambda: len(rx.receipts) == 10)
    assert _receipt_ids(rx) == tx.message_ids()  # in order
    rx.close()


def _submit_and_leave(server, system_id, password, n):
    tx = Esme(server.port)
    tx.bind("transmitter", system_id, password)
    for i in range(n):
        tx.submit(f"restart {i}".encode())
    tx.pump_until(lambda: len(tx.message_ids()) == n)
    ids = tx.message_ids()
    tx.close()
    return ids


def _collect(server, system_id, password, n):
    rx = Esme(server.port)
    rx.bind("receiver", system_id, password)
    rx.pump_until(lambda: len(rx.receipts) >= n)
    # anything beyond n would be a duplicate: give it a moment to show up
    try:
        rx.pump_until(lambda: len(rx.receipts) > n, timeout=1.0)
    except AssertionError:
        pass
    ids = _receipt_ids(rx)
    rx.close()
    return ids


def _receipts_after_bind(srv, system_id, password, wait=1.5) -> list:
    """What a receiver gets within ``wait`` seconds of binding."""
    rx = Esme(srv.port)
    rx.bind("receiver", system_id, password)
    try:
        rx.pump_until(lambda: len(rx.receipts) > 0, timeout=wait)
    except AssertionError:
        pass
    rx.close()
    return rx.receipts


def test_receipts_survive_graceful_restart(server_factory, tmp_path):
    store = tmp_path / "restart.db"
    srv = server_factory(store=store)
    system_id, password = _add_user(srv)
    ids = _submit_and_leave(srv, system_id, password, 20)
    assert srv.stop() == 0
    srv2 = server_factory(store=store)
    assert srv2.first_account is None  # not a first start any more
    assert sorted(_collect(srv2, system_id, password, 20)) == sorted(ids)
    # and once acknowledged they are not sent again
    srv2.stop()
    assert _receipts_after_bind(server_factory(store=store), system_id, password) == []


def test_receipts_survive_kill_9(server_factory, tmp_path):
    store = tmp_path / "crash.db"
    srv = server_factory(store=store)
    system_id, password = _add_user(srv)
    ids = _submit_and_leave(srv, system_id, password, 30)
    srv.kill()
    srv2 = server_factory(store=store)
    got = _collect(srv2, system_id, password, 30)
    assert sorted(got) == sorted(ids)


def test_account_added_while_running_can_bind(shared):
    server, late = shared, _fresh("late")
    server.cli("account", "add", late, "--password", "latepw", "--mode", "user")
    shown = json.loads(server.cli("account", "show", late, "--json").stdout)
    assert shown["mode"] == "user"
    esme = Esme(server.port)
    assert esme.bind("transceiver", late, "latepw").status == 0
    esme.close()


def test_faq_words_in_receipts_when_configured(server_factory):
    srv = server_factory(
        receipts={"faq_words": True},
        rules=[{"suffix": "0034", "outcome": "FAILED", "delay": 0.0},
               {"suffix": "0007", "outcome": "NOREPORT", "delay": 0.0}],
    )
    system_id, password = _add_user(srv)
    esme = Esme(srv.port)
    esme.bind("transceiver", system_id, password)
    esme.submit(b"will fail", dest="380670000034")
    esme.submit(b"no report", dest="380670000007")
    esme.pump_until(lambda: len(esme.receipts) == 2)
    by_dest = {r.source_addr.decode(): r for r in esme.receipts}
    failed = parse_receipt_text(by_dest["380670000034"].short_message)
    noreport = parse_receipt_text(by_dest["380670000007"].short_message)
    assert (failed["stat"], failed["err"]) == ("FAILED", "034")
    assert int(by_dest["380670000034"].message_state) == MessageState.UNDELIVERABLE
    assert noreport["stat"] == "NOREPORT"
    assert int(by_dest["380670000007"].message_state) == MessageState.UNKNOWN
    esme.close()


def test_receipts_past_retention_are_given_up_at_start(server_factory, tmp_path):
    import time

    store = tmp_path / "retention.db"
    srv = server_factory(store=store, receipts={"retention": 1.0})
    system_id, password = _add_user(srv)
    _submit_and_leave(srv, system_id, password, 3)
    time.sleep(0.5)  # the receipts become final and wait for a receiver
    srv.stop()
    time.sleep(1.5)
    srv2 = server_factory(store=store, receipts={"retention": 1.0})
    assert any("gave up 3 receipts" in line for line in srv2.output), srv2.output
    assert _receipts_after_bind(srv2, system_id, password) == []
