"""Failed-bind throttling: an address that fails too often is refused for a while.

Kept in memory: a restart forgives, which is what an operator would want
after fixing a client's password anyway.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable


class BindThrottle:
    def __init__(self, max_failures: int, window: float, now: Callable[[], float]) -> None:
        self._max = max_failures
        self._window = window
        self._now = now
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, host: str) -> deque[float]:
        q = self._failures.get(host)
        if q is None:
            return deque()
        cutoff = self._now() - self._window
        while q and q[0] <= cutoff:
            q.popleft()
        if not q:
            del self._failures[host]
        return q

    def blocked(self, host: str) -> bool:
        return self._max > 0 and len(self._recent(host)) >= self._max

    def failed(self, host: str) -> None:
        self._failures.setdefault(host, deque()).append(self._now())

    def succeeded(self, host: str) -> None:
        self._failures.pop(host, None)
