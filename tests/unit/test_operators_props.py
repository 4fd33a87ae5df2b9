"""Invariants of a simulated operator over generated configs and traffic:
exactly one outcome per message unless cancelled in time, an expiry never
late, a hand-off never before its schedule, nothing left over at the end."""
from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.task import Clock

from smsc.operators.clock import SimClock
from smsc.operators.scheduler import Scheduler
from smsc.operators.sim import Outcome, SimOperator
from smsc.operators.spec import DELIVRD, EXPIRED, STATS, OperatorSpec, Rule
from smsc.records import Message

RESOLUTION = 0.005

specs = st.builds(
    lambda lo, span, weights, rate: OperatorSpec(
        name="T", price=1, delay_min=lo, delay_max=lo + span,
        outcomes=dict(zip(STATS, weights, strict=True)) if any(weights) else {DELIVRD: 1}, throughput=rate,
    ),
    st.floats(0, 10), st.floats(0, 10),
    st.lists(st.integers(0, 5), min_size=len(STATS), max_size=len(STATS)),
    st.sampled_from([0.0, 0.5, 2.0, 7.0]),
)
rule_sets = st.lists(
    st.one_of(
        st.builds(lambda d: Rule(suffix=d, outcome=EXPIRED), st.sampled_from("0123456789")),
        st.builds(lambda d, on: Rule(suffix=d, phone_off=True, phone_on_after=on),
                  st.sampled_from("0123456789"), st.one_of(st.none(), st.floats(0, 40))),
        st.builds(lambda d, s, delay: Rule(suffix=d, outcome=s, delay=delay),
                  st.sampled_from("0123456789"), st.sampled_from(STATS), st.one_of(st.none(), st.floats(0, 30))),
    ),
    max_size=3,
)
# (submit at, ttl, schedule after submit or None, cancel at or None, last digit)
traffic = st.lists(
    st.tuples(
        st.floats(0, 20), st.floats(0.5, 60), st.one_of(st.none(), st.floats(0, 40)),
        st.one_of(st.none(), st.floats(0, 60)), st.integers(0, 9),
    ),
    min_size=1, max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(specs, rule_sets, traffic, st.sampled_from([1.0, 60.0]), st.integers(0, 2**32))
def test_operator_invariants(spec, rules, messages, scale, seed):
    clock = Clock()
    sim = SimClock(clock, scale)
    finals: list[tuple[Outcome, float]] = []
    enroute: dict[int, float] = {}

    def on_enroute(m: Message, now: float) -> None:
        assert m.id not in enroute, "handed off twice"
        enroute[m.id] = now

    op = SimOperator(
        "t", spec, sim, Scheduler(clock, RESOLUTION), random.Random(seed), rules,
        lambda o: finals.append((o, clock.seconds())), on_enroute,
    )
    # events in real time: submits and cancels, run one timer at a time
    events = []
    for n, (at, _ttl, _after, cancel_at, _digit) in enumerate(messages):
        events.append((at / scale, 0, n))
        if cancel_at is not None:
            events.append((cancel_at / scale, 1, n))
    events.sort()
    sent: dict[int, tuple[float, float | None]] = {}
    cancelled: set[int] = set()

    def run_until(t: float) -> None:
        while True:
            due = min((c.getTime() for c in clock.getDelayedCalls()), default=t)
            if due >= t:
                break
            clock.advance(max(0.0, due - clock.seconds()))
        clock.advance(max(0.0, t - clock.seconds()))

    for t, kind, n in events:
        run_until(t)
        at, ttl, after, _, digit = messages[n]
        if kind == 0:
            now = sim.now()
            not_before = None if after is None else now + after
            expires_at = op.expires_at(now, now + ttl)
            number = f"38067000000{digit}"
            op.submit(Message(n, "a", 0, 0, "s", 1, 1, number, 0, 0, 1, b"", now, number), expires_at, not_before)
            sent[n] = (expires_at, not_before)
        elif n in sent and op.cancel(n):
            assert n not in enroute and n not in {o.message.id for o, _ in finals}
            cancelled.add(n)
    run_until(clock.seconds() + 200.0)

    reported = [o.message.id for o, _ in finals]
    assert len(reported) == len(set(reported)), "two outcomes for one message"
    assert set(reported) == set(sent) - cancelled
    assert op.pending() == 0 and op.in_network() == 0
    for o, real_at in finals:
        expires_at, not_before = sent[o.message.id]
        assert o.stat in STATS
        assert o.done_time <= expires_at
        if o.stat == EXPIRED:
            assert o.done_time == expires_at
            # reported by the real time its validity ends (when it was not
            # already over at submit)
            assert real_at <= sim.to_real(expires_at) + 1e-6
        else:
            handed = enroute[o.message.id]
            assert o.done_time >= handed
            if not_before is not None:
                assert handed >= not_before
