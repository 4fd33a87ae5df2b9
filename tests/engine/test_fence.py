"""Self-fencing of a cluster node (``smsc.engine.fence``) on task.Clock: a
node whose heartbeat cannot be renewed stops serving at 2/3 of the lease,
before another node may take it over; back, it serves again if nobody did,
and gives up (exits) if someone did. With two real nodes on PostgreSQL: a
node cut off from its heartbeat no longer sends a receipt from memory for
a message another node took over."""
from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock

from smsc.app import every
from smsc.engine.fence import FENCE_AFTER, Fence
from smsc.store.cluster_port import Beat
from smsc.store.open import StoreUnavailable
from smsc.store.port import NodeState

from .rig import sms
from .test_cluster import Node, PortReceiver

LEASE = 2.0  # test_cluster.Node's


class Port:
    """A heartbeat port: answers at once (``kept``), fails (``down``), or
    never answers (``stuck``: a store thread blocked on a commit)."""

    def __init__(self, beat=None) -> None:
        self.inner = beat
        self.down = False
        self.stuck = False
        self.kept = True
        self.calls = 0

    def __call__(self) -> Deferred:
        self.calls += 1
        if self.stuck:
            return Deferred()
        if self.down:
            return fail(StoreUnavailable("cannot open the store: connection refused"))
        if self.inner is not None:
            return self.inner()
        return succeed(Beat([NodeState("a", 0.0, True)], self.kept))


class Watched:
    """A Fence with its events recorded, beating every third of the lease."""

    def __init__(self, clock: Clock, port: Port, node: str = "a") -> None:
        self.events: list[str] = []
        self.fence = Fence(
            node=node, lease=LEASE, clock=clock, beat=port,
            on_fence=lambda reason: self.events.append("fence"),
            on_unfence=lambda: self.events.append("unfence"),
            on_taken=lambda: self.events.append("taken"),
        )
        self.fence.start()
        self.timer = every(clock, LEASE / 3, True, self.fence.beat)

    def gauge(self) -> float:
        [family] = self.fence.collect()
        return family.samples[0].value


def advance(clock: Clock, seconds: float, step: float = 0.01) -> None:
    end = clock.seconds() + seconds
    while clock.seconds() < end - 1e-9:
        clock.advance(min(step, end - clock.seconds()))


def test_a_node_fences_at_two_thirds_of_the_lease_after_its_last_good_beat_and_serves_again_when_kept():
    clock, port = Clock(), Port()
    w = Watched(clock, port)
    advance(clock, 5 * LEASE)
    assert w.events == [] and w.gauge() == 0  # beats renewed: never fenced
    last_good = clock.seconds() - (clock.seconds() % (LEASE / 3))
    port.down = True
    advance(clock, last_good + LEASE * FENCE_AFTER - clock.seconds() - 0.02)
    assert w.events == []  # not before the fence time
    advance(clock, 0.04)
    assert w.events == ["fence"] and w.fence.fenced and w.gauge() == 1
    assert "no heartbeat for" in w.fence.reason
    advance(clock, 3 * LEASE)
    assert w.events == ["fence"]  # one fence, however many beats fail
    port.down = False
    advance(clock, LEASE / 3)
    assert w.events == ["fence", "unfence"] and not w.fence.fenced and w.gauge() == 0
    advance(clock, 3 * LEASE)
    assert w.events == ["fence", "unfence"]


def test_a_beat_stuck_behind_the_store_thread_fences_too_and_beats_do_not_pile_up():
    clock, port = Clock(), Port()
    w = Watched(clock, port)
    advance(clock, LEASE / 2)
    port.stuck = True
    calls = port.calls
    advance(clock, LEASE)
    assert w.events == ["fence"]
    assert port.calls == calls + 1  # the one in flight: no more queued behind it


def test_a_beat_that_finds_its_row_made_anew_means_taken_over():
    clock, port = Clock(), Port()
    w = Watched(clock, port)
    advance(clock, LEASE)
    port.down = True
    advance(clock, LEASE * 2)
    port.down, port.kept = False, False
    advance(clock, LEASE / 3)
    assert w.events == ["fence", "taken"] and w.fence.taken and w.gauge() == 1
    calls = port.calls
    advance(clock, LEASE)
    assert port.calls == calls  # no more beats: it is exiting


def test_taken_over_while_serving_fences_before_it_exits():
    clock, port = Clock(), Port()
    w = Watched(clock, port)
    port.kept = False  # e.g. the row deleted by hand
    advance(clock, LEASE / 3 + 0.01)
    assert w.events == ["fence", "taken"]


# --- two nodes on PostgreSQL ------------------------------------------------------

ONE_AND_HALF = {"operators": {"kyivstar": {"delay_min": 1.5, "delay_max": 1.5}}}


@pytest.fixture
def nodes(pg_store_url: str) -> Iterator:
    made: list[Node] = []

    def make(name: str) -> Node:
        n = Node(pg_store_url, name, ONE_AND_HALF)
        made.append(n)
        return n

    yield make
    for n in made:
        n.rig.close()


def stale(url: str, *names: str) -> None:
    """The database's clock went past the lease for these nodes' heartbeats."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE nodes SET heartbeat_at = now() - interval '1 hour' WHERE name = ANY(%s)",
                     [list(names)])


def fenced_node(n: Node, receivers: list[PortReceiver] | None = None) -> tuple[Fence, Port, list[str]]:
    """``n``'s fence as the server wires it: fenced, its node claims and
    takes nothing and its receivers' sessions go (what the unbind does;
    ``receivers`` is read at the fence)."""
    port, events = Port(n.node.beat), []
    receivers = [] if receivers is None else receivers

    def on_fence(reason: str) -> None:
        events.append("fence")
        n.node.fence()
        for receiver in receivers:
            n.ports.detach("shop", receiver, receiver.unanswered)

    def on_unfence() -> None:
        events.append("unfence")
        n.node.unfence()

    fence = Fence(node=n.node.node, lease=LEASE, clock=n.rig.clock, beat=port, on_fence=on_fence,
                  on_unfence=on_unfence, on_taken=lambda: events.append("taken"), last_beat=n.node.started_at)
    fence.start()
    every(n.rig.clock, LEASE / 3, True, fence.beat)
    return fence, port, events


def test_a_node_cut_off_from_its_heartbeat_sends_no_receipt_for_messages_another_node_took_over(
    nodes, pg_store_url
):
    """Without the fence, node a's receiver gets a receipt from memory for
    each message (sent before its final state is written, which is fenced
    by owner) and node b's receiver gets one too after b took them over."""
    a, b = nodes("a"), nodes("b")
    a.rig.add()
    live = a.rig.bind(kind="transmitter")
    here = a.receiver()
    fence, port, events = fenced_node(a, [here])
    there = b.receiver()
    ids = [int(a.rig.accept(live, sms(registered_delivery=1)), 16) for _ in range(4)]
    port.down = True  # a's heartbeat no longer reaches the database
    a.rig.run(LEASE * FENCE_AFTER + 0.05)
    assert events == ["fence"] and here.got == []
    stale(pg_store_url, "a")  # past the lease by the database's clock
    b.node.take_over()
    b.rig.run(0.05)
    assert b.node.taken == 4
    a.rig.run(1.0)  # a's operator ends them: no receiver here, the final writes are b's rows: nothing
    b.rig.run(2.0)
    assert sorted(r.message.id for r in there.got) == ids
    assert here.got == []
    port.down = False  # back: its row was deleted by b's takeover
    a.rig.run(LEASE / 3)
    assert events == ["fence", "taken"]
    with psycopg.connect(pg_store_url) as conn:
        assert conn.execute("SELECT node, receipt FROM messages ORDER BY id").fetchall() == [("b", 2)] * 4


def test_the_database_down_for_every_node_both_fence_and_serve_again_and_nobody_takes_anybody_over(
    nodes, pg_store_url
):
    a, b = nodes("a"), nodes("b")
    a.rig.add()
    live = a.rig.bind(kind="transmitter")
    ids = [int(a.rig.accept(live, sms(registered_delivery=1)), 16) for _ in range(3)]
    fa, pa, ea = fenced_node(a)
    fb, pb, eb = fenced_node(b)
    pa.down = pb.down = True
    a.rig.run(LEASE * 1.5)
    b.rig.run(LEASE * 1.5)
    assert ea == eb == ["fence"]
    stale(pg_store_url, "a", "b")  # the outage outlasted the lease
    b.node.take_over()  # fenced: takes nobody over
    pb.down = False  # the database is back for b first
    b.rig.run(LEASE / 3)
    assert eb == ["fence", "unfence"]
    b.node.take_over()  # a lease for the others to beat first
    b.rig.run(0.05)
    assert b.node.taken == 0
    pa.down = False
    a.rig.run(LEASE / 3)
    assert ea == ["fence", "unfence"]  # its row kept: nobody took it over
    b.rig.run(LEASE)
    b.node.take_over()
    b.rig.run(0.05)
    assert b.node.taken == 0  # a beat again in time
    recv = a.receiver()
    a.rig.run(2.0)
    assert sorted(r.message.id for r in recv.got) == ids


def test_back_from_a_fence_a_node_frees_the_claims_its_unbound_receivers_could_not_release(
    nodes, pg_store_url, monkeypatch
):
    """The fence unbinds the receivers while the database is unreachable:
    their releases fail, and rows claimed by a node with no receiver of
    the account are claimed by nobody else. The un-fence frees them."""
    a, b = nodes("a"), nodes("b")
    a.rig.add()
    receivers: list = []
    fence, port, events = fenced_node(a, receivers)
    live = a.rig.bind(kind="transmitter")
    ids = [int(a.rig.accept(live, sms(registered_delivery=1)), 16) for _ in range(3)]
    a.rig.run(2.0)  # final, owed: no receiver anywhere
    silent = a.receiver(ack=False)
    receivers.append(silent)
    a.rig.run(0.05)
    assert [r.message.id for r in silent.got] == ids
    monkeypatch.setattr(a.node._cluster, "release_receipts",
                        lambda node, ids: fail(StoreUnavailable("cannot open the store")))
    port.down = True
    a.rig.run(LEASE)
    assert events == ["fence"]
    with psycopg.connect(pg_store_url) as conn:
        owed = conn.execute("SELECT id, receipt_node FROM messages WHERE receipt = 1 ORDER BY id").fetchall()
    assert owed == [(i, "a") for i in ids]  # a's, and a has no receiver of the account
    port.down = False
    a.rig.run(LEASE / 3)
    assert events == ["fence", "unfence"]
    got = b.receiver()
    b.rig.run(0.05)
    assert sorted(r.message.id for r in got.got) == ids
