"""[smpp] proxy_protocol: nodes behind HAProxy's send-proxy-v2 see the
client's address from the PROXY header (v1 and v2), so allowlists and the
logs name the client, not the balancer; a connection without the header
never reaches a session."""
from __future__ import annotations

import ipaddress
import socket
import struct

from clients import PW, RawConn, bind_body, new_user, raw_pdu
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(client: str) -> bytes:
    return f"PROXY TCP4 {client} 127.0.0.1 40000 2775\r\n".encode()


def v2(client: str) -> bytes:
    """A PROXY v2 header (PROXY command, TCP over IPv4), as HAProxy sends."""
    addresses = ipaddress.ip_address(client).packed + ipaddress.ip_address("127.0.0.1").packed
    body = addresses + struct.pack("!HH", 40000, 2775)
    return V2_SIGNATURE + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


def bind_as(srv, header: bytes, system_id: str) -> int | None:
    """The bind's status after ``header``, or None when the server closed."""
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    try:
        conn = RawConn(sock)
        conn.send(header + raw_pdu(C.BIND_TRANSCEIVER, 1, bind_body(system_id, PW)))
        reply = conn.read()
        return None if reply is None else reply.status
    finally:
        sock.close()


def test_the_client_address_comes_from_the_proxy_header(server_factory):
    srv = server_factory(smpp={"proxy_protocol": True})
    inside, outside = new_user(srv), new_user(srv)
    srv.cli("account", "allowlist", "add", inside, "203.0.113.0/24")
    srv.cli("account", "allowlist", "add", outside, "127.0.0.1")
    # the TCP peer is 127.0.0.1 every time; the header names the client
    assert bind_as(srv, v1("203.0.113.7"), inside) == S.ESME_ROK
    assert bind_as(srv, v2("203.0.113.8"), inside) == S.ESME_ROK
    assert bind_as(srv, v1("198.51.100.9"), inside) == S.ESME_RBINDFAIL
    assert bind_as(srv, v2("203.0.113.8"), outside) == S.ESME_RBINDFAIL  # 127.0.0.1 is only the balancer
    log = "".join(srv.output)
    assert f"login as {inside} from 198.51.100.9 refused: the address is not in its allowlist" in log
    assert f"login as {outside} from 203.0.113.8 refused" in log
    # a client that skips the balancer (no header) gets no session at all
    assert bind_as(srv, b"", inside) is None


def test_without_the_setting_a_header_is_not_taken(server_factory):
    srv = server_factory()
    sid = new_user(srv)
    srv.cli("account", "allowlist", "add", sid, "203.0.113.0/24")
    # the header's bytes are not SMPP: the session refuses or closes, never binds from 203.0.113.7
    assert bind_as(srv, v1("203.0.113.7"), sid) != S.ESME_ROK


def test_a_connection_past_the_limit_is_closed_behind_the_proxy_layer_too(server_factory):
    srv = server_factory(smpp={"proxy_protocol": True, "max_connections": 1})
    sid = new_user(srv)
    first = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    try:
        conn = RawConn(first)
        conn.send(v2("203.0.113.7") + raw_pdu(C.BIND_TRANSCEIVER, 1, bind_body(sid, PW)))
        reply = conn.read()
        assert reply is not None and reply.status == S.ESME_ROK
        # the limit is reached: the next connection is closed, not wrapped
        # (ProxyFactory.buildProtocol passes the SMPP factory's refusal on)
        assert bind_as(srv, v2("203.0.113.8"), sid) is None
    finally:
        first.close()
    log = "".join(srv.output)
    assert "refused 1 connections (the last from 127.0.0.1): too many in total" in log
    assert "Traceback" not in log and "Unhandled" not in log
