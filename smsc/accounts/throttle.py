"""Failed logins: too many from one address, or against one account, are refused for a while.

Every door that checks a secret counts here: SMPP binds, HTTP Basic, API
keys and the admin token. Failures count per source address and per
system_id, independently:

- an address with ``max_per_address`` failures within ``window`` seconds is
  refused until the oldest ages out (a client guessing many accounts);
- an account with ``max_per_account`` failures within ``window`` is locked
  for ``lockout`` seconds, from any address (a guesser spread over many
  addresses), with a log line and a metric when the lock starts.

A success clears only its own account's count: one valid account must not
wash away an address's failures against another (that made guessing
unlimited: 4 wrong, 1 right, repeat). A failure against a system_id that
does not exist counts for its address only, so random ids cost no memory.

Kept in memory: a restart forgives, which is what an operator would want
after fixing a client's password anyway.
"""
from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

#: who a failure is against when it is the admin token
ADMIN = "<admin>"
#: addresses and accounts remembered at most; past it the expired go first
_MAX_KEYS = 100_000


class LoginThrottle:
    def __init__(
        self, max_per_address: int, window: float, now: Callable[[], float], *,
        max_per_account: int = 0, lockout: float = 0.0,
        on_lockout: Callable[[str], None] | None = None,
    ) -> None:
        self._max_address = max_per_address
        self._max_account = max_per_account
        self._window = window
        self._lockout = lockout
        self._now = now
        self._on_lockout = on_lockout
        self._by_address: dict[str, deque[float]] = {}
        self._by_account: dict[str, deque[float]] = {}
        #: system_id -> real time its lock ends
        self._locked: dict[str, float] = {}

    def _recent(self, table: dict[str, deque[float]], key: str) -> int:
        q = table.get(key)
        if q is None:
            return 0
        cutoff = self._now() - self._window
        while q and q[0] <= cutoff:
            q.popleft()
        if not q:
            del table[key]
        return len(q)

    def blocked(self, host: str, system_id: str | None = None) -> str | None:
        """Why a login from ``host`` as ``system_id`` is refused now
        ("address" or "account"), or None."""
        if self._max_address > 0 and self._recent(self._by_address, host) >= self._max_address:
            return "address"
        if system_id is not None and system_id in self._locked:
            if self._now() < self._locked[system_id]:
                return "account"
            del self._locked[system_id]
        return None

    def failed(self, host: str, system_id: str | None = None) -> None:
        """A wrong secret from ``host``; ``system_id`` when it names an
        account that exists (or ``ADMIN``)."""
        now = self._now()
        self._note(self._by_address, host, now)
        if system_id is None or self._max_account <= 0:
            return
        self._note(self._by_account, system_id, now)
        if self._recent(self._by_account, system_id) >= self._max_account and self._lockout > 0:
            self._locked[system_id] = now + self._lockout
            self._by_account.pop(system_id, None)
            log.warning("login locked for %s for %.0f s after %d failed logins (the last from %s)",
                        system_id, self._lockout, self._max_account, host)
            if self._on_lockout is not None:
                self._on_lockout(system_id)

    def succeeded(self, host: str, system_id: str) -> None:
        """A right secret: forget ``system_id``'s failures (not the address's)."""
        self._by_account.pop(system_id, None)

    def _note(self, table: dict[str, deque[float]], key: str, now: float) -> None:
        if len(table) >= _MAX_KEYS and key not in table:
            for k in list(table):
                self._recent(table, k)
            if len(table) >= _MAX_KEYS:
                table.pop(next(iter(table)))
        table.setdefault(key, deque()).append(now)
