"""The store's blacklist tables, refunds, refusals and message reads, on
each backend (SQLite, PostgreSQL; no server)."""
from __future__ import annotations

import time

import pytest

from smsc.records import Account, Message
from smsc.store.port import Batch, NoSuchAccount, NotBlacklisted
from smsc.store.sqlite import Store


@pytest.fixture
def store(open_store):
    s = open_store()
    s.add_account(Account("shop", "hash", "user", 1000))
    s.add_account(Account("other", "hash", "user", 1000))
    return s


def test_blacklist_add_list_remove(store):
    assert store.add_blacklist("shop", ["380671234567", "380501112233", "380671234567"]) == 2
    assert store.add_blacklist("shop", ["380671234567"]) == 0  # already there
    assert store.blacklist("shop") == ["380501112233", "380671234567"]
    assert store.blacklist("other") == []
    assert store.remove_blacklist("shop", ["380671234567"]) == 1
    assert store.blacklist("shop") == ["380501112233"]


def test_blacklist_remove_is_all_or_nothing(store):
    store.add_blacklist("shop", ["380671234567"])
    with pytest.raises(NotBlacklisted) as e:
        store.remove_blacklist("shop", ["380671234567", "380991112233"])
    assert e.value.numbers == ["380991112233"]
    assert store.blacklist("shop") == ["380671234567"]


def test_blacklist_of_no_account(store):
    with pytest.raises(NoSuchAccount):
        store.add_blacklist("ghost", ["380671234567"])
    with pytest.raises(NoSuchAccount):
        store.remove_blacklist("ghost", ["380671234567"])


def test_accounts_carry_their_blacklist_reread_only_when_it_changed(store, open_store):
    first = store.get_accounts(["shop", "other"])
    assert first["shop"].blacklist == frozenset() == first["other"].blacklist
    cli = open_store()  # another connection, as the CLI has
    cli.add_blacklist("shop", ["380671234567"])
    second = store.get_accounts(["shop", "other"])
    assert second["shop"].blacklist == {"380671234567"}
    third = store.get_accounts(["shop"])
    assert third["shop"].blacklist is second["shop"].blacklist  # cached, not reread
    cli.remove_blacklist("shop", ["380671234567"])
    cli.add_blacklist("shop", ["380501112233"])
    assert store.get_accounts(["shop"])["shop"].blacklist == {"380501112233"}
    cli.close()
    # the CLI's reads leave it out; the server's bind read has it
    assert store.get_account("shop").blacklist == frozenset()
    assert store.get_account("shop", blacklist=True).blacklist == {"380501112233"}
    assert store.get_account("ghost", blacklist=True) is None


def _message(n: int, cost: int = 20, segments: int = 2) -> Message:
    return Message(n, "shop", 5, 0, "SMSClub", 1, 1, "380671234567", 0, 0, 1, b"hi", 100.0,
                   "380671234567", "kyivstar", segments, cost)


def test_refund_gives_the_charge_back_and_zeroes_the_cost(store):
    m = _message(7)
    store.write_batch(Batch(inserts=[m], charges={"shop": 20}, usage={("shop", 1): [1, 2, 20]}, size=1))
    assert store.get_account("shop").balance_kopecks == 980
    got = store.get_message(7)
    assert got == (m, 1, None, None, None)
    store.write_batch(Batch(
        refunds=[7], charges={"shop": -20}, usage={("shop", 1): [-1, -2, -20]},
        finishes={(4, "DELETED", 0, 160.0, 0): [7]}, size=2,
    ))
    assert store.get_account("shop").balance_kopecks == 1000
    assert store.usage_today("shop", 1) == 0
    assert store.get_message(7) == (m._replace(cost=0), 4, "DELETED", 0, 160.0)
    assert store.get_message(8) is None


def test_expire_owed_gives_up_only_old_owed_receipts(open_store):
    from smsc.store.port import RECEIPT_OWED

    s = open_store()
    b = Batch()
    for n in (1, 2, 3):
        b.inserts.append(Message(n, "a", 5, 0, "S", 1, 1, "380671234567", 0, 0, 1, b"x", 0.0))
    s.write_batch(b)
    b = Batch()
    b.finishes[(2, "DELIVRD", 0, 100.0, RECEIPT_OWED)] = [1]
    b.finishes[(2, "DELIVRD", 0, 900.0, RECEIPT_OWED)] = [2]
    b.finishes[(2, "DELIVRD", 0, 50.0, 2)] = [3]  # acknowledged long ago
    s.write_batch(b)
    assert s.expire_owed(before=500.0) == 1
    assert [m.id for m, *_ in s.owed_receipts()] == [2]


def test_a_batch_whose_submits_the_balance_cannot_cover_leaves_them_out(store):
    """write_batch's conditional decrement: shop's two submits (30 + 20) less
    its refund (10) exceed its 39 kopecks, so neither submit is stored,
    charged nor counted; its refund and final state in the same batch go
    in, and so does other's submit."""
    store.write_batch(Batch(inserts=[_message(1, cost=10)], charges={"shop": 10},
                            usage={("shop", 1): [1, 2, 10]}, debits={("shop", 1): [1, 2, 10]}))
    store.add_balance("shop", -951)  # 39 left
    theirs = _message(4, cost=20)._replace(system_id="other")
    result = store.write_batch(Batch(
        inserts=[_message(2, cost=30), _message(3, cost=20), theirs],
        refunds=[1], finishes={(4, "DELETED", 0, 160.0, 0): [1]},
        charges={"shop": 30 + 20 - 10, "other": 20},
        usage={("shop", 1): [2 - 1, 4 - 2, 50 - 10], ("other", 1): [1, 2, 20]},
        debits={("shop", 1): [2, 4, 50], ("other", 1): [1, 2, 20]},
        read_accounts=frozenset({"shop", "other"}), size=5,
    ))
    assert result.refused == {"shop"}
    assert (result.accounts["shop"].balance_kopecks, result.accounts["other"].balance_kopecks) == (49, 980)
    assert store.get_message(2) is None and store.get_message(3) is None
    assert store.get_message(4).message == theirs
    assert store.get_message(1)[1:3] == (4, "DELETED") and store.get_message(1).message.cost == 0
    assert (store.usage_today("shop", 1), store.usage_today("other", 1)) == (0, 1)
    # covered: written as one
    result = store.write_batch(Batch(inserts=[_message(5, cost=49)], charges={"shop": 49},
                                     usage={("shop", 1): [1, 2, 49]}, debits={("shop", 1): [1, 2, 49]}))
    assert result.refused == frozenset() and store.get_account("shop").balance_kopecks == 0
    assert store.get_message(5) is not None


def test_message_ids_are_never_handed_out_twice(store, open_store):
    other = open_store()  # another process (a second node)
    blocks = [store.message_ids(1000.0), other.message_ids(1000.0), store.message_ids(1000.0)]
    assert all(len(b) >= 1000 for b in blocks)
    store.write_batch(Batch(inserts=[_message(blocks[-1].start + 5)]))
    again = other.message_ids(1000.0)
    assert again.start > blocks[-1].start + 5
    # SQLite's single writer owns every id past the stored ones; PostgreSQL's
    # blocks of one sequence never overlap
    if len(blocks[0]) < 1 << 40:
        ranges = sorted(blocks + [again], key=lambda b: b.start)
        assert all(a.stop <= b.start for a, b in zip(ranges, ranges[1:], strict=False))


def test_sqlite_message_ids_are_past_the_stored_ones_and_the_time_floor(tmp_path):
    store = Store(str(tmp_path / "ids.db"))
    first = store.message_ids(1000.0)
    assert first.start == 1000 << 20 and len(first) > 1 << 40
    store.write_batch(Batch(inserts=[_message(first.start + 5)]))
    assert store.message_ids(1000.0).start == first.start + 6
    assert store.message_ids(2000.0).start == 2000 << 20
    store.close()


def test_the_message_ids_of_a_new_postgresql_store_start_at_the_time_floor(pg_url):
    from smsc.store.postgres import PgStore

    store = PgStore(pg_url, now=1000.0)
    try:
        assert store.message_ids(5000.0) == range(1000 << 20, (1000 << 20) + 1000)
        again = PgStore(pg_url, now=9000.0)  # the sequence is made once
        assert again.message_ids(9000.0).start == (1000 << 20) + 1000
        again.close()
    finally:
        store.close()


def test_postgresql_nodes_starting_at_once_make_the_schema_once(pg_url):
    from concurrent.futures import ThreadPoolExecutor

    from smsc.store.postgres import PgStore

    with ThreadPoolExecutor(6) as pool:
        stores = list(pool.map(lambda _: PgStore(pg_url), range(6)))
    try:
        stores[0].add_account(Account("shop", "hash", "user", 1))
        assert [s.count_accounts() for s in stores] == [1] * 6
    finally:
        for s in stores:
            s.close()


def test_postgresql_two_nodes_spending_one_balance_at_once_never_overdraw_it(pg_store_url):
    """Each node believes the 100 kopecks are there; their batches commit
    at the same moment: one is charged, the other refused."""
    import threading

    from smsc.store.postgres import PgStore

    nodes = [PgStore(pg_store_url) for _ in range(2)]
    try:
        nodes[0].add_account(Account("shop", "hash", "user", 100))
        start = threading.Barrier(2)
        results = {}

        def spend(i: int) -> None:
            m = _message(10 + i, cost=60)
            start.wait()
            results[i] = nodes[i].write_batch(Batch(
                inserts=[m], charges={"shop": 60}, usage={("shop", 1): [1, 2, 60]},
                debits={("shop", 1): [1, 2, 60]}, read_accounts=frozenset({"shop"}), size=1))

        threads = [threading.Thread(target=spend, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(len(r.refused) for r in results.values()) == [0, 1]
        assert nodes[0].get_account("shop").balance_kopecks == 40
        stored = [nodes[0].get_message(n) for n in (10, 11)]
        assert sum(s is not None for s in stored) == 1
        assert nodes[0].usage_today("shop", 1) == 1
    finally:
        for n in nodes:
            n.close()


def test_heartbeats_list_the_nodes_of_the_store(store, open_store, backend):
    [me] = [n for n in store.heartbeat("a:2775", 10.0) if n.name == "a:2775"]
    assert me.alive and abs(me.heartbeat_at - time.time()) < 60
    if backend == "sqlite":  # one process: the only node
        assert [n.name for n in store.heartbeat("a:2775", 10.0)] == ["a:2775"]
        assert not store.heartbeat("a:2775", 10.0, stopped=True)[0].alive
        return
    other = open_store()
    assert [(n.name, n.alive) for n in other.heartbeat("b:2775", 10.0)] == [("a:2775", True), ("b:2775", True)]
    other.heartbeat("b:2775", 10.0, stopped=True)  # a graceful stop: gone at once
    assert [(n.name, n.alive) for n in store.heartbeat("a:2775", 10.0)] == [("a:2775", True), ("b:2775", False)]
    time.sleep(0.3)
    assert [(n.name, n.alive) for n in other.heartbeat("c:2775", 0.2)] == [
        ("a:2775", False), ("b:2775", False), ("c:2775", True)]  # a silent past the lease: dead
