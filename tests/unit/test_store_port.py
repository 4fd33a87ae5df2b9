"""The store port's named async methods (``StoreWorker``) over a temporary
store, SQLite and PostgreSQL: a real store thread, a fake clock for the
reactor side."""
from __future__ import annotations

import queue
from typing import Any

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from smsc.records import Account, Message
from smsc.store.port import MoRow, StoredMessage
from smsc.store.port import RECEIPT_OWED, Batch
from smsc.store.sqlite import Store
from smsc.store.worker import StoreWorker


class ThreadedClock(Clock):
    """A ``Clock`` that also takes ``callFromThread`` (how the store thread
    hands results back), run by ``wait``."""

    def __init__(self) -> None:
        super().__init__()
        self._from_threads: queue.Queue = queue.Queue()

    def callFromThread(self, f: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N802 (Twisted's name)
        self._from_threads.put((f, args, kwargs))

    def wait(self, d: Deferred, timeout: float = 5.0) -> Any:
        """Run the reactor side until ``d`` fires; its result (or raise its failure)."""
        results: list = []
        d.addBoth(results.append)
        while not results:
            self.advance(0)
            try:
                f, args, kwargs = self._from_threads.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError("the store thread did not answer") from None
            f(*args, **kwargs)
            self.advance(0)
        result = results[0]
        if hasattr(result, "raiseException"):
            result.raiseException()
        return result


def message(n: int, system_id: str = "shop") -> Message:
    return Message(n, system_id, 5, 0, "Shop", 1, 1, "380671234567", 0, 0, 1, b"hi", 100.0,
                   "380671234567", "kyivstar", 1, 20)


@pytest.fixture
def store(open_store):
    s = open_store()
    s.add_account(Account("shop", "hash", "user", 1000))
    return s


@pytest.fixture
def reactor() -> ThreadedClock:
    return ThreadedClock()


@pytest.fixture
def worker(store, reactor):
    w = StoreWorker(store, reactor)
    w.start()
    yield w
    reactor.wait(w.stop())


def test_bind_account_reads_the_blacklist_and_the_days_usage(store, reactor, worker):
    store.add_blacklist("shop", ["380501112233"])
    store.write_batch(Batch(usage={("shop", 7): [3, 4, 60]}))
    account, used = reactor.wait(worker.bind_account("shop", 7))
    assert (account.system_id, account.blacklist, used) == ("shop", {"380501112233"}, 3)
    assert reactor.wait(worker.bind_account("shop", 8))[1] == 0
    assert reactor.wait(worker.bind_account("ghost", 7)) == (None, 0)


def test_committed_message_sees_writes_queued_before_it(reactor, worker):
    worker.insert(message(5))
    worker.finish((2, "DELIVRD", 0, 160.0, 0), 5)
    found = reactor.wait(worker.committed_message(5))
    assert isinstance(found, StoredMessage)
    assert (found.message, found.state, found.stat, found.error, found.done_time) == (
        message(5), 2, "DELIVRD", 0, 160.0)
    assert reactor.wait(worker.committed_message(6)) is None


def test_pending_mo_and_mo_delivered(store, reactor, worker):
    first = store.add_mo("shop", "380671234567", "7000", "one")
    second = store.add_mo("shop", "380671234567", "7000", "two")
    rows = reactor.wait(worker.pending_mo(0))
    assert rows == [MoRow(first, "shop", "380671234567", "7000", "one"),
                    MoRow(second, "shop", "380671234567", "7000", "two")]
    assert [r.id for r in reactor.wait(worker.pending_mo(first))] == [second]
    reactor.wait(worker.mo_delivered(first))
    assert [r.text for r in reactor.wait(worker.pending_mo(0))] == ["two"]


def test_expire_owed_gives_up_old_receipts(store, reactor, worker):
    store.write_batch(Batch(inserts=[message(1), message(2)], finishes={
        (2, "DELIVRD", 0, 100.0, RECEIPT_OWED): [1], (2, "DELIVRD", 0, 900.0, RECEIPT_OWED): [2]}))
    assert reactor.wait(worker.expire_owed(500.0)) == 1
    assert [r.message.id for r in store.owed_receipts()] == [2]


def test_committed_fires_after_a_commit_that_read_tracked_accounts_back(store, reactor, worker):
    seen: list[dict] = []
    worker.on_commit.append(lambda writes, seconds, accounts: seen.append(accounts))
    worker.tracked.add("shop")
    store.add_balance("shop", 500)  # as the CLI would, behind the server's back
    worker.refresh_soon()
    reactor.wait(worker.committed())
    assert seen and seen[-1]["shop"].balance_kopecks == 1500


# --- the reports page's reads -------------------------------------------------------------


def test_messages_to_is_newest_first_with_their_state_and_limited(store):
    other = message(3)._replace(msisdn="380501112233", destination_addr="380501112233")
    store.write_batch(Batch(inserts=[message(1), message(2), other, message(4)],
                            finishes={(2, "DELIVRD", 0, 160.0, 0): [2]}))
    found = store.messages_to("380671234567", 2)
    assert [(f.message.id, f.stat, f.done_time) for f in found] == [(4, None, None), (2, "DELIVRD", 160.0)]
    assert [f.message.id for f in store.messages_to("380671234567", 10)] == [4, 2, 1]


def test_accounts_usage_counts_the_days_messages(store):
    store.add_account(Account("quiet", "hash", "test", 0))
    store.write_batch(Batch(usage={("shop", 7): [3, 4, 60], ("quiet", 6): [9, 9, 0]}))
    assert [(u.account.system_id, u.messages) for u in store.accounts_usage(7)] == [("quiet", 0), ("shop", 3)]


def test_message_rows_use_each_accounts_id_format_and_say_enroute_until_final():
    from smsc.web.reports_data import message_rows

    decimal = Account("shop", "hash", "user", 0, id_format="decimal")
    found = [StoredMessage(message(255), 1, None, None, None),
             StoredMessage(message(16, "gone"), 2, "DELIVRD", 0, 160.0)]
    rows = message_rows(found, {"shop": decimal, "gone": None})
    assert [(r.message_id, r.system_id, r.status, r.done_time, r.text) for r in rows] == [
        ("255", "shop", "ENROUTE", None, "hi"), ("10", "gone", "DELIVRD", 160.0, "hi")]


# --- health --------------------------------------------------------------------------------


def test_probe_writable_fails_while_another_connection_holds_the_write_lock(reactor, tmp_path):
    import sqlite3

    store = Store(str(tmp_path / "s.db"))
    worker = StoreWorker(store, reactor)
    worker.start()
    assert reactor.wait(worker.probe_writable()) is None
    store._db.execute("PRAGMA busy_timeout = 50")  # not the 10 s a server waits
    other = sqlite3.connect(str(tmp_path / "s.db"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError):
            reactor.wait(worker.probe_writable())
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.probe_writable()  # and again once the lock is gone
    reactor.wait(worker.stop())
    store.close()


def test_postgresql_probe_fails_when_the_connection_is_gone_and_the_next_call_reconnects(pg_url):
    import psycopg

    from smsc.store.postgres import PgStore

    store = PgStore(pg_url)
    try:
        store.probe_writable()
        pid = store._conn.info.backend_pid
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        with pytest.raises(psycopg.OperationalError):
            store.probe_writable()
        store.probe_writable()  # a new connection
        assert store._conn.info.backend_pid != pid
    finally:
        store.close()


def test_failed_commits_are_recorded_and_observed_and_a_probe_commit_clears_them(store, reactor, worker):
    import sqlite3

    failures: list[tuple[int, str]] = []
    worker.on_commit_failure.append(lambda writes, error: failures.append((writes, error)))
    assert worker.last_commit is None and worker.last_failure is None
    real = store.write_batch

    def full(batch: Batch) -> Any:
        raise sqlite3.OperationalError("database or disk is full")

    store.write_batch = full  # type: ignore[method-assign]
    worker.insert(message(1))
    reactor.wait(worker.committed())
    assert failures == [(2, "database or disk is full")]  # the insert and the read waiting for it
    assert worker.last_commit is not None and not worker.last_commit.ok
    assert worker.last_failure is worker.last_commit
    store.write_batch = real  # type: ignore[method-assign]
    reactor.advance(3)
    worker.refresh_soon()  # an empty commit (a read-back) proves nothing: not recorded
    reactor.wait(worker.committed())
    assert not worker.last_commit.ok
    reactor.wait(worker.probe_commit())
    assert worker.last_commit.ok and worker.last_commit.at == 3
    assert worker.last_failure.error == "database or disk is full" and len(failures) == 1
