"""Who is asking: binds, HTTP logins, and the one live account per system_id.

Every door that checks a password comes here (an SMPP bind, HTTP Basic), so
the throttle of failed logins and the password check are one rule. The
``LiveAccount`` of an account is made once per process and kept up to date
after commits (balances, names, limits changed by the CLI reach it).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IReactorTime
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure

from ..accounts.allowlist import allows
from ..accounts.live import LiveAccount
from ..accounts.passwords import verify_password
from ..accounts.throttle import LoginThrottle
from ..config import LimitsConfig
from ..pdu.constants import CommandStatus
from ..pdu.errors import SmppError
from ..records import Account, BindInfo
from ..store.port import StorePort
from .cluster_limits import ClusterLimits
from .rules import utc_day

log = logging.getLogger(__name__)


class AddressNotAllowed(SmppError):
    """A login from outside the account's IP allowlist: ESME_RBINDFAIL for
    a bind, 403 for HTTP (not the throttle's 429)."""

    def __init__(self, system_id: str, host: str) -> None:
        super().__init__(CommandStatus.ESME_RBINDFAIL, f"address {host} not in {system_id}'s allowlist")
        self.host = host


def check_address(account: Account, host: str) -> None:
    """Raise AddressNotAllowed, with a log line naming the address, unless
    ``host`` may log in to ``account`` (smsc.accounts.allowlist)."""
    if not allows(account.allowlist, host):
        log.warning("login as %s from %s refused: the address is not in its allowlist (%s)",
                    account.system_id, host, ", ".join(account.allowlist))
        raise AddressNotAllowed(account.system_id, host)


#: checks a password against its stored hash; scrypt is slow on purpose,
#: so the server runs it on a thread (tests on a task.Clock, inline)
Verify = Callable[[str, str], "Deferred[bool]"]


def _verify_on_thread(password: str, password_hash: str) -> "Deferred[bool]":
    return deferToThread(verify_password, password, password_hash)


#: verified (system_id, password) pairs remembered (HTTP Basic checks the
#: password on every request, a reconnect storm rebinds every client at
#: once); past this the memory starts over
_MAX_REMEMBERED = 10_000


class Accounts:
    def __init__(
        self, *, store: StorePort, clock: IReactorTime, limits: LimitsConfig, throttle: LoginThrottle,
        verify: Verify | None = None,
    ) -> None:
        self._store = store
        self._verify = verify or _verify_on_thread
        self._clock = clock
        self._limits = limits
        #: failed logins per address: SMPP binds and HTTP Basic share it
        self.throttle = throttle
        self.live: dict[str, LiveAccount] = {}
        #: accounts used without a bind (``account``): always refreshed
        self._keep_tracked: set[str] = set()
        self._key = secrets.token_bytes(32)
        #: HMAC(system_id, password) -> the password hash it was verified against
        self._verified: dict[bytes, str] = {}
        #: (HMAC, hash) -> waiters of the one scrypt running for that pair:
        #: a storm of binds with the same credentials hashes once
        self._verifying: dict[tuple[bytes, str], list[Deferred[bool]]] = {}
        store.on_commit.append(self._committed)
        #: max_binds and rate shares across the nodes of a PostgreSQL store
        #: (``share_limits``); None: this process is the only node
        self.cluster: ClusterLimits | None = None

    # --- binds ----------------------------------------------------------------

    def authenticate(self, bind: BindInfo) -> "Deferred[LiveAccount]":
        """The live account, or a failure carrying the SmppError to answer
        with. A success holds a bind slot: give it back with ``release``."""

        def bound(live: LiveAccount) -> LiveAccount:
            if live.max_binds and live.binds >= live.max_binds:
                raise SmppError(CommandStatus.ESME_RBINDFAIL, f"at most {live.max_binds} binds")
            return counted(live)

        def counted(live: LiveAccount) -> LiveAccount:
            live.binds += 1
            self._store.tracked.add(live.system_id)
            return live

        checked = self._check(bind.system_id, bind.password, bind.peer_host)
        cluster = self.cluster
        if cluster is None:
            return checked.addCallback(bound)
        return checked.addCallback(cluster.take).addCallback(counted)

    def share_limits(self, node: str, lease: float) -> ClusterLimits:
        """From now on max_binds and the rate hold across the live nodes of
        the store (smsc.engine.cluster_limits), this one named ``node``;
        the caller runs ``sync`` every ``cluster_limits.SYNC`` seconds."""
        self.cluster = ClusterLimits(store=self._store, clock=self._clock, node=node, lease=lease, lives=self.live)
        return self.cluster

    def login(self, system_id: str, password: str, host: str) -> "Deferred[LiveAccount]":
        """HTTP Basic: the live account when ``password`` is its password
        (no bind slot held), else a failure with the SmppError a bind would
        get."""
        return self._check(system_id, password, host).addCallback(self._kept)

    def _check(self, system_id: str, password: str, host: str) -> "Deferred[LiveAccount]":
        """The account when ``password`` is its password. A verified pair is
        remembered for the process's lifetime (as an HMAC under a key made
        at start, never the password, next to the hash it matched), so a
        client that binds again, or sends HTTP Basic with every request,
        pays scrypt (~30 ms of a pool thread, far more on a busy machine)
        once: a reconnect storm of known clients binds at store speed. A
        new password means a new hash, which the remembered one no longer
        matches."""
        why = self.throttle.blocked(host, system_id)
        if why is not None:
            return fail(SmppError(CommandStatus.ESME_RBINDFAIL, f"too many failed logins ({why} locked for now)"))
        day = utc_day(self._clock.seconds())
        mark = hmac.new(self._key, f"{system_id}\0{password}".encode(), hashlib.sha256).digest()

        def check(found: tuple[Account | None, int]) -> Any:
            account, used = found
            if account is None:
                self.throttle.failed(host)  # no account to lock: the address only
                raise SmppError(CommandStatus.ESME_RINVSYSID, f"no account {system_id!r}")
            # before the password: an outsider learns nothing and costs no scrypt
            check_address(account, host)
            if self._verified.get(mark) == account.password_hash:
                self.throttle.succeeded(host, system_id)
                return self._live(account, used, day)
            verified = self._verify_once(mark, password, account.password_hash)
            return verified.addCallback(decide, account, used)

        def decide(ok: bool, account: Account, used: int) -> LiveAccount:
            if not ok:
                self.throttle.failed(host, system_id)
                raise SmppError(CommandStatus.ESME_RINVPASWD, "wrong password")
            self.throttle.succeeded(host, system_id)
            if len(self._verified) >= _MAX_REMEMBERED:
                self._verified.clear()
            self._verified[mark] = account.password_hash
            return self._live(account, used, day)

        return self._store.bind_account(system_id, day).addCallback(check)

    def _verify_once(self, mark: bytes, password: str, password_hash: str) -> "Deferred[bool]":
        """``verify(password, password_hash)``, shared by every check of the
        same pair that comes while it runs."""
        key = (mark, password_hash)
        d: Deferred[bool] = Deferred()
        waiters = self._verifying.get(key)
        if waiters is not None:
            waiters.append(d)
            return d
        self._verifying[key] = waiters = [d]

        def done(result: Any) -> None:
            del self._verifying[key]
            for w in waiters:
                if isinstance(result, Failure):
                    w.errback(result)
                else:
                    w.callback(result)

        self._verify(password, password_hash).addBoth(done)
        return d

    def _live(self, account: Account, used: int, day: int) -> LiveAccount:
        """The one LiveAccount of ``account`` (read from the store just now,
        with ``used`` messages on ``day``), made on first use."""
        now = self._clock.seconds()
        live = self.live.get(account.system_id)
        if live is None:
            # no charge of this account was ever made in this process
            live = LiveAccount(account, self._limits, used, day, now)
            self.live[account.system_id] = live
        else:
            # The balance read above may predate charges still being
            # committed; only a read taken right after a commit may
            # reset it, so ask for one.
            live.update(account, now)
            self._store.refresh_soon()
        return live

    def _kept(self, live: LiveAccount) -> LiveAccount:
        """An account used without a bind stays tracked for the run."""
        self._keep_tracked.add(live.system_id)
        self._store.tracked.add(live.system_id)
        return live

    def account(self, system_id: str, fresh: bool = False) -> "Deferred[LiveAccount | None]":
        """The live account ``system_id`` for the doors that checked who is
        asking themselves (HTTP API keys, campaigns), or None when there is
        no such account. Holds no bind slot; the account stays tracked
        (refreshed after commits) for the rest of the run.

        ``fresh``: fire only once a commit has read the account back, so
        its balance includes a top-up made just before (a campaign resumed
        after one must not pause again on the old balance)."""
        day = utc_day(self._clock.seconds())

        def made(found: tuple[Account | None, int]) -> Any:
            account, used = found
            if account is None:
                return None
            known = system_id in self.live
            live = self._kept(self._live(account, used, day))
            if fresh and known:
                # _live asked for a read-back with the next commit (its
                # observers run before this waiter)
                return self._store.committed().addCallback(lambda _: live)
            return live

        return self._store.bind_account(system_id, day).addCallback(made)

    def release(self, live: LiveAccount) -> None:
        """A bound session of ``live`` is gone."""
        live.binds -= 1
        if self.cluster is not None:
            self.cluster.give_back(live)
        if live.binds <= 0 and live.system_id not in self._keep_tracked:
            self._store.tracked.discard(live.system_id)

    def _committed(self, writes: int, seconds: float, accounts: dict[str, Account]) -> None:
        """After a commit: the store's balances, names and limits as they
        now stand (CLI changes included) replace the live ones."""
        now = self._clock.seconds()
        for system_id, record in accounts.items():
            live = self.live.get(system_id)
            if live is not None:
                live.refresh(record, self._store.pending_charge(system_id), now)
