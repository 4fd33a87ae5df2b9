"""What the nodes of one PostgreSQL store share (smsc.store.postgres_limits):
bind slots across nodes, rate shares, campaign leases, dlr_url callbacks
adopted from dead nodes. Each "node" is a connection of its own, as
separate processes have; liveness is the ``nodes`` heartbeat."""
from __future__ import annotations

import threading
import time

import pytest

from smsc.campaigns.store import NewCampaign, NewRecipient
from smsc.records import Account, Message
from smsc.store.port import CALLBACK_DONE, Batch, BindSlot
from smsc.store.postgres import PgStore
from smsc.store.sqlite import Store

LEASE = 10.0


@pytest.fixture
def nodes(pg_store_url):
    """Three connections to one store, "a", "b", "c", each alive (heartbeat)."""
    opened = {name: PgStore(pg_store_url) for name in "abc"}
    opened["a"].add_account(Account("shop", "hash", "user", 1000))
    for name, s in opened.items():
        s.heartbeat(name, LEASE)
    yield opened
    for s in opened.values():
        s.close()


def test_max_binds_holds_across_nodes(nodes):
    a, b = nodes["a"], nodes["b"]
    assert a.take_bind("a", "shop", 3, LEASE) == BindSlot(True, 1, 1)
    assert a.take_bind("a", "shop", 3, LEASE) == BindSlot(True, 2, 1)
    assert b.take_bind("b", "shop", 3, LEASE) == BindSlot(True, 3, 2)  # a's two count; two nodes share
    assert b.take_bind("b", "shop", 3, LEASE) == BindSlot(False, 3, 2)
    assert a.take_bind("a", "shop", 3, LEASE).taken is False
    a.drop_bind("a", "shop")
    assert b.take_bind("b", "shop", 3, LEASE) == BindSlot(True, 3, 2)
    assert b.take_bind("b", "shop", 0, LEASE) == BindSlot(True, 4, 2)  # 0: no limit, still counted


def test_two_binds_at_the_same_instant_on_two_nodes_take_turns(nodes):
    """The last slot, asked for by two nodes at once: exactly one gets it."""
    nodes["c"].take_bind("c", "shop", 2, LEASE)
    start = threading.Barrier(2)
    got: dict[str, BindSlot] = {}

    def bind(name: str) -> None:
        start.wait()
        got[name] = nodes[name].take_bind(name, "shop", 2, LEASE)

    threads = [threading.Thread(target=bind, args=(n,)) for n in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(s.taken for s in got.values()) == [False, True]


def test_a_dead_nodes_binds_stop_counting_and_are_deleted(nodes):
    a, b = nodes["a"], nodes["b"]
    a.take_bind("a", "shop", 2, LEASE)
    a.take_bind("a", "shop", 2, LEASE)
    assert b.take_bind("b", "shop", 2, LEASE).taken is False
    time.sleep(0.3)
    b.heartbeat("b", LEASE)
    # with a lease of 0.2 s, a (silent for 0.3 s) is dead: its binds do not count
    assert b.take_bind("b", "shop", 2, 0.2) == BindSlot(True, 1, 1)
    assert b.sync_binds("b", {"shop": 1}, (), ["shop"], 0.2) == {"shop": 1}
    assert a.forget_node_binds("a") == 0  # the sync deleted a's rows already
    # a stopped node's binds too, at once
    nodes["c"].take_bind("c", "shop", 0, LEASE)
    assert b.sync_binds("b", {"shop": 1}, (), ["shop"], LEASE) == {"shop": 2}
    nodes["c"].heartbeat("c", LEASE, stopped=True)
    assert b.sync_binds("b", {"shop": 1}, (), ["shop"], LEASE) == {"shop": 1}


def test_sync_rewrites_this_nodes_rows_and_reads_the_shares(nodes):
    a, b = nodes["a"], nodes["b"]
    a.add_account(Account("bank", "hash", "user", 1000))
    for _ in range(3):
        a.take_bind("a", "shop", 0, LEASE)
    a.take_bind("a", "bank", 0, LEASE)
    b.take_bind("b", "shop", 0, LEASE)
    # a has one shop session really (two unbinds lost), bank's bind is in flight
    assert a.sync_binds("a", {"shop": 1}, ["bank"], ["shop", "bank", "ghost"], LEASE) == {
        "shop": 2, "bank": 1, "ghost": 1}
    assert b.take_bind("b", "shop", 3, LEASE) == BindSlot(True, 3, 2)  # a 1 + b 2
    assert b.take_bind("b", "bank", 2, LEASE) == BindSlot(True, 2, 2)  # kept: a's bank row stays
    # nothing held: a's rows go
    assert a.sync_binds("a", {}, (), ["shop"], LEASE) == {"shop": 2}
    assert a.take_bind("a", "shop", 3, LEASE) == BindSlot(True, 3, 2)
    assert a.forget_node_binds("a") == 1


def make_campaign(s: PgStore, n: int = 3) -> int:
    cid = s.create_campaign(NewCampaign(
        "c", "shop", "Shop", "hi", 10.0, "phone", ("phone",), n, 0, 0, n, 0,
        tuple(NewRecipient(f"38067123456{i}", {"phone": f"38067123456{i}"}, i + 2, "hi") for i in range(n)),
    ), 1000.0)
    s.set_campaign_state(cid, ["draft"], "running", "", 1000.0)
    return cid


def test_a_campaign_runs_on_one_node_until_its_lease_ends(nodes):
    a, b = nodes["a"], nodes["b"]
    cid = make_campaign(a)
    assert [c.id for c in a.lease_campaigns("a", LEASE)] == [cid]
    assert b.lease_campaigns("b", LEASE) == []
    assert [c.id for c in a.lease_campaigns("a", LEASE)] == [cid]  # renewed
    # a's lease of 0.2 s ends without a renewal (a still alive): b takes it
    a.lease_campaigns("a", 0.2)
    time.sleep(0.3)
    assert [c.id for c in b.lease_campaigns("b", LEASE)] == [cid]
    assert a.lease_campaigns("a", LEASE) == []
    # b stops gracefully: free at once
    b.heartbeat("b", LEASE, stopped=True)
    assert [c.id for c in nodes["c"].lease_campaigns("c", LEASE)] == [cid]
    a.set_campaign_state(cid, ["running"], "paused", "by hand", 1001.0)
    assert nodes["c"].lease_campaigns("c", LEASE) == []


def test_two_nodes_claiming_one_campaign_at_once_never_share_a_recipient(nodes):
    cid = make_campaign(nodes["a"], 40)
    start = threading.Barrier(2)
    got: dict[str, list] = {}

    def claim(name: str) -> None:
        start.wait()
        got[name] = [r.seq for _ in range(4) for r in nodes[name].claim_recipients({cid: 5}, 1000.0)]

    threads = [threading.Thread(target=claim, args=(n,)) for n in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not set(got["a"]) & set(got["b"])
    assert sorted(got["a"] + got["b"]) == list(range(1, 41))


def message(n: int) -> Message:
    return Message(n, "shop", 5, 0, "Shop", 1, 1, "380671234567", 0, 0, 1, b"hi", 1000.0, "380671234567",
                   "kyivstar", 1, 0, 5000.0, None)


def test_callbacks_of_a_dead_node_are_adopted_by_one_node(nodes):
    a, b, c = nodes["a"], nodes["b"], nodes["c"]
    a.write_batch(Batch(inserts=[message(1), message(2), message(3)], size=3))
    a.add_callback(1, "1", "http://127.0.0.1:1/cb", "a")
    a.add_callback(2, "2", "http://127.0.0.1:1/cb", "a")
    b.add_callback(3, "3", "http://127.0.0.1:1/cb", "b")
    assert [r.message_id for r in a.pending_callbacks("a")] == [1, 2]
    assert [r.message_id for r in a.pending_callbacks()] == [1, 2, 3]
    assert b.adopt_callbacks("b", LEASE) == [] and c.adopt_callbacks("c", LEASE) == []  # a is alive
    a.end_callback(2, CALLBACK_DONE)
    a.heartbeat("a", LEASE, stopped=True)
    assert [r.message_id for r in b.adopt_callbacks("b", LEASE)] == [1]
    assert c.adopt_callbacks("c", LEASE) == []  # taken once
    assert [r.message_id for r in b.pending_callbacks("b")] == [1, 3]
    assert b.due_callbacks("b") == []
    c.write_batch(Batch(finishes={(2, "DELIVRD", 0, 1001.0, 0): [1]}, size=1))  # finished on another node
    assert b.due_callbacks("b") == [1]


def test_one_sqlite_node_keeps_nothing(tmp_path):
    s = Store(str(tmp_path / "s.db"))
    assert s.take_bind("a", "shop", 1, LEASE) == BindSlot(True, 0, 1)
    assert s.sync_binds("a", {"shop": 5}, (), ["shop"], LEASE) == {"shop": 1}
    assert s.adopt_callbacks("a", LEASE) == [] and s.lease_campaigns("a", LEASE) == []
    s.close()
