"""The Twisted shell around a ``Session``: bytes, timers, the engine.

It moves bytes between the socket and the sans-IO session, owns the timers
(session_init, enquire_link probing, response timeout) on an injected clock,
and turns requests into engine calls. Business rules live in the engine;
protocol rules in the session and ``states.py``. Receipts and MO reach a
bound receiver through the Deliveries port (``smsc.dlr.port``), not the
engine.
"""
from __future__ import annotations

import logging
import socket
from collections import deque
from collections.abc import Mapping
from typing import Any, ClassVar, cast

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IConsumer, IPushProducer, IReactorTime, ITCPTransport
from twisted.internet.protocol import Protocol, ServerFactory, connectionDone
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure
from zope.interface import implementer

from ..config import SmppConfig
from ..metrics import Metrics
from ..engine import SmscEngine
from ..submission import of_data_sm, of_replace_sm, of_submit_multi, of_submit_sm
from ..pdu.codec import encode_submit_sm_resp
from ..pdu.constants import (
    ESM_CLASS_DELIVERY_RECEIPT, ESM_CLASS_INTERMEDIATE_NOTIFICATION, SMPP_VERSION_34, CommandId,
    CommandStatus,
)
from ..pdu.errors import SmppError
from ..pdu.pdus import (
    BindReceiver, BindReceiverResp, BindTransceiver, BindTransceiverResp,
    BindTransmitter, BindTransmitterResp, CancelSm, CancelSmResp, DataSm, DataSmResp,
    EnquireLink, QuerySm, QuerySmResp, ReplaceSm, ReplaceSmResp, SubmitMulti, SubmitMultiResp,
    SubmitSm,
    Unbind, UnbindResp, UnsuccessSme,
)
from ..pdu.receipt import encode_receipt, text_sample
from ..pdu.responses import error_response
from ..accounts.live import LiveAccount
from ..dlr.mo import MoPart, encode_mo
from ..status import receipt_word
from ..dlr.port import DeliveryPort
from ..faults.registry import Faults
from ..records import BindInfo, Receipt
from .conformance import Conformance, Reports
from .session import RequestReceived, RequestRefused, ResponseReceived, Session, SessionClosed
from .states import BOUND_STATES, State

log = logging.getLogger(__name__)

_SUBMIT_SM_RESP = CommandId.SUBMIT_SM_RESP
_ROK = CommandStatus.ESME_ROK

_BIND_KIND = {
    BindTransmitter: ("transmitter", BindTransmitterResp, False),
    BindReceiver: ("receiver", BindReceiverResp, True),
    BindTransceiver: ("transceiver", BindTransceiverResp, True),
}


def _socket_transport(transport: Any) -> Any:
    """The transport that owns the socket and its output buffer: the TCP
    connection itself, or the one under a TLS layer (smsc.server.tls)."""
    while transport is not None and not hasattr(transport, "dataBuffer"):
        transport = getattr(transport, "transport", None)
    return transport


def unsent(fd: Any) -> int:
    """Bytes written to ``fd`` (a Twisted FileDescriptor) and not yet taken
    by the kernel."""
    return int(len(fd.dataBuffer) - fd.offset + fd._tempDataLen)


@implementer(IPushProducer)
class SmppProtocol(Protocol):
    """The session's output is bounded (README "SMPP behaviour"): the
    protocol is the producer of its transport's data, so past
    ``[smpp] output_pause`` unsent bytes Twisted calls ``pauseProducing``,
    which stops reading from the client (nothing read, nothing answered)
    and stops offering it deliveries (they wait in the hub) until the
    client has read enough (``resumeProducing``); past ``max_output`` the
    session is dropped."""

    #: the method answering each request the session hands on; together
    #: with the session's own answers (``session.ANSWERED_HERE``) exactly
    #: what ``states.ACCEPTS`` lets in (tests/server/test_states.py)
    #: set by makeConnection before any callback here runs: a TCP (or TLS) transport
    transport: ITCPTransport
    HANDLERS: ClassVar[Mapping[type, str]] = {
        SubmitSm: "_on_submit",
        DataSm: "_on_data_sm",
        SubmitMulti: "_on_submit_multi",
        QuerySm: "_on_query",
        CancelSm: "_on_cancel",
        ReplaceSm: "_on_replace",
        BindTransmitter: "_on_bind",
        BindReceiver: "_on_bind",
        BindTransceiver: "_on_bind",
        Unbind: "_on_unbind",
    }

    def __init__(
        self, engine: SmscEngine, config: SmppConfig, clock: IReactorTime, metrics: Metrics | None = None,
        *, deliveries: DeliveryPort, faults: Faults | None = None, reports: Reports | None = None,
    ) -> None:
        self.engine = engine
        #: conformance reports (smsc.server.conformance): one per bind
        self.reports = reports
        self.conformance: Conformance | None = None
        #: receipts and MO parts for this session once it is bound to receive
        self.deliveries = deliveries
        #: slow and link faults reach this session through it (smsc.faults)
        self.faults = faults
        #: seconds each submit_sm_resp waits (a slow fault); 0.0: none
        self.slow = 0.0
        self.config = config
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.session = Session(
            now=clock.seconds, max_pdu_length=config.max_pdu_length, window=config.window,
            count=self.metrics.pdu,
        )
        self.account: LiveAccount | None = None
        #: "transmitter" | "receiver" | "transceiver" once bound
        self.bind_type = ""
        self.receiving = False
        self.gone = False
        self._last_heard = 0.0
        self._probing = False
        self._init_timer: Any = None
        self._ticker: LoopingCall | None = None
        self._unbound: Deferred[None] | None = None
        self._flush_scheduled = False
        self._handlers = {cls: getattr(self, name) for cls, name in self.HANDLERS.items()}
        #: the server is stopping (``drain``): no new binds, submits or deliveries
        self.draining = False
        #: the client reads too slowly: reading from it and deliveries are paused
        self.backed_up = False
        #: the socket's transport (under TLS too), whose output buffer is bounded
        self._fd: Any = None
        #: the client's address (the factory counts connections per address)
        self.peer_host = ""

    # --- connection ---------------------------------------------------------

    def connectionMade(self) -> None:
        self._fd = _socket_transport(self.transport)  # under TLS or PROXY layers too
        sock = getattr(self._fd, "socket", None)
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._fd is not None:
            self._fd.bufferSize = self.config.output_pause
            cast(IConsumer, self.transport).registerProducer(self, True)  # TCP, or TLS over it
        self._last_heard = self.clock.seconds()
        self._init_timer = self.clock.callLater(self.config.session_init_timeout, self._init_expired)
        tick = max(0.05, min(self.config.enquire_link_interval, self.config.response_timeout) / 2)
        self._ticker = LoopingCall(self._tick)
        self._ticker.clock = self.clock
        self._ticker.start(tick, now=False)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.gone = True
        if self._init_timer is not None and self._init_timer.active():
            self._init_timer.cancel()
        if self._ticker is not None and self._ticker.running:
            self._ticker.stop()
        # the contexts of our requests are the deliveries their deliver_sm carry
        # (None for enquire_link and unbind)
        outstanding = self.session.take_outstanding()
        unanswered = [e.context for e in outstanding if e.context is not None]
        if self.conformance is not None and self.reports is not None:
            self.conformance.lost(outstanding, self.clock.seconds())
            self.reports.end(self.conformance)
        self.session.close()
        if self.receiving and self.account is not None:
            self.receiving = False
            self.deliveries.detach(self.account.system_id, self, unanswered)
        if self.account is not None:
            if self.faults is not None and self.bind_type:
                self.faults.gone(self)
            self.engine.release(self.account)
        if self._unbound is not None and not self._unbound.called:
            self._unbound.callback(None)
        self.factory.forget(self)

    def dataReceived(self, data: bytes) -> None:
        self._last_heard = self.clock.seconds()
        answered = False
        for event in self.session.receive_data(data):
            if type(event) is RequestReceived:
                if self.session.state is State.CLOSED:
                    continue  # read in the same chunk as the unbind we just answered
                handler = self._handlers.get(type(event.pdu))
                if handler is None:
                    self.session.send(error_response(
                        event.pdu.command_id, event.pdu.sequence_number, CommandStatus.ESME_RINVCMDID
                    ))
                else:
                    handler(event.pdu)
            elif type(event) is ResponseReceived:
                if event.context is not None:  # a receipt's or MO part's deliver_sm
                    ok = event.pdu.command_status == _ROK
                    self.deliveries.answered(event.context, ok)
                    if not ok and self.conformance is not None:
                        self.conformance.note("deliver_sm_error", self._last_heard, event.pdu)
                    answered = True
                elif event.request_id is CommandId.ENQUIRE_LINK:
                    self._probing = False
            elif type(event) is SessionClosed:
                log.info("session %s closed: %s", self._who(), event.reason)
            elif type(event) is RequestRefused and self.conformance is not None:
                self.conformance.undecodable(event.command_id, event.status, event.frame, event.detail,
                                             self._last_heard)
        if answered and self.receiving:
            self.deliveries.pump(self.account.system_id)  # type: ignore[union-attr]
        self._flush()

    def _schedule_flush(self) -> None:
        """Write at the end of this reactor turn: a store commit answers
        hundreds of submits at once, and one write beats hundreds."""
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.clock.callLater(0, self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        out = self.session.data_to_send()
        if out:
            self.transport.write(out)
            fd = self._fd
            if fd is not None and self.backed_up and unsent(fd) > self.config.max_output and not self.gone:
                log.warning("%s: %d bytes unsent (over [smpp] max_output): dropping session",
                            self._who(), unsent(fd))
                self.transport.abortConnection()
                return
        if self.session.state is State.CLOSED and not self.gone:
            self.transport.loseConnection()

    # --- output back-pressure (IPushProducer, called by the transport) ---------

    def pauseProducing(self) -> None:
        """Unsent output passed ``[smpp] output_pause``: read nothing more
        from this client and offer it no deliveries until it catches up."""
        if not self.backed_up:
            self.backed_up = True
            log.info("%s reads too slowly: pausing it", self._who())
        if self._fd is not None:
            self._fd.pauseProducing()  # stop reading from the socket

    def resumeProducing(self) -> None:
        """The client read its backlog: read again, deliver again."""
        self.backed_up = False
        if self._fd is not None and not self.gone:
            self._fd.resumeProducing()
        if self.receiving and not self.gone and self.account is not None:
            self.deliveries.pump(self.account.system_id)

    def stopProducing(self) -> None:
        """The connection is going; connectionLost does the rest."""

    def _who(self) -> str:
        peer = self.transport.getPeer() if self.transport else None
        host = getattr(peer, "host", "?")
        return f"{self.account.system_id if self.account else '-'}@{host}"

    # --- timers ---------------------------------------------------------------

    def _init_expired(self) -> None:
        if self.session.state is State.OPEN and not self.gone:
            log.info("no bind within %.0fs from %s: closing", self.config.session_init_timeout, self._who())
            self.transport.loseConnection()

    def _tick(self) -> None:
        if self.gone:
            return
        now = self.clock.seconds()
        oldest = self.session.oldest_outstanding()
        if oldest is not None and now - oldest > self.config.response_timeout:
            log.warning("%s: no response for %.0fs: dropping session", self._who(), now - oldest)
            self.transport.abortConnection()
            return
        if (
            not self._probing
            and now - self._last_heard >= self.config.enquire_link_interval
            and self.session.state is not State.CLOSED
        ):
            self._probing = True
            if self.conformance is not None and self.session.enquires_in == 0:
                self.conformance.note("no_enquire_link", now, detail=f"idle {now - self._last_heard:.0f}s")
            self.session.send(EnquireLink(sequence_number=self.session.next_sequence()))
            self._flush()

    # --- binds ----------------------------------------------------------------

    def _on_bind(self, pdu: Any) -> None:
        kind, resp_cls, receives = _BIND_KIND[type(pdu)]
        host = getattr(self.transport.getPeer(), "host", "")
        info = BindInfo(pdu.system_id, pdu.password, kind, host)
        d = maybeDeferred(self.engine.authenticate, info)
        d.addCallbacks(
            self._bound, self._bind_refused,
            callbackArgs=(pdu, resp_cls, receives), errbackArgs=(pdu, resp_cls),
        )

    def _bound(self, account: LiveAccount, pdu: Any, resp_cls: type, receives: bool) -> None:
        if self.gone or self.session.state is State.CLOSED:
            # gone, or closing (framing lost) while the password was checked
            self.engine.release(account)
            return
        if self.draining:  # the server began stopping while the password was checked
            self.engine.release(account)
            self.session.send(resp_cls(sequence_number=pdu.sequence_number,
                                       command_status=CommandStatus.ESME_RSYSERR))
            self._flush()
            return
        version = SMPP_VERSION_34 if pdu.interface_version >= SMPP_VERSION_34 else None
        self.session.send(resp_cls(
            sequence_number=pdu.sequence_number, system_id=self.config.system_id,
            sc_interface_version=version,
        ))
        self.account = account
        self.bind_type = _BIND_KIND[type(pdu)][0]
        self.metrics.bind(CommandStatus.ESME_ROK)
        if self._init_timer is not None and self._init_timer.active():
            self._init_timer.cancel()
        log.info("bound %s as %s", self._who(), type(pdu).__name__)
        self._flush()
        if self.faults is not None:
            self.faults.bound(self)
        if self.reports is not None:
            self.conformance = self.reports.start(
                account.system_id, self.bind_type, host_of(self), self.config.window, pdu)
        if receives:
            self.receiving = True
            self.deliveries.attach(account.system_id, self)

    def _bind_refused(self, failure: Failure, pdu: Any, resp_cls: type) -> None:
        if isinstance(failure.value, SmppError):
            status = failure.value.status
            log.info("bind refused for %r from %s: %s", pdu.system_id, self._who(), failure.value.detail)
        else:
            status = CommandStatus.ESME_RBINDFAIL
            log.error("bind of %r failed: %s", pdu.system_id, failure.getTraceback())
        self.metrics.bind(status)
        if self.gone or self.session.state is State.CLOSED:
            return
        self.session.send(resp_cls(sequence_number=pdu.sequence_number, command_status=status))
        self._flush()

    # --- messages -------------------------------------------------------------

    def _on_submit(self, pdu: SubmitSm) -> None:
        if self.conformance is not None:
            self.conformance.submit(pdu, self._last_heard)
        self.engine.submit(
            self.account, of_submit_sm(pdu), self._submit_done, pdu.sequence_number,  # type: ignore[arg-type]
            self if self.receiving else None,
        )

    def _submit_done(self, sequence_number: int, status: int, message_id: str) -> None:
        if self.slow:  # a slow fault
            self.clock.callLater(self.slow, self._submit_answer, sequence_number, status, message_id)
            return
        self._submit_answer(sequence_number, status, message_id)

    def _submit_answer(self, sequence_number: int, status: int, message_id: str) -> None:
        self.metrics.submit(status)
        if self.conformance is not None:
            self.conformance.answered(status, self._last_heard)
        if not self.gone and self.session.state is not State.CLOSED:
            # straight to bytes: a response object and the general encoder
            # cost ~1 µs more per message (5% of the reactor thread's time)
            self.session.respond_encoded(
                _SUBMIT_SM_RESP, status, encode_submit_sm_resp(sequence_number, status, message_id))
            self._schedule_flush()

    def _on_data_sm(self, pdu: DataSm) -> None:
        """data_sm from the ESME is a submission (SMPP 3.4 4.7): the engine
        takes it as the submit_sm it amounts to."""
        self.engine.submit(
            self.account, of_data_sm(pdu), self._data_sm_done, pdu.sequence_number,  # type: ignore[arg-type]
            self if self.receiving else None,
        )

    def _data_sm_done(self, sequence_number: int, status: int, message_id: str) -> None:
        self._answer(DataSmResp(
            sequence_number=sequence_number, command_status=status, message_id=message_id
        ))

    def _on_submit_multi(self, pdu: SubmitMulti) -> None:
        self.engine.submit_multi(
            self.account, of_submit_multi(pdu), self._submit_multi_done, pdu,  # type: ignore[arg-type]
            self if self.receiving else None,
        )

    def _submit_multi_done(
        self, pdu: SubmitMulti, status: int, message_id: str, refused: tuple[tuple[int, int], ...]
    ) -> None:
        unsuccess = tuple(
            UnsuccessSme(*pdu.dest_addresses[index][1:], error) for index, error in refused
        )
        self._answer(SubmitMultiResp(
            sequence_number=pdu.sequence_number, command_status=status, message_id=message_id,
            unsuccess_sme=unsuccess,
        ))

    def take(self, queue: deque[Receipt] | deque[MoPart]) -> None:
        """``port.Receiver``: send what the window has room for. A queue
        holds one kind, so its first item says which deliver_sm to build:
        the one place that decides by type."""
        session = self.session
        free = session.free_slots
        if free <= 0 or self.gone or self.draining or self.backed_up or session.state is State.CLOSED or not queue:
            return
        if type(queue[0]) is MoPart:
            self._send_mo(queue, free)  # type: ignore[arg-type]
            self._schedule_flush()
            return
        receipts: deque[Receipt] = queue  # type: ignore[assignment]  # (cast() is a call per take)
        # the account's receipt options (accounts/ids.py, README "Receipts")
        live = self.account
        format_id, dates = live.format_id, live.format_date  # type: ignore[union-attr]
        while free and receipts:
            r = receipts.popleft()
            m = r.message
            seq = session.next_sequence()
            session.send_encoded(CommandId.DELIVER_SM, seq, encode_receipt(
                seq, format_id(m.id), receipt_word(r.stat, self.engine.faq_words), r.error,
                m.submit_time, r.done_time,
                m.source_addr_ton, m.source_addr_npi, m.source_addr,
                m.dest_addr_ton, m.dest_addr_npi, m.destination_addr,
                text_sample(m.short_message, m.data_coding),
                ESM_CLASS_INTERMEDIATE_NOTIFICATION if r.intermediate else ESM_CLASS_DELIVERY_RECEIPT,
                dates,
            ), r)
            free -= 1
        self._schedule_flush()

    def _send_mo(self, queue: deque[MoPart], free: int) -> None:
        """The MO hub's parts (smsc.dlr.mo) as plain deliver_sm."""
        session = self.session
        while free and queue:
            part = queue.popleft()
            seq = session.next_sequence()
            session.send_encoded(CommandId.DELIVER_SM, seq, encode_mo(part, seq), part)
            free -= 1

    # --- query_sm, cancel_sm ---------------------------------------------------

    def _on_query(self, pdu: QuerySm) -> None:
        d = self.engine.query(self.account, pdu.message_id, pdu.source_addr)  # type: ignore[arg-type]
        d.addCallbacks(self._queried, self._refused, callbackArgs=(pdu,), errbackArgs=(pdu,))

    def _queried(self, answer: Any, pdu: QuerySm) -> None:
        self._answer(QuerySmResp(
            sequence_number=pdu.sequence_number, message_id=pdu.message_id,
            final_date=answer.final_date, message_state=answer.message_state,
            error_code=answer.error_code,
        ))

    def _on_cancel(self, pdu: CancelSm) -> None:
        d = self.engine.cancel(
            self.account, pdu.message_id, pdu.source_addr, pdu.destination_addr  # type: ignore[arg-type]
        )
        d.addCallbacks(self._cancelled, self._refused, callbackArgs=(pdu,), errbackArgs=(pdu,))

    def _cancelled(self, _: None, pdu: CancelSm) -> None:
        self._answer(CancelSmResp(sequence_number=pdu.sequence_number))

    def _on_replace(self, pdu: ReplaceSm) -> None:
        d = self.engine.replace(self.account, of_replace_sm(pdu))  # type: ignore[arg-type]
        d.addCallbacks(self._replaced, self._refused, callbackArgs=(pdu,), errbackArgs=(pdu,))

    def _replaced(self, _: None, pdu: ReplaceSm) -> None:
        self._answer(ReplaceSmResp(sequence_number=pdu.sequence_number))

    def _refused(self, failure: Failure, pdu: Any) -> None:
        """A query_sm / cancel_sm the engine refused: its status, or
        ESME_RSYSERR for a fault of ours."""
        if isinstance(failure.value, SmppError):
            status = failure.value.status
            log.info("%s: %s refused: %s", self._who(), pdu.command_id.name, failure.value.detail)
        else:
            status = CommandStatus.ESME_RSYSERR
            log.error("%s failed: %s", pdu.command_id.name, failure.getTraceback())
        self._answer(error_response(pdu.command_id, pdu.sequence_number, status))

    def _answer(self, resp: Any) -> None:
        """Send a response that was computed asynchronously, unless the
        session is gone meanwhile."""
        if not self.gone and self.session.state is not State.CLOSED:
            self.session.send(resp)
            self._schedule_flush()

    # --- a graceful stop ----------------------------------------------------------

    #: requests refused while draining: they would bind, or write to the store
    _REFUSED_WHILE_DRAINING = (
        SubmitSm, DataSm, SubmitMulti, CancelSm, ReplaceSm, BindTransmitter, BindReceiver, BindTransceiver,
    )

    def drain(self) -> None:
        """The server is stopping (``Server.stop``): from now on binds and
        requests that write (submit_sm, data_sm, submit_multi, cancel_sm,
        replace_sm) get ESME_RSYSERR and change nothing, and no new
        receipt or MO part is offered; what is already committed is still
        answered and answers to deliver_sm already sent are still taken.
        The handlers are swapped rather than checked, so the per-message
        path pays nothing for this."""
        self.draining = True
        for cls in self._REFUSED_WHILE_DRAINING:
            self._handlers[cls] = self._refuse_draining

    def undrain(self) -> None:
        """Back from a fence (``smsc.engine.fence``): binds and writes are
        taken again, deliveries offered again; not on a session this server
        is unbinding (the fence unbinds every session)."""
        if self._unbound is not None:
            return
        self.draining = False
        for cls in self._REFUSED_WHILE_DRAINING:
            self._handlers[cls] = getattr(self, self.HANDLERS[cls])
        if self.receiving and not self.gone and self.account is not None:
            self.deliveries.pump(self.account.system_id)

    def _refuse_draining(self, pdu: Any) -> None:
        if isinstance(pdu, (SubmitSm, DataSm)):
            self.metrics.submit(CommandStatus.ESME_RSYSERR)
        self.session.send(error_response(pdu.command_id, pdu.sequence_number, CommandStatus.ESME_RSYSERR))

    @property
    def awaiting_answers(self) -> int:
        """Our requests (deliver_sm, enquire_link) the client has not answered."""
        return 0 if self.gone else self.session.outstanding

    def flush(self) -> None:
        """Write what is queued now (a stop does not wait for the reactor's turn)."""
        if not self.gone:
            self._flush()

    # --- unbind ---------------------------------------------------------------

    def _on_unbind(self, pdu: Unbind) -> None:
        c = self.conformance
        if c is not None and (c.in_flight or self.session.outstanding):
            c.note("unbind_outstanding", self.clock.seconds(), pdu,
                   f"{c.in_flight} of its requests and {self.session.outstanding} of ours unanswered")
        self.session.send(UnbindResp(sequence_number=pdu.sequence_number))
        # _flush sees the CLOSED state and closes; connectionLost detaches.

    # --- faults (smsc.faults.registry.LinkSession) ----------------------------

    def fault_system_id(self) -> str:
        return self.account.system_id if self.account is not None else ""

    def fault_flags(self, mute_enquire: bool, nack: int, nack_status: int) -> None:
        self.session.mute_enquire = mute_enquire
        self.session.nack_left = nack
        self.session.nack_status = nack_status

    def drop(self) -> None:
        """A link fault: cut the TCP connection (what is unanswered is owed again)."""
        if not self.gone:
            self.transport.abortConnection()

    def unbind(self) -> Deferred[None]:
        """Server-initiated unbind (shutdown): fires when the link is gone."""
        self._unbound = Deferred()
        if self.gone:
            self._unbound.callback(None)
        elif self.session.state in BOUND_STATES:
            self.session.send(Unbind(sequence_number=self.session.next_sequence()))
            self._flush()
        else:
            self.transport.loseConnection()
        return self._unbound


def host_of(p: SmppProtocol) -> str:
    return str(getattr(p.transport.getPeer(), "host", "")) if p.transport else ""


class SmppFactory(ServerFactory):
    """Builds a session per connection, within ``[smpp] max_connections``
    in total and ``max_connections_per_address`` from one address (0: no
    limit): past either the connection is closed at once, before a byte is
    read, and counted (``smsc_connections_refused_total``)."""

    def __init__(
        self, engine: SmscEngine, config: SmppConfig, clock: IReactorTime, metrics: Metrics | None = None,
        *, deliveries: DeliveryPort, faults: Faults | None = None, reports: Reports | None = None,
    ) -> None:
        self.engine = engine
        self.deliveries = deliveries
        self.faults = faults
        self.reports = reports
        self.config = config
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.connections: set[SmppProtocol] = set()
        self.draining = False
        #: source address -> its open connections
        self.per_address: dict[str, int] = {}
        self._refused_since_log = 0
        self._last_refusal_log = float("-inf")

    def buildProtocol(self, addr: Any) -> SmppProtocol | None:
        host = getattr(addr, "host", "")
        limit, per_address = self.config.max_connections, self.config.max_connections_per_address
        if limit and len(self.connections) >= limit:
            self._refuse("total", host)
            return None
        count = self.per_address.get(host, 0)
        if per_address and count >= per_address:
            self._refuse("address", host)
            return None
        p = SmppProtocol(
            self.engine, self.config, self.clock, self.metrics, deliveries=self.deliveries, faults=self.faults,
            reports=self.reports,
        )
        p.factory = self
        p.peer_host = host
        self.connections.add(p)
        self.per_address[host] = count + 1
        if self.draining:
            p.drain()
        return p

    def _refuse(self, reason: str, host: str) -> None:
        self.metrics.connection_refused(reason)
        self._refused_since_log += 1
        now = self.clock.seconds()
        if now - self._last_refusal_log >= 1.0:  # one line a second, however many
            log.warning("refused %d connections (the last from %s): too many %s ([smpp] max_connections%s)",
                        self._refused_since_log, host, "in total" if reason == "total" else "from it",
                        "" if reason == "total" else "_per_address")
            self._refused_since_log = 0
            self._last_refusal_log = now

    def forget(self, p: SmppProtocol) -> None:
        if p in self.connections:
            self.connections.discard(p)
            left = self.per_address.get(p.peer_host, 1) - 1
            if left > 0:
                self.per_address[p.peer_host] = left
            else:
                self.per_address.pop(p.peer_host, None)

    def drain(self) -> None:
        """Every session stops taking binds, writes and deliveries (``SmppProtocol.drain``)."""
        self.draining = True
        for p in list(self.connections):
            p.drain()

    def undrain(self) -> None:
        """Every session takes binds, writes and deliveries again (a fence lifted)."""
        self.draining = False
        for p in list(self.connections):
            p.undrain()
