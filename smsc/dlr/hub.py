"""Receipts owed to accounts, and the sessions that can take them.

Per account, one queue of receipts in the order they became final. Bound
receiver / transceiver sessions of the account attach as sinks; the hub
hands each as many receipts as its window has room for. A receipt leaves the
hub for good only when its deliver_sm_resp says ESME_ROK (then the store
marks it acknowledged). A session that goes away gives its unanswered
receipts back to the front of the queue; a receipt the client refused is
held and offered again on the account's next bind, so a client that
rejects one receipt does not spin on it. Whatever has to wait (returned,
refused, queued with no session left) is first made durable.

ENROUTE intermediate notifications (``Receipt.intermediate``) share the
queues, so one never overtakes the final receipt of its message; a refused
one is dropped rather than held.

A receipt goes back on the session its message came in on when that
session is a transceiver still bound: the submit_sm_resp was queued there
first, so on one TCP stream the receipt cannot overtake it. (Across two
connections, a transmitter and a receiver, no server can promise that.)

The hub is generic over what it carries (``DeliveryHub[Receipt]``,
``DeliveryHub[MoPart]``: the MO deliveries of ``smsc.dlr.mo`` use the same
machinery); it reads an item only through ``Deliverable``. The attribute
reads are the ones the receipt path always made (``item.message.system_id``
on enqueue): carrying a type costs the per-receipt path nothing.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Generic, Protocol, TypeVar


class Subject(Protocol):
    """What a delivery is about: the message a receipt reports on, the MO
    message a part belongs to."""

    @property
    def id(self) -> int:
        """Orders the deliveries a session hands back (oldest first)."""
        ...

    @property
    def system_id(self) -> str:
        """The account the delivery is owed to."""
        ...


class Deliverable(Protocol):
    """What the hub reads of each item it queues."""

    @property
    def message(self) -> Subject: ...

    @property
    def done_time(self) -> float:
        """When it became due (simulation time): the retention counts from it."""
        ...

    @property
    def intermediate(self) -> bool:
        """Best-effort (an ENROUTE notification): dropped, not held, when refused."""
        ...


T = TypeVar("T", bound=Deliverable)


class DeliverySink(Protocol[T]):
    def take(self, queue: deque[T]) -> None:
        """Pop and send as many items from the left of ``queue`` as the
        session's window allows."""


def _same(r: T) -> T:
    return r


def _unconnected(r: object) -> None:
    raise RuntimeError("DeliveryHub.connect was never called: nobody hears acknowledgements")


class DeliveryHub(Generic[T]):
    def __init__(
        self,
        on_acked: Callable[[T], None] | None,
        call_soon: Callable[[Callable[[], None]], object],
        make_durable: Callable[[T], T] = _same,
    ) -> None:
        self._on_acked = on_acked or _unconnected
        self._call_soon = call_soon
        self._durable = make_durable
        self._queues: dict[str, deque[T]] = {}
        self._held: dict[str, list[T]] = {}
        self._sinks: dict[str, list[DeliverySink[T]]] = {}
        #: receipts waiting for the session their message came in on
        self._own: dict[DeliverySink[T], deque[T]] = {}
        self._due: set[str] = set()

    def connect(self, on_acked: Callable[[T], None], make_durable: Callable[[T], T] = _same) -> None:
        """The listener of acknowledgements (and of items that must be made
        durable before they wait): the engine, built after the hub."""
        self._on_acked = on_acked
        self._durable = make_durable

    def _queue(self, system_id: str) -> deque[T]:
        q = self._queues.get(system_id)
        if q is None:
            q = self._queues[system_id] = deque()
        return q

    # --- sessions -----------------------------------------------------------

    def attach(self, system_id: str, sink: DeliverySink[T]) -> None:
        held = self._held.pop(system_id, None)
        if held:
            self._queue(system_id).extendleft(reversed(held))
        self._sinks.setdefault(system_id, []).append(sink)
        self._own[sink] = deque()
        self.pump(system_id)

    def detach(self, system_id: str, sink: DeliverySink[T], unanswered: Iterable[T]) -> None:
        sinks = self._sinks.get(system_id, [])
        if sink in sinks:
            sinks.remove(sink)
        unanswered = [*unanswered, *self._own.pop(sink, ())]
        back = sorted(map(self._durable, unanswered), key=lambda r: r.message.id)
        if back:
            self._queue(system_id).extendleft(reversed(back))
        if not sinks:
            self._sinks.pop(system_id, None)
            q = self._queues.get(system_id)
            if q:
                self._queues[system_id] = deque(map(self._durable, q))
        self.pump(system_id)

    def expire(self, before: float) -> int:
        """Drop waiting receipts of messages final before ``before`` (the
        retention; the store gives them up with ``expire_owed``)."""
        dropped = 0
        for lists in (self._queues, self._held):
            for system_id, waiting in list(lists.items()):
                keep = [r for r in waiting if r.done_time >= before]
                dropped += len(waiting) - len(keep)
                lists[system_id] = deque(keep) if lists is self._queues else keep  # type: ignore[assignment]
        return dropped

    def forget(self, system_id: str) -> list[T]:
        """Drop, and return, what waits for an account that has no session
        here (its last one detached, which made all of it durable): on a
        cluster node the store keeps it owed, and the node holding a
        receiver of the account claims it (``smsc.engine.cluster``)."""
        if system_id in self._sinks:
            return []
        return [*self._queues.pop(system_id, ()), *self._held.pop(system_id, ())]

    def has_sink(self, system_id: str) -> bool:
        return system_id in self._sinks

    # --- deliveries -----------------------------------------------------------

    def enqueue(self, item: T, prefer: DeliverySink[T] | None = None) -> None:
        """Queue an item (for session ``prefer`` while it is bound); bound
        sessions get it at the end of this turn, together with every other
        item that became due in it."""
        system_id = item.message.system_id
        own = self._own.get(prefer) if prefer is not None else None
        (own if own is not None else self._queue(system_id)).append(item)
        if system_id in self._sinks:
            first = not self._due
            self._due.add(system_id)
            if first:
                self._call_soon(self._pump_due)

    def _pump_due(self) -> None:
        due, self._due = self._due, set()
        for system_id in due:
            self.pump(system_id)

    def answered(self, item: T, ok: bool) -> None:
        """The client answered an item's deliver_sm."""
        if ok:
            self._on_acked(item)
        elif item.intermediate:
            pass  # a notification is best-effort: not offered again
        else:
            self._held.setdefault(item.message.system_id, []).append(self._durable(item))

    def pump(self, system_id: str) -> None:
        """Offer the account's queue to its sinks in turn, rotating the
        list so several binds share the load."""
        sinks = self._sinks.get(system_id)
        if not sinks:
            return
        own = self._own
        for sink in sinks:
            mine = own[sink]
            if mine:
                sink.take(mine)
        q = self._queues.get(system_id)
        if not q:
            return
        for sink in list(sinks):
            sink.take(q)
            if not q:
                break
        if len(sinks) > 1:
            sinks.append(sinks.pop(0))

    def backlog(self, system_id: str) -> int:
        own = sum(len(self._own[s]) for s in self._sinks.get(system_id, ()))
        return len(self._queues.get(system_id, ())) + len(self._held.get(system_id, ())) + own

