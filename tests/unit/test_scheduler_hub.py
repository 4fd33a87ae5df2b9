from collections import deque

from twisted.internet.task import Clock

from smsc.dlr.hub import DeliveryHub
from smsc.dlr.mo import MoPart, mo_parts
from smsc.operators.scheduler import Scheduler
from smsc.records import Message, Receipt


def test_scheduler_runs_in_order_of_buckets_with_one_timer_per_bucket():
    clock = Clock()
    s = Scheduler(clock, resolution=0.01)
    ran = []
    at = []

    def run(arg, now):
        ran.append(arg)
        at.append(now)

    for i in range(100):
        s.call_at(0.005, run, i)
    s.call_at(1.0, run, "late")
    assert len(clock.getDelayedCalls()) == 2 and len(s) == 101
    clock.advance(0.01)
    assert ran == list(range(100)) and set(at) == {0.01}
    clock.advance(0.5)
    assert ran[-1] == 99
    clock.advance(0.5)
    assert ran[-1] == "late" and len(s) == 0


def _r(n: int, acc: str = "a") -> Receipt:
    return Receipt(Message(n, acc, 0, 0, "s", 0, 0, "d", 0, 0, 1, b"", 0.0), "DELIVRD", 2, 0, 0.0)


class Sink:
    def __init__(self, room: int) -> None:
        self.room = room
        self.got: list[int] = []

    def take(self, q: deque) -> None:
        while self.room and q:
            self.got.append(q.popleft().message.id)
            self.room -= 1


def test_hub_holds_until_attach_and_shares_between_sinks():
    acked = []
    hub = DeliveryHub[Receipt](acked.append, call_soon=lambda fn: fn())
    for n in range(1, 6):
        hub.enqueue(_r(n))
    assert hub.backlog("a") == 5
    s1, s2 = Sink(2), Sink(10)
    hub.attach("a", s1)
    assert s1.got == [1, 2]
    hub.attach("a", s2)
    assert s2.got == [3, 4, 5] and hub.backlog("a") == 0
    hub.enqueue(_r(9, "b"))
    assert s2.got == [3, 4, 5] and hub.backlog("b") == 1


def test_hub_detach_requeues_in_order_and_held_retry_on_next_bind():
    acked = []
    hub = DeliveryHub[Receipt](acked.append, call_soon=lambda fn: fn())
    s = Sink(10)
    hub.attach("a", s)
    for n in (1, 2, 3):
        hub.enqueue(_r(n))
    hub.answered(_r(1), ok=True)
    hub.answered(_r(2), ok=False)
    hub.detach("a", s, [_r(3)])
    assert [r.message.id for r in acked] == [1]
    assert hub.backlog("a") == 2
    s2 = Sink(10)
    hub.attach("a", s2)
    assert s2.got == [2, 3]


def test_hub_drops_a_refused_intermediate_notification_but_holds_a_receipt():
    acked = []
    hub = DeliveryHub[Receipt](acked.append, call_soon=lambda fn: fn())
    s = Sink(10)
    hub.attach("a", s)
    enroute = _r(1)._replace(stat="ENROUTE", state=1, intermediate=True)
    hub.enqueue(enroute)
    hub.enqueue(_r(1))
    assert s.got == [1, 1]  # the notification first, in one queue with the receipt
    hub.answered(enroute, ok=False)
    hub.answered(_r(1), ok=False)
    hub.detach("a", s, [])
    s2 = Sink(10)
    hub.attach("a", s2)
    assert s2.got == [1] and hub.backlog("a") == 0  # the receipt only, offered again


def test_hub_expire_drops_only_receipts_past_the_retention():
    hub = DeliveryHub[Receipt](lambda r: None, call_soon=lambda fn: fn())
    old = _r(1)._replace(done_time=100.0)
    new = _r(2)._replace(done_time=500.0)
    hub.enqueue(old)
    hub.enqueue(new)
    s = Sink(10)
    hub.attach("a", s)
    hub.answered(_r(3)._replace(done_time=50.0), ok=False)  # held
    hub.detach("a", s, [old, new])  # the session went away unanswered
    assert hub.backlog("a") == 3
    assert hub.expire(before=200.0) == 2
    assert hub.backlog("a") == 1
    s2 = Sink(10)
    hub.attach("a", s2)
    assert s2.got == [2]


def test_mo_parts_ride_the_same_hub_in_order_and_never_expire():
    acked: list[MoPart] = []
    hub = DeliveryHub[MoPart](acked.append, call_soon=lambda fn: fn())
    first = mo_parts(1, "a", "380671234567", "7090", "x" * 200)  # two parts
    second = mo_parts(2, "a", "380671234567", "7090", "y")
    for part in first + second:
        hub.enqueue(part)
    got: list[MoPart] = []

    class MoSink:
        def take(self, q: deque) -> None:
            while len(got) < 2 and q:
                got.append(q.popleft())

    s = MoSink()
    hub.attach("a", s)
    assert got == first and hub.backlog("a") == 1
    hub.answered(first[0], ok=True)
    hub.answered(first[1], ok=False)  # refused: held for the next bind, an MO is never dropped
    assert acked == [first[0]]
    hub.detach("a", s, [])
    assert hub.expire(before=float("1e12")) == 0 and hub.backlog("a") == 2
    s2 = Sink(10)
    hub.attach("a", s2)
    assert s2.got == [1, 2]  # the held part first, then the queued one
