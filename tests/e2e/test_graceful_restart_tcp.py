"""SIGTERM under load, then a restart (issue 14 defect 1).

Two transmitters keep a window of 100 submit_sm each in flight and a
receiver acknowledges every receipt, as ESMEs under load do; the server is
stopped with SIGTERM in the middle and started again on the same store.
README: "Across a graceful restart no receipt is lost or repeated". So:
the server exits 0; no receipt comes twice (before and after the restart
together); every message the store charged for was answered ESME_ROK to
its client (none committed and left unanswered: a client resending it
would pay twice); and every accepted message gets its receipt.
"""
from __future__ import annotations

import socket
import threading
import time

import pytest

from clients import PW, RawConn, balance, new_user, parse_deliver_sm, raw_pdu, submit_body
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.constants import Tag

WINDOW = 100
#: SIGTERM once this many submits were accepted and this many receipts were in
STOP_ACCEPTED, STOP_RECEIPTS = 3000, 1000
#: kopecks, one per message (price 1, one segment)
BALANCE = 100_000
SUBMIT = submit_body(dst="380671234567", text=b"graceful restart", rd=1)
OPERATORS = {"delay_min": 0.05, "delay_max": 0.5, "price": 1}


class Esme(threading.Thread):
    """One bind over raw TCP, run on its own thread until the server ends
    it: answers the server's unbind and enquire_link, acknowledges every
    deliver_sm (recording the receipted id), and as a transmitter keeps
    ``WINDOW`` submit_sm outstanding (recording every answer)."""

    def __init__(self, port: int, system_id: str, bind: C) -> None:
        super().__init__(daemon=True)
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn = RawConn(sock)
        r = self.conn.bind(bind, system_id, PW)
        assert (r.command_id, r.status) == (bind | 0x80000000, S.ESME_ROK)
        self.submits = bind == C.BIND_TRANSMITTER
        self.seq = 1
        self.outstanding: set[int] = set()
        self.accepted: list[str] = []
        self.refused: list[int] = []
        self.receipts: list[str] = []
        self.unbound = False
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while True:
                if self.submits and not self.unbound:
                    self._fill()
                if not self._read():
                    return
        except BaseException as exc:  # seen by the test, not lost in a thread
            self.error = exc

    def _fill(self) -> None:
        out = []
        while len(self.outstanding) < WINDOW:
            self.seq += 1
            self.outstanding.add(self.seq)
            out.append(raw_pdu(C.SUBMIT_SM, self.seq, SUBMIT))
        if out:
            self._send(b"".join(out))

    def _send(self, data: bytes) -> None:
        try:
            self.conn.send(data)
        except OSError:
            pass  # the server is gone; the next read says so

    def _read(self) -> bool:
        try:
            r = self.conn.read(timeout=0.5)
        except TimeoutError:
            return True
        except OSError:
            return False
        if r is None:
            return False
        if r.command_id == C.SUBMIT_SM_RESP:
            self.outstanding.discard(r.seq)
            if r.status == S.ESME_ROK:
                self.accepted.append(r.body.rstrip(b"\0").decode())
            else:
                self.refused.append(r.status)
        elif r.command_id == C.DELIVER_SM:
            rid = parse_deliver_sm(r.body).tlvs[Tag.RECEIPTED_MESSAGE_ID]
            self.receipts.append(rid.rstrip(b"\0").decode())
            self._send(raw_pdu(C.DELIVER_SM_RESP, r.seq, b"\0"))
        elif r.command_id == C.UNBIND:
            self.unbound = True
            self._send(raw_pdu(C.UNBIND_RESP, r.seq))
        elif r.command_id == C.ENQUIRE_LINK:
            self._send(raw_pdu(C.ENQUIRE_LINK_RESP, r.seq))
        return True


@pytest.mark.parametrize("run", range(3))
def test_sigterm_under_load_repeats_no_receipt_and_answers_every_committed_submit(server_factory, tmp_path, run):
    store = tmp_path / "graceful.db"
    srv = server_factory(store=store, operators_kyivstar=OPERATORS)
    sid = new_user(srv, balance=str(BALANCE // 100))
    rx = Esme(srv.port, sid, C.BIND_RECEIVER)
    txs = [Esme(srv.port, sid, C.BIND_TRANSMITTER) for _ in range(2)]
    for e in (rx, *txs):
        e.start()
    deadline = time.monotonic() + 60
    while sum(len(t.accepted) for t in txs) < STOP_ACCEPTED or len(rx.receipts) < STOP_RECEIPTS:
        assert time.monotonic() < deadline, "not enough traffic before the stop"
        assert all(e.is_alive() for e in (rx, *txs)), [e.error for e in (rx, *txs)]
        time.sleep(0.05)
    assert srv.stop(timeout=30) == 0
    for e in (rx, *txs):
        e.join(10)
        assert not e.is_alive() and e.error is None, e.error
    assert all(e.unbound for e in (rx, *txs)), "the server closed a bind without an unbind"
    accepted = [m for t in txs for m in t.accepted]
    assert len(set(accepted)) == len(accepted)
    before = rx.receipts
    assert len(set(before)) == len(before), "a receipt came twice before the stop"
    assert set(t for tx in txs for t in tx.refused) <= {S.ESME_RSYSERR}, "refused while stopping: RSYSERR only"

    srv2 = server_factory(store=store, operators_kyivstar=OPERATORS)
    charged = BALANCE - balance(srv2, sid)
    # every stored (charged) message was answered ESME_ROK before the stop
    assert charged == len(accepted), f"{charged - len(accepted)} committed submits left unanswered"
    after = Esme(srv2.port, sid, C.BIND_RECEIVER)
    after.start()
    missing = set(accepted) - set(before)
    quiet, deadline = 0, time.monotonic() + 30
    while quiet < 4 and time.monotonic() < deadline:  # all in, then 2 s with nothing more
        n = len(after.receipts)
        time.sleep(0.5)
        quiet = quiet + 1 if len(after.receipts) == n and missing <= set(after.receipts) else 0
    repeated = set(before) & set(after.receipts)
    assert not repeated, f"{len(repeated)} receipts came again after the graceful restart"
    assert len(set(after.receipts)) == len(after.receipts), "a receipt came twice after the restart"
    assert missing <= set(after.receipts), f"{len(missing - set(after.receipts))} receipts lost"
    assert set(after.receipts) <= set(accepted), "a receipt for a message its client never heard of"
