"""The load client's wire side: one Twisted protocol per bind.

Hot-path budget, since the client shares two cores with the server it
measures: per batch of bytes one clock read, one framer pass, one write; per
message a spliced pre-encoded submit_sm, a strict decode of its response and
receipt, a pre-encoded deliver_sm_resp and a few dict operations. No
per-message timers, no per-message logging: the only timer is one ticker per
run (``LoadRun.tick``), for enquire_link and stall detection.
"""
from __future__ import annotations

from collections.abc import Callable

from twisted.internet import defer
from twisted.internet.interfaces import ITCPTransport
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure

from smsc.pdu.codec import decode, encode, encode_generic_nack
from smsc.pdu.constants import ESM_CLASS_DELIVERY_RECEIPT, CommandStatus
from smsc.pdu.errors import FramingError, PduDecodeError
from smsc.pdu.framer import MAX_PDU_LENGTH, Framer
from smsc.pdu.pdus import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DeliverSm,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)

from .messages import DELIVER_SM_RESP, ENQUIRE_LINK_RESP, UNBIND_RESP
from .run_state import LoadRun, status_name

_MESSAGE_TYPE_MASK = 0x3C  # esm_class bits 5-2 (SMPP 3.4 5.2.12)
_BIND_REQUEST: dict[str, Callable[..., Pdu]] = {"trx": BindTransceiver, "tx": BindTransmitter, "rx": BindReceiver}


class EsmeSession(Protocol):
    """One SMPP bind of the load client."""

    #: a TCP connection (TCP_NODELAY, abortConnection); Twisted sets it before
    #: connectionMade, and only the runner looks at it earlier (None then)
    transport: ITCPTransport

    def __init__(self, run: LoadRun, bind_type: str) -> None:
        self.run = run
        self.bind_type = bind_type
        self.can_submit = bind_type in ("trx", "tx")
        self.can_receive = bind_type in ("trx", "rx")
        self.framer = Framer(MAX_PDU_LENGTH)
        self.inflight: dict[int, float] = {}   # submit_sm sequence_number -> sent at
        self._requests: dict[int, defer.Deferred[object]] = {}  # bind/unbind/enquire_link
        self.seq = 0
        self.bound = False
        self.closing = False
        self.last_io = run.now()
        self.closed: defer.Deferred[None] = defer.Deferred()

    # -- requests we send --------------------------------------------------

    def _next_seq(self) -> int:
        self.seq = self.seq + 1 if self.seq < 0x7FFFFFFF else 1
        return self.seq

    def request(self, make: Callable[[int], Pdu]) -> defer.Deferred[object]:
        """Send a control request; fires with its response PDU (or None on close)."""
        seq = self._next_seq()
        d: defer.Deferred[object] = defer.Deferred()
        self._requests[seq] = d
        self.transport.write(encode(make(seq)))
        self.last_io = self.run.now()
        return d

    def bind(self) -> defer.Deferred[object]:
        s = self.run.settings
        cls = _BIND_REQUEST[self.bind_type]
        return self.request(lambda seq: cls(sequence_number=seq, system_id=s.system_id,
                                            password=s.password))

    def send_enquire_link(self) -> None:
        self.run.enquire_links_sent += 1
        self.request(lambda seq: EnquireLink(sequence_number=seq))

    def unbind(self) -> defer.Deferred[object]:
        self.bound = False
        self.closing = True
        return self.request(lambda seq: Unbind(sequence_number=seq))

    def pump(self, out: list[bytes], now: float) -> None:
        """Fill this bind's window from the run's remaining messages."""
        run = self.run
        if not (self.bound and self.can_submit and run.submitting) or run.stopping:
            return
        batch = run.take(run.settings.window - len(self.inflight))
        if not batch:
            return
        inflight = self.inflight
        append = out.append
        seq = self.seq
        if seq + len(batch) > 0x7FFFFFFF:
            seq = 0
        for t in batch:
            seq += 1
            append(t.head)
            append(seq.to_bytes(4, "big"))
            append(t.tail)
            inflight[seq] = now
        self.seq = seq
        if run.t_first_submit is None:
            run.t_first_submit = now
        run.submitted += len(batch)
        self.last_io = now

    def start_submitting(self) -> None:
        out: list[bytes] = []
        self.pump(out, self.run.now())
        if out:
            self.transport.write(b"".join(out))

    # -- Twisted -----------------------------------------------------------

    def connectionMade(self) -> None:
        self.transport.setTcpNoDelay(True)

    def dataReceived(self, data: bytes) -> None:
        run = self.run
        now = run.now()
        self.last_io = now
        try:
            frames = self.framer.feed(data)
        except FramingError as e:
            run.error("framing", str(e))
            self.transport.write(encode_generic_nack(0, e.status))
            self.transport.abortConnection()
            return
        out: list[bytes] = []
        inflight = self.inflight
        resp_latencies = run.resp_latencies
        ledger = run.ledger
        got = 0
        for frame in frames:
            try:
                pdu = decode(frame)
            except PduDecodeError as e:
                run.error("decode", f"{e.detail} (command_id 0x{e.command_id:08x})")
                if not e.command_id & 0x80000000:
                    out.append(encode_generic_nack(e.sequence_number, e.status))
                continue
            # one type() per frame; mypy does not narrow through ``cls``, hence the ignores
            cls = type(pdu)
            if cls is SubmitSmResp:
                t0 = inflight.pop(pdu.sequence_number, None)
                if t0 is None:
                    run.error("unexpected_submit_sm_resp", f"seq {pdu.sequence_number}")
                    continue
                got += 1
                resp_latencies.append(now - t0)
                if pdu.command_status == 0:
                    run.accepted += 1
                    ledger.accepted(pdu.message_id, t0)  # type: ignore[union-attr]
                else:
                    run.refused[status_name(pdu.command_status)] += 1
            elif cls is DeliverSm:
                out.append(DELIVER_SM_RESP.render(pdu.sequence_number))
                if not self.can_receive:
                    run.error("deliver_sm_on_transmitter")
                if pdu.esm_class & _MESSAGE_TYPE_MASK == ESM_CLASS_DELIVERY_RECEIPT:  # type: ignore[union-attr]
                    run.on_receipt(pdu, now)  # type: ignore[arg-type]
                else:
                    run.mo_messages += 1
            else:
                self._on_other(pdu, out)
        if got:
            run.responses += got
            run.t_last_resp = now
            run.t_progress = now
        self.pump(out, now)
        if out:
            self.transport.write(b"".join(out))
        if got and not inflight:
            run.check_submit_done()

    def _on_other(self, pdu: Pdu, out: list[bytes]) -> None:
        run = self.run
        seq = pdu.sequence_number
        if isinstance(pdu, EnquireLink):
            out.append(ENQUIRE_LINK_RESP.render(seq))
        elif isinstance(pdu, Unbind):
            out.append(UNBIND_RESP.render(seq))
            if not self.closing:
                run.error("server_unbind")
            self.bound = False
            self.closing = True
            self.transport.write(b"".join(out))
            out.clear()
            self.transport.loseConnection()
        elif isinstance(pdu, GenericNack) and seq in self.inflight:
            # the server could not read our submit_sm: a refusal, and our bug or its
            del self.inflight[seq]
            run.responses += 1
            run.refused[f"generic_nack:{status_name(pdu.command_status)}"] += 1
            run.error("generic_nack", f"{status_name(pdu.command_status)} seq {seq}")
            run.t_progress = run.now()
            run.check_submit_done()
        elif seq in self._requests:
            if isinstance(pdu, EnquireLinkResp):
                run.enquire_links_answered += 1
            self._requests.pop(seq).callback(pdu)
        elif isinstance(pdu, UnbindResp):
            pass  # late answer to an unbind we stopped waiting for
        else:
            run.error("unexpected_pdu", f"{type(pdu).__name__} seq {seq}")
            if not getattr(pdu, "command_id", 0) & 0x80000000:
                out.append(encode_generic_nack(seq, CommandStatus.ESME_RINVCMDID))

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        run = self.run
        was_bound, self.bound = self.bound, False
        if not self.closing and was_bound:
            run.error("connection_lost", str(reason.value) if reason else "")
        if self.inflight:
            run.no_response += len(self.inflight)
            self.inflight.clear()
        requests, self._requests = self._requests, {}
        for d in requests.values():
            d.callback(None)
        run.check_submit_done()
        self.closed.callback(None)
