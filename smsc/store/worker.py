"""The store's thread and its group commit: ``smsc.store.port.StorePort``
over any ``MessageStore``.

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
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThreadPool
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from ..fault_model import Fault
from ..records import Account, Message
from .port import (
    AccountUsage, AlphaApplication, BaseNumber, BaseRecipient, Batch, BatchResult, BindSlot, Campaign, CampaignTally,
    Claimed, ClientReport, CommitStatus, InsufficientFunds, MessageStore, MoRow, NewBase, NewCampaign, NodeState,
    NumberBase, Outcome, PendingCallback, RecipientFilter, RecipientState, StoredMessage, StorePort, Unsettled,
    UpstreamLeg, Waiter,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

#: seconds between WAL checkpoints (on their own thread)
CHECKPOINT_INTERVAL = 0.5


def _nothing(store: MessageStore) -> None:
    return None


def _bound(store: MessageStore, method: Callable[..., T], *args: Any) -> T:
    return method(*args)


def _get_message(store: MessageStore, message_id: int) -> StoredMessage | None:
    return store.get_message(message_id)


class StoreWorker:
    def __init__(
        self, store: MessageStore, reactor: Any, refresh: float = 1.0, *, threaded: bool = True
    ) -> None:
        """``threaded`` False runs every store call inline, on the caller's
        thread: for tests that drive the engine on a ``task.Clock``, where
        the group commit still batches (a commit is a ``callLater(0)``) but
        nothing waits for a thread."""
        self._store = store
        self._reactor = reactor
        self._threaded = threaded
        self._pool = ThreadPool(1, 1, name="smsc-store")
        self._batch = Batch()
        #: (waiter, arg, system_id of the insert or None)
        self._waiters: list[tuple[Waiter, Any, str | None]] = []
        self._committing = False
        self._idle: list[Deferred[None]] = []
        #: observers of each commit: called with (writes, seconds, accounts read back)
        self.on_commit: list[Callable[[int, float, dict[str, Account]], None]] = []
        #: observers of each failed commit: called with (writes lost, error)
        self.on_commit_failure: list[Callable[[int, str], None]] = []
        #: the last commit that wrote something, or failed (health): an
        #: empty commit (the accounts' read-back) needs no disk space, so it
        #: proves nothing and is not recorded
        self.last_commit: CommitStatus | None = None
        #: the last commit that failed (on a full disk small commits may
        #: still pass between failing ones, so health looks at both)
        self.last_failure: CommitStatus | None = None
        #: accounts the server serves: read back after a commit at least
        #: every ``refresh`` seconds, so CLI changes (top-ups, alpha-names,
        #: limits) reach the running server
        self.tracked: set[str] = set()
        self._refresh = refresh
        self._last_refresh = 0.0
        self._ticker = LoopingCall(self._tick)
        self._ticker.clock = reactor
        self._checkpoints = ThreadPool(1, 1, name="smsc-checkpoint")
        self._checkpointing = False
        self._checkpoint_ticker = LoopingCall(self._checkpoint)
        self._checkpoint_ticker.clock = reactor
        #: this process's node name ([cluster] node) once known: the owner
        #: written with what it must do itself (dlr_url callbacks)
        self.node = ""

    def start(self) -> None:
        self._store.take_over_checkpoints()
        if self._threaded:
            self._pool.start()
            self._checkpoints.start()
        self._ticker.start(self._refresh, now=False)
        self._checkpoint_ticker.start(CHECKPOINT_INTERVAL, now=False)

    def _checkpoint(self) -> None:
        """WAL checkpoints off the commit path, on a thread of their own."""
        if self._checkpointing:
            return
        self._checkpointing = True
        if self._threaded:
            d = deferToThreadPool(self._reactor, self._checkpoints, self._store.checkpoint)
        else:
            d = maybeDeferred(self._store.checkpoint)

        def done(result: object) -> None:
            self._checkpointing = False
            if isinstance(result, Failure):
                log.warning("WAL checkpoint failed: %s", result.getErrorMessage())

        d.addBoth(done)

    def refresh_soon(self) -> None:
        """Read the tracked accounts back with the next commit, and make one."""
        self._last_refresh = float("-inf")
        self._tick()

    def _tick(self) -> None:
        if self.tracked and not self._committing:
            self._committing = True
            self._reactor.callLater(0, self._commit)

    def stop(self) -> "Deferred[None]":
        """Commit what is pending, then stop the thread."""
        self._stop_tickers()
        d = self.flushed()
        d.addBoth(lambda _: self._stop_threads())
        return d

    def abandon(self) -> None:
        """Stop the threads at once, without a last commit: for a start that
        failed before anything was served (``smsc.app.serve``), so that no
        thread keeps the process alive."""
        self._stop_tickers()
        self._stop_threads()

    def _stop_tickers(self) -> None:
        for ticker in (self._ticker, self._checkpoint_ticker):
            if ticker.running:
                ticker.stop()

    def _stop_threads(self) -> None:
        if self._threaded:
            self._pool.stop()
            self._checkpoints.stop()

    def call(self, method: Callable[..., T], *args: Any) -> "Deferred[T]":
        """``method(*args)``, a method of the store behind this worker (one
        not named in the port: ``smsc.store.cluster_port``), on the store
        thread after the jobs queued before."""
        return self._call(method, *args)

    def after_commit(self, method: Callable[..., T], *args: Any) -> "Deferred[T]":
        """``call``, once every write queued so far is committed."""
        return self._read_committed(_bound, method, *args)

    def _call(self, method: Callable[..., T], *args: Any) -> "Deferred[T]":
        """``method(*args)``, a bound method of the store, on the store thread."""
        if not self._threaded:
            return maybeDeferred(method, *args)
        return deferToThreadPool(self._reactor, self._pool, method, *args)

    # --- named reads and writes (the engine's side of the port) ------------

    def bind_account(self, system_id: str, day: int) -> "Deferred[tuple[Account | None, int]]":
        """The account with its blacklist, and the messages it was charged
        for on UTC ``day`` (``Store.bind_account``): what a bind reads."""
        return self._call(self._store.bind_account, system_id, day)

    def committed_message(self, message_id: int) -> "Deferred[StoredMessage | None]":
        """The stored message once every write queued before this call is
        committed (see ``_read_committed``): query_sm, cancel_sm, replace_sm
        and dlr_url callbacks see what the client has been told."""
        return self._read_committed(_get_message, message_id)

    def pending_mo(self, after: int) -> "Deferred[list[MoRow]]":
        """Undelivered MO messages with an id above ``after``, oldest first."""
        return self._call(self._store.pending_mo, after)

    def mo_delivered(self, mo_id: int) -> "Deferred[None]":
        """Every part of MO ``mo_id`` was acknowledged: it is not offered again."""
        return self._call(self._store.mo_delivered, mo_id)

    def expire_owed(self, before: float) -> "Deferred[int]":
        """Give up receipts owed for messages final before ``before``; how many."""
        return self._call(self._store.expire_owed, before)

    def record_legs(self, legs: Iterable[UpstreamLeg]) -> "Deferred[None]":
        """Upstream legs (router mode): their upstream ids and final states,
        in one transaction on the store thread, after every job queued
        before (not in the group commit: an upstream's answers come at the
        link's pace, and its connector gathers them per reactor turn)."""
        return self._call(self._store.record_legs, list(legs))

    def committed(self) -> "Deferred[None]":
        """Fires after a commit that read the tracked accounts back, once
        every write queued before this call is in (``Engine.account(fresh=True)``
        asks for the read-back with ``refresh_soon`` first)."""
        return self._read_committed(_nothing)

    def message(self, message_id: int) -> "Deferred[StoredMessage | None]":
        """The stored message as committed so far (writes still being
        gathered are not in): for a message whose submit is committed."""
        return self._call(self._store.get_message, message_id)

    # --- health, HTTP authentication, dlr_url callbacks ----------------------

    def probe_writable(self) -> "Deferred[None]":
        """Fails unless the store can open a write transaction (behind any
        commit in progress)."""
        return self._call(self._store.probe_writable)

    def heartbeat(self, node: str, lease: float, stopped: bool = False) -> "Deferred[list[NodeState]]":
        """This node is alive (or stops); every node of the store."""
        return self._call(self._store.heartbeat, node, lease, stopped)

    def probe_commit(self) -> "Deferred[None]":
        """One small real commit (behind any in progress), recorded in
        ``last_commit`` as any commit is: after a failed commit, health
        asks whether the store writes again without waiting for traffic."""
        d = self._call(self._store.probe_commit)

        def done(result: object) -> object:
            self._record(1, result if isinstance(result, Failure) else None)
            return result

        return d.addBoth(done)

    def _record(self, writes: int, failure: Failure | None) -> None:
        if failure is None:
            self.last_commit = CommitStatus(True, self._reactor.seconds())
            return
        error = failure.getErrorMessage()
        self.last_commit = self.last_failure = CommitStatus(False, self._reactor.seconds(), error)
        for obs in self.on_commit_failure:
            obs(writes, error)

    def account(self, system_id: str) -> "Deferred[Account | None]":
        """The account as stored, without its blacklist."""
        return self._call(self._store.get_account, system_id)

    def api_key_owner(self, key_sha256: str) -> "Deferred[str | None]":
        return self._call(self._store.api_key_owner, key_sha256)

    def add_callback(self, message_id: int, public_id: str, url: str) -> "Deferred[None]":
        """Stored as this node's to post (``node``)."""
        return self._call(self._store.add_callback, message_id, public_id, url, self.node)

    def end_callback(self, message_id: int, state: int) -> "Deferred[None]":
        return self._call(self._store.end_callback, message_id, state)

    # --- the nodes of one store (smsc.store.postgres_limits) ----------------------

    def take_bind(self, node: str, system_id: str, max_binds: int, lease: float) -> "Deferred[BindSlot]":
        return self._call(self._store.take_bind, node, system_id, max_binds, lease)

    def drop_bind(self, node: str, system_id: str) -> "Deferred[None]":
        return self._call(self._store.drop_bind, node, system_id)

    def sync_binds(
        self, node: str, held: Mapping[str, int], keep: Iterable[str], shares: Iterable[str], lease: float,
    ) -> "Deferred[dict[str, int]]":
        return self._call(self._store.sync_binds, node, dict(held), list(keep), list(shares), lease)

    def lease_campaigns(self, node: str, lease: float) -> "Deferred[list[Campaign]]":
        return self._call(self._store.lease_campaigns, node, lease)

    def adopt_callbacks(self, node: str, lease: float) -> "Deferred[list[PendingCallback]]":
        return self._call(self._store.adopt_callbacks, node, lease)

    def due_callbacks(self, node: str) -> "Deferred[list[int]]":
        return self._call(self._store.due_callbacks, node)

    # --- the admin API ---------------------------------------------------------

    def list_accounts(self) -> "Deferred[list[Account]]":
        return self._call(self._store.list_accounts)

    def add_account(self, account: Account) -> "Deferred[None]":
        return self._call(self._store.add_account, account)

    def add_balance(self, system_id: str, kopecks: int) -> "Deferred[None]":
        return self._call(self._store.add_balance, system_id, kopecks)

    def set_mode(self, system_id: str, mode: str) -> "Deferred[None]":
        return self._call(self._store.set_mode, system_id, mode)

    def set_api_key(self, system_id: str, key_sha256: str) -> "Deferred[None]":
        return self._call(self._store.set_api_key, system_id, key_sha256)

    def add_alpha(self, system_id: str, name: str) -> "Deferred[None]":
        return self._call(self._store.add_alpha, system_id, name)

    def remove_alpha(self, system_id: str, name: str) -> "Deferred[bool]":
        return self._call(self._store.remove_alpha, system_id, name)

    def blacklist(self, system_id: str) -> "Deferred[list[str]]":
        return self._call(self._store.blacklist, system_id)

    def add_blacklist(self, system_id: str, numbers: Iterable[str]) -> "Deferred[int]":
        return self._call(self._store.add_blacklist, system_id, list(numbers))

    def remove_blacklist(self, system_id: str, numbers: Iterable[str]) -> "Deferred[int]":
        return self._call(self._store.remove_blacklist, system_id, list(numbers))

    def allowlist(self, system_id: str) -> "Deferred[list[str]]":
        return self._call(self._store.allowlist, system_id)

    def add_allowlist(self, system_id: str, networks: Iterable[str]) -> "Deferred[int]":
        return self._call(self._store.add_allowlist, system_id, list(networks))

    def remove_allowlist(self, system_id: str, networks: Iterable[str]) -> "Deferred[int]":
        return self._call(self._store.remove_allowlist, system_id, list(networks))

    def add_mo(self, system_id: str, source_addr: str, destination_addr: str, text: str) -> "Deferred[int]":
        return self._call(self._store.add_mo, system_id, source_addr, destination_addr, text)

    # --- faults on demand, conformance reports --------------------------------------

    def add_fault(self, fault: Fault) -> "Deferred[int]":
        return self._call(self._store.add_fault, fault)

    def active_faults(self, now: float) -> "Deferred[list[Fault]]":
        return self._call(self._store.active_faults, now)

    def remove_fault(self, fault_id: int, now: float) -> "Deferred[bool]":
        return self._call(self._store.remove_fault, fault_id, now)

    def save_client_reports(self, reports: Iterable[ClientReport], keep: int) -> "Deferred[None]":
        return self._call(self._store.save_client_reports, list(reports), keep)

    def client_reports(self, system_id: str, since: float = 0.0) -> "Deferred[list[ClientReport]]":
        return self._call(self._store.client_reports, system_id, since)

    # --- the reports page ---------------------------------------------------------

    def accounts_usage(self, day: int) -> "Deferred[list[AccountUsage]]":
        return self._call(self._store.accounts_usage, day)

    def messages_to(self, msisdn: str, limit: int) -> "Deferred[list[StoredMessage]]":
        return self._call(self._store.messages_to, msisdn, limit)

    def list_campaigns(self) -> "Deferred[list[Campaign]]":
        return self._call(self._store.list_campaigns)

    def campaign_tallies(self) -> "Deferred[list[CampaignTally]]":
        return self._call(self._store.campaign_tallies)

    def get_campaign(self, campaign_id: int) -> "Deferred[Campaign | None]":
        return self._call(self._store.get_campaign, campaign_id)

    def campaign_lines(self, campaign_id: int) -> "Deferred[list[RecipientState]]":
        return self._call(self._store.campaign_lines, campaign_id)

    # --- the customer cabinet and the account API -------------------------------------

    def account_campaigns(self, system_id: str) -> "Deferred[list[Campaign]]":
        return self._call(self._store.account_campaigns, system_id)

    def campaign_tally(self, campaign_id: int) -> "Deferred[list[CampaignTally]]":
        return self._call(self._store.campaign_tally, campaign_id)

    def campaign_lines_page(
        self, campaign_id: int, where: RecipientFilter | None, limit: int, offset: int
    ) -> "Deferred[list[RecipientState]]":
        return self._call(self._store.campaign_lines_page, campaign_id, where, limit, offset)

    def campaign_timeline(self, campaign_id: int, bucket: float) -> "Deferred[list[tuple[int, str, int]]]":
        return self._call(self._store.campaign_timeline, campaign_id, bucket)

    def account_messages_to(self, system_id: str, msisdn: str, limit: int) -> "Deferred[list[StoredMessage]]":
        return self._call(self._store.account_messages_to, system_id, msisdn, limit)

    def create_campaign(self, new: NewCampaign, now: float) -> "Deferred[int]":
        return self._call(self._store.create_campaign, new, now)

    def set_campaign_state(
        self, campaign_id: int, allowed: Iterable[str], state: str, detail: str, now: float
    ) -> "Deferred[bool]":
        return self._call(self._store.set_campaign_state, campaign_id, list(allowed), state, detail, now)

    def create_base(self, new: NewBase, now: float) -> "Deferred[int]":
        return self._call(self._store.create_base, new, now)

    def get_base(self, base_id: int) -> "Deferred[NumberBase | None]":
        return self._call(self._store.get_base, base_id)

    def list_bases(self, system_id: str | None) -> "Deferred[list[NumberBase]]":
        return self._call(self._store.list_bases, system_id)

    def rename_base(self, base_id: int, name: str) -> "Deferred[bool]":
        return self._call(self._store.rename_base, base_id, name)

    def delete_base(self, base_id: int) -> "Deferred[bool]":
        return self._call(self._store.delete_base, base_id)

    def base_numbers(self, base_id: int) -> "Deferred[list[BaseNumber]]":
        return self._call(self._store.base_numbers, base_id)

    def add_base_numbers(self, base_id: int, numbers: Iterable[BaseNumber]) -> "Deferred[int]":
        return self._call(self._store.add_base_numbers, base_id, list(numbers))

    def remove_base_numbers(self, base_id: int, msisdns: Iterable[str]) -> "Deferred[int]":
        return self._call(self._store.remove_base_numbers, base_id, list(msisdns))

    def campaign_base(self, campaign_id: int) -> "Deferred[list[BaseRecipient]]":
        return self._call(self._store.campaign_base, campaign_id)

    def apply_alpha(self, system_id: str, name: str, now: float) -> "Deferred[bool]":
        return self._call(self._store.apply_alpha, system_id, name, now)

    def alpha_applications(self, system_id: str | None) -> "Deferred[list[AlphaApplication]]":
        return self._call(self._store.alpha_applications, system_id)

    def decide_alpha(self, system_id: str, name: str, approve: bool, reason: str, now: float) -> "Deferred[bool]":
        return self._call(self._store.decide_alpha, system_id, name, approve, reason, now)

    # --- the campaign runner --------------------------------------------------------

    def running_campaigns(self) -> "Deferred[list[Campaign]]":
        return self._call(self._store.running_campaigns)

    def claim_recipients(self, wants: Mapping[int, int], now: float) -> "Deferred[list[Claimed]]":
        return self._call(self._store.claim_recipients, dict(wants), now)

    def record_outcomes(self, outcomes: Iterable[Outcome], pauses: Mapping[int, str] = {}) -> "Deferred[None]":
        return self._call(self._store.record_outcomes, list(outcomes), dict(pauses))

    def unsettled_sends(self) -> "Deferred[Unsettled]":
        return self._call(self._store.unsettled_sends)

    # --- group commit -----------------------------------------------------

    def insert(self, message: Message, waiter: Waiter | None = None, arg: Any = None) -> None:
        """Store a submit (its charge came just before, ``charge``); the
        waiter fails with ``InsufficientFunds`` when the store refuses the
        account's charge at commit."""
        self._batch.inserts.append(message)
        self._batch.size += 1
        if waiter is not None:
            self._waiters.append((waiter, arg, message.system_id))
        if not self._committing:
            self._committing = True
            self._reactor.callLater(0, self._commit)

    def finish(
        self, values: tuple[int, str, int, float, int], message_id: int, waiter: Waiter | None = None, arg: Any = None
    ) -> None:
        """Record a final state: ``values`` is (state, stat, error, done_time, receipt)."""
        ids = self._batch.finishes.get(values)
        if ids is None:
            self._batch.finishes[values] = [message_id]
        else:
            ids.append(message_id)
        self._queued(waiter, arg)

    def ack(self, message_id: int) -> None:
        self._batch.acks.append(message_id)
        self._queued(None, None)

    def hold(self, message_id: int) -> None:
        """This node keeps the receipt ``finish`` makes owed (comes with it)."""
        self._batch.held.append(message_id)

    def charge(self, system_id: str, kopecks: int, day: int, segments: int, messages: int = 1) -> None:
        """Take money (negative: give it back, with ``messages`` -1) in the
        next commit, with the day's usage counters; goes with the insert it
        pays for."""
        b = self._batch
        b.charges[system_id] = b.charges.get(system_id, 0) + kopecks
        u = b.usage.get((system_id, day))
        if u is None:
            b.usage[(system_id, day)] = [messages, segments, kopecks]
        else:
            u[0] += messages
            u[1] += segments
            u[2] += kopecks
        if messages == 1:  # a submit's charge (refunds pass -1, replaces 0)
            d = b.debits.get((system_id, day))
            if d is None:
                b.debits[(system_id, day)] = [1, segments, kopecks]
            else:
                d[0] += 1
                d[1] += segments
                d[2] += kopecks

    def refund(self, message: Message, day: int) -> None:
        """Give back a cancelled message's charge (usage of ``day`` too) and
        set its cost to 0, in the next commit."""
        self.charge(message.system_id, -message.cost, day, -message.segments, -1)
        self._batch.refunds.append(message.id)
        self._queued(None, None)

    def replace(
        self, old: Message, new: Message, day: int, waiter: Waiter | None = None, arg: Any = None
    ) -> None:
        """replace_sm: ``new``'s text, segments, cost, times and
        registered_delivery on ``old``'s row, and the price difference
        charged (or given back) on ``day``, in the next commit."""
        self.charge(new.system_id, new.cost - old.cost, day, new.segments - old.segments, 0)
        self._batch.replaces.append((
            new.short_message, new.data_coding, new.segments, new.cost, new.expires_at,
            new.not_before, new.registered_delivery, new.id,
        ))
        self._queued(waiter, arg)

    def message_ids(self, now: float) -> "Deferred[range]":
        """A block of message ids for this process (``MessageStore.message_ids``)."""
        return self._call(self._store.message_ids, now)

    def pending_charge(self, system_id: str) -> int:
        """Kopecks charged to ``system_id`` and not yet committed."""
        return self._batch.charges.get(system_id, 0)

    def _queued(self, waiter: Waiter | None, arg: Any) -> None:
        self._batch.size += 1
        if waiter is not None:
            self._waiters.append((waiter, arg, None))
        if not self._committing:
            self._committing = True
            # Let the rest of this reactor turn add to the batch first.
            self._reactor.callLater(0, self._commit)

    def _commit(self) -> None:
        batch, waiters = self._batch, self._waiters
        now = self._reactor.seconds()
        refresh = self.tracked and now - self._last_refresh >= self._refresh
        if not len(batch) and not refresh:
            self._committing = False
            self._notify_idle()
            return
        read = set(batch.charges)
        if refresh:
            self._last_refresh = now
            read |= self.tracked
        batch.read_accounts = frozenset(read)
        self._batch, self._waiters = Batch(), []
        started = time.perf_counter()

        d = self._call(self._store.write_batch, batch)

        def _done(result: object) -> None:
            elapsed = time.perf_counter() - started
            failure = result if isinstance(result, Failure) else None
            if failure is not None:
                log.error("store commit of %d writes failed: %s", len(batch), failure.getErrorMessage())
            if failure is not None or batch.writes():
                self._record(len(batch), failure)
            written = BatchResult({}) if failure is not None else result
            assert isinstance(written, BatchResult)
            for obs in self.on_commit:
                obs(len(batch), elapsed, written.accounts)
            refused = written.refused
            if refused:
                log.warning("store refused the submits of %s: balance short at commit", ", ".join(sorted(refused)))
            for w, arg, sid in waiters:
                try:
                    if refused and sid in refused:
                        w(arg, Failure(InsufficientFunds(sid)))  # type: ignore[no-untyped-call]
                    else:
                        w(arg, failure)
                except Exception:
                    log.exception("store waiter failed")
            self._commit()

        d.addBoth(_done)

    def _read_committed(self, fn: Callable[..., T], *args: Any) -> "Deferred[T]":
        """``fn(store, *args)`` on the store thread once every write queued so
        far is committed: a read that sees what the reactor thread has
        already decided (e.g. an acknowledged receipt's final state). Costs
        one commit (empty if nothing is pending), so it is for rare reads:
        query_sm, cancel_sm."""
        d: Deferred[T] = Deferred()

        def go(_: Any, failure: Failure | None) -> None:
            # called before the next batch is written: this read runs first
            self._call(fn, self._store, *args).chainDeferred(d)

        self._queued(go, None)
        return d

    def flushed(self) -> "Deferred[None]":
        """Fires once every write queued so far is committed."""
        d: Deferred[None] = Deferred()
        if not self._committing and not len(self._batch):
            d.callback(None)
        else:
            self._idle.append(d)
        return d

    def _notify_idle(self) -> None:
        idle, self._idle = self._idle, []
        for d in idle:
            d.callback(None)


if TYPE_CHECKING:  # the type checker holds StoreWorker to the port
    def _implements(worker: StoreWorker) -> StorePort:
        return worker
