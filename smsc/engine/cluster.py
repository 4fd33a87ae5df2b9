"""A node of a cluster: several smsc nodes on one PostgreSQL (issue 13).

What each node owns, and what happens when one dies (the rows:
``smsc.store.cluster_port``):

- its own messages: each message is the node's that stored it; at start a
  node resumes only its own unfinished ones (the same name: a restart).
- a dead node's messages: every ``lease / 2`` each node looks for nodes
  silent for ``lease`` (or stopped); one of them takes each dead node's
  unfinished messages and resumes them as a restart would
  (``Lifecycle.resume``: held, scheduled and throttled messages end with
  exactly one receipt; an upstream part already sent waits for its
  receipt), and frees the receipts and MO it had claimed.
- receipts and MO go to the node that holds a receiver of the account:
  with none bound here, a final state is committed owed and nobody's, and
  a node with receivers for the account claims it (every ``CLAIM_EVERY``
  seconds and at each bind). A receiver bound here gets its receipts
  straight away, as on one node. When an account's last receiver here
  goes, whatever waited for it here is freed for the next claimer.

Each owed receipt is claimed by one node at a time (``SKIP LOCKED``), and
acknowledged once. A duplicate is possible only for a receipt sent and
not yet acknowledged (its deliver_sm_resp not committed) when its node
dies: each bind's unanswered window plus what was answered during its
last group commit (README "PostgreSQL").
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from ..dlr.hub import DeliveryHub
from ..dlr.mo import MoPart
from ..dlr.port import Delivery, DeliveryPort, Receiver
from ..operators.port import Operator
from ..records import Receipt
from ..store.cluster_port import Beat, ClusterStore, ClusterWorker, Work
from ..store.port import MoRow, OwedReceipt, StorePort
from .lifecycle import Lifecycle
from .mo import all_parts_acked, enqueue_row

log = logging.getLogger(__name__)

#: seconds between claims of owed receipts and MO (a node with receivers)
CLAIM_EVERY = 0.5
#: rows per claim; a full one is followed by another at once
CLAIM_LIMIT = 200
#: an account with this many deliveries waiting here claims no more for now
BACKLOG_CAP = 500


class ClusterNode(Collector):
    """One node's part of the cluster; also the collector of its counts (``collect``)."""

    def __init__(
        self, *, node: str, lease: float, cluster: ClusterWorker, store: StorePort, clock: IReactorTime,
        lifecycle: Lifecycle, receipts: DeliveryHub[Receipt], mo: DeliveryHub[MoPart],
        operators: dict[str, Operator],
    ) -> None:
        self.node = node
        self.lease = lease
        self._cluster = cluster
        self._store = store
        self._clock = clock
        self._lifecycle = lifecycle
        self._receipts = receipts
        self._mo = mo
        self._operators = operators
        lifecycle.cluster = True
        mo.connect(self._mo_acked)  # instead of MoPickup's: MO rows are claimed, not polled
        #: parts acknowledged per MO row delivered here
        self._mo_acks: dict[int, int] = {}
        #: accounts with a receiver bound here
        self._bound: set[str] = set()
        self._claiming = False
        self._again = False
        self._taking = False
        #: fenced (``smsc.engine.fence``): no claims, no takeovers
        self.fenced = False
        #: reactor time before which this node takes nobody over (back from a fence)
        self._take_after = float("-inf")
        #: reactor time just before ``start`` beat (the fence counts from it)
        self.started_at = clock.seconds()
        #: counts for /metrics (``collect``): messages taken over from dead
        #: nodes; (kind "receipt"/"mo", "claimed"/"released") -> rows
        self.taken = 0
        self.moved: dict[tuple[str, str], int] = {}

    # --- start, takeover -------------------------------------------------------

    def start(self, store: ClusterStore) -> int:
        """Before the listeners open (the synchronous store): this node's own
        unfinished messages resumed; how many."""
        self.started_at = self._clock.seconds()
        return self._resume(store.start_node(self.node, self.lease))

    def take_over(self) -> None:
        """Look for dead nodes and resume what was taken of theirs (not
        while fenced, nor for a lease after: see ``unfence``)."""
        if self._taking or self.fenced or self._clock.seconds() < self._take_after:
            return
        self._taking = True

        def taken(works: list[Work]) -> None:
            for work in works:
                n = self._resume(work)
                self.taken += n
                (log.warning if n else log.info)("node %s: took over %d unfinished messages of %s", self.node, n,
                                                 f"node {work.node}" if work.node else "no node")

        def done(result: Any) -> None:
            self._taking = False
            if result is not None:
                log.error("takeover by node %s failed: %s", self.node, result.getErrorMessage())

        self._cluster.take_over(self.node, self.lease).addCallback(taken).addBoth(done)

    def _resume(self, work: Work) -> int:
        if work.legs:
            by_message = {m.id: m.operator for m in work.messages}
            for key, operator in self._operators.items():
                adopt = getattr(operator, "adopt", None)  # upstream SMSCs keep their sent parts
                legs = [leg for leg in work.legs if by_message.get(leg.message_id) == key]
                if adopt is not None and legs:
                    adopt(legs)
        for m in work.messages:
            self._lifecycle.resume(m)
        return len(work.messages)

    # --- receipts and MO to the node with a receiver ----------------------------------

    def claim(self) -> None:
        """Claim owed receipts and MO of the accounts bound here (those not
        already backed up here)."""
        if self.fenced:
            return
        if self._claiming:
            self._again = True
            return
        wanted = [sid for sid in self._bound if self._receipts.backlog(sid) < BACKLOG_CAP]
        if not wanted:
            return
        self._claiming = True
        self._again = False
        got: Deferred[Any] = self._cluster.claim_receipts(self.node, wanted, CLAIM_LIMIT).addCallback(self._claimed)
        mo = [sid for sid in wanted if self._mo.backlog(sid) < BACKLOG_CAP]
        if mo:
            def and_mo(full: bool) -> Deferred[bool]:
                return self._cluster.claim_mo(self.node, mo, CLAIM_LIMIT).addCallback(self._claimed_mo, full)

            got.addCallback(and_mo)

        def done(result: Any) -> None:
            self._claiming = False
            if isinstance(result, bool):
                if result or self._again:
                    self._clock.callLater(0, self.claim)
            else:
                log.error("claiming owed receipts failed: %s", result.getErrorMessage())

        got.addBoth(done)

    def _claimed(self, rows: list[OwedReceipt]) -> bool:
        """Queue claimed receipts; free those of accounts no longer bound
        here. True when the claim was full (more may wait)."""
        free = []
        hub = self._receipts
        self._count("receipt", "claimed", len(rows))
        for m, stat, state, error, done_time in rows:
            if hub.has_sink(m.system_id):
                hub.enqueue(Receipt(m, stat, state, error, done_time))
            else:
                free.append(m.id)
        if free:
            self._release_receipts(free)
        return len(rows) >= CLAIM_LIMIT

    def _count(self, kind: str, what: str, n: int) -> None:
        if n:
            self.moved[(kind, what)] = self.moved.get((kind, what), 0) + n

    def _release_receipts(self, ids: list[int]) -> None:
        self._count("receipt", "released", len(ids))
        self._cluster.release_receipts(self.node, ids)

    def _release_mo(self, ids: list[int]) -> None:
        self._count("mo", "released", len(ids))
        self._cluster.release_mo(self.node, ids)

    def _claimed_mo(self, rows: list[MoRow], full: bool) -> bool:
        free = []
        self._count("mo", "claimed", len(rows))
        for row in rows:
            if not self._mo.has_sink(row.system_id):
                free.append(row.id)
                continue
            enqueue_row(self._mo, row)
        if free:
            self._release_mo(free)
        return full or len(rows) >= CLAIM_LIMIT

    def _mo_acked(self, part: MoPart) -> None:
        if all_parts_acked(self._mo_acks, part):
            self._store.mo_delivered(part.id)

    def attached(self, system_id: str) -> None:
        """A receiver of ``system_id`` bound here: claim what it is owed now."""
        self._bound.add(system_id)
        self.claim()

    def vacated(self, system_id: str) -> None:
        """The last receiver of ``system_id`` here went: what waited for it
        here (made durable by the hub) is freed for another node."""
        if self._receipts.has_sink(system_id):
            return
        self._bound.discard(system_id)
        receipts = [r.message.id for r in self._receipts.forget(system_id) if not r.intermediate]
        if receipts:
            self._release_receipts(receipts)
        parts = self._mo.forget(system_id)
        if parts:
            ids = sorted({p.id for p in parts})
            for mo_id in ids:
                self._mo_acks.pop(mo_id, None)
            self._release_mo(ids)

    def beat(self) -> "Deferred[Beat]":
        """This node's heartbeat (``smsc.engine.fence`` drives it)."""
        return self._cluster.beat(self.node, self.lease)

    def fence(self) -> None:
        """This node cannot renew its heartbeat (``smsc.engine.fence``): it
        claims nothing and takes nobody over (its sessions are unbound by
        the server: what waited for them is freed as they go)."""
        self.fenced = True

    def unfence(self) -> None:
        """The heartbeat is back and nobody took this node over. It takes
        nobody over for a lease: when the database was down for every node,
        the others' heartbeats are as old as this one's was, and each gets
        a lease to beat again before it may be deemed dead. What it had
        claimed for accounts no longer bound here is freed: the releases
        made as its receivers were unbound may have failed with the
        database, and nobody else would claim those rows."""
        self.fenced = False
        self._take_after = self._clock.seconds() + self.lease

        def failed(failure: Any) -> None:
            log.error("node %s: freeing its claims after a fence failed: %s", self.node, failure.getErrorMessage())

        self._cluster.free_claims(self.node, sorted(self._bound)).addErrback(failed)

    def stop(self) -> "Deferred[None]":
        """After the last commit: every claim freed and this node marked
        stopped, so another takes its unfinished messages at once."""
        return self._cluster.stop_node(self.node)

    def collect(self) -> Iterable[CounterMetricFamily]:
        """``smsc_cluster_taken_over_total``, ``smsc_cluster_claims_total{kind, what}``."""
        yield CounterMetricFamily("smsc_cluster_taken_over", "Unfinished messages this node took over from "
                                  "dead nodes (and rows no node owned).", value=self.taken)
        c = CounterMetricFamily("smsc_cluster_claims", "Owed receipts and MO messages this node claimed to "
                                "deliver, and released for another node.", labels=["kind", "what"])
        for (kind, what), n in sorted(self.moved.items()):
            c.add_metric([kind, what], n)
        yield c

    def deliveries(self, inner: DeliveryPort) -> DeliveryPort:
        """The sessions' Deliveries port, telling this node of binds."""
        return _Deliveries(inner, self)


class _Deliveries:
    """``inner`` with attach and detach reported to the node; the
    per-delivery calls are ``inner``'s own bound methods (no extra call)."""

    def __init__(self, inner: DeliveryPort, node: ClusterNode) -> None:
        self._inner = inner
        self._node = node
        self.answered = inner.answered
        self.pump = inner.pump

    def attach(self, system_id: str, receiver: Receiver) -> None:
        self._inner.attach(system_id, receiver)
        self._node.attached(system_id)

    def detach(self, system_id: str, receiver: Receiver, unanswered: Iterable[Delivery]) -> None:
        self._inner.detach(system_id, receiver, unanswered)
        self._node.vacated(system_id)
