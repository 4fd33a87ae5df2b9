"""Simulated operator connectors: delay, outcome mix, rules, TTL, link throughput.

A message's life in one ``SimOperator``::

    submit(message, expires_at, not_before)
      -> held until not_before (schedule_delivery_time)      } cancel() -> True,
      -> held in a FIFO while the link is over throughput    } no outcome ever
      -> handed to the network: on_enroute(message, now)
      -> final state after the delay: on_final(Outcome(...))

The final state is the first matching ``Rule``'s, else one drawn from the
operator's outcome mix. Whatever it is, a message the phone has not got by
``expires_at`` ends EXPIRED, with ``done_time == expires_at`` exactly, and
its outcome is reported at the real time that ``expires_at`` maps to or up to
one scheduler bucket earlier — never later. Other outcomes come at their due
time or up to one bucket later; their ``done_time`` is the bucket's time
(shared by the whole bucket, so the store records them in one grouped write),
never beyond ``expires_at``. A bucket (``scheduler.bucket_seconds``: 20 ms
real at scale 1, 5 ms on scaled clocks) is ``resolution * scale`` simulated
seconds: 18 s at scale 3600, finer than a receipt's minutes.

A message the server split into segments travels as that many parts:
each part draws its own state and delay from the mix, and the message's one
receipt reports the worst part's state (``status.WORST_FIRST``) once its last
part is done (the longest delay). A rule decides the whole message, since
every part goes to the same phone.

The outcome (rule, draws) is decided at hand-off, so a cancelled message
uses no draws and a seeded run is repeatable. A message held in the link's
queue past its validity is EXPIRED on time, not sent. Every message in the
network waits in the scheduler until its outcome: an EXPIRED one (mix or
phone off) for its whole TTL, so long TTLs under load want a time scale.

All times here are simulation times (``clock.SimClock``); the scheduler
runs on real time, and the operator converts. No outcome is reported from
inside ``submit()``: even one due at once comes from a scheduler bucket.

Per message on the plain path (no schedule, no throughput cap, no rules):
one clock read, one or two ``rng.random()`` per segment (outcome when there
is a mix, delay when it is a range), a bisect in a cumulative table, one
scheduler entry, no reactor timer of its own.
"""
from __future__ import annotations

import random
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from itertools import accumulate
from typing import TYPE_CHECKING

from ..records import Message
from ..status import EXPIRED, WORST_FIRST
from .clock import SimClock
from .port import Operator, Outcome
from .rules import RuleMatcher
from .scheduler import Scheduler
from .spec import OperatorSpec, Rule

if TYPE_CHECKING:
    from ..store.port import MessageStore

__all__ = ["Outcome", "SimOperator", "build_operators"]

#: builds an Outcome without NamedTuple.__new__'s argument handling
#: (0.37 µs instead of 0.68 µs; one per message)
_new_outcome = tuple.__new__

#: an idle link may send this many seconds' worth of its throughput at once
BURST_SECONDS = 0.1
#: tokens short of one by less than this count as one (float rounding)
_TOKEN_EPSILON = 1e-9
#: stat -> its rank among a split message's parts (0: the worst)
_SEVERITY = {stat: rank for rank, stat in enumerate(WORST_FIRST)}


def _unconnected(outcome: Outcome) -> None:
    raise RuntimeError("SimOperator.connect was never called: nobody hears outcomes")


class SimOperator:
    """One operator connector (``port.Operator``). See the module doc for
    the life of a message."""

    #: a simulated network takes whatever comes (its link queue has no bound)
    full = False

    #: the outage faults' check (smsc.faults.registry): None unless an
    #: outage is on; True when it took the message (held or failed)
    gate: Callable[[SimOperator, Message, float, float | None], bool] | None = None

    def __init__(
        self,
        key: str,
        spec: OperatorSpec,
        clock: SimClock,
        scheduler: Scheduler,
        rng: random.Random,
        rules: Iterable[Rule] | RuleMatcher,
        on_final: Callable[[Outcome], None] | None = None,
        on_enroute: Callable[[Message, float], None] | None = None,
    ) -> None:
        self.key = key
        self.spec = spec
        self.clock = clock
        self._scheduler = scheduler
        self._call_at = scheduler.call_at
        self._random = rng.random
        matcher = rules if isinstance(rules, RuleMatcher) else RuleMatcher(rules)
        #: the rule lookup, None when there are no rules (most deployments)
        self._first_rule = matcher.first if matcher else None
        self._on_final = on_final or _unconnected
        self._on_enroute = on_enroute
        # bound once: they are scheduled per message
        self._deliver = self._deliver  # type: ignore[method-assign]
        self._expire = self._expire  # type: ignore[method-assign]

        # the outcome mix as a cumulative table over [0, 1) for bisect
        mix = [(stat, float(w)) for stat, w in spec.outcomes.items() if w > 0]
        total = sum(w for _, w in mix)
        cumulative = [c / total for c in accumulate(w for _, w in mix)]
        cumulative[-1] = 1.0
        self._stats = tuple(stat for stat, _ in mix)
        self._cumulative = tuple(cumulative)
        #: the only stat when there is no mix to draw from
        self._only = self._stats[0] if len(self._stats) == 1 else None
        self._errors: dict[str, int] = dict(spec.errors)
        self._delay_min = spec.delay_min
        self._delay_span = spec.delay_max - spec.delay_min

        # sim = real * scale + offset, as SimClock computes it, without calls
        self._real_seconds = clock.real.seconds
        self._scale = clock.scale
        self._offset = clock.offset
        # done_time of the bucket being run: every message in it shares it
        self._bucket_real = -1.0
        self._bucket_sim = -1.0

        # throughput: a token bucket in simulation seconds, draining a FIFO
        self._rate = spec.throughput
        self._burst = max(1.0, self._rate * BURST_SECONDS)
        self._tokens = self._burst
        self._refilled = clock.now()
        self._queue: deque[tuple[Message, float]] = deque()
        self._draining = False

        #: messages not yet handed to the network (scheduled or queued), by id
        self._held: dict[int, Message] = {}
        self._in_network = 0

    # --- the engine's side ------------------------------------------------------

    def connect(
        self, on_final: Callable[[Outcome], None], on_enroute: Callable[[Message, float], None] | None = None
    ) -> None:
        """Who hears of outcomes: the engine, built after its operators."""
        self._on_final = on_final
        self._on_enroute = on_enroute

    def expires_at(self, now: float, validity: float | None = None) -> float:
        """End of validity for a message submitted at ``now``: the client's
        ``validity`` when it is shorter than this operator's TTL."""
        ttl_end = now + self.spec.ttl
        return ttl_end if validity is None or validity > ttl_end else validity

    def submit(self, message: Message, expires_at: float, not_before: float | None = None) -> None:
        """Take a message; its outcome comes later through ``on_final``.

        ``expires_at`` and ``not_before`` are simulation times (the engine's
        ``expires_at(...)``, and schedule_delivery_time or None)."""
        if self.gate is not None and self.gate(self, message, expires_at, not_before):
            return
        now = self._real_seconds() * self._scale + self._offset
        if (not_before is None or not_before <= now) and expires_at > now:
            if self._rate:
                self._link(message, expires_at, now)
            else:
                self._hand_off(message, expires_at, now)
            return
        self._held[message.id] = message
        if not_before is not None and self._scheduler.runs_at(self._real(not_before)) < self._real(expires_at):
            self._call_at(self._real(not_before), self._wake, (message, expires_at))
        else:  # its validity ends before it may (or could) be sent
            self._scheduler.call_by(self._real(expires_at), self._expire_held, (message, expires_at))

    def hold(self, message: Message, expires_at: float) -> None:
        """An outage holds ``message`` (smsc.faults): held as one behind the
        throughput is, so cancel_sm reaches it and its validity still ends
        it on time."""
        self._held[message.id] = message
        self._scheduler.call_by(self._real(expires_at), self._expire_held, (message, expires_at))

    def release(self, message: Message, expires_at: float, not_before: float | None) -> None:
        """The outage that held ``message`` ended: on it goes, unless it
        was cancelled or expired meanwhile."""
        if self._take_held(message):
            self.submit(message, expires_at, not_before)

    def fail(self, message: Message, stat: str, error: int) -> None:
        """An outage in "fail" mode ends ``message`` with ``stat`` (from a
        scheduler bucket, as every outcome)."""
        self._call_at(self._real_seconds(), self._failed, (message, stat, error))

    def _failed(self, entry: tuple[Message, str, int], real_now: float) -> None:
        message, stat, error = entry
        self._on_final(Outcome(message, stat, error, float(int(real_now * self._scale + self._offset))))

    def client_udh(self, message_id: int, udh: bytes) -> None:
        """A simulated network has no use for a client segment's UDH."""

    def restore(self, store: MessageStore) -> None:
        """Nothing of its own is stored: a restart draws outcomes afresh."""

    def cancel(self, message_id: int) -> bool:
        """Withdraw a message not yet handed to the network: True, and no
        outcome will be reported for it. False when it is already in the
        network (or unknown)."""
        return self._held.pop(message_id, None) is not None

    def held(self) -> list[Message]:
        """The messages this operator holds (scheduled, or queued behind
        the throughput): those cancel_sm and replace_sm can still reach."""
        return list(self._held.values())

    def holds(self, message_id: int) -> bool:
        """Whether the message is not yet in the network (``cancel`` would
        withdraw it)."""
        return message_id in self._held

    def _take_held(self, message: Message) -> bool:
        """Pop ``message`` from the held ones if it is still there as
        itself: a message cancelled and submitted again (replace_sm) is held
        as a new record, and the old record's timers must leave it alone."""
        if self._held.get(message.id) is not message:
            return False
        del self._held[message.id]
        return True

    def pending(self) -> int:
        """Messages waiting for their schedule time or for the link."""
        return len(self._held)

    def in_network(self) -> int:
        """Messages handed to the network whose outcome is not reported yet."""
        return self._in_network

    # --- into the network -----------------------------------------------------

    def _real(self, sim_time: float) -> float:
        return (sim_time - self._offset) / self._scale

    def _hand_off(self, message: Message, expires_at: float, now: float) -> None:
        """Into the network: decide the outcome and when it is reported."""
        if self._on_enroute is not None:
            self._on_enroute(message, now)
        first_rule = self._first_rule
        rule = None if first_rule is None else first_rule(message.msisdn or message.destination_addr)
        if rule is None:
            stat, delay = self._draw(message.segments)
            due = now + delay
            error = self._errors[stat]
        else:
            stat, due, error = self._by_rule(rule, now)
        self._in_network += 1
        if due < expires_at and stat != EXPIRED:
            self._call_at((due - self._offset) / self._scale, self._deliver, (message, stat, error, expires_at))
        else:
            if stat != EXPIRED:  # the phone did not get it in time
                stat, error = EXPIRED, self._errors[EXPIRED]
            outcome = _new_outcome(Outcome, (message, stat, error, expires_at))
            self._scheduler.call_by(self._real(expires_at), self._expire, outcome)

    def _draw(self, segments: int) -> tuple[str, float]:
        """(state, delay) from the mix: each of a message's ``segments``
        parts draws a state, then a delay; the message takes the worst
        part's state and the longest part's delay. (One place for the draw:
        a loop of one costs a single-segment message ~0.15 µs.)"""
        span, only, random_ = self._delay_span, self._only, self._random
        worst, longest = len(WORST_FIRST), 0.0
        for _ in range(segments):
            rank = _SEVERITY[only or self._stats[bisect_right(self._cumulative, random_())]]
            if rank < worst:
                worst = rank
            delay = self._delay_min + (span * random_() if span else 0.0)
            if delay > longest:
                longest = delay
        return WORST_FIRST[worst], longest

    def _by_rule(self, rule: Rule, now: float) -> tuple[str, float, int]:
        stat: str = rule.outcome  # type: ignore[assignment]
        delay = rule.delay
        if delay is None:
            span = self._delay_span
            delay = self._delay_min + (span * self._random() if span else 0.0)
        if rule.phone_off:
            if rule.phone_on_after is None:
                stat = EXPIRED
            else:
                delay += rule.phone_on_after
        error = self._errors[stat] if rule.error is None else rule.error
        return stat, now + delay, error

    def _deliver(self, entry: tuple[Message, str, int, float], real_now: float) -> None:
        """A final state other than an expiry is due. ``done_time`` is the
        bucket's time (one for the whole bucket, so the store writes them in
        one statement), but never past the message's validity."""
        if real_now != self._bucket_real:
            self._bucket_real = real_now
            self._bucket_sim = real_now * self._scale + self._offset
        done = self._bucket_sim
        message, stat, error, expires_at = entry
        self._in_network -= 1
        self._on_final(_new_outcome(Outcome, (message, stat, error, done if done < expires_at else expires_at)))

    def _expire(self, outcome: Outcome, real_now: float) -> None:
        self._in_network -= 1
        self._on_final(outcome)

    # --- held back: schedule and link -------------------------------------------

    def _wake(self, entry: tuple[Message, float], real_now: float) -> None:
        """A scheduled message's time has come."""
        message, expires_at = entry
        if not self._take_held(message):
            return  # cancelled (or replaced: the new one has its own timer)
        now = real_now * self._scale + self._offset
        if self._rate:
            self._link(message, expires_at, now)
        else:
            self._hand_off(message, expires_at, now)

    def _expire_held(self, entry: tuple[Message, float], real_now: float) -> None:
        message, expires_at = entry
        if self._take_held(message):
            self._on_final(Outcome(message, EXPIRED, self._errors[EXPIRED], expires_at))

    def _link(self, message: Message, expires_at: float, now: float) -> None:
        """Send now if the link has a token and nobody is queued, else queue."""
        tokens = self._tokens + (now - self._refilled) * self._rate
        self._refilled = now
        queue = self._queue
        if not queue:
            if tokens > self._burst:
                tokens = self._burst
            if tokens >= 1.0 - _TOKEN_EPSILON:
                self._tokens = tokens - 1.0
                self._hand_off(message, expires_at, now)
                return
        self._tokens = tokens
        self._held[message.id] = message
        queue.append((message, expires_at))
        # When will its turn come? If that may be past its validity, make sure
        # the expiry is reported on time. (The drain checks too, as a fallback.)
        turn = now + (len(queue) - tokens) / self._rate
        slack = 2 * self._scheduler.resolution * self._scale
        if turn + slack >= expires_at:
            self._scheduler.call_by(self._real(expires_at), self._expire_held, (message, expires_at))
        if not self._draining:
            self._draining = True
            self._drain_after(self._real(now), tokens)

    def _drain(self, _: None, real_now: float) -> None:
        self._draining = False
        now = real_now * self._scale + self._offset
        # backlogged: no cap, so a late tick does not lose the link's capacity
        tokens = self._tokens + (now - self._refilled) * self._rate
        self._refilled = now
        queue, held = self._queue, self._held
        while queue and tokens >= 1.0 - _TOKEN_EPSILON:
            message, expires_at = queue.popleft()
            if held.get(message.id) is not message:
                continue  # cancelled, replaced, or already expired in the queue
            del held[message.id]
            tokens -= 1.0
            if expires_at <= now:
                self._on_final(Outcome(message, EXPIRED, self._errors[EXPIRED], expires_at))
            else:
                self._hand_off(message, expires_at, now)
        while queue and held.get(queue[0][0].id) is not queue[0][0]:
            queue.popleft()
        self._tokens = tokens
        if queue:
            self._draining = True
            self._drain_after(real_now, tokens)

    def _drain_after(self, real_now: float, tokens: float) -> None:
        """Drain again when the next token is due: at least a bucket later, so
        a token short by a rounding error can't spin in the same bucket."""
        wait = (1.0 - tokens) / self._rate / self._scale
        resolution = self._scheduler.resolution
        self._call_at(real_now + (wait if wait > resolution else resolution), self._drain, None)


def build_operators(
    specs: Mapping[str, OperatorSpec],
    clock: SimClock,
    scheduler: Scheduler,
    rng: random.Random,
    rules: Iterable[Rule],
    on_final: Callable[[Outcome], None] | None = None,
    on_enroute: Callable[[Message, float], None] | None = None,
) -> dict[str, SimOperator]:
    """One ``SimOperator`` per spec, sharing the clock, scheduler and rules.

    Each gets its own ``Random`` seeded from ``rng`` (in key order), so one
    operator's draws do not depend on how much traffic the others had.
    """
    matcher = RuleMatcher(rules)
    return {
        key: SimOperator(
            key, specs[key], clock, scheduler, random.Random(rng.getrandbits(64)),
            matcher, on_final, on_enroute,
        )
        for key in sorted(specs)
    }


if TYPE_CHECKING:  # the type checker holds SimOperator to the port
    def _implements(operator: SimOperator) -> Operator:
        return operator
