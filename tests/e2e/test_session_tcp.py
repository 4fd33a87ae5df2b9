"""The SMPP session over real TCP: binds, bound-state rules, broken input."""
from __future__ import annotations

import socket

import pytest
import smpplib.exceptions

from clients import Esme, RawConn, bind_body, raw_pdu, submit_body
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One server for the tests that leave it as they found it (each on an
    account of its own, so the binds one leaves open count against no other).
    Tests with failed binds get their own ``server``: failures are throttled
    per address, and every test connects from 127.0.0.1."""
    from server_process import ServerProcess, write_config

    d = tmp_path_factory.mktemp("session")
    s = ServerProcess(write_config(d / "c.toml", d / "s.db")).start()
    yield s
    s.kill()


_accounts = iter(range(1000))


@pytest.fixture
def account(shared) -> tuple[str, str]:
    """A fresh test-mode account on ``shared``, like the first-start one."""
    system_id, password = f"s{next(_accounts)}", "pw123"
    shared.cli("account", "add", system_id, "--password", password, "--mode", "test")
    return system_id, password


@pytest.mark.parametrize("kind", ["transmitter", "receiver", "transceiver"])
def test_each_bind_type(shared, account, kind):
    system_id, password = account
    esme = Esme(shared.port)
    resp = esme.bind(kind, system_id, password)
    assert resp.status == S.ESME_ROK
    assert resp.system_id == b"smsc"
    esme.close()


def test_wrong_password_and_unknown_system_id(server):
    system_id, _ = server.first_account
    esme = Esme(server.port)
    with pytest.raises(smpplib.exceptions.PDUError) as exc:
        esme.bind("transceiver", system_id, "wrongpw")
    assert exc.value.args[1] == S.ESME_RINVPASWD
    esme.client.disconnect()
    esme = Esme(server.port)
    with pytest.raises(smpplib.exceptions.PDUError) as exc:
        esme.bind("transceiver", "nobody", "pw")
    assert exc.value.args[1] == S.ESME_RINVSYSID
    esme.client.disconnect()
    assert "wrongpw" not in "".join(server.output)


def test_repeated_failures_are_throttled(server):
    system_id, password = server.first_account
    statuses = []
    for _ in range(6):
        c = RawConn(server.connect_raw())
        statuses.append(c.bind(C.BIND_TRANSCEIVER, system_id, "bad").status)
        c.sock.close()
    assert statuses[:5] == [S.ESME_RINVPASWD] * 5
    assert statuses[5] == S.ESME_RBINDFAIL
    # Even the right password is refused while the address is throttled.
    c = RawConn(server.connect_raw())
    assert c.bind(C.BIND_TRANSCEIVER, system_id, password).status == S.ESME_RBINDFAIL


def test_double_bind_is_refused(shared, account):
    system_id, password = account
    c = RawConn(shared.connect_raw())
    assert c.bind(C.BIND_TRANSCEIVER, system_id, password, seq=1).status == S.ESME_ROK
    again = c.bind(C.BIND_TRANSMITTER, system_id, password, seq=2)
    assert (again.command_id, again.status, again.seq) == (C.BIND_TRANSMITTER_RESP, S.ESME_RALYBND, 2)


def test_submit_before_bind(shared):
    c = RawConn(shared.connect_raw())
    c.send(raw_pdu(C.SUBMIT_SM, 7, submit_body()))
    r = c.read()
    assert (r.command_id, r.status, r.seq) == (C.SUBMIT_SM_RESP, S.ESME_RINVBNDSTS, 7)


def test_receiver_may_not_submit(shared, account):
    system_id, password = account
    c = RawConn(shared.connect_raw())
    assert c.bind(C.BIND_RECEIVER, system_id, password).status == S.ESME_ROK
    c.send(raw_pdu(C.SUBMIT_SM, 3, submit_body()))
    r = c.read()
    assert (r.command_id, r.status) == (C.SUBMIT_SM_RESP, S.ESME_RINVBNDSTS)


def test_unknown_command_gets_generic_nack_and_session_lives(shared, account):
    system_id, password = account
    c = RawConn(shared.connect_raw())
    assert c.bind(C.BIND_TRANSCEIVER, system_id, password).status == S.ESME_ROK
    c.send(raw_pdu(0x00000777, 9, b"junk"))
    r = c.read()
    assert (r.command_id, r.status, r.seq) == (C.GENERIC_NACK, S.ESME_RINVCMDID, 9)
    c.send(raw_pdu(C.ENQUIRE_LINK, 10))
    r = c.read()
    assert (r.command_id, r.status, r.seq) == (C.ENQUIRE_LINK_RESP, S.ESME_ROK, 10)
    c.send(raw_pdu(C.SUBMIT_SM, 11, submit_body(rd=0)))
    r = c.read()
    assert (r.command_id, r.status, r.seq) == (C.SUBMIT_SM_RESP, S.ESME_ROK, 11)


def test_undecodable_submit_is_refused_and_session_lives(shared, account):
    system_id, password = account
    c = RawConn(shared.connect_raw())
    assert c.bind(C.BIND_TRANSCEIVER, system_id, password).status == S.ESME_ROK
    # sm_length says 50 octets, only 2 follow
    body = submit_body(text=b"hi")
    broken = body[:-3] + bytes([50]) + b"hi"
    c.send(raw_pdu(C.SUBMIT_SM, 4, broken))
    r = c.read()
    assert r.command_id == C.SUBMIT_SM_RESP and r.seq == 4
    assert r.status != S.ESME_ROK
    c.send(raw_pdu(C.ENQUIRE_LINK, 5))
    r = c.read()
    assert (r.command_id, r.status) == (C.ENQUIRE_LINK_RESP, S.ESME_ROK)


def test_truncated_pdu_closes_with_generic_nack(shared):
    c = RawConn(shared.connect_raw())
    c.send(b"\x00\x00\x00\x08\x00\x00\x00\x15")  # command_length 8 < 16
    r = c.read()
    assert (r.command_id, r.status) == (C.GENERIC_NACK, S.ESME_RINVCMDLEN)
    assert c.read() is None  # and the link is closed


def test_oversized_pdu_closes_with_generic_nack(shared):
    c = RawConn(shared.connect_raw())
    c.send(b"\x00\x10\x00\x01" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x01")
    r = c.read()
    assert (r.command_id, r.status) == (C.GENERIC_NACK, S.ESME_RINVCMDLEN)
    assert c.read() is None


def test_enquire_link_before_bind_and_unbind(shared, account):
    system_id, password = account
    c = RawConn(shared.connect_raw())
    c.send(raw_pdu(C.ENQUIRE_LINK, 1))
    assert c.read().command_id == C.ENQUIRE_LINK_RESP
    assert c.bind(C.BIND_TRANSMITTER, system_id, password, seq=2).status == S.ESME_ROK
    c.send(raw_pdu(C.UNBIND, 3))
    r = c.read()
    assert (r.command_id, r.status, r.seq) == (C.UNBIND_RESP, S.ESME_ROK, 3)
    assert c.read() is None


def test_server_probes_idle_session_and_drops_dead_one(server_factory):
    srv = server_factory(smpp={"enquire_link_interval": 0.3, "response_timeout": 0.6})
    c = RawConn(srv.connect_raw())
    c.send(raw_pdu(C.ENQUIRE_LINK, 1))
    assert c.read().command_id == C.ENQUIRE_LINK_RESP
    probe = c.read(timeout=3)
    assert probe.command_id == C.ENQUIRE_LINK
    # We never answer: the server gives up on us.
    assert c.read(timeout=5) is None


def test_unbound_connection_is_closed_after_session_init_timeout(server_factory):
    srv = server_factory(smpp={"session_init_timeout": 0.3})
    c = RawConn(srv.connect_raw())
    assert c.read(timeout=5) is None


def test_bind_body_garbage_gets_bind_resp_error(server):
    c = RawConn(server.connect_raw())
    c.send(raw_pdu(C.BIND_TRANSCEIVER, 1, b"\xff" * 40))
    r = c.read()
    assert r.command_id in (C.BIND_TRANSCEIVER_RESP, C.GENERIC_NACK)
    assert r.status != S.ESME_ROK
    c.send(raw_pdu(C.ENQUIRE_LINK, 2))
    assert c.read().command_id == C.ENQUIRE_LINK_RESP


def test_bind_body_is_checked_not_just_framed(shared, account):
    system_id, password = account
    c = RawConn(shared.connect_raw())
    c.send(raw_pdu(C.BIND_TRANSCEIVER, 1, bind_body(system_id, password)))
    assert c.read().status == S.ESME_ROK


def test_a_valid_account_does_not_wash_away_guesses_at_another(server_factory):
    """4 wrong passwords for the victim, 1 right bind of one's own account,
    repeated: the address's failures must still add up (issue 14 defect 2:
    40 of 40 guesses used to be evaluated)."""
    srv = server_factory(accounts={"max_bind_failures": 5})
    srv.cli("account", "add", "mine", "--password", "minepw", "--mode", "user")
    victim, _ = srv.first_account
    statuses = []
    for _ in range(4):
        for _ in range(4):
            c = RawConn(srv.connect_raw())
            statuses.append(c.bind(C.BIND_TRANSCEIVER, victim, "guess").status)
            c.sock.close()
        c = RawConn(srv.connect_raw())
        c.bind(C.BIND_TRANSCEIVER, "mine", "minepw")
        c.sock.close()
    assert statuses.count(S.ESME_RINVPASWD) == 5  # evaluated: the address's limit, no more
    assert statuses[5:] == [S.ESME_RBINDFAIL] * 11


def test_an_account_guessed_at_from_many_addresses_is_locked(server_factory):
    srv = server_factory(accounts={"max_bind_failures": 100, "max_account_failures": 3, "account_lockout": 60})
    system_id, password = srv.first_account
    statuses = []
    for i in range(4):
        sock = socket.create_connection(("127.0.0.1", srv.port), source_address=(f"127.0.0.{i + 2}", 0))
        c = RawConn(sock)
        statuses.append(c.bind(C.BIND_TRANSCEIVER, system_id, "guess").status)
        sock.close()
    assert statuses == [S.ESME_RINVPASWD] * 3 + [S.ESME_RBINDFAIL]
    c = RawConn(srv.connect_raw())  # even the right password, from a fresh address
    assert c.bind(C.BIND_TRANSCEIVER, system_id, password).status == S.ESME_RBINDFAIL
    assert "login locked for" in "".join(srv.output)
