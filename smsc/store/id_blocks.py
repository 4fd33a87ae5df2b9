"""Message ids for the submit path, from blocks the store hands out.

Ids must be unique across every process of a store, ever: on PostgreSQL
several nodes take them from one sequence. Asking the database per message
would put a round trip on the hot path, so ids come in blocks
(``MessageStore.message_ids``): this process uses its block alone and,
while a good part of it is still left, asks the store thread for the next
one, so a submit never waits. SQLite's single writer gets one block that
never runs out (every id past the largest stored one).

The one check per message is a comparison (``take``).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.python.failure import Failure

from .port import StorePort


class IdsExhausted(Exception):
    """Every id of this process's blocks is used and the next block has not
    come back from the store yet (the store is slow or down): the submit is
    refused for now, the client tries again."""


class MessageIds:
    def __init__(self, first: range, store: StorePort | None = None, now: Callable[[], float] | None = None) -> None:
        """``first``: the block read at start (synchronously, before the
        reactor runs); ``store`` asks for the next ones (None: never)."""
        self._store = store
        self._now = now
        self._next = first.start
        self._end = first.stop
        self._size = len(first)
        self._spare: list[range] = []
        self._asking = False
        self._low = self._end
        self._set_low()

    def _set_low(self) -> None:
        """Ask for a block once less than one and a half blocks are left."""
        if self._store is None:
            self._low = self._end
            return
        left = sum(len(b) for b in self._spare)
        self._low = max(self._next, self._end - max(0, self._size * 3 // 2 - left))

    def take(self) -> int:
        """The next id; raises ``IdsExhausted`` when none is left."""
        n = self._next
        if n >= self._low:
            if n >= self._end:
                if not self._spare:
                    self._ask()
                    raise IdsExhausted()
                block = self._spare.pop(0)
                n, self._end = block.start, block.stop
            self._next = n + 1
            self._set_low()
            if self._next >= self._low:
                self._ask()
            return n
        self._next = n + 1
        return n

    def _ask(self) -> None:
        if self._asking or self._store is None:
            return
        self._asking = True
        now = self._now() if self._now is not None else 0.0
        self._store.message_ids(now).addBoth(self._got)

    def _got(self, result: Any) -> None:
        self._asking = False
        if isinstance(result, Failure):
            return  # asked again by the next take past the low mark
        self._spare.append(result)
        self._set_low()
        if self._next >= self._low:
            self._ask()
