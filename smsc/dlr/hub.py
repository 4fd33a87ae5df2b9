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
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Protocol

from ..records import Receipt


class ReceiptSink(Protocol):
    def take(self, queue: deque[Receipt]) -> None:
        """Pop and send as many receipts from the left of ``queue`` as the
        session's window allows."""


class ReceiptHub:
    def __init__(
        self,
        on_acked: Callable[[Receipt], None],
        call_soon: Callable[[Callable[[], None]], object],
        make_durable: Callable[[Receipt], Receipt] = lambda r: r,
    ) -> None:
        self._on_acked = on_acked
        self._call_soon = call_soon
        self._durable = make_durable
        self._queues: dict[str, deque[Receipt]] = {}
        self._held: dict[str, list[Receipt]] = {}
        self._sinks: dict[str, list[ReceiptSink]] = {}
        #: receipts waiting for the session their message came in on
        self._own: dict[ReceiptSink, deque[Receipt]] = {}
        self._due: set[str] = set()

    def _queue(self, system_id: str) -> deque[Receipt]:
        q = self._queues.get(system_id)
        if q is None:
            q = self._queues[system_id] = deque()
        return q

    # --- sessions -----------------------------------------------------------

    def attach(self, system_id: str, sink: ReceiptSink) -> None:
        held = self._held.pop(system_id, None)
        if held:
            self._queue(system_id).extendleft(reversed(held))
        self._sinks.setdefault(system_id, []).append(sink)
        self._own[sink] = deque()
        self.pump(system_id)

    def detach(self, system_id: str, sink: ReceiptSink, unanswered: Iterable[Receipt]) -> None:
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

    def has_sink(self, system_id: str) -> bool:
        return system_id in self._sinks

    # --- receipts -------------------------------------------------------------

    def enqueue(self, receipt: Receipt, prefer: ReceiptSink | None = None) -> None:
        """Queue a receipt (for session ``prefer`` while it is bound); bound
        sessions get it at the end of this turn, together with every other
        receipt that became due in it."""
        system_id = receipt.message.system_id
        own = self._own.get(prefer) if prefer is not None else None
        (own if own is not None else self._queue(system_id)).append(receipt)
        if system_id in self._sinks:
            first = not self._due
            self._due.add(system_id)
            if first:
                self._call_soon(self._pump_due)

    def _pump_due(self) -> None:
        due, self._due = self._due, set()
        for system_id in due:
            self.pump(system_id)

    def answered(self, receipt: Receipt, ok: bool) -> None:
        """The client answered a receipt's deliver_sm."""
        if ok:
            self._on_acked(receipt)
        elif receipt.intermediate:
            pass  # a notification is best-effort: not offered again
        else:
            self._held.setdefault(receipt.message.system_id, []).append(self._durable(receipt))

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
