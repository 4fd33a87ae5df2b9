"""After a restart: resume unfinished messages and queue owed receipts.

Runs before the listeners open, on the synchronous store (nothing else is
running yet). What a kill -9 left: messages accepted (their submit_sm_resp
may or may not have gone out) and not final go back to their operators;
final messages whose receipt was never acknowledged are queued again. A
receipt acknowledged just before the kill may so come twice; none is lost.
Operators read back what they stored of their own first (an upstream's
message ids: a message already submitted upstream waits for its receipt
rather than being sent again).
"""
from __future__ import annotations

from collections.abc import Iterable

from ..dlr.hub import DeliveryHub
from ..operators.port import Operator
from ..records import Receipt
from ..store.port import MessageStore
from .lifecycle import Lifecycle


def recover(
    store: MessageStore, lifecycle: Lifecycle, receipts: DeliveryHub[Receipt], operators: Iterable[Operator] = (),
) -> tuple[int, int]:
    """Returns (messages resumed, receipts queued)."""
    for operator in operators:
        operator.restore(store)  # e.g. an upstream's message ids, before the resumes
    unfinished = store.unfinished_messages()
    for m in unfinished:
        lifecycle.resume(m)
    owed = store.owed_receipts()
    for m, stat, state, error, done_time in owed:
        receipts.enqueue(Receipt(m, stat, state, error, done_time))
    return len(unfinished), len(owed)
