"""Two engines as two nodes of one PostgreSQL (``smsc.engine.cluster``), each on
its own task.Clock and connection: receipts reach the node that holds the
receiver, and only it; a receiver leaving frees what waited for it; a dead
node's unfinished messages are taken over and end with one receipt."""
from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from smsc.dlr.deliveries import Deliveries
from smsc.dlr.port import DeliveryPort
from smsc.engine.cluster import ClusterNode
from smsc.store.cluster_port import ClusterWorker, cluster_store

from .rig import Receiver, Rig, sms

ONE_SECOND = {"operators": {"kyivstar": {"delay_min": 1.0, "delay_max": 1.0}}}


@dataclass(eq=False)
class PortReceiver(Receiver):
    """The rig's receiver, answering through the Deliveries port (receipts and MO)."""

    ports: DeliveryPort | None = None

    def take(self, queue: deque) -> None:
        while queue:
            item = queue.popleft()
            self.got.append(item)
            if self.ack:
                assert self.ports is not None
                self.rig.clock.callLater(0, self.ports.answered, item, True)
            else:
                self.unanswered.append(item)


class Node:
    def __init__(self, url: str, name: str, sections: dict | None = None) -> None:
        self.rig = rig = Rig(url, **(sections or ONE_SECOND))
        shared = cluster_store(rig.store)
        assert shared is not None
        self.node = ClusterNode(
            node=name, lease=2.0, cluster=ClusterWorker(rig.worker, shared), store=rig.worker, clock=rig.clock,
            lifecycle=rig.engine.lifecycle, receipts=rig.engine.receipts, mo=rig.engine.mo,
            operators=rig.engine.operators,
        )
        self.resumed = self.node.start(shared)
        self.ports: DeliveryPort = self.node.deliveries(Deliveries(rig.engine.receipts, rig.engine.mo))

    def receiver(self, ack: bool = True) -> Receiver:
        r = PortReceiver(self.rig, ack, ports=self.ports)
        self.ports.attach("shop", r)
        self.rig.run(0.01)
        return r


@pytest.fixture
def nodes(pg_store_url: str) -> Iterator:
    made: list[Node] = []

    def make(name: str, sections: dict | None = None) -> Node:
        n = Node(pg_store_url, name, sections)
        made.append(n)
        return n

    yield make
    for n in made:
        n.rig.close()


def owed_by(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT id, receipt_node FROM messages WHERE receipt = 1 ORDER BY id").fetchall()


def test_a_receipt_goes_to_the_node_holding_a_receiver_and_is_acknowledged_once(nodes, pg_store_url):
    a, b = nodes("a"), nodes("b")
    a.rig.add()
    live = a.rig.bind(kind="transmitter")
    ids = [int(a.rig.accept(live, sms(registered_delivery=1)), 16) for _ in range(3)]
    a.rig.run(1.5)
    # final on a, which has no receiver: owed in the store, nobody's, not in a's memory
    assert a.rig.engine.receipts.backlog("shop") == 0
    assert owed_by(pg_store_url) == [(i, None) for i in ids]
    got = b.receiver()  # the bind claims at once
    b.rig.run(0.05)
    assert [r.message.id for r in got.got] == ids
    assert owed_by(pg_store_url) == []
    b.node.claim()
    a.node.claim()  # a has no receiver: claims nothing (and sends no query)
    b.rig.run(0.05)
    assert len(got.got) == 3


def test_the_last_receiver_leaving_a_node_frees_its_receipts_for_another(nodes, pg_store_url):
    a, b = nodes("a"), nodes("b")
    a.rig.add()
    live = a.rig.bind(kind="transmitter")
    ids = [int(a.rig.accept(live, sms(registered_delivery=1)), 16) for _ in range(3)]
    a.rig.run(1.5)
    silent = b.receiver(ack=False)
    b.rig.run(0.05)
    assert [r.message.id for r in silent.got] == ids
    assert owed_by(pg_store_url) == [(i, "b") for i in ids]
    b.ports.detach("shop", silent, silent.unanswered)
    b.rig.run(0.05)
    assert owed_by(pg_store_url) == [(i, None) for i in ids] and b.rig.engine.receipts.backlog("shop") == 0
    again = a.receiver()
    a.rig.run(0.05)
    assert [r.message.id for r in again.got] == ids and owed_by(pg_store_url) == []
    assert b.node.moved == {("receipt", "claimed"): 3, ("receipt", "released"): 3}
    samples = {(f.name, tuple(s.labels.values())): s.value for f in b.node.collect() for s in f.samples}
    assert samples[("smsc_cluster_claims", ("receipt", "released"))] == 3


def test_a_receipt_the_receiver_here_refused_stays_this_nodes(nodes, pg_store_url):
    """Made durable while it waits here for the next bind: no other node claims it."""
    a, b = nodes("a"), nodes("b")
    a.rig.add()
    live = a.rig.bind()
    recv = a.receiver(ack=False)
    mid = int(a.rig.accept(live, sms(registered_delivery=1)), 16)
    a.rig.run(1.5)
    [r] = recv.got
    assert not r.durable  # the fast path: sent before its final state is written
    a.rig.engine.receipts.answered(r, False)
    a.rig.run(0.05)
    assert owed_by(pg_store_url) == [(mid, "a")]
    other = b.receiver()
    b.rig.run(0.05)
    assert other.got == []


def test_a_dead_nodes_unfinished_messages_are_taken_over_and_receipted_once(nodes, pg_store_url):
    a, b = nodes("a"), nodes("b")
    a.rig.add()
    live = a.rig.bind(kind="transmitter")
    ids = [int(a.rig.accept(live, sms(registered_delivery=1)), 16) for _ in range(4)]
    a.rig.run(0.2)  # accepted, still with the operator
    recv = b.receiver()
    with psycopg.connect(pg_store_url, autocommit=True) as conn:  # a falls silent
        conn.execute("UPDATE nodes SET heartbeat_at = now() - interval '1 hour' WHERE name = 'a'")
    b.node.take_over()
    b.rig.run(1.5)
    assert sorted(r.message.id for r in recv.got) == ids
    # a was only slow: its operator's late outcomes write nothing
    a.rig.run(1.5)
    b.rig.run(0.05)
    assert len(recv.got) == 4
    with psycopg.connect(pg_store_url) as conn:
        rows = conn.execute("SELECT node, receipt FROM messages ORDER BY id").fetchall()
    assert rows == [("b", 2)] * 4 and b.node.taken == 4
    b.node.take_over()
    b.rig.run(0.05)
    assert len(recv.got) == 4


def test_mo_goes_to_the_node_holding_a_receiver_and_is_freed_when_it_leaves(nodes, pg_store_url):
    a, b = nodes("a"), nodes("b")
    a.rig.add()
    mo = a.rig.store.add_mo("shop", "380671234567", "7090", "СТОП")
    a.node.claim()  # no receiver on a: nothing claimed
    a.rig.run(0.05)
    silent = b.receiver(ack=False)
    b.rig.run(0.05)
    [part] = silent.got
    assert part.id == mo
    b.ports.detach("shop", silent, silent.unanswered)
    b.rig.run(0.05)
    got = a.receiver()
    a.rig.run(0.05)
    assert [p.id for p in got.got] == [mo]
    assert a.rig.store.pending_mo(0) == []  # delivered: acknowledged on a


def test_a_dead_nodes_scheduled_and_throttled_messages_end_with_one_receipt_each(nodes, pg_store_url):
    slow = {"operators": {"kyivstar": {"delay_min": 0.1, "delay_max": 0.1, "throughput": 2}}}
    a, b = nodes("a", slow), nodes("b", slow)
    a.rig.add()
    live = a.rig.bind(kind="transmitter")
    later = int(a.rig.accept(live, sms(schedule_delivery_time="000000010000000R", registered_delivery=1)), 16)
    queued = [int(a.rig.accept(live, sms(registered_delivery=1)), 16) for _ in range(6)]
    a.rig.run(0.05)  # one is in the network, the rest wait behind the cap of 2/s
    assert a.rig.engine.operators["kyivstar"].pending() >= 5
    recv = b.receiver()
    with psycopg.connect(pg_store_url, autocommit=True) as conn:
        conn.execute("UPDATE nodes SET heartbeat_at = now() - interval '1 hour' WHERE name = 'a'")
    b.node.take_over()
    b.rig.run(5.0)
    assert sorted(r.message.id for r in recv.got) == queued  # the scheduled one waits for its hour
    b.rig.run(3600.0)
    assert sorted(r.message.id for r in recv.got) == sorted([*queued, later])
    with psycopg.connect(pg_store_url) as conn:
        assert conn.execute("SELECT count(*) FROM messages WHERE done_time IS NULL OR receipt <> 2").fetchone() == (0,)
