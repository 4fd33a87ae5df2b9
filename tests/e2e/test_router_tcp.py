"""Router mode over TCP: smsc chained to smsc.

Two server processes: the upstream, an ordinary smsc with simulated
operators (and an account for us), and the downstream, whose kyivstar
operator is ``kind = "smpp"`` pointing at the upstream's port. Our client
talks to the downstream only, the way a user's ESME would; whatever the
upstream decides (its [[rules]], its limits, its crashes) must reach the
client as the downstream's own receipts, once each.
"""
from __future__ import annotations

import json
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clients import (
    PW, RawConn, bound, http_base, http_call, new_user, parse_deliver_sm, raw_pdu, submit_body, tlv,
)
from server_process import REPO, TEST_DEFAULTS, ServerProcess, _toml_value, write_config

from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.constants import Tag

#: the account the downstream binds with on the upstream
DOWN, DOWN_PW = "down", "downpw"
#: the upstream never locks us out while a test has it refuse binds
UPSTREAM_ACCOUNTS = {"max_bind_failures": 100_000, "max_account_failures": 0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Chain:
    """Starts the upstream and the downstream; kills both at the end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.started: list[ServerProcess] = []

    def upstream(self, port: int = 0, rules: list[dict] | None = None, account: bool = True,
                 **sections: Any) -> ServerProcess:
        sections.setdefault("accounts", UPSTREAM_ACCOUNTS)
        cfg = write_config(self.tmp / "up.toml", self.tmp / "up.db", rules, **sections)
        if port:
            cfg.write_text(cfg.read_text().replace("port = 0", f"port = {port}", 1))
        up = self._start(cfg)
        if account and not _has_account(up, DOWN):
            up.cli("account", "add", DOWN, "--password", DOWN_PW, "--mode", "user", "--balance", "100000",
                   "--alpha", "SMSClub")
        return up

    def downstream(self, up_port: int, system_id: str = DOWN, http: bool = False, **keys: Any) -> ServerProcess:
        """kyivstar is the upstream; the other operators stay simulated."""
        upstream = {"kind": "smpp", "name": "Kyivstar (upstream)", "host": "127.0.0.1", "port": up_port,
                    "system_id": system_id, "password": DOWN_PW, "price": 42,
                    "reconnect": 0.3, "response_timeout": 3.0, "enquire_link": 5.0, **keys}
        sections = {k: v for k, v in TEST_DEFAULTS.items() if k != "operators.kyivstar"}
        sections["store"] = {"path": str(self.tmp / "down.db")}
        sections["operators.kyivstar"] = upstream
        sections["mo"] = {"numbers": {"7090": "shop"}}
        if http:
            sections["http"] = {"enabled": True, "host": "127.0.0.1", "port": 0}
        lines = []
        for name, values in sections.items():
            lines.append(f"[{name}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
        cfg = self.tmp / "down.toml"
        cfg.write_text("\n".join(lines) + "\n")
        return self._start(cfg)

    def _start(self, cfg: Path) -> ServerProcess:
        s = ServerProcess(cfg).start()
        self.started.append(s)
        return s

    def close(self) -> None:
        for s in self.started:
            if s.proc is not None and s.proc.poll() is None:
                s.kill()


def _has_account(srv: ServerProcess, system_id: str) -> bool:
    return srv.cli("account", "show", system_id, check=False).returncode == 0


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    c = Chain(tmp_path)
    yield c
    c.close()


def receipts_of(conn: RawConn) -> dict[str, tuple[str, str]]:
    """receipted id -> (stat, err) of every receipt delivered so far."""
    out = {}
    for pdu in conn.delivered:
        d = parse_deliver_sm(pdu.body)
        if d.esm_class != 0x04:
            continue
        fields = dict(re.findall(r"(\w+):(\S+)", d.short_message.decode("latin-1")))
        out[d.tlvs[Tag.RECEIPTED_MESSAGE_ID].rstrip(b"\0").decode()] = (fields["stat"], fields["err"])
    return out


def _rid(pdu: Any) -> str:
    return parse_deliver_sm(pdu.body).tlvs[Tag.RECEIPTED_MESSAGE_ID].rstrip(b"\0").decode()


def receipt_count(conn: RawConn) -> int:
    return sum(1 for p in conn.delivered if parse_deliver_sm(p.body).esm_class == 0x04)


def metric(base: str, name: str, **labels: str) -> float:
    """A sample of the downstream's /metrics (0 when absent)."""
    text = http_call("GET", f"{base}/metrics").body
    text = text.decode() if isinstance(text, bytes) else text
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}}" if labels else f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def submit_all(conn: RawConn, destinations: list[str], **body: Any) -> list[str]:
    ids = []
    for seq, dest in enumerate(destinations, 2):
        status, mid = conn.submit(seq, dst=dest, **body)
        assert status == S.ESME_ROK, S(status).name
        ids.append(mid)
    return ids


def test_outcomes_set_by_the_upstreams_rules_reach_our_client(chain):
    up = chain.upstream(rules=[
        {"suffix": "0001", "outcome": "UNDELIV"},
        {"suffix": "0002", "outcome": "REJECTD", "error": 42},
        {"suffix": "0003", "phone_off": True},  # EXPIRED at the end of validity
    ])
    down = chain.downstream(up.port)
    sid = new_user(down)
    c = bound(down, sid)
    ids = submit_all(c, ["380671230001", "380671230002", "380671230004"], rd=1)
    [expiring] = submit_all(c, ["380671230003"], rd=1, validity="000000000003000R")
    # a vodafone number is still simulated here: any mix of kinds works
    [simulated] = submit_all(c, ["380501234567"], rd=1)
    c.wait_delivered(lambda d: receipt_count(c) >= 5, timeout=40)
    got = receipts_of(c)
    assert got == {ids[0]: ("UNDELIV", "001"), ids[1]: ("REJECTD", "042"), ids[2]: ("DELIVRD", "000"),
                   expiring: ("EXPIRED", "027"), simulated: ("DELIVRD", "000")}
    # ... and the receipts carry our ids, not the upstream's
    upstream_ids = {r[0] for r in sqlite3.connect(up.config.parent / "up.db").execute(
        "SELECT printf('%x', id) FROM messages")}
    assert not set(got) & upstream_ids
    c.drain(1.0)
    assert receipt_count(c) == 5  # none twice


def test_a_long_cyrillic_text_is_split_upstream_and_gets_one_receipt_with_the_worst_part(chain):
    up = chain.upstream(operators_kyivstar={"outcomes": {"DELIVRD": 1, "UNDELIV": 1}})
    down = chain.downstream(up.port)
    sid = new_user(down)
    c = bound(down, sid)
    text = "Привіт! Це довге повідомлення кирилицею, щоб перевірити сегменти. " * 3  # 3 UCS-2 segments
    payload = text.encode("utf-16-be")
    status, mid = c.submit(2, text=b"", dc=8, tlvs=tlv(Tag.MESSAGE_PAYLOAD, payload), rd=1)
    assert status == S.ESME_ROK
    c.wait_delivered(lambda d: receipt_count(c) >= 1, timeout=40)
    c.drain(1.0)
    [(rid, (stat, err))] = receipts_of(c).items()
    assert rid == mid
    # the upstream got three messages of one segment, each with our concatenation UDH
    rows = sqlite3.connect(up.config.parent / "up.db").execute(
        "SELECT esm_class, segments, data_coding, stat, short_message FROM messages ORDER BY id").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [(0x40, 1, 8)] * 3
    assert b"".join(r[4] for r in rows) == payload  # in order (the upstream stores a segment without its UDH)
    severity = ["REJECTD", "FAILED", "UNDELIV", "EXPIRED", "NOREPORT", "DELIVRD"]
    assert stat == min((r[3] for r in rows), key=severity.index)


def test_the_upstream_killed_and_restarted_mid_run_loses_nothing_and_repeats_nothing(chain):
    port = free_port()
    up = chain.upstream(port=port, operators_kyivstar={"delay_min": 0.1, "delay_max": 1.0})
    down = chain.downstream(up.port, window=20, response_timeout=2.0)
    sid = new_user(down, balance="1000")
    c = bound(down, sid)
    n, seq, accepted, got = 400, 1, [], []
    window: set[int] = set()
    killed = restarted = False
    deadline = time.monotonic() + 120
    while (len(accepted) < n or len(got) < n) and time.monotonic() < deadline:
        while len(window) < 50 and len(accepted) + len(window) < n:
            seq += 1
            window.add(seq)
            c.send(raw_pdu(C.SUBMIT_SM, seq, submit_body(dst="380671234567", text=b"chain %d" % seq, rd=1)))
        try:
            r = c.read(timeout=0.5)
        except TimeoutError:
            r = None
        if r is not None and r.command_id == C.SUBMIT_SM_RESP:
            window.discard(r.seq)
            assert r.status == S.ESME_ROK, S(r.status).name  # our client keeps submitting meanwhile
            accepted.append(r.body.rstrip(b"\0").decode())
        elif r is not None and r.command_id == C.DELIVER_SM:
            c.send(raw_pdu(C.DELIVER_SM_RESP, r.seq, b"\0"))
            c.delivered.append(r)
            got.append(_rid(r))
        if not killed and len(got) >= 100:
            up.kill()  # kill -9 with parts in flight and receipts owed
            killed, killed_at = True, time.monotonic()
        if killed and not restarted and time.monotonic() - killed_at > 1.5:
            up = chain.upstream(port=port, operators_kyivstar={"delay_min": 0.1, "delay_max": 1.0})
            restarted = True
    assert restarted
    c.drain(2.0)
    got = [_rid(p) for p in c.delivered]
    assert len(accepted) == n
    assert sorted(got) == sorted(accepted), (len(got), len(set(got)), len(set(accepted) - set(got)))
    assert {stat for stat, _ in receipts_of(c).values()} == {"DELIVRD"}


def test_while_the_upstream_refuses_the_bind_messages_wait_then_flow_once_the_account_exists(chain):
    up = chain.upstream(account=False)
    down = chain.downstream(up.port, system_id="late", http=True)
    sid = new_user(down)
    c = bound(down, sid)
    ids = submit_all(c, ["380671234567"] * 5, rd=1)
    c.drain(2.0)
    assert receipt_count(c) == 0
    base = http_base(down)
    assert metric(base, "smsc_upstream_sessions", operator="kyivstar") == 0
    assert metric(base, "smsc_upstream_queue", operator="kyivstar") == 5
    up.cli("account", "add", "late", "--password", DOWN_PW, "--mode", "user", "--balance", "1000",
           "--alpha", "SMSClub")
    c.wait_delivered(lambda d: receipt_count(c) >= 5, timeout=40)
    assert set(receipts_of(c)) == set(ids)
    assert metric(base, "smsc_upstream_sessions", operator="kyivstar") == 1
    assert metric(base, "smsc_upstream_queue", operator="kyivstar") == 0


def test_the_upstreams_throttling_is_retried_and_never_fails_a_message(chain):
    up = chain.upstream()
    up.cli("account", "limits", DOWN, "--rate", "5")
    down = chain.downstream(up.port, window=20, http=True)
    sid = new_user(down)
    c = bound(down, sid)
    ids = submit_all(c, [f"3806712300{i:02d}" for i in range(20)], rd=1)
    c.wait_delivered(lambda d: receipt_count(c) >= 20, timeout=60)
    assert receipts_of(c) == {mid: ("DELIVRD", "000") for mid in ids}
    base = http_base(down)
    assert metric(base, "smsc_upstream_submits_total", operator="kyivstar", status="ESME_RTHROTTLED") > 0
    assert metric(base, "smsc_upstream_submits_total", operator="kyivstar", status="ESME_ROK") == 20


def test_an_upstream_whose_receipts_carry_decimal_ids(chain):
    up = chain.upstream()
    up.cli("account", "receipts", DOWN, "--id-format", "decimal")
    down = chain.downstream(up.port, http=True)
    sid = new_user(down)
    c = bound(down, sid)
    ids = submit_all(c, ["380671234567", "380671234568", "380671234569"], rd=1)
    c.wait_delivered(lambda d: receipt_count(c) >= 3, timeout=40)
    assert set(receipts_of(c)) == set(ids)
    base = http_base(down)
    assert metric(base, "smsc_upstream_unmatched_receipts_total", operator="kyivstar") == 0
    assert metric(base, "smsc_upstream_receipt_latency_seconds_count", operator="kyivstar") == 3


def test_mo_from_the_upstream_reaches_the_account_owning_the_number(chain):
    up = chain.upstream(mo={"numbers": {"7090": DOWN}})
    down = chain.downstream(up.port)
    down.cli("account", "add", "shop", "--password", PW, "--mode", "user", "--balance", "10", "--alpha", "SMSClub")
    c = bound(down, "shop")
    time.sleep(1.0)  # the downstream binds to the upstream
    up.cli("mo", "inject", "--to", "7090", "--from", "380671112233", "--text", "Привіт, це MO")
    c.wait_delivered(lambda d: len(d) >= 1, timeout=40)
    d = parse_deliver_sm(c.delivered[0].body)
    assert (d.esm_class, d.source_addr, d.destination_addr) == (0, "380671112233", "7090")
    assert d.short_message.decode("utf-16-be") == "Привіт, це MO"


def test_smsc_load_against_the_downstream_gets_every_receipt_once(chain):
    up = chain.upstream()
    down = chain.downstream(up.port, window=50, binds=2)
    down.cli("account", "add", "loaduser", "--password", "loadpw", "--mode", "user", "--balance", "100000",
             "--alpha", "SMSClub")
    p = subprocess.run(
        [sys.executable, "-m", "smsc", "load", "--port", str(down.port), "--system-id", "loaduser",
         "--password", "loadpw", "--n", "1000", "--window", "50", "--binds", "2", "--registered-delivery",
         "--timeout", "60", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    report = json.loads(p.stdout)
    assert report["errors"] == {}, report["error_samples"]
    assert report["accepted"] == 1000
    assert report["receipts"]["missing"] == 0 and report["receipts"]["duplicates"] == 0
    assert report["receipts"]["unknown"] == 0
    assert p.returncode == 0


def test_our_server_killed_and_restarted_loses_no_message_and_sends_no_receipt_twice_after(chain):
    """kill -9 of the downstream: messages queued for the upstream, parts
    upstream waiting for their receipts and receipts owed to our client all
    come through after the restart."""
    up = chain.upstream(operators_kyivstar={"delay_min": 0.2, "delay_max": 1.5})
    down = chain.downstream(up.port, window=20)
    sid = new_user(down, balance="1000")
    c = bound(down, sid)
    seq, accepted, window, before = 1, [], set(), []
    while len(before) < 100:
        while len(window) < 50 and len(accepted) < 600:
            seq += 1
            window.add(seq)
            c.send(raw_pdu(C.SUBMIT_SM, seq, submit_body(dst="380671234567", text=b"crash %d" % seq, rd=1)))
        r = c.read(timeout=5)
        assert r is not None
        if r.command_id == C.SUBMIT_SM_RESP:
            window.discard(r.seq)
            assert r.status == S.ESME_ROK
            accepted.append(r.body.rstrip(b"\0").decode())
        elif r.command_id == C.DELIVER_SM:
            c.send(raw_pdu(C.DELIVER_SM_RESP, r.seq, b"\0"))
            before.append(_rid(r))
    down.kill()  # with messages waiting for the link, parts upstream, receipts on their way
    assert len(before) == len(set(before))
    down2 = chain._start(down.config)
    again = RawConn(down2.connect_raw())
    assert again.bind(C.BIND_RECEIVER, sid, PW).status == S.ESME_ROK
    missing, after = set(accepted) - set(before), []
    deadline = time.monotonic() + 60
    while not missing <= set(after) and time.monotonic() < deadline:
        try:
            r = again.read(timeout=1)
        except TimeoutError:
            continue
        assert r is not None
        if r.command_id == C.DELIVER_SM:
            again.send(raw_pdu(C.DELIVER_SM_RESP, r.seq, b"\0"))
            after.append(_rid(r))
    again.drain(1.0)
    after += [_rid(p) for p in again.delivered]
    assert missing <= set(after), f"{len(missing - set(after))} accepted messages lost their receipt"
    assert len(after) == len(set(after)), "a receipt came twice after the restart"
    # a receipt the client had may come again (its ack not yet committed); one
    # of a message the client never heard of is one whose resp the kill swallowed
    assert len(set(after) - set(accepted)) <= len(window)


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (PEM files)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smsc upstream test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "upstream.pem", tmp / "upstream.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class TlsFront:
    """A TLS front for a plain SMPP port (threads, in the test process):
    what an upstream's TLS listener looks like from our side."""

    def __init__(self, cert: Path, key: Path, backend: int) -> None:
        import ssl
        import threading

        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.backend = backend
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.handshakes = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import threading

        while True:
            try:
                raw, _ = self.sock.accept()
                client = self.context.wrap_socket(raw, server_side=True)
            except OSError:
                continue
            self.handshakes += 1
            server = socket.create_connection(("127.0.0.1", self.backend))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass


def test_the_upstream_over_tls_verified_against_its_ca(chain, tmp_path):
    up = chain.upstream()
    cert, key = _self_signed(tmp_path)
    front = TlsFront(cert, key, up.port)
    down = chain.downstream(front.port, tls=True, ca=str(cert))
    sid = new_user(down)
    c = bound(down, sid)
    [mid] = submit_all(c, ["380671234567"], rd=1)
    c.wait_delivered(lambda d: receipt_count(c) >= 1, timeout=40)
    assert receipts_of(c) == {mid: ("DELIVRD", "000")} and front.handshakes >= 1


def test_an_upstream_certificate_the_ca_does_not_sign_is_refused(chain, tmp_path):
    up = chain.upstream()
    cert, key = _self_signed(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    wrong_ca, _ = _self_signed(other)
    front = TlsFront(cert, key, up.port)
    down = chain.downstream(front.port, tls=True, ca=str(wrong_ca))
    sid = new_user(down)
    c = bound(down, sid)
    submit_all(c, ["380671234567"], rd=1)
    c.drain(2.0)
    assert receipt_count(c) == 0 and up.cli("account", "show", DOWN).returncode == 0
    assert any("closed the connection before the bind" in line and "certificate" in line
               for line in down.output), "".join(down.output[-10:])
