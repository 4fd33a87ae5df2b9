"""Ownership of work between nodes on one PostgreSQL (``smsc.store.postgres_cluster``),
against the real server: several stores are several nodes (each its own
connection). A dead node's rows go to exactly one taker, however many look
at once; claims never give one owed receipt or MO to two nodes; what is
released is claimable again; a graceful stop hands over at once; a node
taken over writes nothing to the messages it lost."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import psycopg
import pytest

from smsc.records import Account, Message
from smsc.store.port import RECEIPT_DONE, RECEIPT_OWED, Batch
from smsc.store.postgres import PgStore

LEASE = 10.0


@pytest.fixture
def nodes(pg_store_url: str) -> Iterator[Callable[[str], PgStore]]:
    """``nodes(name)``: a store started as node ``name`` (its own connection)."""
    opened: list[PgStore] = []

    def make(name: str) -> PgStore:
        s = PgStore(pg_store_url)
        s.start_node(name, LEASE)
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()


def sql(url: str, query: str, *args: object) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, list(args))
        return cur.fetchall() if cur.description else []


def kill(url: str, name: str) -> None:
    """Node ``name`` silent for longer than the lease."""
    sql(url, "UPDATE nodes SET heartbeat_at = now() - interval '1 hour' WHERE name = %s", name)


def msg(n: int, system_id: str = "shop") -> Message:
    return Message(n, system_id, 5, 0, "Shop", 1, 1, "380671234567", 0, 0, 1, b"hi", 1000.0,
                   "380671234567", "kyivstar", 1, 1, 5000.0, None)


def store_messages(s: PgStore, ids: range, system_id: str = "shop") -> None:
    s.write_batch(Batch(inserts=[msg(n, system_id) for n in ids]))


def owe(s: PgStore, ids: list[int]) -> None:
    s.write_batch(Batch(finishes={(2, "DELIVRD", 0, 1001.0, RECEIPT_OWED): ids}))


def account(s: PgStore, *names: str) -> None:
    for name in names:
        s.add_account(Account(name, "h", "user", 1000, ()))


def test_each_dead_nodes_unfinished_messages_go_to_exactly_one_taker(nodes, pg_store_url):
    first = nodes("a")
    account(first, "shop")
    dead = {f"dead{i}": first for i in range(6)}
    for i, name in enumerate(dead):
        s = nodes(name)
        store_messages(s, range(1000 * (i + 1), 1000 * (i + 1) + 40))
        owe(s, list(range(1000 * (i + 1), 1000 * (i + 1) + 10)))  # final: not theirs to resume
        kill(pg_store_url, name)
    alive = nodes("alive")
    store_messages(alive, range(50, 60))
    takers = [nodes(f"taker{i}") for i in range(3)]
    results: dict[str, list] = {}
    start = threading.Barrier(len(takers))

    def take(s: PgStore) -> None:
        start.wait()
        assert s.node is not None
        results[s.node] = s.take_over(s.node, LEASE)

    threads = [threading.Thread(target=take, args=(s,)) for s in takers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    taken = [(taker, work.node, m.id) for taker, works in results.items() for work in works for m in work.messages]
    by_dead: dict[str, set[str]] = {}
    for taker, node, _ in taken:
        by_dead.setdefault(node, set()).add(taker)
    # every dead node taken, each by one taker only; its unfinished rows, each once
    assert set(by_dead) == set(dead) and all(len(t) == 1 for t in by_dead.values()), by_dead
    ids = [i for _, _, i in taken]
    assert len(ids) == len(set(ids)) == 6 * 30
    assert not any(1000 * (i + 1) <= n < 1000 * (i + 1) + 10 for i in range(6) for n in ids)
    # the rows say so; the alive node's are its own still; the dead nodes' rows went
    owners = dict(sql(pg_store_url, "SELECT id, node FROM messages WHERE done_time IS NULL"))
    assert all(owners[n] == taker for taker, _, n in taken)
    assert {owners[n] for n in range(50, 60)} == {"alive"}
    assert {r[0] for r in sql(pg_store_url, "SELECT name FROM nodes")} == {"a", "alive", *results}
    # a second look finds nothing more
    assert takers[0].take_over("taker0", LEASE) == []


def test_a_restart_and_a_takeover_never_both_get_the_messages(nodes, pg_store_url):
    a = nodes("a")
    account(a, "shop")
    store_messages(a, range(1, 11))
    kill(pg_store_url, "a")
    b = nodes("b")
    # a comes back before b looks: a has its own messages, b takes nothing
    again = PgStore(pg_store_url)
    try:
        work = again.start_node("a", LEASE)
        assert [m.id for m in work.messages] == list(range(1, 11))
        assert b.take_over("b", LEASE) == []
        kill(pg_store_url, "a")
        [taken] = b.take_over("b", LEASE)
        assert (taken.node, [m.id for m in taken.messages]) == ("a", list(range(1, 11)))
    finally:
        again.close()
    # and a restart after the takeover finds nothing of its own
    late = PgStore(pg_store_url)
    try:
        assert late.start_node("a", LEASE).messages == []
    finally:
        late.close()


def test_rows_no_node_owns_are_taken_once(nodes, pg_store_url):
    legacy = PgStore(pg_store_url)  # never started as a node: a copy, an older version
    try:
        account(legacy, "shop")
        store_messages(legacy, range(1, 6))
    finally:
        legacy.close()
    a, b = nodes("a"), nodes("b")
    [work] = a.take_over("a", LEASE)
    assert (work.node, [m.id for m in work.messages]) == ("", [1, 2, 3, 4, 5])
    assert b.take_over("b", LEASE) == []


def test_rows_of_a_node_that_has_no_row_left_are_taken_once(nodes, pg_store_url):
    """A node taken over (its row deleted) that stored more before it died
    and never beat again: its rows name a node nobody will ever see dead."""
    ghost = nodes("ghost")
    account(ghost, "shop")
    store_messages(ghost, range(1, 4))
    sql(pg_store_url, "DELETE FROM nodes WHERE name = 'ghost'")  # taken over, then killed -9
    a, b = nodes("a"), nodes("b")
    taken = [m.id for w in a.take_over("a", LEASE) for m in w.messages]
    assert taken == [1, 2, 3]
    assert b.take_over("b", LEASE) == []
    assert sql(pg_store_url, "SELECT DISTINCT node FROM messages") == [("a",)]


def test_claims_never_give_a_receipt_to_two_nodes(nodes, pg_store_url):
    a = nodes("a")
    account(a, "shop", "other")
    store_messages(a, range(1, 3001))
    store_messages(a, range(5001, 5101), "other")
    owe(a, list(range(1, 3001)))
    owe(a, list(range(5001, 5101)))
    claimers = [nodes(f"c{i}") for i in range(4)]
    got: dict[str, list[int]] = {}
    start = threading.Barrier(len(claimers))

    def claim(s: PgStore) -> None:
        assert s.node is not None
        mine = got.setdefault(s.node, [])
        start.wait()
        while True:
            rows = s.claim_receipts(s.node, ["shop"], 100)
            if not rows:
                return
            assert [r.message.id for r in rows] == sorted(r.message.id for r in rows)
            mine += [r.message.id for r in rows]

    threads = [threading.Thread(target=claim, args=(s,)) for s in claimers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    every = [i for ids in got.values() for i in ids]
    assert sorted(every) == list(range(1, 3001)), "a receipt claimed twice or not at all"
    assert sum(1 for ids in got.values() if ids) >= 2, "one claimer took all: no contention shown"
    owners = dict(sql(pg_store_url, "SELECT id, receipt_node FROM messages WHERE receipt = 1"))
    assert all(owners[i] == node for node, ids in got.items() for i in ids)
    assert {owners[i] for i in range(5001, 5101)} == {None}  # another account: not claimed


def test_release_gives_back_only_ones_own_unacknowledged_claims(nodes, pg_store_url):
    a, b = nodes("a"), nodes("b")
    account(a, "shop")
    store_messages(a, range(1, 11))
    owe(a, list(range(1, 11)))
    assert [r.message.id for r in a.claim_receipts("a", ["shop"], 5)] == [1, 2, 3, 4, 5]
    a.write_batch(Batch(acks=[1]))
    assert b.release_receipts("b", [2, 3]) == 0  # not b's
    assert a.release_receipts("a", [1, 2, 3]) == 2  # 1 is acknowledged: done, not released
    assert [r.message.id for r in b.claim_receipts("b", ["shop"], 100)] == [2, 3, 6, 7, 8, 9, 10]
    assert sql(pg_store_url, "SELECT receipt FROM messages WHERE id = 1") == [(RECEIPT_DONE,)]


def test_mo_claims_and_releases(nodes, pg_store_url):
    a, b = nodes("a"), nodes("b")
    account(a, "shop")
    ids = [a.add_mo("shop", "380671234567", "7090", f"mo {i}") for i in range(6)]
    assert [r.id for r in a.claim_mo("a", ["shop"], 4)] == ids[:4]
    assert [r.id for r in b.claim_mo("b", ["shop"], 10)] == ids[4:]
    a.mo_delivered(ids[0])
    assert a.release_mo("a", ids[:4]) == 3
    assert [r.id for r in b.claim_mo("b", ["shop"], 10)] == ids[1:4]


def test_a_takeover_frees_the_dead_nodes_claims(nodes, pg_store_url):
    a, b = nodes("a"), nodes("b")
    account(a, "shop")
    store_messages(b, range(1, 6))
    owe(b, [1, 2, 3])
    mo = b.add_mo("shop", "380671234567", "7090", "hi")
    assert len(a.claim_receipts("a", ["shop"], 100)) == 3 and len(a.claim_mo("a", ["shop"], 10)) == 1
    assert b.claim_receipts("b", ["shop"], 100) == []
    kill(pg_store_url, "a")
    [work] = b.take_over("b", LEASE)
    assert work.node == "a" and work.messages == []  # a owned no unfinished message, only claims
    assert [r.message.id for r in b.claim_receipts("b", ["shop"], 100)] == [1, 2, 3]
    assert [r.id for r in b.claim_mo("b", ["shop"], 10)] == [mo]


def test_a_graceful_stop_hands_over_at_once(nodes, pg_store_url):
    a, b = nodes("a"), nodes("b")
    account(a, "shop")
    store_messages(a, range(1, 6))
    owe(a, [1])
    assert len(a.claim_receipts("a", ["shop"], 10)) == 1
    a.stop_node("a")  # no lease to wait for: stopped is dead
    [work] = b.take_over("b", LEASE)
    assert (work.node, [m.id for m in work.messages]) == ("a", [2, 3, 4, 5])
    assert [r.message.id for r in b.claim_receipts("b", ["shop"], 10)] == [1]


def test_a_node_taken_over_writes_nothing_to_the_messages_it_lost(nodes, pg_store_url):
    a = nodes("a")
    account(a, "shop")
    store_messages(a, range(1, 5))
    kill(pg_store_url, "a")
    b = nodes("b")
    [work] = b.take_over("b", LEASE)
    assert len(work.messages) == 4
    # a was only slow: its late final states do not land on b's messages
    a.write_batch(Batch(finishes={(2, "DELIVRD", 0, 1001.0, RECEIPT_OWED): [1, 2]}))
    assert sql(pg_store_url, "SELECT count(*) FROM messages WHERE done_time IS NOT NULL") == [(0,)]
    b.write_batch(Batch(finishes={(5, "UNDELIV", 1, 1002.0, RECEIPT_OWED): [1]}))
    assert sql(pg_store_url, "SELECT stat, node FROM messages WHERE id = 1") == [("UNDELIV", "b")]


def test_inserts_name_their_node_and_start_frees_a_previous_runs_claims(nodes, pg_store_url):
    a = nodes("a")
    account(a, "shop")
    store_messages(a, range(1, 4))
    owe(a, [1])
    a.claim_receipts("a", ["shop"], 10)
    assert sql(pg_store_url, "SELECT DISTINCT node FROM messages") == [("a",)]
    again = PgStore(pg_store_url)
    try:
        work = again.start_node("a", LEASE)  # a restart: own unfinished back, claims free
        assert [m.id for m in work.messages] == [2, 3]
        assert sql(pg_store_url, "SELECT receipt_node FROM messages WHERE id = 1") == [(None,)]
    finally:
        again.close()


def test_a_beat_tells_whether_the_nodes_row_was_kept_or_it_was_taken_over(nodes, pg_store_url):
    a, b = nodes("a"), nodes("b")
    account(a, "shop")
    store_messages(a, range(1, 4))
    beat = a.beat("a", LEASE)  # the row start_node made: kept, also on the first beat
    assert beat.kept and [(n.name, n.alive) for n in beat.nodes] == [("a", True), ("b", True)]
    kill(pg_store_url, "a")
    [work] = b.take_over("b", LEASE)
    assert work.node == "a" and len(work.messages) == 3
    again = a.beat("a", LEASE)  # back, but its messages are b's: the row was made anew
    assert not again.kept and ("a", True) in [(n.name, n.alive) for n in again.nodes]
    assert a.beat("a", LEASE).kept


def test_a_takeover_racing_the_dead_nodes_beat_takes_nothing_when_the_beat_came_first(nodes, pg_store_url):
    """The takeover locks the row it judged dead: a beat committed while it
    waited makes the node alive again, so no node both keeps and loses its
    messages (without the lock the takeover deletes the row the beat just
    renewed, and the node believes itself kept)."""
    a, b = nodes("a"), nodes("b")
    account(a, "shop")
    store_messages(a, range(1, 4))
    kill(pg_store_url, "a")
    result: list = []
    with psycopg.connect(pg_store_url) as beating:  # a's beat, not yet committed
        kept = beating.execute(
            "UPDATE nodes SET heartbeat_at = now() WHERE name = 'a' RETURNING true").fetchone()
        taker = threading.Thread(target=lambda: result.append(b.take_over("b", LEASE)))
        taker.start()
        taker.join(1.0)
        assert taker.is_alive()  # waits for the row a's beat holds
        beating.commit()
    taker.join(10)
    assert kept == (True,) and result == [[]]
    assert sql(pg_store_url, "SELECT DISTINCT node FROM messages") == [("a",)]
    assert a.beat("a", LEASE).kept
