"""Router mode's wire side: our SMPP client sessions to an upstream SMSC.

``UpstreamSession`` is one bind (a Twisted protocol, our own codec): it
binds on connect, keeps the link alive (enquire_link after ``enquire_link``
seconds of silence), answers what the upstream asks (enquire_link,
unbind; generic_nack for requests we do not take) and hands everything
about messages to its ``LinkOwner`` (``upstream.UpstreamOperator``): bind
results, submit_sm answers, deliver_sm and data_sm. It owns the sequence
numbers and the submit_sm in flight (sequence -> the owner's part, sent
at); the window is the owner's to honour. A session whose oldest submit_sm,
bind or enquire_link is ``response_timeout`` unanswered is dropped: the
owner gets its unanswered parts back to send again (on another session,
or after the reconnect).

``Dialer`` keeps a number of such sessions up: it connects each slot
(through an injected ``connect``, so tests use an in-memory transport), and
when a slot's session is gone dials again after ``reconnect`` seconds, or,
while connecting or binding keeps failing, after doubling waits up to
``MAX_RECONNECT`` (so a refused bind does not hammer the upstream's login
throttle).

Times are the reactor's (real) time. The password is sent in the bind and
nowhere else: never logged.
"""
from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any, Protocol

from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import ClientFactory
from twisted.internet.protocol import Protocol as TwistedProtocol
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure

from ..metrics import status_name
from ..pdu.codec import decode, encode, encode_generic_nack
from ..pdu.constants import CommandId, CommandStatus
from ..pdu.errors import FramingError, PduDecodeError
from ..pdu.framer import MAX_PDU_LENGTH, Framer
from ..pdu.pdus import (
    BindReceiver, BindReceiverResp, BindTransceiver, BindTransceiverResp, BindTransmitter,
    BindTransmitterResp, DataSm, DataSmResp, DeliverSm, DeliverSmResp, EnquireLink, EnquireLinkResp,
    GenericNack, SubmitSmResp, Unbind, UnbindResp, UnsupportedPdu,
)
from .spec import UpstreamSpec

log = logging.getLogger(__name__)

#: the longest wait between two attempts to connect (or bind)
MAX_RECONNECT = 60.0
#: seconds a graceful stop waits for unbind_resp before closing anyway
UNBIND_WAIT = 2.0

_BIND = {"trx": BindTransceiver, "tx": BindTransmitter, "rx": BindReceiver}
_BIND_RESPS = (BindTransceiverResp, BindTransmitterResp, BindReceiverResp)


class LinkOwner(Protocol):
    """What a session tells about itself and the messages on it."""

    def bound(self, session: UpstreamSession) -> None: ...
    def refused(self, session: UpstreamSession, status: int) -> None: ...
    def lost(self, session: UpstreamSession, unanswered: list[Any]) -> None: ...
    def answered(self, session: UpstreamSession, part: Any, status: int, message_id: str) -> None: ...
    def delivered(self, session: UpstreamSession, pdu: DeliverSm | DataSm) -> None: ...


class UpstreamSession(TwistedProtocol):
    """One bind to the upstream: ``kind`` "trx", "tx" or "rx"."""

    def __init__(self, owner: LinkOwner, spec: UpstreamSpec, clock: IReactorTime, kind: str, slot: Any) -> None:
        self.owner = owner
        self.spec = spec
        self.clock = clock
        self.kind = kind
        #: the Dialer's slot this session fills
        self.slot = slot
        self.can_submit = kind != "rx"
        self.bound = False
        self.gone = False
        #: the bind was accepted once / refused (with this status)
        self.ever_bound = False
        self.refused_status: int | None = None
        #: why the connection ended (for the log of a link that never bound)
        self.lost_reason = ""
        self.framer = Framer(MAX_PDU_LENGTH)
        #: submit_sm sequence -> (the owner's part, sent at); oldest first
        self.inflight: dict[int, tuple[Any, float]] = {}
        self._seq = 0
        self._out: list[bytes] = []
        self._bind_seq = 0
        self._probe: tuple[int, float] | None = None
        self._unbinding: Deferred[None] | None = None
        self._connected_at = 0.0
        self._last_heard = 0.0
        self._ticker: LoopingCall | None = None

    def __repr__(self) -> str:
        return f"<UpstreamSession {self.kind} {self.spec.system_id}@{self.spec.host}:{self.spec.port}>"

    # --- sending ------------------------------------------------------------------

    def next_sequence(self) -> int:
        self._seq = self._seq + 1 if self._seq < 0x7FFFFFFF else 1
        return self._seq

    def submit(self, seq: int, part: Any, data: bytes) -> None:
        """Queue an encoded submit_sm (sequence ``seq``) for ``part``;
        written by ``flush``."""
        self.inflight[seq] = (part, self.clock.seconds())
        self._out.append(data)

    def respond(self, pdu: DeliverSm | DataSm, status: int) -> None:
        """Answer a deliver_sm or data_sm the upstream sent (now, unless
        the session is gone: the upstream then offers it again)."""
        if self.gone:
            return
        seq = pdu.sequence_number
        if isinstance(pdu, DataSm):
            self._out.append(encode(DataSmResp(sequence_number=seq, command_status=status)))
        else:
            self._out.append(encode(DeliverSmResp(sequence_number=seq, command_status=status)))
        self.flush()

    def flush(self) -> None:
        if self._out and not self.gone and self.transport is not None:
            out, self._out = b"".join(self._out), []
            self.transport.write(out)

    def abort(self, why: str) -> None:
        if not self.gone and self.transport is not None:
            log.warning("upstream %s: %s: dropping the session", self._name(), why)
            self.transport.abortConnection()  # type: ignore[attr-defined]

    def unbind(self) -> Deferred[None]:
        """Graceful end: unbind, and fire once the link is gone."""
        d: Deferred[None] = Deferred()
        if self.gone:
            d.callback(None)
            return d
        self._unbinding = d
        if self.bound:
            self.bound = False
            self._out.append(encode(Unbind(sequence_number=self.next_sequence())))
            self.flush()
        elif self.transport is not None:
            self.transport.loseConnection()
        return d

    def _name(self) -> str:
        return f"{self.spec.system_id}@{self.spec.host}:{self.spec.port} ({self.kind})"

    # --- Twisted --------------------------------------------------------------------

    def connectionMade(self) -> None:
        sock = getattr(self.transport, "socket", None)
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        now = self.clock.seconds()
        self._connected_at = self._last_heard = now
        self._bind_seq = self.next_sequence()
        spec = self.spec
        self._out.append(encode(_BIND[self.kind](  # type: ignore[arg-type]
            sequence_number=self._bind_seq, system_id=spec.system_id, password=spec.password,
            system_type=spec.system_type,
        )))
        self.flush()
        tick = max(0.05, min(spec.enquire_link, spec.response_timeout) / 4)
        self._ticker = LoopingCall(self._tick)
        self._ticker.clock = self.clock
        self._ticker.start(tick, now=False)

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self.gone:
            return
        self.gone = True
        self.bound = False
        self.lost_reason = reason.getErrorMessage() if reason is not None else ""
        if self._ticker is not None and self._ticker.running:
            self._ticker.stop()
        unanswered = [part for part, _ in self.inflight.values()]
        self.inflight.clear()
        self.owner.lost(self, unanswered)
        if self._unbinding is not None:
            self._unbinding.callback(None)

    def dataReceived(self, data: bytes) -> None:
        self._last_heard = self.clock.seconds()
        try:
            frames = self.framer.feed(data)
        except FramingError as exc:
            self._out.append(encode_generic_nack(0, exc.status))
            self.flush()
            self.abort(f"framing lost ({exc})")
            return
        for frame in frames:
            try:
                pdu = decode(frame)
            except PduDecodeError as exc:
                if not exc.command_id & 0x80000000:
                    self._out.append(encode_generic_nack(exc.sequence_number, exc.status))
                log.warning("upstream %s: undecodable PDU 0x%08x: %s", self._name(), exc.command_id, exc.detail)
                continue
            self._on_pdu(pdu)
            if self.gone:
                return
        self.flush()

    def _on_pdu(self, pdu: Any) -> None:
        cls = type(pdu)
        seq = pdu.sequence_number
        if cls is SubmitSmResp:
            entry = self.inflight.pop(seq, None)
            if entry is not None:
                self.owner.answered(self, entry[0], pdu.command_status, pdu.message_id)
        elif cls is DeliverSm or cls is DataSm:
            self.owner.delivered(self, pdu)
        elif cls is EnquireLink:
            self._out.append(encode(EnquireLinkResp(sequence_number=seq)))
        elif cls is EnquireLinkResp:
            if self._probe is not None and self._probe[0] == seq:
                self._probe = None
        elif cls in _BIND_RESPS and seq == self._bind_seq:
            self._bind_answered(pdu.command_status)
        elif cls is GenericNack:
            entry = self.inflight.pop(seq, None)
            if entry is not None:
                self.owner.answered(self, entry[0], pdu.command_status or CommandStatus.ESME_RUNKNOWNERR, "")
            elif seq == self._bind_seq and not self.bound:
                self._bind_answered(pdu.command_status or CommandStatus.ESME_RBINDFAIL)
        elif cls is Unbind:
            self._out.append(encode(UnbindResp(sequence_number=seq)))
            self.flush()
            log.info("upstream %s unbound us", self._name())
            self.bound = False
            self.transport.loseConnection()  # type: ignore[union-attr]
        elif cls is UnbindResp:
            self.transport.loseConnection()  # type: ignore[union-attr]
        elif not pdu.command_id & 0x80000000:
            if cls is not UnsupportedPdu or pdu.command_id != CommandId.ALERT_NOTIFICATION:
                self._out.append(encode_generic_nack(seq, CommandStatus.ESME_RINVCMDID))
        # other responses: late answers to what we no longer wait for

    def _bind_answered(self, status: int) -> None:
        self._bind_seq = 0
        if status == CommandStatus.ESME_ROK:
            self.bound = self.ever_bound = True
            log.info("bound to upstream %s", self._name())
            self.owner.bound(self)
        else:
            self.refused_status = status
            self.owner.refused(self, status)
            self.transport.loseConnection()  # type: ignore[union-attr]

    def _tick(self) -> None:
        if self.gone:
            return
        now = self.clock.seconds()
        timeout = self.spec.response_timeout
        if self._bind_seq and now - self._connected_at > timeout:
            self.abort(f"no bind_resp in {timeout:g}s")
        elif self.inflight and now - next(iter(self.inflight.values()))[1] > timeout:
            self.abort(f"a submit_sm unanswered for {timeout:g}s")
        elif self._probe is not None:
            if now - self._probe[1] > timeout:
                self.abort(f"enquire_link unanswered for {timeout:g}s")
        elif self.bound and now - self._last_heard >= self.spec.enquire_link:
            seq = self.next_sequence()
            self._probe = (seq, now)
            self._out.append(encode(EnquireLink(sequence_number=seq)))
            self.flush()


#: connects a protocol factory and fires with the connected protocol
Connect = Callable[[ClientFactory], "Deferred[Any]"]


class _Factory(ClientFactory):
    noisy = False

    def __init__(self, make: Callable[[], UpstreamSession]) -> None:
        self._make = make

    def buildProtocol(self, addr: Any) -> UpstreamSession:
        p = self._make()
        p.factory = self
        return p


class Slot:
    """One session the Dialer keeps up."""

    __slots__ = ("kind", "session", "failures", "timer")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.session: UpstreamSession | None = None
        #: connects (or binds) in a row that failed
        self.failures = 0
        self.timer: IDelayedCall | None = None


class Dialer:
    """Keeps ``spec.binds`` sessions (transceivers, or a transmitter and a
    receiver each for ``bind = "tx+rx"``) connected to the upstream."""

    def __init__(self, owner: LinkOwner, spec: UpstreamSpec, clock: IReactorTime, connect: Connect) -> None:
        self.owner = owner
        self.spec = spec
        self.clock = clock
        self._connect = connect
        kinds = ["trx"] if spec.bind == "trx" else ["tx", "rx"]
        self.slots = [Slot(kind) for _ in range(spec.binds) for kind in kinds]
        self.stopping = False

    def start(self) -> None:
        for slot in self.slots:
            self._dial(slot)

    def _dial(self, slot: Slot) -> None:
        slot.timer = None
        if self.stopping:
            return
        factory = _Factory(lambda: UpstreamSession(self.owner, self.spec, self.clock, slot.kind, slot))
        d = self._connect(factory)
        d.addCallbacks(self._connected, self._not_connected, callbackArgs=(slot,), errbackArgs=(slot,))

    def _connected(self, session: UpstreamSession, slot: Slot) -> None:
        slot.session = session
        if self.stopping:
            session.unbind()

    def _not_connected(self, failure: Failure, slot: Slot) -> None:
        slot.failures += 1
        if _worth_logging(slot.failures):
            log.warning("cannot connect to upstream %s:%d (%d tries): %s", self.spec.host, self.spec.port,
                        slot.failures, failure.getErrorMessage())
        self._again(slot)

    def refused(self, slot: Slot, status: int) -> None:
        """The slot's bind was refused: the next try waits longer."""
        slot.failures += 1
        if _worth_logging(slot.failures):
            log.warning("upstream %s:%d refused the bind of %s: %s (%d tries)", self.spec.host, self.spec.port,
                        self.spec.system_id, status_name(status), slot.failures)

    def bound(self, slot: Slot) -> None:
        slot.failures = 0

    def lost(self, slot: Slot, session: UpstreamSession) -> None:
        """The slot's session is gone: dial again (after the backoff; a
        connection that ended before its bind was answered, a TLS handshake
        that failed say, counts as a failure)."""
        slot.session = None
        if not session.ever_bound and session.refused_status is None and not self.stopping:
            slot.failures += 1
            if _worth_logging(slot.failures):
                log.warning("upstream %s:%d closed the connection before the bind (%d tries): %s",
                            self.spec.host, self.spec.port, slot.failures, session.lost_reason)
        self._again(slot)

    def delay(self, slot: Slot) -> float:
        """Seconds before the slot's next try: ``reconnect``, doubling with
        each failure in a row, at most MAX_RECONNECT (or ``reconnect``
        when that is longer)."""
        base = self.spec.reconnect
        wait: float = base * 2 ** min(max(slot.failures - 1, 0), 16)
        return min(wait, max(base, MAX_RECONNECT))

    def _again(self, slot: Slot) -> None:
        if not self.stopping and slot.timer is None:
            slot.timer = self.clock.callLater(self.delay(slot), self._dial, slot)

    def stop(self) -> Deferred[Any]:
        """No more dialling; unbind every session and fire once all are
        gone (closing those that do not answer within UNBIND_WAIT)."""
        self.stopping = True
        waits = []
        for slot in self.slots:
            if slot.timer is not None and slot.timer.active():
                slot.timer.cancel()
            slot.timer = None
            if slot.session is not None and not slot.session.gone:
                waits.append(slot.session.unbind())
        if not waits:
            d: Deferred[Any] = Deferred()
            d.callback(None)
            return d
        done: Deferred[Any] = DeferredList(waits)

        def force() -> None:
            for slot in self.slots:
                if slot.session is not None and not slot.session.gone and slot.session.transport is not None:
                    slot.session.transport.abortConnection()  # type: ignore[attr-defined]

        call = self.clock.callLater(UNBIND_WAIT, force)

        def cancel(result: Any) -> Any:
            if call.active():
                call.cancel()
            return result

        return done.addBoth(cancel)


def _worth_logging(failures: int) -> bool:
    """1, 2, 4, 8, ...: a link that stays down logs less and less."""
    return failures & (failures - 1) == 0


def tcp_connect(reactor: Any, spec: UpstreamSpec) -> Connect:
    """How the server reaches the upstream: TCP, or TLS with ``tls``
    (verifying the upstream's certificate against ``ca``, else the
    system's trust store, for the name in ``host``)."""
    from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS

    endpoint: Any = HostnameEndpoint(reactor, spec.host, spec.port, timeout=spec.response_timeout)
    if spec.tls:
        from pathlib import Path

        from twisted.internet.ssl import Certificate, optionsForClientTLS

        trust = Certificate.loadPEM(Path(spec.ca).read_bytes()) if spec.ca else None
        endpoint = wrapClientTLS(optionsForClientTLS(spec.host, trustRoot=trust), endpoint)
    return endpoint.connect
