"""The SMPP session as a sans-IO state machine.

Bytes in (``receive_data``), events out; PDUs in (``send``), bytes out
(``data_to_send``). It frames, decodes, enforces the bound-state table of
``states.py`` on both sides, answers what needs no application (enquire_link,
refusals, generic_nack), numbers our requests and keeps the window of our
outstanding ones. No sockets, no timers, no Twisted: the protocol shell
feeds it and drives time; tests feed it bytes directly.

The state changes only through ``states.next_state`` (the one table of
transitions): when a bind response with ESME_ROK is *sent* (h11's rule:
authentication may take a while, and until the answer goes out the session
is still OPEN, with the pending bind kept aside), when an unbind is
answered either way, when framing is lost and when the link goes.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final, NamedTuple

from ..pdu.codec import decode, encode
from ..pdu.constants import CommandId as C
from ..pdu.constants import CommandStatus
from ..pdu.errors import FramingError, LocalProtocolError, PduDecodeError
from ..pdu.framer import Framer
from ..pdu.pdus import BIND_REQUESTS, GenericNack, Pdu, UnsupportedPdu
from ..pdu.responses import error_response
from .states import (
    ACCEPTS, BIND_RESPONSES, RECEIVED, WE_SEND, State, Trigger, next_state, refusal, sent_trigger,
)

log = logging.getLogger(__name__)

_MAX_SEQUENCE = 0x7FFFFFFF

#: requests the session answers itself (an empty ``*_resp``, ESME_ROK):
#: no application needed; every other request ``ACCEPTS`` lets in becomes
#: a ``RequestReceived`` the protocol shell has a handler for
ANSWERED_HERE: Final[frozenset[C]] = frozenset({C.ENQUIRE_LINK})


class RequestReceived(NamedTuple):
    """A request the application must answer (bind, submit_sm, unbind, ...)."""

    pdu: Any


class ResponseReceived(NamedTuple):
    """The peer answered one of our requests (``request_id``: its
    command_id); ``context`` is what we gave ``send`` with it. A generic_nack
    from the peer arrives here too."""

    pdu: Any
    request_id: C
    context: Any


class SessionClosed(NamedTuple):
    reason: str


class RequestRefused(NamedTuple):
    """A request the decoder refused, already answered here with its
    ``*_resp`` and ``status`` (a malformed TLV, a bad time): the
    conformance report counts it (``frame``: the bytes as they came)."""

    command_id: int
    status: int
    frame: bytes
    detail: str


Event = RequestReceived | ResponseReceived | SessionClosed | RequestRefused
# Events and window entries are NamedTuples: one is built per PDU, and a
# NamedTuple costs a fraction of a frozen dataclass to make.


class Outstanding(NamedTuple):
    request_id: C
    context: Any
    sent_at: float


class Session:
    def __init__(
        self,
        *,
        now: Callable[[], float],
        max_pdu_length: int = 65536,
        window: int = 100,
        count: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self.state = State.OPEN
        self.window = window
        self.pending_bind: Any = None
        self._now = now
        self._framer = Framer(max_pdu_length)
        self._out: list[bytes] = []
        self._outstanding: dict[int, Outstanding] = {}
        self._sequence = 0
        #: link faults (smsc.faults): leave enquire_link unanswered; answer
        #: the next ``nack_left`` requests with generic_nack(``nack_status``)
        self.mute_enquire = False
        self.nack_left = 0
        self.nack_status: int = CommandStatus.ESME_RSYSERR
        #: enquire_link requests the peer sent (the conformance report)
        self.enquires_in = 0
        #: count(direction, command_id, command_status) per PDU, for metrics
        self._count = count or (lambda direction, command_id, status: None)

    # --- inbound ------------------------------------------------------------

    def _closed(self) -> bool:
        return self.state is State.CLOSED

    def receive_data(self, data: bytes) -> list[Event]:
        if self.state is State.CLOSED:
            return []
        try:
            frames = self._framer.feed(data)
        except FramingError as exc:
            return self._framing_lost(exc)
        events: list[Event] = []
        for frame in frames:
            try:
                pdu = decode(frame)
            except PduDecodeError as exc:
                self._count("in", exc.command_id, exc.status)
                self._refuse_broken(exc, frame, events)
                continue
            self._count("in", pdu.command_id, pdu.command_status)
            if pdu.command_id & 0x80000000:
                self._response(pdu, events)
            else:
                self._request(pdu, events)
            if self._closed():  # the request just handled may have closed it
                break
        return events

    def _request(self, pdu: Any, events: list[Event]) -> None:
        cid = pdu.command_id
        if self.nack_left:  # a link fault
            self.nack_left -= 1
            self._queue(GenericNack(sequence_number=pdu.sequence_number, command_status=self.nack_status))
            return
        if cid not in ACCEPTS[self.state]:
            self._queue(error_response(cid, pdu.sequence_number, refusal(self.state, cid)))
        elif cid in ANSWERED_HERE:
            self.enquires_in += 1
            if not self.mute_enquire:
                self._queue(error_response(cid, pdu.sequence_number, CommandStatus.ESME_ROK))
        elif isinstance(pdu, UnsupportedPdu):
            self._queue(GenericNack(sequence_number=pdu.sequence_number,
                                    command_status=CommandStatus.ESME_RINVCMDID))
        elif isinstance(pdu, BIND_REQUESTS):
            if self.pending_bind is not None:
                self._queue(error_response(cid, pdu.sequence_number, CommandStatus.ESME_RALYBND))
            else:
                self.pending_bind = pdu
                events.append(RequestReceived(pdu))
        else:
            events.append(RequestReceived(pdu))

    def _response(self, pdu: Any, events: list[Event]) -> None:
        entry = self._outstanding.pop(pdu.sequence_number, None)
        if entry is None:
            log.debug("unexpected %s seq=%d dropped", pdu.command_id.name, pdu.sequence_number)
            return
        events.append(ResponseReceived(pdu, entry.request_id, entry.context))
        trigger = RECEIVED.get(pdu.command_id)
        if trigger is not None:
            self.state = next_state(self.state, trigger)
            events.append(SessionClosed("unbound"))

    def _refuse_broken(self, exc: PduDecodeError, frame: bytes, events: list[Event]) -> None:
        cid, seq = exc.command_id, exc.sequence_number
        if cid & 0x80000000:
            # A broken answer to one of our requests counts as a refusal of it.
            log.info("malformed response %08x seq=%d: %s", cid, seq, exc.detail)
            entry = self._outstanding.get(seq)
            if entry is not None and cid == (entry.request_id | 0x80000000):
                del self._outstanding[seq]
                nack = GenericNack(sequence_number=seq, command_status=exc.status)
                events.append(ResponseReceived(nack, entry.request_id, entry.context))
            return
        if cid not in C._value2member_map_:
            self._queue(GenericNack(sequence_number=seq, command_status=CommandStatus.ESME_RINVCMDID))
        elif cid not in ACCEPTS[self.state]:
            self._queue(error_response(cid, seq, refusal(self.state, C(cid))))
        else:
            self._queue(error_response(cid, seq, exc.status))
            events.append(RequestRefused(cid, exc.status, frame, exc.detail))

    def _framing_lost(self, exc: FramingError) -> list[Event]:
        self._queue(GenericNack(sequence_number=0, command_status=exc.status))
        self.state = next_state(self.state, Trigger.FRAMING_LOST)
        return [SessionClosed(f"framing lost: {exc.detail}")]

    # --- outbound -----------------------------------------------------------

    def next_sequence(self) -> int:
        self._sequence = self._sequence % _MAX_SEQUENCE + 1
        return self._sequence

    def send(self, pdu: Any, context: Any = None) -> None:
        """Queue our PDU. Requests need a bound state that allows them."""
        cid = pdu.command_id
        if cid & 0x80000000:
            if self.state is State.CLOSED:
                raise LocalProtocolError(f"{cid.name} on a closed session")
            trigger = sent_trigger(cid, pdu.command_status)
            # checked before anything is queued: a move the table lacks is our bug
            state = self.state if trigger is None else next_state(self.state, trigger)
            if cid in BIND_RESPONSES:  # answered, either way
                self.pending_bind = None
            self._queue(pdu)
            self.state = state
            return
        self.send_encoded(cid, pdu.sequence_number, encode(pdu), context)

    def respond_encoded(self, command_id: C, status: int, data: bytes) -> None:
        """``send`` for a response already encoded that changes no state
        (submit_sm_resp: one per message, pdu.codec.encode_submit_sm_resp)."""
        if self.state is State.CLOSED:
            raise LocalProtocolError(f"{command_id.name} on a closed session")
        self._count("out", command_id, status)
        self._out.append(data)

    def send_encoded(self, command_id: C, sequence_number: int, data: bytes, context: Any = None) -> None:
        """``send`` for a request already encoded: the receipt hot path, which
        writes its deliver_sm straight to bytes (pdu.receipt.encode_receipt)."""
        if command_id not in WE_SEND[self.state]:
            raise LocalProtocolError(f"cannot send {command_id.name} in {self.state.name}")
        self._outstanding[sequence_number] = Outstanding(command_id, context, self._now())
        self._count("out", command_id, 0)
        self._out.append(data)

    def _queue(self, pdu: Pdu) -> None:
        self._count("out", pdu.command_id, pdu.command_status)
        self._out.append(encode(pdu))

    def data_to_send(self) -> bytes:
        out, self._out = self._out, []
        return b"".join(out)

    # --- the window -----------------------------------------------------------

    @property
    def outstanding(self) -> int:
        return len(self._outstanding)

    @property
    def free_slots(self) -> int:
        return self.window - len(self._outstanding)

    def oldest_outstanding(self) -> float | None:
        """When the oldest unanswered request of ours was sent (dicts keep
        insertion order, so it is the first entry)."""
        for entry in self._outstanding.values():
            return entry.sent_at
        return None

    def take_outstanding(self) -> list[Outstanding]:
        """Forget every unanswered request (the link is gone) and return them."""
        entries = list(self._outstanding.values())
        self._outstanding.clear()
        return entries

    def close(self) -> None:
        """The link is gone (or the shell drops it)."""
        self.state = next_state(self.state, Trigger.CONNECTION_LOST)
