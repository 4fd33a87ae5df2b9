"""Simulated operators: delays, outcome mix, rules, TTL, schedule, cancel,
throughput and time scale, on a fake clock with a seeded Random."""
from __future__ import annotations

import random
from collections import Counter

import pytest
from twisted.internet.task import Clock

from smsc.operators.clock import SimClock
from smsc.operators.rules import RuleMatcher
from smsc.operators.scheduler import Scheduler
from smsc.operators.sim import Outcome, SimOperator, build_operators
from smsc.operators.spec import (
    DEFAULT_OPERATORS, DELIVRD, EXPIRED, FAILED, HOUR, NOREPORT, REJECTD, STATS, UNDELIV,
    OperatorSpec, Rule, parse_operators, parse_rules,
)
from smsc.records import Message

RESOLUTION = 0.005
NUMBER = "380671234567"


def msg(n: int, number: str = NUMBER, segments: int = 1) -> Message:
    return Message(n, "acc", 5, 0, "SMSClub", 1, 1, number, 0, 0, 1, b"hi", 0.0, number, "kyivstar",
                   segments)


class Harness:
    """An operator on a fake clock, recording what it reports."""

    def __init__(self, spec: OperatorSpec, rules=(), scale: float = 1.0, seed: int = 7) -> None:
        self.clock = Clock()
        self.sim = SimClock(self.clock, scale)
        self.final: list[Outcome] = []
        self.enroute: list[tuple[int, float]] = []
        self.op = SimOperator(
            "kyivstar", spec, self.sim, Scheduler(self.clock, RESOLUTION), random.Random(seed),
            rules, self.final.append, lambda m, now: self.enroute.append((m.id, now)),
        )

    def submit(self, n: int, number: str = NUMBER, ttl: float = 3600.0, not_before: float | None = None,
               segments: int = 1) -> float:
        expires_at = self.sim.now() + ttl
        self.op.submit(msg(n, number, segments), expires_at, not_before)
        return expires_at

    def run_until(self, real_time: float) -> None:
        """Advance to ``real_time`` one timer at a time (``Clock.advance``
        alone runs every due timer at the end time)."""
        clock = self.clock
        while True:
            due = min((c.getTime() for c in clock.getDelayedCalls()), default=real_time)
            if due >= real_time:
                break
            clock.advance(max(0.0, due - clock.seconds()))
        clock.advance(real_time - clock.seconds())

    def stats(self) -> Counter:
        return Counter(o.stat for o in self.final)

    def by_id(self) -> dict[int, Outcome]:
        return {o.message.id: o for o in self.final}


def spec(**kw) -> OperatorSpec:
    kw.setdefault("delay_min", 0.0)
    kw.setdefault("delay_max", 0.0)
    return OperatorSpec(name="Test", price=40, **kw)


# --- delays and the outcome mix -------------------------------------------------

def test_delay_range_is_honoured():
    h = Harness(spec(delay_min=2.0, delay_max=4.0))
    for n in range(300):
        h.submit(n)
    assert h.enroute and all(now == 0.0 for _, now in h.enroute)
    h.run_until(1.99)
    assert h.final == []
    h.run_until(10.0)
    delays = [o.done_time for o in h.final]
    assert len(delays) == 300 and set(h.stats()) == {DELIVRD}
    assert min(delays) >= 2.0 and max(delays) <= 4.0 + RESOLUTION
    # uniform over the range, not piled at one end
    assert min(delays) < 2.1 and max(delays) > 3.9
    assert 0.4 < sum(d < 3.0 for d in delays) / 300 < 0.6


def test_outcome_mix_proportions():
    weights = {DELIVRD: 60, UNDELIV: 10, REJECTD: 10, EXPIRED: 5, FAILED: 10, NOREPORT: 5}
    h = Harness(spec(outcomes=weights, delay_min=1.0, delay_max=2.0))
    n = 6000
    for i in range(n):
        h.submit(i, ttl=30.0)
    h.run_until(31.0)
    got = h.stats()
    assert sum(got.values()) == n
    for stat, w in weights.items():
        expected = n * w / 100
        assert abs(got[stat] - expected) < 4 * (expected ** 0.5), (stat, got[stat], expected)
    for o in h.final:
        assert o.error == DEFAULT_OPERATORS["kyivstar"].errors[o.stat]
        # EXPIRED from the mix comes at the end of validity, the rest after the delay
        if o.stat == EXPIRED:
            assert o.done_time == 30.0
        else:
            assert 1.0 <= o.done_time <= 2.0 + RESOLUTION


def test_same_seed_same_outcomes():
    def run(seed: int) -> list[tuple[int, str, float]]:
        h = Harness(spec(outcomes={DELIVRD: 1, UNDELIV: 1}, delay_min=0, delay_max=5), seed=seed)
        for i in range(200):
            h.submit(i)
        h.run_until(6.0)
        return sorted((o.message.id, o.stat, o.done_time) for o in h.final)

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_a_split_message_reports_its_worst_segment():
    """Each part of a 4-segment message draws its own state: the message is
    DELIVRD only when all four are (1/16 at even odds), else the worst part's
    state, once the part with the longest delay is done."""
    h = Harness(spec(outcomes={DELIVRD: 1, NOREPORT: 1, REJECTD: 1}, delay_min=1.0, delay_max=3.0))
    n = 3000
    for i in range(n):
        h.submit(i, segments=4)
        h.submit(n + i)
    h.run_until(4.0)
    split = Counter(o.stat for o in h.final if o.message.segments == 4)
    single = Counter(o.stat for o in h.final if o.message.segments == 1)
    assert sum(split.values()) == sum(single.values()) == n
    # P(all 4 DELIVRD) = (1/3)^4, P(no REJECTD) = (2/3)^4
    for stat, p in ((DELIVRD, 1 / 81), (NOREPORT, 16 / 81 - 1 / 81), (REJECTD, 1 - 16 / 81)):
        assert abs(split[stat] - n * p) < 4 * (n * p) ** 0.5, (stat, split[stat], n * p)
    for stat in (DELIVRD, NOREPORT, REJECTD):
        assert abs(single[stat] - n / 3) < 4 * (n / 3) ** 0.5, (stat, single[stat])
    # the receipt waits for the slowest part: the mean of the longest of 4
    # uniform delays on [1, 3] is 1 + 2 * 4/5 = 2.6, of one delay 2.0
    def mean(segments: int) -> float:
        return sum(o.done_time for o in h.final if o.message.segments == segments) / n

    assert 2.5 < mean(4) < 2.7 and 1.9 < mean(1) < 2.1, (mean(4), mean(1))


def test_a_rule_decides_every_segment_of_a_split_message():
    rules = parse_rules([{"suffix": "0001", "outcome": UNDELIV, "delay": 2.0}], "t.toml")
    h = Harness(spec(outcomes={DELIVRD: 1}), rules)
    h.submit(1, "380671230001", segments=4)
    h.submit(2, segments=4)
    h.run_until(3.0)
    assert sorted((o.message.id, o.stat) for o in h.final) == [(1, UNDELIV), (2, DELIVRD)]


def test_custom_error_codes_per_stat():
    h = Harness(spec(outcomes={UNDELIV: 1}, errors={UNDELIV: 5}))
    h.submit(1)
    h.run_until(0.1)
    assert [(o.stat, o.error) for o in h.final] == [(UNDELIV, 5)]


# --- rules ----------------------------------------------------------------------

@pytest.mark.parametrize("stat", STATS)
@pytest.mark.parametrize("kind", ["suffix", "regex"])
def test_every_stat_is_reachable_by_a_rule(stat: str, kind: str):
    match = {"suffix": "0001"} if kind == "suffix" else {"regex": r"38067\d{3}0001"}
    rules = parse_rules([{**match, "outcome": stat, "delay": 2.0}], "t.toml")
    h = Harness(spec(outcomes={DELIVRD: 1}, delay_min=9, delay_max=9), rules)
    expires_at = h.submit(1, "380671230001", ttl=60.0)
    h.submit(2, "380671230002", ttl=60.0)  # no rule: the operator's mix and delay
    h.run_until(61.0)
    got = h.by_id()
    assert got[1].stat == stat
    assert got[1].done_time == (expires_at if stat == EXPIRED else 2.0)
    assert got[1].error == DEFAULT_OPERATORS["kyivstar"].errors[stat]
    assert (got[2].stat, got[2].done_time) == (DELIVRD, 9.0)


def test_first_matching_rule_wins_and_regex_is_a_full_match():
    rules = parse_rules([
        {"regex": r"3806712\d+", "outcome": REJECTD},
        {"suffix": "99", "outcome": UNDELIV, "error": 42},
        {"suffix": "9", "outcome": FAILED},
        {"regex": r"67\d+", "outcome": NOREPORT},  # never: not a full match of 380...
    ], "t.toml")
    m = RuleMatcher(rules)
    assert m.first("380671200099").outcome == REJECTD
    assert m.first("380501200099").outcome == UNDELIV
    assert m.first("380501200009").outcome == FAILED
    assert m.first("380501200000") is None
    h = Harness(spec(), rules)
    h.submit(1, "380501200099")
    h.run_until(0.1)
    assert (h.final[0].stat, h.final[0].error) == (UNDELIV, 42)


@pytest.mark.parametrize("regexes", [
    [r"38050\d{7}", r"3806[37]\d+"],          # one alternation answers for all
    [r"(380)50\d{7}", r"(?P<op>3806[37])\d+"],  # groups: each tried in turn
])
def test_rule_matcher_agrees_with_trying_each_rule_in_order(regexes):
    rules = parse_rules(
        [{"suffix": "12", "outcome": REJECTD}, {"regex": regexes[0], "outcome": UNDELIV},
         {"suffix": "5", "outcome": FAILED}, {"regex": regexes[1], "outcome": NOREPORT}],
        "t.toml",
    )
    matcher = RuleMatcher(rules)
    rnd = random.Random(5)
    for _ in range(3000):
        number = f"3806{rnd.choice('037')}{rnd.randrange(10 ** 7):07d}".replace("38060", "38050")
        expected = next((r for r in rules if r.matches(number)), None)
        assert matcher.first(number) is expected, number
    assert RuleMatcher(()).first(NUMBER) is None and not RuleMatcher(())


def test_phone_off_expires_exactly_at_expires_at_and_never_after():
    rules = parse_rules([{"suffix": "0000", "phone_off": True}], "t.toml")
    h = Harness(spec(), rules)
    expires_at = h.submit(1, "380670000000", ttl=20.0)
    assert h.enroute == [(1, 0.0)]  # in the network, retrying
    h.run_until(20.0 - RESOLUTION - 0.001)
    assert h.final == []
    h.run_until(20.0)  # the real time expires_at maps to: already reported
    assert [(o.stat, o.done_time, o.error) for o in h.final] == [(EXPIRED, expires_at, 27)]
    assert h.op.in_network() == 0


def test_phone_back_on_within_ttl_delivers_else_expires():
    rules = parse_rules([
        {"suffix": "01", "phone_off": True, "phone_on_after": 5.0, "delay": 1.0},
        {"suffix": "02", "phone_off": True, "phone_on_after": 50.0, "delay": 1.0},
    ], "t.toml")
    h = Harness(spec(), rules)
    h.submit(1, "380670000001", ttl=20.0)
    h.submit(2, "380670000002", ttl=20.0)
    h.run_until(30.0)
    got = h.by_id()
    assert (got[1].stat, got[1].done_time) == (DELIVRD, 6.0)
    assert (got[2].stat, got[2].done_time) == (EXPIRED, 20.0)


def test_client_validity_shorter_than_ttl_is_honoured():
    h = Harness(spec(delay_min=60.0, delay_max=60.0))
    # the engine's computation: min(client validity, now + ttl)
    assert h.op.expires_at(100.0) == 100.0 + h.op.spec.ttl
    assert h.op.expires_at(100.0, validity=130.0) == 130.0
    assert h.op.expires_at(100.0, validity=1e12) == 100.0 + h.op.spec.ttl
    h.op.submit(msg(1), 30.0, None)
    h.run_until(59.0)
    assert [(o.stat, o.done_time) for o in h.final] == [(EXPIRED, 30.0)]


def test_a_delivery_just_before_expiry_never_reports_a_later_done_time():
    h = Harness(spec(delay_min=10.002, delay_max=10.002))
    h.op.submit(msg(1), 10.004, None)  # due 2 ms before validity ends; its bucket ends at 10.005
    h.run_until(11.0)
    assert (h.final[0].stat, h.final[0].done_time) == (DELIVRD, 10.004)


def test_already_expired_is_reported_later_not_inside_submit():
    h = Harness(spec())
    h.run_until(50.0)
    h.op.submit(msg(1), 40.0, None)
    assert h.final == [] and h.enroute == []
    h.run_until(50.0 + RESOLUTION)
    assert [(o.stat, o.done_time) for o in h.final] == [(EXPIRED, 40.0)]


# --- schedule, cancel, throughput ------------------------------------------------

def test_not_before_holds_the_message_until_then():
    h = Harness(spec(delay_min=1.0, delay_max=1.0))
    h.submit(1, not_before=100.0)
    assert h.op.pending() == 1
    h.run_until(99.9)
    assert h.final == [] and h.enroute == []
    h.run_until(100.0)
    assert h.enroute == [(1, 100.0)] and h.op.pending() == 0
    h.run_until(102.0)
    assert [(o.stat, o.done_time) for o in h.final] == [(DELIVRD, 101.0)]


def test_schedule_after_validity_expires_without_being_sent():
    h = Harness(spec())
    h.submit(1, ttl=50.0, not_before=100.0)
    h.run_until(200.0)
    assert h.enroute == []
    assert [(o.stat, o.done_time) for o in h.final] == [(EXPIRED, 50.0)]


def test_cancel_before_hand_off_reports_nothing_after_it_is_too_late():
    h = Harness(spec(delay_min=5.0, delay_max=5.0))
    h.submit(1, not_before=10.0)
    h.submit(2)  # handed off at once
    assert h.op.pending() == 1
    assert h.op.cancel(1) is True
    assert h.op.cancel(1) is False  # only once
    assert h.op.cancel(2) is False  # already in the network
    assert h.op.cancel(999) is False
    assert h.op.pending() == 0
    h.run_until(100.0)
    assert [o.message.id for o in h.final] == [2]
    assert [m for m, _ in h.enroute] == [2]


def test_cancel_in_the_throughput_queue():
    h = Harness(spec(throughput=1.0))
    for n in range(5):
        h.submit(n)
    assert h.op.pending() == 4  # one went at once, four wait for the link
    assert h.op.cancel(2) is True and h.op.cancel(0) is False
    h.run_until(10.0)
    assert sorted(h.by_id()) == [0, 1, 3, 4]
    # the cancelled one used no slot of the link
    assert [now for _, now in h.enroute] == [0.0, 1.0, 2.0, 3.0]


def test_throughput_cap_spreads_deliveries():
    h = Harness(spec(throughput=10.0))
    for n in range(50):
        h.submit(n)
    h.run_until(2.5)
    assert 24 <= len(h.final) <= 26
    h.run_until(10.0)
    done = sorted(o.done_time for o in h.final)
    assert len(done) == 50
    assert done[0] == 0.0 and 4.8 <= done[-1] <= 5.0
    per_second = Counter(int(t) for t in done)
    assert all(per_second[s] == 10 for s in range(5)), per_second
    # an idle link saves up only a short burst (0.1 s worth, at least 1), not 10 s worth
    h.run_until(20.0)
    for n in range(100, 120):
        h.submit(n)
    assert sum(now == 20.0 for _, now in h.enroute) == 1
    assert h.op.pending() == 19


def test_queue_wait_past_validity_expires_on_time():
    h = Harness(spec(throughput=1.0))
    for n in range(10):
        h.submit(n, ttl=4.5)
    h.run_until(4.5)
    got = h.by_id()
    assert [got[n].stat for n in range(5)] == [DELIVRD] * 5
    assert all(got[n].stat == EXPIRED and got[n].done_time == 4.5 for n in range(5, 10))
    assert h.op.pending() == 0


# --- time scale -----------------------------------------------------------------

def test_72h_ttl_expires_after_72_real_seconds_at_scale_3600():
    kyivstar = DEFAULT_OPERATORS["kyivstar"]
    h = Harness(kyivstar, parse_rules([{"suffix": "0007", "phone_off": True}], "t.toml"), scale=3600.0)
    start = h.sim.now()
    expires_at = h.op.expires_at(start)
    assert expires_at - start == 72 * HOUR
    h.op.submit(msg(1, "380670000007"), expires_at, None)
    h.op.submit(msg(2), expires_at, None)  # delivered after 0.5-3 simulated seconds
    h.run_until(RESOLUTION)  # 3 simulated seconds are < 1 ms: the first bucket
    assert [o.message.id for o in h.final] == [2]
    # done_time is the bucket's: at most one bucket (5 ms = 18 simulated s) late
    assert start + 0.5 <= h.final[0].done_time <= start + 3.0 + RESOLUTION * 3600
    h.run_until(71.99)
    assert len(h.final) == 1
    h.run_until(72.0)
    assert (h.final[1].stat, h.final[1].done_time) == (EXPIRED, expires_at)


def test_sim_clock_maps_both_ways():
    real = Clock()
    real.advance(1000.0)
    c = SimClock(real, 60.0)
    assert c.now() == 1000.0  # agrees with the wall at start
    real.advance(2.0)
    assert c.now() == 1120.0 and c.seconds() == c.now()
    assert c.to_real(1120.0) == 1002.0 and c.to_sim(1002.0) == 1120.0
    assert SimClock(real, 1.0, start=5.0).now() == 5.0
    with pytest.raises(ValueError, match="scale"):
        SimClock(real, 0.0)


def test_scheduler_call_by_is_never_late():
    clock = Clock()
    s = Scheduler(clock, resolution=0.01)
    ran: list[float] = []
    for when in (0.013, 0.02, 0.5):
        s.call_by(when, lambda when, now: ran.append(now) or None, when)
    clock.advance(0.01)
    assert ran == [0.01]
    clock.advance(0.01)
    assert ran == [0.01, 0.02]
    clock.advance(0.48)
    assert ran == [0.01, 0.02, 0.5]


def test_build_operators_one_per_key_with_own_rng():
    clock = Clock()
    ops = build_operators(
        DEFAULT_OPERATORS, SimClock(clock), Scheduler(clock), random.Random(3), (), lambda o: None,
    )
    assert set(ops) == set(DEFAULT_OPERATORS)
    assert ops["lifecell"].spec.ttl == 24 * HOUR and ops["lifecell"].key == "lifecell"
    assert ops["kyivstar"]._random.__self__ is not ops["vodafone"]._random.__self__


# --- config ---------------------------------------------------------------------

def test_default_operators_have_the_spec_ttls_and_prices():
    ttl_hours = {"kyivstar": 72, "vodafone": 72, "lifecell": 24, "intertelecom": 24, "peoplenet": 72, "3mob": 72}
    assert set(DEFAULT_OPERATORS) == set(ttl_hours)
    for key, hours in ttl_hours.items():
        op = DEFAULT_OPERATORS[key]
        assert op.ttl == hours * HOUR, key
        assert isinstance(op.price, int) and 20 <= op.price <= 100, key
        assert dict(op.outcomes) == {DELIVRD: 1.0}
        assert op.throughput == 0
    assert DEFAULT_OPERATORS["kyivstar"].name == "Kyivstar"


def test_router_keys_are_operator_keys():
    from smsc.router.table import UKRAINE_OPERATORS

    assert set(UKRAINE_OPERATORS) == set(DEFAULT_OPERATORS)


def test_parse_operators_overrides_shipped_and_adds_new():
    ops = parse_operators({
        "kyivstar": {"price": 50, "outcomes": {"DELIVRD": 9, "UNDELIV": 1}, "throughput": 100},
        "test": {"price": 1, "ttl": 60, "delay_min": 1, "delay_max": 2},
    }, "smsc.toml")
    k = ops["kyivstar"]
    assert (k.name, k.price, k.ttl, k.throughput) == ("Kyivstar", 50, 72 * HOUR, 100.0)
    assert dict(k.outcomes) == {DELIVRD: 9.0, UNDELIV: 1.0}
    assert (ops["test"].name, ops["test"].ttl) == ("test", 60.0)
    assert ops["lifecell"] == DEFAULT_OPERATORS["lifecell"]


@pytest.mark.parametrize("raw, message", [
    ({"kyivstar": {"price": "40"}}, r"smsc.toml: \[operators.kyivstar\].price: expected int, got str '40'"),
    ({"kyivstar": {"price": 4.5}}, r"\[operators.kyivstar\].price: expected int"),
    ({"kyivstar": {"prise": 40}}, r"\[operators.kyivstar\]: unknown key 'prise'"),
    ({"kyivstar": {"ttl": "72h"}}, r"\[operators.kyivstar\].ttl: expected a number"),
    ({"kyivstar": {"ttl": 0}}, r"\[operators.kyivstar\].ttl: must be above 0"),
    ({"kyivstar": {"delay_min": 9, "delay_max": 1}}, r"\[operators.kyivstar\].delay_min: must be between"),
    ({"kyivstar": {"outcomes": {"DELIVERED": 1}}}, r"\[operators.kyivstar\].outcomes: unknown stat 'DELIVERED'"),
    ({"kyivstar": {"outcomes": {"DELIVRD": -1}}}, r"\[operators.kyivstar\].outcomes.DELIVRD: .*not below 0"),
    ({"kyivstar": {"outcomes": {"DELIVRD": 0}}}, r"\[operators.kyivstar\].outcomes: at least one weight"),
    ({"kyivstar": {"errors": {"UNDELIV": 1000}}}, r"\[operators.kyivstar\].errors.UNDELIV: .*0 to 999"),
    ({"kyivstar": {"throughput": -1}}, r"\[operators.kyivstar\].throughput: must not be negative"),
    ({"kyivstar": 3}, r"\[operators.kyivstar\]: expected a table"),
    ({"newop": {"ttl": 60}}, r"\[operators.newop\].price: required"),
    ({"New Op": {"price": 1}}, r"\[operators.New Op\]: an operator key"),
])
def test_parse_operators_errors_name_the_key(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_operators(raw, "smsc.toml")


@pytest.mark.parametrize("raw, message", [
    ([{"outcome": "DELIVRD"}], r"\[\[rules\]\] #1: set exactly one of suffix and regex"),
    ([{"suffix": "1", "regex": "1", "outcome": "DELIVRD"}], r"#1: set exactly one"),
    ([{"suffix": "+380", "outcome": "DELIVRD"}], r"#1.suffix: digits only"),
    ([{"suffix": 1, "outcome": "DELIVRD"}], r"#1.suffix: expected a string"),
    ([{"suffix": "1", "outcome": "DELIVRD"}, {"regex": "(", "outcome": "DELIVRD"}], r"#2.regex: does not compile"),
    ([{"suffix": "1"}], r"#1.outcome: required"),
    ([{"suffix": "1", "outcome": "ENROUTE"}], r"#1.outcome: unknown stat 'ENROUTE'"),
    ([{"suffix": "1", "outcome": "DELIVRD", "delay": -1}], r"#1.delay: must not be negative"),
    ([{"suffix": "1", "outcome": "DELIVRD", "phone_off": "yes"}], r"#1.phone_off: expected true or false"),
    ([{"suffix": "1", "phone_off": True, "outcome": "DELIVRD"}], r"#1.outcome: a phone that stays off"),
    ([{"suffix": "1", "outcome": "DELIVRD", "phone_on_after": 5}], r"#1.phone_on_after: only with phone_off"),
    ([{"suffix": "1", "outcome": "DELIVRD", "error": 1000}], r"#1.error: .*0 to 999"),
    ([{"suffix": "1", "outcome": "DELIVRD", "colour": "red"}], r"#1: unknown key 'colour'"),
    ({"suffix": "1"}, r"smsc.toml: rules: expected an array of tables"),
])
def test_parse_rules_errors_name_the_key(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_rules(raw, "smsc.toml")


def test_parse_rules_defaults():
    off, back, plain = parse_rules([
        {"suffix": "1", "phone_off": True},
        {"regex": "380.*", "phone_off": True, "phone_on_after": 60},
        {"suffix": "2", "outcome": "UNDELIV"},
    ], "smsc.toml")
    assert (off.outcome, off.delay) == (EXPIRED, None)
    assert (back.outcome, back.phone_on_after) == (DELIVRD, 60.0)
    assert plain == Rule(suffix="2", outcome=UNDELIV)


def test_outcome_keeps_the_shape_the_engine_reads():
    assert Outcome._fields == ("message", "stat", "error", "done_time")


def test_the_documented_config_example_parses():
    import tomllib

    from smsc.operators import spec as spec_module

    example = spec_module.__doc__.split("```toml")[1].split("```")[0]
    raw = tomllib.loads(example)
    ops = parse_operators(raw["operators"], "doc")
    assert ops["kyivstar"].throughput == 100.0 and ops["kyivstar"].errors[UNDELIV] == 1
    regex_rule = parse_rules(raw["rules"], "doc")[1]
    assert regex_rule.matches("380675551234") and not regex_rule.matches("3806755512345")
    assert (regex_rule.outcome, regex_rule.phone_on_after) == (DELIVRD, 600.0)


def test_the_readme_rules_do_what_the_readme_says():
    """The [[rules]] example in README.md "Config", run as documented."""
    import tomllib
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("Deterministic outcomes for client test suites.")[1]
    rules = parse_rules(tomllib.loads(section.split("```toml")[1].split("```")[0])["rules"], "README")
    h = Harness(spec(outcomes={DELIVRD: 1}, delay_min=1.0, delay_max=1.0), rules)
    cases = {  # id: (destination, validity s) -> (stat, error, done_time)
        1: (("380671230001", 3600.0), (UNDELIV, 1, 1.0)),    # after the drawn delay
        2: (("380671230002", 3600.0), (REJECTD, 42, 5.0)),
        3: (("380501239999", 3600.0), (EXPIRED, 27, 3600.0)),
        4: (("380671230004", 3600.0), (DELIVRD, 0, 601.0)),  # back on after 600 s, then the delay
        5: (("380671230004", 300.0), (EXPIRED, 27, 300.0)),  # the validity ends first
        6: (("380671230005", 3600.0), (FAILED, 34, 0.0)),
        7: (("380671230006", 3600.0), (DELIVRD, 0, 1.0)),    # no rule: the operator's
    }
    for n, ((number, ttl), _) in cases.items():
        h.submit(n, number, ttl=ttl)
    h.run_until(3601.0)
    got = {n: (o.stat, o.error, o.done_time) for n, o in h.by_id().items()}
    for n, (_, (stat, error, done)) in cases.items():
        assert got[n][:2] == (stat, error), n
        assert done <= got[n][2] <= done + RESOLUTION, (n, got[n])
