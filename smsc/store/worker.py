"""The store's thread and its group commit.

SQLite work never runs on the reactor thread: it would stall every session
for the length of a commit. One dedicated thread owns the connection and
runs jobs one at a time, in order. Hot writes are gathered into a
``Batch`` while the previous batch commits; when the commit returns, every
waiter of that batch is called back (submit_sm_resp goes out only then) and
the next batch starts. Under load batches grow by themselves; idle, a lone
write commits at once.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorThreads, IReactorTime
from twisted.internet.threads import deferToThreadPool
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from ..records import Message
from .sqlite import Batch, Store

log = logging.getLogger(__name__)
T = TypeVar("T")

Waiter = Callable[[Failure | None], None]


class StoreWorker:
    def __init__(self, store: Store, reactor: Any) -> None:
        self.store = store
        self._reactor = reactor
        self._pool = ThreadPool(1, 1, name="smsc-store")
        self._batch = Batch()
        self._waiters: list[Waiter] = []
        self._committing = False
        self._idle: list[Deferred] = []
        #: observers of each commit: called with (rows, seconds)
        self.on_commit: list[Callable[[int, float], None]] = []

    def start(self) -> None:
        self._pool.start()

    def stop(self) -> Deferred:
        """Commit what is pending, then stop the thread."""
        d = self.flushed()

        def _stop(_: object) -> None:
            self._pool.stop()

        d.addBoth(_stop)
        return d

    def run(self, fn: Callable[..., T], *args: Any) -> "Deferred[T]":
        """Run ``fn(store, *args)`` on the store thread."""
        return deferToThreadPool(self._reactor, self._pool, fn, self.store, *args)

    # --- group commit -----------------------------------------------------

    def insert(self, message: Message, waiter: Waiter | None = None) -> None:
        self._batch.inserts.append(message)
        self._queued(waiter)

    def finish(self, values: tuple, message_id: int, waiter: Waiter | None = None) -> None:
        """Record a final state: ``values`` is (state, stat, error, done_time, receipt)."""
        ids = self._batch.finishes.get(values)
        if ids is None:
            self._batch.finishes[values] = [message_id]
        else:
            ids.append(message_id)
        self._queued(waiter)

    def ack(self, message_id: int) -> None:
        self._batch.acks.append(message_id)
        self._queued(None)

    def _queued(self, waiter: Waiter | None) -> None:
        self._batch.size += 1
        if waiter is not None:
            self._waiters.append(waiter)
        if not self._committing:
            self._committing = True
            # Let the rest of this reactor turn add to the batch first.
            self._reactor.callLater(0, self._commit)

    def _commit(self) -> None:
        batch, waiters = self._batch, self._waiters
        if not len(batch):
            self._committing = False
            self._notify_idle()
            return
        self._batch, self._waiters = Batch(), []
        started = time.perf_counter()

        def _write(store: Store) -> None:
            store.write_batch(batch)

        d = self.run(_write)

        def _done(result: object) -> None:
            elapsed = time.perf_counter() - started
            failure = result if isinstance(result, Failure) else None
            if failure is not None:
                log.error("store commit of %d writes failed: %s", len(batch), failure.getErrorMessage())
            for obs in self.on_commit:
                obs(len(batch), elapsed)
            for w in waiters:
                try:
                    w(failure)
                except Exception:
                    log.exception("store waiter failed")
            self._commit()

        d.addBoth(_done)

    def flushed(self) -> Deferred:
        """Fires once every write queued so far is committed."""
        d: Deferred = Deferred()
        if not self._committing and not len(self._batch):
            d.callback(None)
        else:
            self._idle.append(d)
        return d

    def _notify_idle(self) -> None:
        idle, self._idle = self._idle, []
        for d in idle:
            d.callback(None)
