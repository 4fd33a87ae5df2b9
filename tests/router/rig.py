"""The real engine with an upstream operator on a task.Clock, and a fake
upstream SMSC on the other end of in-memory links.

``RouterRig`` is ``tests.engine.rig.Rig`` (the server's own graph through
``smsc.app.build_engine``) with ``[operators.kyivstar]`` an upstream whose
connections go to a ``FakeUpstream``: each link is a StringTransport, and
the test reads what our session wrote (``link.read()``) and answers
(``link.send(...)``). Closing a link tells our session on the next clock
turn, as a reactor would.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import ConnectionDone, ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from smsc.engine import Engine
from smsc.operators.upstream import UpstreamOperator
from smsc.pdu.codec import decode, encode
from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.constants import Tag
from smsc.pdu.framer import Framer
from smsc.pdu.pdus import (
    BindReceiver, BindReceiverResp, BindTransceiver, BindTransceiverResp, BindTransmitter,
    BindTransmitterResp, DeliverSm, EnquireLink, EnquireLinkResp, SubmitSm, SubmitSmResp,
)
from smsc.pdu.receipt import receipt_pdu

import engine.rig as engine_rig
from engine.rig import START, Rig

UPSTREAM = {"kind": "smpp", "host": "upstream.test", "port": 2776, "system_id": "down", "password": "downpw",
            "reconnect": 1.0, "response_timeout": 5.0, "enquire_link": 30.0}

_BIND_RESP = {BindTransceiver: BindTransceiverResp, BindTransmitter: BindTransmitterResp,
              BindReceiver: BindReceiverResp}


class Wire(StringTransport):
    """A StringTransport whose close reaches the protocol (one clock turn later)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.closed = False
        self.protocol: Any = None

    def loseConnection(self) -> None:
        self._close()

    def abortConnection(self) -> None:
        self._close()

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            self.clock.callLater(0, self.protocol.connectionLost, Failure(ConnectionDone()))


@dataclass(eq=False)
class Link:
    peer: "FakeUpstream"
    protocol: Any
    wire: Wire
    framer: Framer = field(default_factory=lambda: Framer(65536))
    bound_as: type | None = None

    def read(self) -> list[Any]:
        """The PDUs our session wrote since the last read."""
        data = self.wire.value()
        self.wire.clear()
        return [decode(frame) for frame in self.framer.feed(data)]

    def send(self, *pdus: Any) -> None:
        if not self.wire.closed:
            self.protocol.dataReceived(b"".join(encode(p) for p in pdus))

    def close(self) -> None:
        """The upstream goes away (a kill: no unbind)."""
        self.wire.abortConnection()

    @property
    def open(self) -> bool:
        return not self.wire.closed


class FakeUpstream:
    """The upstream SMSC, as far as a test needs one."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.links: list[Link] = []
        self.refuse_connect = False
        self.bind_status = S.ESME_ROK
        self.connects = 0
        #: (link, submit_sm) not yet answered, in order
        self.submits: list[tuple[Link, SubmitSm]] = []
        #: every submit_sm ever received
        self.received: list[SubmitSm] = []
        #: (link, deliver_sm_resp/data_sm_resp) received
        self.responses: list[tuple[Link, Any]] = []
        self.answer_enquire_link = True
        #: close every new link before answering its bind (a failed TLS handshake, say)
        self.hang_up = False

    def connect(self, factory: Any) -> "Deferred[Any]":
        self.connects += 1
        if self.refuse_connect:
            return fail(ConnectionRefusedError())
        proto = factory.buildProtocol(None)
        wire = Wire(self.clock)
        wire.protocol = proto
        link = Link(self, proto, wire)
        self.links.append(link)
        proto.makeConnection(wire)
        return succeed(proto)

    def open_links(self) -> list[Link]:
        return [link for link in self.links if link.open]

    def serve(self) -> None:
        """Read every open link: answer binds and enquire_links, keep
        submit_sm (in ``submits``) and responses."""
        for link in self.open_links():
            if self.hang_up and link.bound_as is None:
                link.close()
                continue
            for pdu in link.read():
                cls = type(pdu)
                if cls in _BIND_RESP:
                    link.send(_BIND_RESP[cls](sequence_number=pdu.sequence_number,
                                              command_status=self.bind_status, system_id="up"))
                    if self.bind_status == S.ESME_ROK:
                        link.bound_as = cls
                elif cls is EnquireLink:
                    if self.answer_enquire_link:
                        link.send(EnquireLinkResp(sequence_number=pdu.sequence_number))
                elif cls is SubmitSm:
                    self.submits.append((link, pdu))
                    self.received.append(pdu)
                elif pdu.command_id & 0x80000000:
                    self.responses.append((link, pdu))

    def answer(self, status: int = S.ESME_ROK, ids: Any = None) -> list[tuple[SubmitSm, str]]:
        """Answer every submit_sm waiting: ``ids`` gives each message_id
        (a callable of the submit, or None for u1, u2, ...)."""
        done = []
        pending, self.submits = self.submits, []
        for link, pdu in pending:
            mid = ids(pdu) if callable(ids) else f"u{len(self.received) + len(done)}x{pdu.sequence_number}"
            if status != S.ESME_ROK:
                mid = ""
            link.send(SubmitSmResp(sequence_number=pdu.sequence_number, command_status=status, message_id=mid))
            done.append((pdu, mid))
        return done

    def receipt(self, upstream_id: str, stat: str = "DELIVRD", err: int = 0, *, link: Link | None = None,
                tlv: bool = True, text_id: str | None = None, esm_class: int = 0x04, seq: int = 1) -> DeliverSm:
        """Send a receipt for ``upstream_id`` on ``link`` (the first open
        one that receives): with the receipted_message_id TLV, or without
        it and ``id:text_id`` in the text."""
        link = link or self.open_links()[0]
        pdu = receipt_pdu(seq, text_id or upstream_id, stat, err, START, START, 1, 1, "380671234567",
                          5, 0, "Shop", b"hi", esm_class)
        if not tlv:
            from dataclasses import replace

            pdu = replace(pdu, tlvs=tuple((t, v) for t, v in pdu.tlvs if t != Tag.RECEIPTED_MESSAGE_ID))
        elif text_id is not None:
            from dataclasses import replace

            tlvs = tuple((t, v) for t, v in pdu.tlvs if t != Tag.RECEIPTED_MESSAGE_ID)
            pdu = replace(pdu, tlvs=((Tag.RECEIPTED_MESSAGE_ID, upstream_id.encode() + b"\0"),) + tlvs)
        link.send(pdu)
        return pdu


class RouterRig(Rig):
    """``Rig`` with kyivstar an upstream (``upstream`` overrides UPSTREAM's
    keys); the graph is still ``Rig``'s own, with the upstream's links
    going to ``self.peer``."""

    def __init__(self, path: Path, upstream: dict[str, Any] | None = None, start: bool = True,
                 **sections: Any) -> None:
        operators = dict(sections.pop("operators", {}))
        operators["kyivstar"] = {**UPSTREAM, **(upstream or {})}
        original = engine_rig.build_engine

        def build(*args: Any, **kw: Any) -> Engine:
            return original(*args, **kw, upstream_connect=lambda spec: lambda factory: self.peer.connect(factory))

        engine_rig.build_engine = build
        try:
            super().__init__(str(path), operators=operators, **sections)
        finally:
            engine_rig.build_engine = original
        self.peer = FakeUpstream(self.clock)
        self.upstream: UpstreamOperator = self.engine.operators["kyivstar"]  # type: ignore[assignment]
        if start:
            self.start()

    def start(self) -> None:
        self.upstream.start()
        self.turn()

    def run(self, seconds: float = 0.0, step: float = 0.01) -> None:
        self.turn(seconds, step)

    def turn(self, seconds: float = 0.0, step: float = 0.01) -> None:
        """Let the clock run ``seconds``, the fake upstream reading as it goes."""
        end = self.clock.seconds() + seconds
        while True:
            self.clock.advance(0)
            self.peer.serve()
            self.clock.advance(0)
            left = end - self.clock.seconds()
            if left <= 1e-6:  # float steps near 1.7e9 s: stop short of a few ulps
                break
            self.clock.advance(min(step, left))
        self.peer.serve()
        self.clock.advance(0)
