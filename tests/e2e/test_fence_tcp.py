"""A node cut off from the database fences itself (``smsc.engine.fence``),
over TCP with real ``smsc serve`` nodes on one PostgreSQL.

Node a reaches the database through a TCP proxy the test cuts; node b
directly. Each node has a receiver of the account. A burst of submits on
a is answered ESME_ROK; its messages are in the (slow) operators' hands
when a's database goes: a fences before the lease (its sessions unbound,
binds refused, /health 503, ``smsc_cluster_fenced 1``), so its operators'
outcomes reach nobody from its memory; b takes the messages over after the
lease and receipts them. Every accepted message is receipted exactly once
across both receivers. When the proxy is back, a's heartbeat finds its row
deleted by b's takeover: it exits with status 75. A lone node whose
database was down (nobody could take it over) serves again once it is back.

Without the fence a keeps its receiver and sends each receipt from memory
(its final-state write fails), and b sends it again after the takeover.
"""
from __future__ import annotations

import re
import socket
import threading
import time

from clients import PW, RawConn, http_base, http_call, new_user, parse_deliver_sm, raw_pdu, submit_body
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.constants import Tag

LEASE = 2.0
#: slower than the fence (2/3 of the lease after the last good beat) plus the burst
OPERATORS = {"delay_min": 2.5, "delay_max": 3.5, "price": 1}
BURST = 100
SUBMIT = submit_body(dst="380671234567", text=b"fence test", rd=1)


class Proxy:
    """127.0.0.1:port -> the database; ``cut`` closes every connection and
    refuses new ones (accepted and closed at once) until ``heal``."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.cut_off = False
        self.lock = threading.Lock()
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.open += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.cut_off = True
        with self.lock:
            for s in self.open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.open.clear()

    def heal(self) -> None:
        self.cut_off = False

    def close(self) -> None:
        self.cut()
        self.listener.close()


class Receiver(threading.Thread):
    """A bound receiver acknowledging every deliver_sm; notes the server's unbind."""

    def __init__(self, port: int, system_id: str) -> None:
        super().__init__(daemon=True)
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn = RawConn(sock)
        r = self.conn.bind(C.BIND_RECEIVER, system_id, PW)
        assert (r.command_id, r.status) == (C.BIND_RECEIVER_RESP, S.ESME_ROK), r
        self.receipts: list[str] = []
        self.unbound = threading.Event()
        self.gone = threading.Event()
        self.start()

    def run(self) -> None:
        conn = self.conn
        try:
            while True:
                try:
                    r = conn.read(timeout=0.5)
                except TimeoutError:
                    continue
                if r is None:
                    break
                if r.command_id == C.DELIVER_SM:
                    rid = parse_deliver_sm(r.body).tlvs[Tag.RECEIPTED_MESSAGE_ID]
                    self.receipts.append(rid.rstrip(b"\0").decode())
                    conn.send(raw_pdu(C.DELIVER_SM_RESP, r.seq, b"\0"))
                elif r.command_id == C.ENQUIRE_LINK:
                    conn.send(raw_pdu(C.ENQUIRE_LINK_RESP, r.seq))
                elif r.command_id == C.UNBIND:
                    self.unbound.set()
                    conn.send(raw_pdu(C.UNBIND_RESP, r.seq))
        except OSError:
            pass
        self.gone.set()


def wait(what: str, done, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.05)


def with_port(url: str, port: int) -> str:
    return re.sub(r"@127\.0\.0\.1:\d+/", f"@127.0.0.1:{port}/", url)


def test_a_node_cut_off_from_the_database_fences_and_every_accepted_message_is_receipted_once(
    server_factory, pg_store_url
):
    db_port = int(re.search(r":(\d+)/", pg_store_url).group(1))
    proxy = Proxy(db_port)
    try:
        a = server_factory(store=with_port(pg_store_url, proxy.port), operators_kyivstar=OPERATORS,
                           cluster={"node": "a", "lease": LEASE}, http={"enabled": True, "port": 0})
        b = server_factory(store=pg_store_url, operators_kyivstar=OPERATORS, cluster={"node": "b", "lease": LEASE})
        sid = new_user(b, balance="1000")
        here, there = Receiver(a.port, sid), Receiver(b.port, sid)
        sender = RawConn(a.connect_raw())
        assert sender.bind(C.BIND_TRANSMITTER, sid, PW).status == S.ESME_ROK
        started = time.monotonic()
        sender.send(b"".join(raw_pdu(C.SUBMIT_SM, seq, SUBMIT) for seq in range(2, 2 + BURST)))
        accepted = []
        while len(accepted) < BURST:
            r = sender.read()
            assert r is not None and r.command_id == C.SUBMIT_SM_RESP and r.status == S.ESME_ROK, r
            accepted.append(r.body.rstrip(b"\0").decode())
        proxy.cut()  # a's database is gone: its heartbeat can no longer be renewed
        cut = time.monotonic()
        assert cut - started < OPERATORS["delay_min"] - LEASE * 2 / 3, "the burst was too slow for this test"

        wait("a's receiver unbound", here.unbound.is_set, LEASE * 2)
        fenced_after = time.monotonic() - cut
        assert fenced_after <= LEASE * 2 / 3 + 0.5, fenced_after
        assert sender.read(timeout=3).command_id == C.UNBIND  # the transmitter too
        again = RawConn(a.connect_raw())
        assert again.bind(C.BIND_RECEIVER, sid, PW).status == S.ESME_RSYSERR  # binds refused
        health = http_call("GET", http_base(a) + "/health")
        assert health.status == 503 and health.body["heartbeat_ok"] is False, health.body
        assert "no heartbeat for" in health.body["fence_reason"]
        assert re.search(r"^smsc_cluster_fenced\{[^}]*\} 1\.0$",
                         http_call("GET", http_base(a) + "/metrics").body.decode(), re.M)
        assert here.receipts == []  # none came from a's memory before the fence either

        # b takes a's messages over after the lease and receipts each once
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not set(accepted) <= set(there.receipts):
            time.sleep(0.1)
        time.sleep(1.0)  # a duplicate would come now
        got = here.receipts + there.receipts
        assert set(got) == set(accepted), (len(set(accepted) - set(got)), len(set(got) - set(accepted)))
        assert len(got) == len(set(got)), f"{len(got) - len(set(got))} receipts came twice"
        assert f"took over {BURST} unfinished messages of node a" in "".join(b.output), "".join(b.output)[-2000:]

        proxy.heal()  # a's heartbeat is back, and its row is b's takeover's to have deleted
        assert a.proc.wait(LEASE * 5) == 75, "".join(a.output)[-3000:]
        out = "".join(a.output)
        assert "fenced: no heartbeat for" in out and "was taken over by another node" in out
        assert b.stop() == 0
    finally:
        proxy.close()


def test_a_node_whose_database_was_down_for_everyone_fences_and_then_serves_again(server_factory, pg_store_url):
    """Nobody could take it over: back from the fence it takes binds and
    submits again, and its receipts flow (without the un-fence it would
    refuse binds until restarted)."""
    db_port = int(re.search(r":(\d+)/", pg_store_url).group(1))
    proxy = Proxy(db_port)
    try:
        a = server_factory(store=with_port(pg_store_url, proxy.port), cluster={"node": "a", "lease": LEASE},
                           http={"enabled": True, "port": 0})
        sid = new_user(a, balance="10")
        receiver = Receiver(a.port, sid)
        proxy.cut()
        wait("the receiver unbound", receiver.unbound.is_set, LEASE * 2)
        refused = RawConn(a.connect_raw())
        assert refused.bind(C.BIND_TRANSCEIVER, sid, PW).status == S.ESME_RSYSERR
        time.sleep(LEASE)  # past the lease by the database's clock too
        proxy.heal()
        # (/health itself stays 503 for 10 s after the last failed commit: COMMIT_FAILURE_HOLD)
        wait("the heartbeat back", lambda: http_call("GET", http_base(a) + "/health").body["heartbeat_ok"],
             LEASE * 3)
        assert a.proc.poll() is None
        receiver = Receiver(a.port, sid)
        trx = RawConn(a.connect_raw())
        assert trx.bind(C.BIND_TRANSMITTER, sid, PW).status == S.ESME_ROK
        status, mid = trx.submit(2)
        assert status == S.ESME_ROK
        wait("its receipt", lambda: receiver.receipts == [mid], 10)
        out = "".join(a.output)
        assert "fenced: no heartbeat for" in out and "serving again" in out and "taken over" not in out
        assert a.stop() == 0
    finally:
        proxy.close()
