"""Per-account traffic limits: a token bucket for the submit rate and a
daily counter for test accounts' cap.

Pure: time comes in as arguments, so tests step it by hand.
"""
from __future__ import annotations


class TokenBucket:
    """``rate`` submits per second on average, bursts up to ``burst``.

    Shared by every bind of an account (the engine keeps one per account),
    so opening more binds does not buy more throughput.
    """

    __slots__ = ("rate", "burst", "_tokens", "_at")

    def __init__(self, rate: float, burst: float | None = None, now: float = 0.0) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._tokens = self.burst
        self._at = now

    def take(self, now: float, n: float = 1.0) -> bool:
        """Spend ``n`` tokens if there are that many; False (nothing spent) if not."""
        tokens = self._tokens + (now - self._at) * self.rate
        if tokens > self.burst:
            tokens = self.burst
        self._at = now
        if tokens >= n:
            self._tokens = tokens - n
            return True
        self._tokens = tokens
        return False

    def give_back(self, n: float = 1.0) -> None:
        """Return tokens for a submit that was refused after taking them."""
        self._tokens = min(self.burst, self._tokens + n)

    def retune(self, rate: float, now: float) -> None:
        """A new ``rate`` from ``now`` on (burst: its default), the tokens
        saved so far kept up to the new burst: a node's share of an
        account's rate changes as binds come and go on other nodes, and a
        change must not hand out a fresh burst."""
        self.take(now, 0.0)
        self.rate = rate
        self.burst = max(1.0, rate)
        self._tokens = min(self._tokens, self.burst)


class DailyCap:
    """At most ``cap`` messages per UTC day; ``used`` seeds it after a restart."""

    __slots__ = ("cap", "_day", "_used")

    def __init__(self, cap: int, day: int = -1, used: int = 0) -> None:
        self.cap = cap
        self._day = day
        self._used = used

    def take(self, now: float) -> bool:
        day = int(now // 86400)
        if day != self._day:
            self._day, self._used = day, 0
        if self._used >= self.cap:
            return False
        self._used += 1
        return True

    def give_back(self) -> None:
        if self._used:
            self._used -= 1
