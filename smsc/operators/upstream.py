"""Router mode: an operator that is a real upstream SMSC, reached over SMPP.

``UpstreamOperator`` implements ``port.Operator`` like ``SimOperator``
does, so the engine, routing, billing and receipts are the same; only the
network behind it is real. A message's life here::

    submit(message, expires_at, not_before)
      -> held until not_before, then queued: one part per submit_sm  } cancel() -> True
         (our split with our UDH, a client's own segment with its UDH) } while no part is out
      -> sent on a bound session with window room, at the throughput
      -> submit_sm_resp: ESME_ROK: the upstream id is stored with ours;
         ESME_RTHROTTLED / ESME_RMSGQFUL: sent again after a backoff;
         any other refusal: the part ends REJECTD / UNDELIV, err = status
      -> the upstream's receipt (deliver_sm 0x04 / data_sm) for each part
      -> once every part is final: on_final with the worst part's stat/err

What is durable, and where: the message itself is the engine's (an
unfinished message is resumed by a restart and handed back to ``submit``);
this operator stores, per part, the upstream's message id once its
submit_sm_resp comes, the part's final state once its receipt (or refusal)
comes, and a client segment's UDH before the message is stored
(``store.port.UpstreamLeg``, ``StorePort.record_legs``). A receipt's
deliver_sm_resp goes out only after its part's state is committed: an
upstream never forgets a receipt we could lose. After a restart
(``restore``, then the resumes) a part with an upstream id waits for its
receipt, a part without one is sent again, a message whose parts are all
final ends at once.

At-least-once, with the rules of SMPP: a submit_sm whose answer never came
(``response_timeout``, or the session died) is sent again, on another
session or after the reconnect, and so may reach the upstream twice (and be
billed twice there). Our client still gets one receipt: a message ends
once, the first final receipt of each part counts, and receipts for ids we
no longer (or never) knew are acknowledged and dropped (counted in
``smsc_upstream_unmatched_receipts_total``). A receipt that overtakes its
own submit_sm_resp (it came on another session) waits for it, for
``ORPHAN_WAIT`` seconds; with one session bound nothing can overtake
(the upstream answers a submit_sm before it receipts it, on one stream),
so an unknown id is acknowledged at once.

While no session is bound (refused, killed, unbound, enquire_link
unanswered) messages wait, in memory and as unfinished messages in the
store; a message whose validity (or TTL) ends before its parts could be
sent ends EXPIRED (err 027) at that moment, with its receipt. One that
went out but whose end the upstream never tells (no receipt, or no
submit_sm_resp on a session that stays up) ends EXPIRED (err 027, done at
the end of its validity) ``response_timeout`` after its validity ends, the
time the upstream's own EXPIRED receipt has to come; an answer or receipt
for it after that is acknowledged and dropped. Past
``queue_limit`` waiting messages ``full`` is true and the engine refuses
new submits with ESME_RMSGQFUL.

MO: a deliver_sm that is not a receipt goes to the account owning its
destination (``[mo] numbers``), into the MO queue as ``smsc mo inject``
writes it; the parts of a concatenated MO are joined first (up to
``MO_WAIT`` seconds for the missing ones).

Time: ``expires_at`` and receipts' done times are simulation time, as for
every operator (``clock.SimClock``); the link (throughput, timeouts,
backoff) runs on the reactor's real time. The validity each submit_sm asks
of the upstream is the message's remaining time, relative.
"""
from __future__ import annotations

import logging
import struct
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.task import LoopingCall

from ..metrics import Histogram, status_name
from ..pdu.constants import ESM_CLASS_UDHI, CommandId, CommandStatus, Tag
from ..pdu.errors import SmppError
from ..pdu.pdus import DataSm, DeliverSm, SubmitSm, tlv_value
from ..pdu.smpp_time import format_relative
from ..pdu.text import decode as decode_text
from ..records import Message
from ..status import EXPIRED
# at import, not per call: a function-level import costs 1-3 µs, twice a message
from ..store.port import UpstreamLeg
from .clock import SimClock
from .port import OnEnroute, OnFinal, Operator, Outcome
from .scheduler import Scheduler
from .spec import UpstreamSpec
from .upstream_link import Connect, Dialer, UpstreamSession
from .upstream_rules import (
    ERR_EXPIRED, REBIND, RETRY, UpstreamReceipt, canonical, is_receipt, parse_receipt, parts, refusal_stat,
    worst,
)

if TYPE_CHECKING:
    from ..store.port import MessageStore, StorePort

log = logging.getLogger(__name__)

S = CommandStatus

_HEADER = struct.Struct(">IIII")
_SUBMIT_SM = int(CommandId.SUBMIT_SM)
#: registered_delivery asked of the upstream: a final receipt always (we
#: need every part's state), ENROUTE notifications when our client wants them
RD_FINAL, RD_INTERMEDIATE = 0x01, 0x10
#: backoff after ESME_RTHROTTLED / ESME_RMSGQFUL: first wait, longest wait (s)
FIRST_BACKOFF, MAX_BACKOFF = 0.1, 10.0
#: seconds the parts of a concatenated MO wait for the missing ones
MO_WAIT = 10.0
#: seconds between sweeps of receipts and MO parts waiting for company
SWEEP = 1.0
#: receipt latency buckets: seconds from submit_sm to the part's receipt
RECEIPT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)
#: an idle link may send this many seconds' worth of its throughput at once
BURST_SECONDS = 0.1
#: seconds a receipt with an unknown id waits for its submit_sm_resp on another session
ORPHAN_WAIT = 1.0
#: ids of finished parts remembered, so repeated receipts are answered at once
FINISHED_IDS = 100_000


#: (owner, source, destination, ref, total): one concatenated MO
_MoKey = tuple[str, str, str, int, int]


def _unconnected(outcome: Outcome) -> None:
    raise RuntimeError("UpstreamOperator.connect was never called: nobody hears outcomes")


class _Track:
    """A message in this operator's hands."""

    __slots__ = ("message", "expires_at", "legs", "held", "done", "enroute", "deadline")

    def __init__(self, message: Message, expires_at: float) -> None:
        self.message = message
        self.expires_at = expires_at
        self.legs: list[_Leg] = []
        #: no part sent yet: cancel_sm and replace_sm can still reach it
        self.held = False
        #: final (or cancelled): its parts in the queue are skipped
        self.done = False
        #: an ENROUTE notification was passed on
        self.enroute = False
        #: once a part went out: the reactor second (``_deadlines`` key) its
        #: wait for the upstream's answers and receipts ends
        self.deadline: int | None = None


class _Leg:
    """One part: one submit_sm, one upstream id, one receipt."""

    __slots__ = (
        "track", "part", "body", "udh", "upstream_id", "stat", "error", "done_time", "sent_at", "accepted_at",
    )

    def __init__(self, track: _Track, part: int, body: bytes, udh: bytes) -> None:
        self.track = track
        self.part = part
        self.body = body
        self.udh = udh
        self.upstream_id: str | None = None
        self.stat: str | None = None
        self.error = 0
        self.done_time = 0.0
        #: when its submit_sm went out; None while none is in flight
        self.sent_at: float | None = None
        #: when the submit_sm the upstream accepted went out (receipt latency)
        self.accepted_at = 0.0

    @property
    def waiting(self) -> bool:
        """Still to be sent: no answer accepted it nor ended it, none in flight."""
        return self.stat is None and self.upstream_id is None and self.sent_at is None


class _Orphan:
    """A receipt whose upstream id we do not know (yet)."""

    __slots__ = ("session", "pdu", "receipt", "since", "settled")

    def __init__(self, session: UpstreamSession, pdu: DeliverSm | DataSm, receipt: UpstreamReceipt,
                 since: float) -> None:
        self.session = session
        self.pdu = pdu
        self.receipt = receipt
        self.since = since
        self.settled = False


class UpstreamOperator:
    """An upstream SMSC as an operator (``port.Operator``); see the module doc."""

    def __init__(
        self,
        key: str,
        spec: UpstreamSpec,
        *,
        sim: SimClock,
        scheduler: Scheduler,
        clock: IReactorTime,
        store: StorePort,
        connect: Connect,
        mo_numbers: Mapping[str, str] | None = None,
        default_alphabet: str = "gsm",
    ) -> None:
        self.key = key
        self.spec = spec
        self._sim = sim
        self._scheduler = scheduler
        self._clock = clock
        self._store = store
        self._mo_numbers = dict(mo_numbers or {})
        self._alphabet = default_alphabet
        self._on_final: OnFinal = _unconnected
        self._on_enroute: OnEnroute | None = None
        self._dialer = Dialer(self, spec, clock, connect)

        #: message id -> its track, for every message here not final
        self._tracks: dict[int, _Track] = {}
        #: the tracks with no part sent yet (scheduled, or waiting for the link)
        self._held: dict[int, _Track] = {}
        #: parts to send, in order (parts of finished messages are skipped)
        self._queue: deque[_Leg] = deque()
        #: canonical upstream id -> its part, while the part waits for its receipt
        self._by_upstream: dict[str, _Leg] = {}
        #: client segments' UDHs, until their message is submitted here
        self._udh: dict[int, bytes] = {}
        #: legs read back at start, by message id, until the message is resumed
        self._saved: dict[int, list[UpstreamLeg]] = {}
        #: receipts waiting for their submit_sm_resp, by each reading of their id
        self._orphans: dict[str, _Orphan] = {}
        #: canonical ids of parts whose final state we have, newest last (bounded)
        self._finished: dict[str, None] = {}
        #: MO parts waiting for the rest: (owner, source, destination, ref, total) -> seq -> part
        self._mo_parts: dict[_MoKey, dict[int, tuple[str, UpstreamSession, DeliverSm | DataSm]]] = {}
        self._mo_since: dict[_MoKey, float] = {}

        #: bound sessions, and those of them that submit
        self._sessions: list[UpstreamSession] = []
        self._senders: list[UpstreamSession] = []
        self._next_sender = 0
        self._pump_call: IDelayedCall | None = None
        self._pump_due = 0.0
        #: the one expiry timer, and the simulation time it is set for
        self._expiry_call: IDelayedCall | None = None
        self._expiry_at = 0.0
        #: messages with a part out, by the reactor second their wait ends
        #: (end of validity + response_timeout): second -> message ids; a
        #: message leaves its bucket when it ends, so only unfinished ones
        #: are kept; swept once a second up to the current second
        self._deadlines: dict[int, dict[int, None]] = {}
        self._deadlines_swept = int(clock.seconds())

        # throughput: a token bucket in real seconds over all sessions
        self._rate = spec.throughput
        self._burst = max(1.0, self._rate * BURST_SECONDS)
        self._tokens = self._burst
        self._refilled = clock.seconds()
        # ESME_RTHROTTLED / ESME_RMSGQFUL: no submit until then
        self._paused_until = 0.0
        self._backoff = 0.0

        #: remaining seconds -> the relative validity_period they are written as
        self._validities: dict[int, bytes] = {}
        # part states gathered in a reactor turn, and the answers that wait for their commit
        self._records: list[UpstreamLeg] = []
        self._after_records: list[tuple[UpstreamSession, DeliverSm | DataSm]] = []
        self._record_call: IDelayedCall | None = None

        # metrics
        #: submit_sm answers by status name
        self.submits: dict[str, int] = {}
        self.receipt_latency = Histogram(RECEIPT_BUCKETS)
        #: receipts for ids we did not know (a leg sent twice, or after its message ended)
        self.unmatched = 0
        self._sweeper = LoopingCall(self._sweep)
        self._sweeper.clock = clock

    # --- the engine's side (port.Operator) -------------------------------------------

    @property
    def full(self) -> bool:
        return len(self._held) >= self.spec.queue_limit

    def connect(self, on_final: OnFinal, on_enroute: OnEnroute | None = None) -> None:
        self._on_final = on_final
        self._on_enroute = on_enroute

    def expires_at(self, now: float, validity: float | None = None) -> float:
        ttl_end = now + self.spec.ttl
        return ttl_end if validity is None or validity > ttl_end else validity

    def client_udh(self, message_id: int, udh: bytes) -> None:
        """Keep it, and store it now: this store job is queued before the
        group commit that stores the message, so a restart that finds the
        message finds its UDH too."""
        self._udh[message_id] = udh
        self._store.record_legs([UpstreamLeg(message_id, 1, udh=udh)]).addErrback(
            lambda f: log.error("storing the UDH of message %d failed: %s", message_id, f.getErrorMessage()))

    def restore(self, store: MessageStore) -> None:
        self.adopt(store.unfinished_legs(self.key))

    def adopt(self, legs: Iterable[UpstreamLeg]) -> None:
        """Legs of messages about to be submitted again (a restart, or a
        cluster node taking over a dead node's messages): a part already
        sent upstream waits for its receipt rather than going again."""
        for leg in legs:
            self._saved.setdefault(leg.message_id, []).append(leg)

    def submit(self, message: Message, expires_at: float, not_before: float | None = None) -> None:
        t = _Track(message, expires_at)
        saved = {leg.part: leg for leg in self._saved.pop(message.id, ())}
        udh = self._udh.pop(message.id, None)
        if udh is None and 1 in saved:
            udh = saved[1].udh
        for part, (body, leg_udh) in enumerate(parts(message, udh), 1):
            leg = _Leg(t, part, body, leg_udh)
            old = saved.get(part)
            if old is not None:
                leg.stat, leg.error, leg.done_time = old.stat, old.error or 0, old.done_time or 0.0
                if old.upstream_id is not None:
                    leg.upstream_id = old.upstream_id
                    if leg.stat is None:
                        self._by_upstream[canonical(old.upstream_id)] = leg
            t.legs.append(leg)
        self._tracks[message.id] = t
        if all(leg.stat is not None for leg in t.legs):  # a restart found it done
            self._clock.callLater(0, self._finish_if_done, t)
            return
        self._watch_expiry(expires_at)
        if any(leg.upstream_id is not None and leg.stat is None for leg in t.legs):
            self._await_deadline(t)  # a restart found parts upstream: their receipts may never come
        if all(leg.waiting for leg in t.legs):
            t.held = True
            self._held[message.id] = t
            if not_before is not None and not_before > self._sim.now():
                self._scheduler.call_at(self._sim.to_real(not_before), self._wake, t)
                return
        self._enqueue(t)

    def cancel(self, message_id: int) -> bool:
        t = self._held.pop(message_id, None)
        if t is None:
            return False
        t.done = True
        del self._tracks[message_id]
        return True

    def held(self) -> list[Message]:
        return [t.message for t in self._held.values()]

    def holds(self, message_id: int) -> bool:
        return message_id in self._held

    def pending(self) -> int:
        return len(self._held)

    def in_network(self) -> int:
        return len(self._tracks) - len(self._held)

    # --- the server's side -----------------------------------------------------------

    def start(self) -> None:
        """Connect and bind (after recovery, once the store thread runs)."""
        self._dialer.start()
        self._sweeper.start(SWEEP, now=False)

    def stop(self) -> Deferred[Any]:
        """Unbind every session; fires once they are gone and the part
        states gathered so far are committed."""
        if self._sweeper.running:
            self._sweeper.stop()
        d = self._dialer.stop()
        return d.addBoth(lambda _: self._flush_records())

    @property
    def bound_sessions(self) -> int:
        return len(self._sessions)

    # --- sending -------------------------------------------------------------------------

    def _wake(self, t: _Track, real_now: float) -> None:
        """A scheduled message's time has come."""
        if not t.done and self._tracks.get(t.message.id) is t:
            self._enqueue(t)

    def _enqueue(self, t: _Track) -> None:
        self._queue.extend(leg for leg in t.legs if leg.waiting)
        self._pump_soon()

    def _pump_soon(self, at: float | None = None) -> None:
        """Run the pump at the end of this reactor turn, or at ``at``."""
        now = self._clock.seconds()
        due = now if at is None or at < now else at
        if self._pump_call is not None and self._pump_call.active():
            if self._pump_due <= due:
                return
            self._pump_call.cancel()
        self._pump_due = due
        self._pump_call = self._clock.callLater(due - now, self._pump)

    def _pick(self) -> UpstreamSession | None:
        """A bound sending session with room in its window, round robin."""
        senders = self._senders
        window = self.spec.window
        for i in range(len(senders)):
            s = senders[(self._next_sender + i) % len(senders)]
            if len(s.inflight) < window:
                self._next_sender = (self._next_sender + i + 1) % len(senders)
                return s
        return None

    def _pump(self) -> None:
        self._pump_call = None
        if not self._queue or not self._senders:
            return
        now = self._clock.seconds()
        if self._paused_until > now:
            self._pump_soon(self._paused_until)
            return
        sim_now = self._sim.now()
        touched: set[UpstreamSession] = set()
        queue = self._queue
        while queue:
            session = self._pick()
            if session is None:
                break
            if self._rate:
                tokens = min(self._burst, self._tokens + (now - self._refilled) * self._rate)
                self._tokens, self._refilled = tokens, now
                if tokens < 1.0 - 1e-9:
                    # at least a millisecond: a wait below the clock's resolution would spin
                    self._pump_soon(now + max(0.001, (1.0 - tokens) / self._rate))
                    break
            leg = queue.popleft()
            t = leg.track
            if t.done or not leg.waiting:
                continue  # finished, or answered meanwhile
            if t.expires_at <= sim_now:  # back in the queue after its deadline
                self._end_leg(leg, EXPIRED, ERR_EXPIRED, t.expires_at)
                self._finish_if_done(t)
                continue
            if self._rate:
                self._tokens -= 1.0
            if t.held:
                t.held = False
                del self._held[t.message.id]
            if t.deadline is None:
                self._await_deadline(t)
            seq = session.next_sequence()
            session.submit(seq, leg, self._submit_sm_bytes(leg, seq, sim_now))
            leg.sent_at = now
            touched.add(session)
        for session in touched:
            session.flush()

    def _submit_sm_bytes(self, leg: _Leg, seq: int, sim_now: float) -> bytes:
        """``encode(self._submit_sm(leg, seq, sim_now))`` straight to bytes:
        the general path (a frozen dataclass, a checked encoder, a formatted
        time) measured 26 µs a part on this 2-core box under load, this 5;
        a test holds the two equal.
        Every field is ours or was checked when the message was accepted."""
        m = leg.track.message
        spec = self.spec
        remaining = max(1, int(leg.track.expires_at - sim_now))
        validity = self._validities.get(remaining)
        if validity is None:
            if len(self._validities) > 4096:
                self._validities.clear()
            validity = self._validities[remaining] = format_relative(remaining).encode("ascii")
        body = leg.body
        out = b"".join((
            b"\0",
            bytes((m.source_addr_ton if spec.source_ton is None else spec.source_ton,
                   m.source_addr_npi if spec.source_npi is None else spec.source_npi)),
            m.source_addr.encode("ascii"), b"\0",
            bytes((1 if spec.destination_ton is None else spec.destination_ton,
                   1 if spec.destination_npi is None else spec.destination_npi)),
            (m.msisdn or m.destination_addr).encode("ascii"), b"\0",
            b"\x40\0\0\0" if leg.udh else b"\0\0\0\0",  # esm_class, protocol_id, priority, no schedule
            validity, b"\0",
            bytes((RD_FINAL | (m.registered_delivery & RD_INTERMEDIATE), 0, m.data_coding, 0, len(body))), body,
        ))
        return _HEADER.pack(16 + len(out), _SUBMIT_SM, 0, seq) + out

    def _submit_sm(self, leg: _Leg, seq: int, sim_now: float) -> SubmitSm:
        """The submit_sm of a part, as a record (the reference
        ``_submit_sm_bytes`` is held to)."""
        m = leg.track.message
        spec = self.spec
        return SubmitSm(
            sequence_number=seq,
            source_addr_ton=m.source_addr_ton if spec.source_ton is None else spec.source_ton,
            source_addr_npi=m.source_addr_npi if spec.source_npi is None else spec.source_npi,
            source_addr=m.source_addr,
            dest_addr_ton=1 if spec.destination_ton is None else spec.destination_ton,
            dest_addr_npi=1 if spec.destination_npi is None else spec.destination_npi,
            destination_addr=m.msisdn or m.destination_addr,
            esm_class=ESM_CLASS_UDHI if leg.udh else 0,
            validity_period=format_relative(max(1, int(leg.track.expires_at - sim_now))),
            registered_delivery=RD_FINAL | (m.registered_delivery & RD_INTERMEDIATE),
            data_coding=m.data_coding,
            short_message=leg.body,
        )

    # --- the upstream's answers (upstream_link.LinkOwner) -----------------------------------

    def bound(self, session: UpstreamSession) -> None:
        self._dialer.bound(session.slot)
        self._sessions.append(session)
        if session.can_submit:
            self._senders.append(session)
            self._pump_soon()

    def refused(self, session: UpstreamSession, status: int) -> None:
        self._dialer.refused(session.slot, status)

    def lost(self, session: UpstreamSession, unanswered: list[Any]) -> None:
        """A session is gone: its unanswered parts go first in the queue."""
        if session in self._sessions:
            self._sessions.remove(session)
        if session in self._senders:
            self._senders.remove(session)
        for leg in reversed(unanswered):
            leg.sent_at = None
            if not leg.track.done:
                self._queue.appendleft(leg)
                self._watch_expiry(leg.track.expires_at)
        self._dialer.lost(session.slot, session)
        self._pump_soon()

    def answered(self, session: UpstreamSession, leg: _Leg, status: int, message_id: str) -> None:
        """A submit_sm_resp (or a generic_nack) for ``leg``."""
        self._count(status)
        sent_at, leg.sent_at = leg.sent_at, None
        t = leg.track
        if t.done:
            pass  # it ended meanwhile (its validity): nothing waits for this part
        elif status == S.ESME_ROK and message_id:
            self._backoff = 0.0
            leg.upstream_id = message_id
            leg.accepted_at = sent_at if sent_at is not None else self._clock.seconds()
            key = canonical(message_id)
            self._by_upstream[key] = leg
            self._record(UpstreamLeg(t.message.id, leg.part, message_id))
            orphan = self._orphans.get(key)
            if orphan is not None:
                self._settle(orphan)
        elif status in RETRY:
            self._queue.appendleft(leg)
            self._watch_expiry(t.expires_at)
            self._throttled()
        elif status in REBIND:
            self._queue.appendleft(leg)
            self._watch_expiry(t.expires_at)
            session.abort(f"submit_sm answered {status_name(status)}")
        else:
            self._refused_part(leg, refusal_stat(status), status or S.ESME_RUNKNOWNERR)
        self._pump_soon()

    def delivered(self, session: UpstreamSession, pdu: DeliverSm | DataSm) -> None:
        if not is_receipt(pdu):
            self._mo(session, pdu)
            return
        receipt = parse_receipt(pdu)
        if receipt is None:
            log.warning("upstream %s: a receipt we cannot read (no id or no state): acknowledged, dropped",
                        self.key)
            self.unmatched += 1
            session.respond(pdu, S.ESME_ROK)
            return
        self._receipt(session, pdu, receipt)

    # --- outcomes ------------------------------------------------------------------------

    def _throttled(self) -> None:
        """The upstream asked us to slow down: no submit for a while,
        doubling while it keeps asking (an answer to a submit sent during
        the pause does not double it again)."""
        now = self._clock.seconds()
        if now >= self._paused_until:
            self._backoff = min(MAX_BACKOFF, self._backoff * 2 if self._backoff else FIRST_BACKOFF)
            self._paused_until = now + self._backoff

    def _refused_part(self, leg: _Leg, stat: str, error: int) -> None:
        """The upstream refused a part: it ends so, and the parts not sent
        yet with it (the message is lost for the phone whatever they do)."""
        t = leg.track
        now = self._sim.now()
        self._end_leg(leg, stat, error, now)
        for other in t.legs:
            if other.waiting:
                self._end_leg(other, stat, error, now)
        self._finish_if_done(t)

    def _end_leg(self, leg: _Leg, stat: str, error: int, done_time: float) -> None:
        leg.stat, leg.error, leg.done_time = stat, error, done_time
        self._record(UpstreamLeg(leg.track.message.id, leg.part, None, stat, error, done_time))

    def _finish_if_done(self, t: _Track) -> None:
        if t.done or any(leg.stat is None for leg in t.legs):
            return
        t.done = True
        m = t.message
        self._tracks.pop(m.id, None)
        self._held.pop(m.id, None)
        if t.deadline is not None:
            bucket = self._deadlines.get(t.deadline)
            if bucket is not None:
                bucket.pop(m.id, None)
                if not bucket:
                    del self._deadlines[t.deadline]
        for leg in t.legs:
            if leg.upstream_id is not None:
                key = canonical(leg.upstream_id)
                if self._by_upstream.get(key) is leg:
                    del self._by_upstream[key]
                    self._forget(key)
        stat, error = worst((leg.stat, leg.error) for leg in t.legs)  # type: ignore[misc]
        done_time = max(leg.done_time for leg in t.legs)
        self._on_final(Outcome(m, stat, error, done_time))

    def _watch_expiry(self, expires_at: float) -> None:
        """Make sure the expiry timer runs by ``expires_at`` (simulation
        time). One timer for the whole operator, at the earliest end of
        validity among waiting messages, rather than one entry per message:
        a per-message deadline would keep every message (its body too) in
        memory for its whole TTL, long after it went upstream."""
        if self._expiry_call is not None and self._expiry_call.active():
            if self._expiry_at <= expires_at:
                return
            self._expiry_call.cancel()
        self._expiry_at = expires_at
        delay = max(0.0, self._sim.to_real(expires_at) - self._clock.seconds())
        self._expiry_call = self._clock.callLater(delay, self._expire_waiting)

    def _expire_waiting(self) -> None:
        """Parts still waiting for the link whose validity has ended end
        EXPIRED (and their messages with them); then the timer is set for
        the next such end. Scans only what waits: held messages and the
        queue."""
        self._expiry_call = None
        sim_now = self._sim.now()
        earliest = float("inf")
        waiting = {id(t): t for t in self._held.values()}
        for leg in self._queue:
            if leg.waiting and not leg.track.done:
                waiting.setdefault(id(leg.track), leg.track)
        for t in waiting.values():
            if t.done:
                continue
            if t.expires_at > sim_now:
                earliest = min(earliest, t.expires_at)
                continue
            for leg in t.legs:
                if leg.waiting:
                    self._end_leg(leg, EXPIRED, ERR_EXPIRED, t.expires_at)
            self._finish_if_done(t)
        if earliest != float("inf"):
            self._watch_expiry(earliest)

    def _await_deadline(self, t: _Track) -> None:
        """A part of ``t`` went out: if the upstream never tells its end
        (no submit_sm_resp while the session stays up, or no receipt), the
        message ends EXPIRED once its validity is over and the upstream's
        own receipt had ``response_timeout`` more to come (``_sweep``)."""
        second = int(self._sim.to_real(t.expires_at) + self.spec.response_timeout) + 1
        if second <= self._deadlines_swept:
            second = self._deadlines_swept + 1  # already over (a restart): the next sweep
        t.deadline = second
        self._deadlines.setdefault(second, {})[t.message.id] = None

    def _sweep_deadlines(self, now: float) -> None:
        """Messages whose deadline passed with parts still not final: those
        parts end EXPIRED (err 027, done at the end of validity), so the
        message does, with its one receipt; a late answer or receipt for
        them is acknowledged and dropped."""
        last = int(now)
        deadlines = self._deadlines
        first = self._deadlines_swept + 1
        if last - first > len(deadlines):  # a long gap (a stalled reactor): only the buckets due
            due: Iterable[int] = sorted(second for second in deadlines if second <= last)
        else:
            due = range(first, last + 1)
        for second in due:
            bucket = deadlines.pop(second, None)
            if bucket is None:
                continue
            for message_id in bucket:
                t = self._tracks.get(message_id)
                if t is None or t.done:
                    continue
                t.deadline = None  # its bucket is gone already
                for leg in t.legs:
                    if leg.stat is None:
                        self._end_leg(leg, EXPIRED, ERR_EXPIRED, t.expires_at)
                self._finish_if_done(t)
        self._deadlines_swept = max(self._deadlines_swept, last)

    def _receipt(self, session: UpstreamSession, pdu: DeliverSm | DataSm, r: UpstreamReceipt) -> None:
        leg = None
        for key in r.keys:
            leg = self._by_upstream.get(key)
            if leg is not None:
                break
        if leg is None:
            if len(self._sessions) <= 1 or any(key in self._finished for key in r.keys):
                # nothing can overtake on a single session; or a part we have
                # the final state of already (sent twice, or a repeat)
                self.unmatched += 1
                session.respond(pdu, S.ESME_ROK)
                return
            # not (yet) known: its submit_sm_resp may be on its way on another session
            orphan = _Orphan(session, pdu, r, self._clock.seconds())
            for key in r.keys:
                self._orphans.setdefault(key, orphan)
            return
        t = leg.track
        if r.intermediate:
            if not t.enroute and self._on_enroute is not None:
                t.enroute = True
                self._on_enroute(t.message, self._sim.now())
            session.respond(pdu, S.ESME_ROK)
            return
        del self._by_upstream[key]
        self._forget(key)
        self.receipt_latency.observe(self._clock.seconds() - leg.accepted_at)
        self._end_leg(leg, r.stat, r.error, self._sim.now())
        self._after_records.append((session, pdu))  # answered once the part's state is committed
        self._finish_if_done(t)

    def _settle(self, orphan: _Orphan) -> None:
        """An orphan receipt's id became known, or it waited long enough."""
        if orphan.settled:
            return
        orphan.settled = True
        for key in orphan.receipt.keys:
            if self._orphans.get(key) is orphan:
                del self._orphans[key]
        if any(key in self._by_upstream for key in orphan.receipt.keys):
            self._receipt(orphan.session, orphan.pdu, orphan.receipt)
        else:
            self.unmatched += 1
            orphan.session.respond(orphan.pdu, S.ESME_ROK)

    def _sweep(self) -> None:
        """Once a second: orphan receipts and MO parts that waited long
        enough, messages upstream whose deadline passed."""
        now = self._clock.seconds()
        if self._deadlines:
            self._sweep_deadlines(now)
        else:
            self._deadlines_swept = int(now)
        wait = min(ORPHAN_WAIT, self.spec.response_timeout)
        for orphan in list(dict.fromkeys(self._orphans.values())):
            if now - orphan.since >= wait:
                self._settle(orphan)
        for key, since in list(self._mo_since.items()):
            if now - since >= MO_WAIT:
                self._mo_complete(key)

    def _forget(self, key: str) -> None:
        """Remember a finished part's id for a while: a repeat of its
        receipt is acknowledged at once rather than waited on."""
        finished = self._finished
        finished[key] = None
        if len(finished) > FINISHED_IDS:
            del finished[next(iter(finished))]

    # --- part states to the store ------------------------------------------------------------

    def _record(self, leg: UpstreamLeg) -> None:
        self._records.append(leg)
        if self._record_call is None:
            self._record_call = self._clock.callLater(0, self._flush_records)

    def _flush_records(self) -> Deferred[None]:
        """One store job for the part states of this reactor turn; the
        receipts they came from are answered once it is committed."""
        self._record_call = None
        records, self._records = self._records, []
        answers, self._after_records = self._after_records, []
        if not records:
            for session, pdu in answers:
                session.respond(pdu, S.ESME_ROK)
            return succeed(None)

        def committed(result: Any) -> None:
            status = S.ESME_ROK
            if result is not None:
                log.error("upstream %s: storing %d part states failed: %s", self.key, len(records), result)
                status = S.ESME_RSYSERR  # the upstream offers the receipt again
            for session, pdu in answers:
                session.respond(pdu, status)

        return self._store.record_legs(records).addBoth(committed)

    # --- MO ----------------------------------------------------------------------------------

    def _mo(self, session: UpstreamSession, pdu: DeliverSm | DataSm) -> None:
        destination = pdu.destination_addr
        owner = self._mo_numbers.get(destination) or self._mo_numbers.get(destination.lstrip("+"))
        if owner is None:
            log.warning("upstream %s: MO to %r, which is none of the [mo] numbers: refused", self.key, destination)
            session.respond(pdu, S.ESME_RINVDSTADR)
            return
        body = tlv_value(pdu.tlvs, Tag.MESSAGE_PAYLOAD)
        if body is None:
            body = pdu.short_message if isinstance(pdu, DeliverSm) else b""
        concat = None
        if pdu.esm_class & ESM_CLASS_UDHI and body:
            udh_end = 1 + body[0]
            concat = _concatenation(body[1:udh_end])
            body = body[udh_end:]
        try:
            decoded = decode_text(body, pdu.data_coding, self._alphabet)
        except SmppError as exc:
            log.warning("upstream %s: MO text we cannot read: %s", self.key, exc)
            session.respond(pdu, exc.status)
            return
        text = decoded if isinstance(decoded, str) else decoded.decode("latin-1")
        source = pdu.source_addr.lstrip("+")
        if concat is None or concat[1] <= 1:
            self._add_mo(owner, source, destination, text, [(session, pdu)])
            return
        ref, total, seq = concat
        key = (owner, source, destination, ref, total)
        self._mo_parts.setdefault(key, {})[seq] = (text, session, pdu)
        self._mo_since.setdefault(key, self._clock.seconds())
        if len(self._mo_parts[key]) == total:
            self._mo_complete(key)

    def _mo_complete(self, key: _MoKey) -> None:
        """Every part is in (or the rest did not come in time): one MO."""
        got = self._mo_parts.pop(key, {})
        self._mo_since.pop(key, None)
        if not got:
            return
        owner, source, destination = key[0], key[1], key[2]
        ordered = [got[seq] for seq in sorted(got)]
        text = "".join(text for text, _, _ in ordered)
        self._add_mo(owner, source, destination, text, [(s, p) for _, s, p in ordered])

    def _add_mo(self, owner: str, source: str, destination: str, text: str,
                answers: list[tuple[UpstreamSession, DeliverSm | DataSm]]) -> None:
        def stored(result: Any) -> None:
            status = S.ESME_ROK
            if not isinstance(result, int):
                log.error("upstream %s: storing an MO failed: %s", self.key, result)
                status = S.ESME_RSYSERR
            for session, pdu in answers:
                session.respond(pdu, status)

        self._store.add_mo(owner, source, destination, text).addBoth(stored)

    # --- metrics -------------------------------------------------------------------------------

    def _count(self, status: int) -> None:
        name = status_name(status)
        self.submits[name] = self.submits.get(name, 0) + 1


def _concatenation(ies: bytes) -> tuple[int, int, int] | None:
    """(ref, total, seq) of a UDH's concatenation IE (8- or 16-bit ref)."""
    pos = 0
    while pos + 2 <= len(ies):
        iei, length = ies[pos], ies[pos + 1]
        data = ies[pos + 2:pos + 2 + length]
        if iei == 0x00 and length == 3 and len(data) == 3:
            return data[0], data[1], data[2]
        if iei == 0x08 and length == 4 and len(data) == 4:
            return int.from_bytes(data[:2], "big"), data[2], data[3]
        pos += 2 + length
    return None


class UpstreamCollector(Collector):
    """Per upstream, read at scrape time: sessions bound, messages waiting
    for the link, submit_sm answers by status, receipt latency, receipts
    matched to nothing."""

    def __init__(self, upstreams: Iterable[UpstreamOperator]) -> None:
        self._upstreams = list(upstreams)

    def collect(self) -> Iterable[Any]:
        sessions = GaugeMetricFamily("smsc_upstream_sessions", "Sessions bound to the upstream SMSC.",
                                     labels=["operator"])
        queue = GaugeMetricFamily("smsc_upstream_queue", "Messages waiting to be sent to the upstream "
                                  "(scheduled, or waiting for the link).", labels=["operator"])
        submits = CounterMetricFamily("smsc_upstream_submits", "submit_sm answers from the upstream, by "
                                      "command_status.", labels=["operator", "status"])
        unmatched = CounterMetricFamily("smsc_upstream_unmatched_receipts", "Upstream receipts for ids we do "
                                        "not know (a part sent twice, or its message already final).",
                                        labels=["operator"])
        latency = HistogramMetricFamily("smsc_upstream_receipt_latency_seconds", "submit_sm to the "
                                        "upstream -> that part's receipt.", labels=["operator"])
        for op in self._upstreams:
            sessions.add_metric([op.key], op.bound_sessions)
            queue.add_metric([op.key], op.pending())
            for status, n in list(op.submits.items()):
                submits.add_metric([op.key, status], n)
            unmatched.add_metric([op.key], op.unmatched)
            h = op.receipt_latency
            buckets, running = [], 0
            for bound, n in zip((*map(str, h.bounds), "+Inf"), h.counts, strict=True):
                running += n
                buckets.append((bound, running))
            latency.add_metric([op.key], buckets, h.sum)
        yield from (sessions, queue, submits, unmatched, latency)


def build_upstreams(
    specs: Mapping[str, UpstreamSpec],
    *,
    sim: SimClock,
    scheduler: Scheduler,
    clock: IReactorTime,
    store: StorePort,
    connect: Callable[[UpstreamSpec], Connect],
    mo_numbers: Mapping[str, str],
    default_alphabet: str = "gsm",
) -> dict[str, UpstreamOperator]:
    """One ``UpstreamOperator`` per ``kind = "smpp"`` spec; ``connect(spec)``
    says how to reach it (``upstream_link.tcp_connect`` in the server)."""
    return {
        key: UpstreamOperator(
            key, spec, sim=sim, scheduler=scheduler, clock=clock, store=store, connect=connect(spec),
            mo_numbers=mo_numbers, default_alphabet=default_alphabet,
        )
        for key, spec in sorted(specs.items())
    }


if TYPE_CHECKING:  # the type checker holds UpstreamOperator to the ports
    from .upstream_link import LinkOwner

    def _implements(operator: UpstreamOperator) -> Operator:
        return operator

    def _owns_links(operator: UpstreamOperator) -> LinkOwner:
        return operator
