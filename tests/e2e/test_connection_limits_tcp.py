"""Connection limits and the listen backlog (issue 14 item 7): past
[smpp] max_connections (in total) or max_connections_per_address a
connection is closed at once and counted; a flood of 2,000 connections
that never bind is accepted whole (it used to stall at ~700: Twisted's
backlog of 50 and a soft limit of 1,024 open files)."""
from __future__ import annotations

import errno
import os
import re
import resource
import selectors
import signal
import socket
import time
import urllib.request

from clients import PW, RawConn, http_base, new_user, raw_pdu
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S


def metric(base: str, name: str) -> dict[str, float]:
    text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(rf"{name}(\{{[^}}]*\}})? (\S+)$", line)
        if m:
            out[m.group(1) or ""] = float(m.group(2))
    return out


def closed_at_once(sock: socket.socket) -> bool:
    """The server closed this connection without a byte."""
    sock.settimeout(2)
    try:
        return sock.recv(16) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def connect(srv, source: str) -> socket.socket:
    return socket.create_connection(("127.0.0.1", srv.port), timeout=5, source_address=(source, 0))


def test_limits_in_total_and_per_address(server_factory):
    srv = server_factory(smpp={"max_connections": 4, "max_connections_per_address": 2},
                         http={"enabled": True, "port": 0})
    base = http_base(srv)
    sid = new_user(srv)
    a = [connect(srv, "127.0.0.1") for _ in range(2)]
    assert closed_at_once(connect(srv, "127.0.0.1"))  # a third from that address
    b = [connect(srv, "127.0.0.2") for _ in range(2)]
    assert closed_at_once(connect(srv, "127.0.0.3"))  # a fifth in all
    assert metric(base, "smsc_connections_refused_total") == {'{reason="address"}': 1.0, '{reason="total"}': 1.0}
    assert metric(base, "smsc_connections") == {"": 4.0}
    # the ones let in work as ever; one closed makes room for another
    assert RawConn(a[0]).bind(C.BIND_TRANSCEIVER, sid, PW).status == S.ESME_ROK
    b[0].close()
    time.sleep(0.3)
    c = connect(srv, "127.0.0.3")
    assert RawConn(c).bind(C.BIND_TRANSCEIVER, sid, PW).status == S.ESME_ROK
    assert "refused 1 connections (the last from 127.0.0.1): too many from it" in "".join(srv.output)


def test_a_flood_of_connections_is_accepted(server_factory):
    """The flood comes while the server is busy (stopped, here): what the
    kernel holds for it is the listen backlog; past it SYNs are dropped and
    clients retry after 1, 3, 7 ... s."""
    flood = 2000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < flood + 200:  # this test process holds the client ends
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, flood + 500), hard))
    srv = server_factory(http={"enabled": True, "port": 0},
                         smpp={"session_init_timeout": 60, "max_connections_per_address": flood})
    base = http_base(srv)
    socks: list[socket.socket] = []
    try:
        os.kill(srv.proc.pid, signal.SIGSTOP)
        try:
            for _ in range(flood):  # as fast as connect() goes: a reconnect storm
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", srv.port))
                socks.append(s)
            time.sleep(0.5)
        finally:
            os.kill(srv.proc.pid, signal.SIGCONT)
        # every one answers an enquire_link (answered before a bind) once accepted
        waiting = {s.fileno(): s for s in socks}
        sel = selectors.DefaultSelector()
        for s in socks:
            sel.register(s, selectors.EVENT_WRITE)
        answered, sent, deadline = 0, set(), time.monotonic() + 3
        while answered < flood and time.monotonic() < deadline:
            for key, events in sel.select(timeout=0.5):
                s = key.fileobj
                if events & selectors.EVENT_WRITE and s.fileno() not in sent:
                    if s.connect_ex(("127.0.0.1", srv.port)) in (0, errno.EISCONN):
                        s.send(raw_pdu(C.ENQUIRE_LINK, 1))
                        sent.add(s.fileno())
                        sel.modify(s, selectors.EVENT_READ)
                elif events & selectors.EVENT_READ:
                    if len(s.recv(64)) >= 16:
                        answered += 1
                    sel.unregister(s)
        assert answered == flood, f"{flood - answered} of {flood} connections not answered within 3 s"
        assert metric(base, "smsc_connections") == {"": float(flood)}
        assert not metric(base, "smsc_connections_refused_total")
    finally:
        for s in waiting.values():
            s.close()
