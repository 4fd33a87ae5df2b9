"""After a restart: resume unfinished messages and queue owed receipts.

Runs before the listeners open, on the synchronous store (nothing else is
running yet). What a kill -9 left: messages accepted (their submit_sm_resp
may or may not have gone out) and not final go back to their operators;
final messages whose receipt was never acknowledged are queued again. A
receipt acknowledged just before the kill may so come twice; none is lost.
"""
from __future__ import annotations

from ..dlr.hub import DeliveryHub
from ..records import Receipt
from ..store.port import MessageStore
from .lifecycle import Lifecycle


def recover(store: MessageStore, lifecycle: Lifecycle, receipts: DeliveryHub[Receipt]) -> tuple[int, int]:
    """Returns (messages resumed, receipts queued)."""
    unfinished = store.unfinished_messages()
    for m in unfinished:
        lifecycle.resume(m)
    owed = store.owed_receipts()
    for m, stat, state, error, done_time in owed:
        receipts.enqueue(Receipt(m, stat, state, error, done_time))
    return len(unfinished), len(owed)
