"""The cluster's part of the store: who owns which work, when several smsc
nodes share one PostgreSQL (README "PostgreSQL", issue 13).

A store whose backend serves several nodes (``smsc.store.postgres``)
implements ``ClusterStore`` besides ``MessageStore``; the SQLite store does
not (one process is the only node: nothing to own, nothing to take over).
What the rows say:

- ``messages.node``: the node that owns an unfinished message (inserted it,
  or took it over). Only that node finishes it (a finish carries
  ``AND node = me``: a node taken over after a long pause writes nothing).
- ``messages.receipt_node``: the node delivering an owed receipt (NULL:
  nobody; whichever node holds a receiver of the account claims it).
- ``mo_queue.node``: the same for an MO message.

A node is dead when its heartbeat (``nodes``) is older than the lease, or
it stopped. Every live node looks for dead ones now and then; for each,
one of them (an advisory lock) takes its unfinished messages and frees
its claims, in one transaction. All lease arithmetic is the database's
clock.

``ClusterWorker`` is the reactor side: each call one job on the store
thread, in order with the others (``StoreWorker.call``); releases wait
for the commits queued before them (``StoreWorker.after_commit``), so a
receipt made owed and released in one reactor turn is released after the
row says owed.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

from ..records import Message
from .port import MessageStore, MoRow, NodeState, OwedReceipt, UpstreamLeg

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

    from .worker import StoreWorker


class Work(NamedTuple):
    """Unfinished messages a node now owns, with the upstream legs of those
    sent to an upstream SMSC (router mode), to resume as after a restart.
    ``node``: whose they were (this node's own name at start; "" for rows
    no node owned: copied in by ``smsc store copy`` or older versions)."""

    node: str
    messages: list[Message]
    legs: list[UpstreamLeg]


class Beat(NamedTuple):
    """A cluster node's heartbeat (``ClusterStore.beat``): every node of the
    store as the database sees them now, and whether this node's ``nodes``
    row was still there. A row that had to be made anew was deleted by a
    node that took this one over (``take_over`` deletes it in the
    transaction that takes the messages): what this process holds in
    memory is another node's now (``smsc.engine.fence``)."""

    nodes: list[NodeState]
    kept: bool


@runtime_checkable
class ClusterStore(Protocol):
    """What a store shared by several nodes adds (the synchronous side)."""

    def start_node(self, node: str, lease: float) -> Work:
        """This process is node ``node``: it is alive from now (heartbeat),
        the claims a previous run of it left are freed, and its own
        unfinished messages are returned (a restart under the same name).
        Serialised with a takeover of ``node``, so a message is resumed
        by one of them only."""
    def beat(self, node: str, lease: float) -> Beat:
        """``node`` is alive now; every node (alive within ``lease``) and
        whether ``node``'s row was kept. Serialised with a takeover of
        ``node`` (its row locked): either the takeover sees this beat and
        takes nothing, or this beat sees the row gone."""
    def take_over(self, node: str, lease: float) -> list[Work]:
        """For each dead node (silent for ``lease`` seconds, or stopped) no
        other node is taking over now: its unfinished messages become
        ``node``'s, its claimed receipts and MO are freed, its ``nodes``
        row goes; one transaction per dead node. Also the unfinished rows
        no node owns. Only what was taken is returned."""
    def claim_receipts(self, node: str, system_ids: Iterable[str], limit: int) -> list[OwedReceipt]:
        """At most ``limit`` owed receipts of these accounts that no node
        delivers, now ``node``'s to deliver (``SKIP LOCKED``: two nodes
        claiming at once never get the same row), oldest first."""
    def release_receipts(self, node: str, message_ids: Iterable[int]) -> int:
        """These receipts, if still owed and ``node``'s, are nobody's again."""
    def claim_mo(self, node: str, system_ids: Iterable[str], limit: int) -> list[MoRow]:
        """``claim_receipts`` for undelivered MO messages."""
    def release_mo(self, node: str, mo_ids: Iterable[int]) -> int: ...
    def free_claims(self, node: str, keep: Iterable[str]) -> None:
        """Every owed receipt and MO ``node`` claimed for an account not in
        ``keep`` is nobody's again (back from a fence: the releases of its
        unbound receivers may have failed with the database)."""
    def stop_node(self, node: str) -> None:
        """A graceful stop, after the last commit: every claim of ``node``
        freed and the node marked stopped, so another takes its unfinished
        messages at its next look, not after the lease."""


def cluster_store(store: MessageStore) -> ClusterStore | None:
    """``store`` as a ``ClusterStore`` when its backend serves several nodes."""
    return store if isinstance(store, ClusterStore) else None


class ClusterWorker:
    """``ClusterStore`` from the reactor: Deferreds, on the store thread."""

    def __init__(self, worker: StoreWorker, store: ClusterStore) -> None:
        self._worker = worker
        self._store = store

    def beat(self, node: str, lease: float) -> "Deferred[Beat]":
        """On the store thread, behind every job queued before it: a store
        thread stuck on a commit beats late, and the node fences."""
        return self._worker.call(self._store.beat, node, lease)

    def take_over(self, node: str, lease: float) -> "Deferred[list[Work]]":
        return self._worker.call(self._store.take_over, node, lease)

    def claim_receipts(self, node: str, system_ids: Iterable[str], limit: int) -> "Deferred[list[OwedReceipt]]":
        return self._worker.call(self._store.claim_receipts, node, list(system_ids), limit)

    def release_receipts(self, node: str, message_ids: Iterable[int]) -> "Deferred[int]":
        """After every write queued so far is committed (a receipt made owed
        in this turn is owed before it is released)."""
        return self._worker.after_commit(self._store.release_receipts, node, list(message_ids))

    def claim_mo(self, node: str, system_ids: Iterable[str], limit: int) -> "Deferred[list[MoRow]]":
        return self._worker.call(self._store.claim_mo, node, list(system_ids), limit)

    def release_mo(self, node: str, mo_ids: Iterable[int]) -> "Deferred[int]":
        return self._worker.after_commit(self._store.release_mo, node, list(mo_ids))

    def free_claims(self, node: str, keep: Iterable[str]) -> "Deferred[None]":
        return self._worker.after_commit(self._store.free_claims, node, list(keep))

    def stop_node(self, node: str) -> "Deferred[None]":
        return self._worker.after_commit(self._store.stop_node, node)
