"""An account as the running server holds it while it has binds.

One ``LiveAccount`` per system_id, shared by all of its binds: the balance
the submits draw on (the store's balance less charges not yet committed),
the rate bucket and the test accounts' daily cap, the bind count and the
blacklist. The engine refreshes ``record`` and ``available`` from the store
after commits, so CLI top-ups and alpha-name changes reach live sessions.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from ..config import LimitsConfig
from ..pdu.receipt import date_formatter, format_date
from ..records import Account
from .ids import DEFAULT_ID_FORMAT, MessageIdFormat
from .limits import DailyCap, TokenBucket

log = logging.getLogger(__name__)


class LiveAccount:
    __slots__ = (
        "record", "available", "bucket", "daily", "binds", "nodes", "blacklist", "_limits",
        "id_format", "format_id", "format_date", "_receipt_options",
    )

    def __init__(self, record: Account, limits: LimitsConfig, used_today: int, day: int, now: float) -> None:
        self._limits = limits
        self.record = record
        self.available = record.balance_kopecks
        self.binds = 0
        #: nodes sharing the account's rate: this one and the other live
        #: nodes of the store holding a bind of it (PostgreSQL; 1 on SQLite)
        self.nodes = 1
        #: destinations that get nothing (SPEC section 4), from the store
        #: with the record: at bind and on the refresh after commits
        self.blacklist: frozenset[str] = record.blacklist
        self.bucket: TokenBucket | None = None
        self.daily: DailyCap | None = None
        self._apply_limits(now)
        #: receipt options, cached here: the hot paths call ``format_id(n)``
        #: and ``format_date(ts)`` (see ``_apply_receipt_options``)
        self.id_format: MessageIdFormat = DEFAULT_ID_FORMAT
        self.format_id: Callable[[int], str] = DEFAULT_ID_FORMAT.format
        self.format_date: Callable[[float], str] = format_date
        self._receipt_options: tuple = (None, None, None, None)
        self._apply_receipt_options()
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

    def share(self, nodes: int, now: float) -> None:
        """The account's rate is shared by ``nodes`` nodes from ``now`` on:
        this node's bucket gets ``rate / nodes`` (the tokens it saved kept)."""
        nodes = max(1, nodes)
        if nodes == self.nodes:
            return
        self.nodes = nodes
        if self.bucket is not None:
            self.bucket.retune(self.rate / nodes, now)

    def _apply_limits(self, now: float) -> None:
        rate = self.rate / self.nodes
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

    def _apply_receipt_options(self) -> None:
        r = self.record
        options = (r.id_format, r.id_width, r.receipt_seconds, r.receipt_tz)
        if options == self._receipt_options:
            return
        self._receipt_options = options
        try:
            self.id_format = MessageIdFormat.of(r.id_format, r.id_width)
        except ValueError as exc:  # the CLI refuses these; a hand-edited store
            log.warning("account %s: %s; using hex ids", r.system_id, exc)
            self.id_format = DEFAULT_ID_FORMAT
        self.format_id = self.id_format.format
        try:
            self.format_date = date_formatter(bool(r.receipt_seconds), r.receipt_tz)
        except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
            log.warning("account %s: time zone %r: %s; receipts in UTC", r.system_id, r.receipt_tz, exc)
            self.format_date = date_formatter(bool(r.receipt_seconds), None)

    def update(self, record: Account, now: float) -> None:
        """New names, mode, limits, blacklist or receipt options; the balance
        stays as counted here."""
        self.record = record
        self.blacklist = record.blacklist
        self._apply_limits(now)
        self._apply_receipt_options()

    def refresh(self, record: Account, uncommitted: int, now: float) -> None:
        """The store's view read right after a commit; ``uncommitted``
        kopecks are charged in memory since then (none are in flight)."""
        self.update(record, now)
        self.available = record.balance_kopecks - uncommitted
