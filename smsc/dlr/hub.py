"""Receipts owed to accounts, and the sessions that can take them.

Per account, one queue of receipts in the order they became final. Bound
receiver / transceiver sessions of the account attach as sinks; the hub
hands each as many receipts as its window has room for. A receipt leaves the
hub for good only when its deliver_sm_resp says ESME_ROK (then the store
marks it acknowledged). A session that goes away gives its unanswered
receipts back to the front of the queue; a receipt the client refused is
held and offered again on the account's next bind, so a client that
rejects one receipt does not spin on it.
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
    ) -> None:
        self._on_acked = on_acked
        self._call_soon = call_soon
        self._queues: dict[str, deque[Receipt]] = {}
        self._held: dict[str, list[Receipt]] = {}
        self._sinks: dict[str, list[ReceiptSink]] = {}
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
        self.pump(system_id)

    def detach(self, system_id: str, sink: ReceiptSink, unanswered: Iterable[Receipt]) -> None:
        sinks = self._sinks.get(system_id, [])
        if sink in sinks:
            sinks.remove(sink)
        if not sinks:
            self._sinks.pop(system_id, None)
        back = sorted(unanswered, key=lambda r: r.message.id)
        if back:
            self._queue(system_id).extendleft(reversed(back))
        self.pump(system_id)

    # --- receipts -------------------------------------------------------------

    def enqueue(self, receipt: Receipt) -> None:
        """Queue a receipt; bound sessions get it at the end of this turn,
        together with every other receipt that became due in it."""
        system_id = receipt.message.system_id
        self._queue(system_id).append(receipt)
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
        else:
            self._held.setdefault(receipt.message.system_id, []).append(receipt)

    def pump(self, system_id: str) -> None:
        """Offer the account's queue to its sinks in turn, rotating the
        list so several binds share the load."""
        q = self._queues.get(system_id)
        sinks = self._sinks.get(system_id)
        if not q or not sinks:
            return
        for sink in list(sinks):
            sink.take(q)
            if not q:
                break
        if len(sinks) > 1:
            sinks.append(sinks.pop(0))

    def backlog(self, system_id: str) -> int:
        return len(self._queues.get(system_id, ())) + len(self._held.get(system_id, ()))
