"""A client that sends and never reads (issue 14 defect 4): the server used
to read everything and buffer every answer (2M enquire_link: +39 MB RSS,
never returned). Now it stops reading once a session's unsent output passes
[smpp] output_pause, so the client's sends block, the server's memory does
not grow, other clients are served, and the stuck session is dropped when
its enquire_link probe goes unanswered."""
from __future__ import annotations

import socket
import time

from clients import PW, RawConn, new_user, raw_pdu
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S

#: what the client tries to send: far more than kernel buffers hold
TRY_BYTES = 24 << 20


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_a_client_that_never_reads_is_paused_and_then_dropped(server_factory):
    srv = server_factory(smpp={"enquire_link_interval": 2.0, "response_timeout": 2.0})
    sid = new_user(srv)
    before = rss_mb(srv.proc.pid)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # reads nothing, holds little
    sock.connect(("127.0.0.1", srv.port))
    sock.settimeout(3)
    chunk = b"".join(raw_pdu(C.ENQUIRE_LINK, i + 1) for i in range(4096))  # 64 KiB
    sent = 0
    try:
        while sent < TRY_BYTES:
            sock.sendall(chunk)
            sent += len(chunk)
    except TimeoutError:
        pass
    assert sent < TRY_BYTES // 2, f"the server read {sent >> 20} MB from a client that reads nothing"
    grown = rss_mb(srv.proc.pid) - before
    assert grown < 8, f"server RSS grew {grown:.0f} MB"
    # meanwhile others are served as ever
    c = RawConn(srv.connect_raw())
    assert c.bind(C.BIND_TRANSCEIVER, sid, PW).status == S.ESME_ROK
    assert c.call(C.ENQUIRE_LINK, 2, b"").status == S.ESME_ROK
    # the stuck one: its probe goes unanswered, so it is dropped (probe after 2 s, 2 s to answer)
    deadline = time.monotonic() + 20
    while "reads too slowly" not in "".join(srv.output) or "no response for" not in "".join(srv.output):
        assert time.monotonic() < deadline, "".join(srv.output)[-2000:]
        time.sleep(0.2)
    sock.close()
