"""An account as the running server holds it while it has binds.

One ``LiveAccount`` per system_id, shared by all of its binds: the balance
the submits draw on (the store's balance less charges not yet committed),
the rate bucket and the test accounts' daily cap, the bind count and the
blacklist. The engine refreshes ``record`` and ``available`` from the store
after commits, so CLI top-ups and alpha-name changes reach live sessions.
"""
from __future__ import annotations

from ..config import LimitsConfig
from ..records import Account
from .limits import DailyCap, TokenBucket


class LiveAccount:
    __slots__ = ("record", "available", "bucket", "daily", "binds", "blacklist", "_limits")

    def __init__(self, record: Account, limits: LimitsConfig, used_today: int, day: int, now: float) -> None:
        self._limits = limits
        self.record = record
        self.available = record.balance_kopecks
        self.binds = 0
        #: destinations that get nothing (SPEC section 4), from the store
        #: with the record: at bind and on the refresh after commits
        self.blacklist: frozenset[str] = record.blacklist
        self.bucket: TokenBucket | None = None
        self.daily: DailyCap | None = None
        self._apply_limits(now)
        if self.daily is not None:
            self.daily = DailyCap(self.daily.cap, day, used_today)

    @property
    def system_id(self) -> str:
        return self.record.system_id

    @property
    def is_test(self) -> bool:
        return self.record.mode == "test"

    @property
    def rate(self) -> float:
        r = self.record.rate
        if r is not None:
            return r
        return self._limits.test_rate if self.is_test else self._limits.user_rate

    @property
    def max_binds(self) -> int:
        m = self.record.max_binds
        if m is not None:
            return m
        return self._limits.test_max_binds if self.is_test else self._limits.user_max_binds

    def _apply_limits(self, now: float) -> None:
        rate = self.rate
        if not rate:
            self.bucket = None
        elif self.bucket is None or self.bucket.rate != rate:
            self.bucket = TokenBucket(rate, now=now)
        cap = self._limits.test_daily_cap if self.is_test else 0
        if not cap:
            self.daily = None
        elif self.daily is None:
            self.daily = DailyCap(cap)
        else:
            self.daily.cap = cap

    def update(self, record: Account, now: float) -> None:
        """New names, mode, limits or blacklist; the balance stays as counted here."""
        self.record = record
        self.blacklist = record.blacklist
        self._apply_limits(now)

    def refresh(self, record: Account, uncommitted: int, now: float) -> None:
        """The store's view read right after a commit; ``uncommitted``
        kopecks are charged in memory since then (none are in flight)."""
        self.update(record, now)
        self.available = record.balance_kopecks - uncommitted
