"""The real SMPP session over the real engine, in memory, for fuzzing.

``Harness`` builds the server's own graph as ``smsc.app.build`` does
(``build_engine``, the faults read from the store, the protocol factory
with its Deliveries port, faults and conformance reports) on a
``task.Clock`` over a temporary SQLite store run inline (no threads, as
``tests/engine/rig.py``), with one user account. ``Conn`` is a
client connection whose bytes go straight into ``SmppProtocol.dataReceived``
and whose output is parsed back into frames. After every step ``check``
holds the invariants a hostile client must never break:

- nothing raises out of the protocol or the clock (a ``LocalProtocolError``
  is our bug), and nothing logs an error (a failed store waiter, an
  unhandled Deferred);
- everything we write is a PDU our codec decodes;
- every request the client sent with a sequence number of its own gets
  exactly one response, of its own command (or generic_nack), unless the
  session closed first; no response answers nothing;
- our requests outstanding never exceed the window (+1 enquire_link, +1
  unbind).

Used by ``scripts/fuzz_session`` (hypothesis, for as long as you like) and
``tests/pdu/test_malformed_corpus.py`` (CI).
"""
from __future__ import annotations

import logging
import struct
import tempfile
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python import log as twisted_log

from smsc import config as config_mod
from smsc.app import build_engine
from smsc.dlr.deliveries import Deliveries
from smsc.metrics import Metrics
from smsc.pdu.codec import decode
from smsc.pdu.constants import CommandId as C
from smsc.pdu.errors import PduDecodeError
from smsc.pdu.framer import Framer
from smsc.records import Account
from smsc.server.conformance import Reports
from smsc.server.protocol import SmppFactory, SmppProtocol
from smsc.store.id_blocks import MessageIds
from smsc.store.open import open_target
from smsc.store.worker import StoreWorker

START = 1_764_590_400.0
WINDOW = 5
SYSTEM_ID, PASSWORD = "shop", "pw"
HEADER = struct.Struct(">IIII")


class Finding(AssertionError):
    """An invariant broke: the fuzzer's finding."""


def _verify(password: str, password_hash: str) -> "Deferred[bool]":
    return succeed(password_hash == "hash-of-pw" and password == PASSWORD)


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


class SocketLikeTransport(StringTransport):
    """A StringTransport with a FileDescriptor's output buffer (the
    protocol's back-pressure looks for one); written bytes count as unsent
    until the client "reads" them (``Conn.output`` clears them)."""

    dataBuffer = b""
    offset = 0

    @property
    def _tempDataLen(self) -> int:  # noqa: N802 (Twisted's name)
        return len(self.value())


class Harness:
    def __init__(self, directory: Path | None = None) -> None:
        self._tmp = None if directory is not None else tempfile.TemporaryDirectory()
        path = Path(directory or self._tmp.name) / "fuzz.db"  # type: ignore[union-attr]
        ops = {k: {"delay_min": 0.0, "delay_max": 0.2} for k in
               ("kyivstar", "vodafone", "lifecell", "intertelecom", "peoplenet", "3mob")}
        self.config = config_mod.parse({
            "simulation": {"seed": 7},
            "smpp": {"window": WINDOW, "session_init_timeout": 5.0, "enquire_link_interval": 3.0,
                     "response_timeout": 2.0, "max_pdu_length": 4096, "output_pause": 2048,
                     "max_output": 65536},
            "accounts": {"max_bind_failures": 1000},
            "operators": ops,
        }, "<fuzz>")
        self.clock = Clock()
        self.clock.advance(START)
        self.store = open_target(str(path))
        if self.store.get_account(SYSTEM_ID) is None:
            self.store.add_account(Account(SYSTEM_ID, "hash-of-pw", "user", 10**12, ("Shop",)))
        self.worker = StoreWorker(self.store, self.clock, threaded=False)
        self.metrics = Metrics()
        self.engine = build_engine(
            self.config, self.worker, self.clock,
            MessageIds(self.store.message_ids(START), self.worker, self.clock.seconds), self.metrics, _verify,
        )
        self.engine.faults.read = self.worker.active_faults
        self.factory = SmppFactory(
            self.engine, self.config.smpp, self.clock, self.metrics,
            deliveries=Deliveries(self.engine.receipts, self.engine.mo),
            faults=self.engine.faults, reports=Reports(self.clock.seconds, self.worker.save_client_reports),
        )
        self.worker.start()
        self.errors = _Errors()
        logging.getLogger("smsc").addHandler(self.errors)
        self._twisted_errors: list[str] = []
        self._observer = self._twisted_errors_seen
        twisted_log.addObserver(self._observer)
        self.conns: list[Conn] = []

    def _twisted_errors_seen(self, event: dict[str, Any]) -> None:
        if event.get("isError"):
            self._twisted_errors.append(str(event.get("failure") or event.get("message")))

    def connect(self) -> "Conn":
        c = Conn(self)
        self.conns.append(c)
        return c

    def run(self, seconds: float) -> None:
        """Let the clock run (commits, operators, timers), in small steps."""
        end = self.clock.seconds() + seconds
        self.clock.advance(0)
        while self.clock.seconds() < end:
            self.clock.advance(min(0.05, end - self.clock.seconds()))
        self.clock.advance(0)

    def check(self) -> None:
        for c in self.conns:
            c.check()
        errors = self.errors.records + self._twisted_errors
        if errors:
            raise Finding("errors logged:\n" + "\n".join(errors))

    def close(self) -> None:
        for c in self.conns:
            c.lose()
        self.run(0.05)
        logging.getLogger("smsc").removeHandler(self.errors)
        twisted_log.removeObserver(self._observer)
        self.store.close()
        if self._tmp is not None:
            self._tmp.cleanup()


class Conn:
    def __init__(self, harness: Harness) -> None:
        self.h = harness
        proto = harness.factory.buildProtocol(None)
        assert proto is not None
        self.proto: SmppProtocol = proto
        self.transport = SocketLikeTransport()
        self.proto.makeConnection(self.transport)
        self.framer = Framer(1 << 20)
        #: our sequence number -> the command_id of the request it carries
        self.asked: dict[int, int] = {}
        #: the server's requests waiting for our answer: seq -> command_id
        self.server_asked: dict[int, int] = {}
        #: responses to our requests: (command_id, status, seq, the PDU)
        self.answers: list[tuple[int, int, int, Any]] = []
        self.lost = False
        self._seq = 0x10000
        #: what went in and came out lately (a finding shows it)
        self.history: list[str] = []

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    @property
    def closed(self) -> bool:
        return self.lost or self.transport.disconnecting or bool(self.transport.disconnected)

    def send(self, data: bytes, ask: tuple[int, int] | None = None, chunks: list[int] | None = None) -> None:
        """``data`` to the server (cut at ``chunks`` offsets); ``ask``:
        (seq, command_id) of a request it carries that must be answered."""
        if self.closed:
            return
        if ask is not None:
            seq, cid = ask
            if seq in self.asked:
                raise Finding(f"the fuzzer reused seq {seq}")
            self.asked[seq] = cid
        self.history = [*self.history[-30:], f"in  {data[:64].hex()}{'...' if len(data) > 64 else ''}"
                                              f" ({len(data)} bytes) ask={ask}"]
        cuts = sorted({c for c in (chunks or []) if 0 < c < len(data)})
        start = 0
        for cut in [*cuts, len(data)]:
            if self.closed:
                break  # the rest is never read; what was written still arrives
            self.proto.dataReceived(data[start:cut])
            start = cut
        self.output()

    def output(self) -> None:
        """Read what the server wrote (the client catches up), check each frame."""
        self.h.clock.advance(0)
        data = self.transport.value()
        self.transport.clear()
        if self.proto.backed_up and not self.closed:
            self.proto.resumeProducing()  # the transport would, once drained
        if not data:
            return
        for frame in self.framer.feed(data):
            try:
                pdu = decode(frame)
            except PduDecodeError as exc:
                raise Finding(f"we wrote a PDU our codec cannot read: {frame.hex()} ({exc.detail})") from None
            cid, status, seq = int(pdu.command_id), pdu.command_status, pdu.sequence_number
            self.history = [*self.history[-30:], f"out {cid:#x} seq {seq} status {status:#x}"]
            if cid & 0x80000000:
                asked = self.asked.pop(seq, None)
                if asked is None:
                    if cid == C.GENERIC_NACK and seq == 0:
                        continue  # framing lost: a nack for no request
                    raise Finding(f"a response {cid:#x} seq {seq} to no request of ours (or a second one)\n"
                                  + "\n".join(self.history))
                if cid not in (asked | 0x80000000, C.GENERIC_NACK):
                    raise Finding(f"request {asked:#x} seq {seq} answered with {cid:#x}")
                self.answers.append((cid, status, seq, pdu))
            else:
                self.server_asked[seq] = cid
        if self.transport.disconnecting and not self.lost:
            self.lose()  # what the reactor does once the close is through

    def answer_server(self, status: int = 0, only: int | None = None) -> None:
        """Answer the server's requests (deliver_sm, enquire_link, unbind)."""
        for seq, cid in list(self.server_asked.items())[:only]:
            del self.server_asked[seq]
            self.send(HEADER.pack(16 if cid != C.DELIVER_SM else 17, cid | 0x80000000, status, seq)
                      + (b"\0" if cid == C.DELIVER_SM else b""))

    def lose(self) -> None:
        if not self.lost:
            self.lost = True
            self.proto.connectionLost(None)  # type: ignore[arg-type]

    def settle(self) -> None:
        """Run the clock until what the server owes us has come (0.5 s)."""
        self.h.run(0.5)
        self.output()

    def check(self) -> None:
        if self.closed:
            self.output()  # what it wrote before the close
            self.asked.clear()  # and nothing more is owed
            return
        if self.proto.session.outstanding > WINDOW + 2:
            raise Finding(f"{self.proto.session.outstanding} of our requests outstanding, window {WINDOW}")

    def check_answered(self) -> None:
        """After ``settle``: every request the client sent was answered."""
        self.check()
        if self.asked and not self.closed:
            raise Finding(f"requests never answered: {self.asked}")
