"""SMPP over TLS ([tls] port, cert, key) with python-smpplib over a real
TLS socket: every bind type, submits and receipts as on the plain port; a
plaintext client on the TLS port gets no bind (issue 14 item 5)."""
from __future__ import annotations

import datetime
import ipaddress
import re
import socket
import ssl
import time
from pathlib import Path

import pytest
import smpplib.client
import smpplib.consts
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from clients import PW, Esme, bind_body, new_user, raw_pdu
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 / localhost and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smsc test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


def tls_port(srv, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        for line in srv.output:
            m = re.search(r"SMPP over TLS listening on [\d.]+:(\d+)", line)
            if m:
                return int(m.group(1))
        assert time.monotonic() < deadline, "".join(srv.output)
        time.sleep(0.05)


class TlsEsme(Esme):
    def __init__(self, port: int, cafile: Path) -> None:
        ctx = ssl.create_default_context(cafile=str(cafile))
        ctx.check_hostname = False  # smpplib wraps without a server_hostname; the CA pin still holds
        super().__init__(port)
        self.client = smpplib.client.Client("127.0.0.1", port, timeout=5, allow_unknown_opt_params=True,
                                            ssl_context=ctx)
        self.client.set_message_received_handler(self._received)
        self.client.set_message_sent_handler(lambda pdu: self.resps.append(pdu))
        self.client.set_error_pdu_handler(lambda pdu: None)


@pytest.fixture
def tls_server(server_factory, tmp_path):
    cert, key = self_signed(tmp_path)
    srv = server_factory(tls={"port": 0, "cert": str(cert), "key": str(key)})
    return srv, tls_port(srv), cert


@pytest.mark.parametrize("kind", ["transmitter", "receiver", "transceiver"])
def test_every_bind_type_over_tls(tls_server, kind):
    srv, port, cert = tls_server
    sid = new_user(srv)
    esme = TlsEsme(port, cert)
    assert esme.bind(kind, sid, PW).status == S.ESME_ROK
    assert isinstance(esme.client._socket, ssl.SSLSocket) and esme.client._socket.version() >= "TLSv1.2"
    esme.close()


def test_submits_and_receipts_over_tls(tls_server):
    srv, port, cert = tls_server
    sid = new_user(srv)
    esme = TlsEsme(port, cert)
    esme.bind("transceiver", sid, PW)
    for i in range(20):
        esme.submit(f"over tls {i}".encode())
    esme.pump_until(lambda: len(esme.receipts) == 20)
    ids = esme.message_ids()
    assert len(ids) == 20
    got = sorted(r.receipted_message_id.decode() for r in esme.receipts)
    assert got == sorted(ids)
    assert all(b"stat:DELIVRD" in r.short_message for r in esme.receipts)
    # the same submit rules as the plain port
    esme.submit(b"nowhere", dest="12345")
    esme.pump_until(lambda: any(r.status == S.ESME_RINVDSTADR for r in esme.resps if r.command == "submit_sm_resp"))
    esme.close()


def test_a_plaintext_client_on_the_tls_port_gets_no_bind(tls_server):
    srv, port, _ = tls_server
    sid = new_user(srv)
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(raw_pdu(C.BIND_TRANSCEIVER, 1, bind_body(sid, PW)))
    got = b""
    try:
        while chunk := sock.recv(4096):
            got += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    sock.close()
    # at most a TLS alert record, never a bind_transceiver_resp
    assert C.BIND_TRANSCEIVER_RESP.to_bytes(4, "big") not in got, got
    assert not got or got[0] == 0x15, got  # 0x15: a TLS alert
    # and the plain port still works as ever
    esme = Esme(srv.port)
    assert esme.bind("transceiver", sid, PW).status == S.ESME_ROK
    esme.close()


def test_a_bad_certificate_stops_the_server_with_one_line(server_factory, tmp_path):
    (tmp_path / "bad.pem").write_text("not a certificate")
    with pytest.raises(RuntimeError) as exc:
        server_factory(tls={"port": 0, "cert": str(tmp_path / "bad.pem")})
    assert "smsc: error: [tls] cert" in str(exc.value) and "no PEM certificate" in str(exc.value)


def test_connection_limits_hold_on_the_tls_port_too(server_factory, tmp_path):
    """[smpp] max_connections counts plain and TLS together: past it a TLS
    connection is closed before its handshake (issue 14 item 7)."""
    cert, key = self_signed(tmp_path)
    srv = server_factory(tls={"port": 0, "cert": str(cert), "key": str(key)}, smpp={"max_connections": 2})
    port = tls_port(srv)
    sid = new_user(srv)
    plain = Esme(srv.port)
    assert plain.bind("transceiver", sid, PW).status == S.ESME_ROK
    esme = TlsEsme(port, cert)
    assert esme.bind("transceiver", sid, PW).status == S.ESME_ROK  # the second of two
    ctx = ssl.create_default_context(cafile=str(cert))
    ctx.check_hostname = False
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        ctx.wrap_socket(raw).do_handshake()  # a third: closed at once
    raw.close()
    deadline = time.monotonic() + 5
    while "refused 1 connections" not in "".join(srv.output):
        assert time.monotonic() < deadline, "".join(srv.output)[-2000:]
        time.sleep(0.05)
    esme.close()
    plain.close()
