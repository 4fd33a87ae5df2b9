"""Composition root: builds the parts from a Config and starts listening.

The only place that knows every part; each part gets what it needs passed
in (no globals), so tests build the same graph with a fake clock or a
temporary store.
"""
from __future__ import annotations

import logging
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from twisted.internet.defer import Deferred, DeferredList, inlineCallbacks
from twisted.internet.error import CannotListenError
from twisted.internet.task import LoopingCall

from .accounts.passwords import generate_password, hash_password
from .accounts.throttle import LoginThrottle
from .campaigns.runner import TICK as CAMPAIGN_TICK, CampaignRunner
from .config import Config
from .dlr.callbacks import CallbackSender
from .dlr.hub import DeliveryHub
from .dlr.mo import MoPart
from .records import Receipt
from .dlr.deliveries import Deliveries
from .engine import Engine
from .engine.auth import Verify
from .metrics import GaugeCollector, Metrics
from .operators.clock import SimClock
from .operators.scheduler import Scheduler, bucket_seconds
from .operators.sim import build_operators
from .records import Account
from .server.protocol import SmppFactory
from .store.sqlite import Store
from .store.id_blocks import MessageIds
from .store.port import StorePort
from .store.worker import StoreWorker

log = logging.getLogger(__name__)


#: seconds between sweeps for receipts past their retention
RETENTION_SWEEP = 60.0


#: seconds between reads of the MO queue
MO_POLL = 1.0


#: seconds /health stays 503 after a failed commit (README "Config", /health)
COMMIT_FAILURE_HOLD = 10.0


def expire_receipts(engine: Engine, worker: StoreWorker, retention: float) -> None:
    """Receipts nobody came for within the retention are given up, in the
    queues and in the store alike."""
    before = engine.sim.now() - retention
    if engine.receipts.expire(before):
        worker.expire_owed(before)


def ensure_first_account(store: Store, config: Config, out: TextIO) -> None:
    """On a first start with an empty store, create a test account and print
    its credentials once (the password is not kept anywhere in clear)."""
    if store.count_accounts():
        return
    password = generate_password()
    acc = config.accounts
    store.add_account(Account(
        system_id=acc.first_account, password_hash=hash_password(password), mode="test",
        balance_kopecks=acc.test_balance_kopecks, alpha_names=(),
    ))
    print(
        f"smsc: first start: created test account system_id={acc.first_account} "
        f"password={password} (shown once; change it with 'smsc account passwd')",
        file=out, flush=True,
    )


@dataclass
class Server:
    config: Config
    store: Store
    worker: StoreWorker
    engine: Engine
    factory: SmppFactory
    metrics: Metrics
    smpp_port: Any = None
    #: the SMPP-over-TLS listener ([tls]), None when off
    tls_port: Any = None
    http_port: Any = None
    #: periodic jobs (retention sweep, MO pick-up, campaign runner), stopped first on stop
    timers: list[LoopingCall] = field(default_factory=list)
    #: dlr_url callbacks of HTTP messages (smsc.dlr.callbacks)
    callbacks: CallbackSender | None = None
    #: a listener could not be opened: the process stops and exits 1
    failed: bool = False

    def health(self) -> Deferred:
        """Listeners up, the store writable (a write transaction opened and
        rolled back on the store thread, behind any commit in progress), the
        last commit that wrote something succeeded and none failed in the
        last ``COMMIT_FAILURE_HOLD`` seconds. Opening a transaction needs no
        disk space, so a full disk shows only in the commits (and there
        small ones may pass between failing ones). After a failure a small
        real commit is tried here instead, so health comes back by itself
        once the store writes again, with no traffic needed."""
        worker = self.worker

        def report(ok: bool) -> dict[str, Any]:
            now = self.factory.clock.seconds()
            last, failed = worker.last_commit, worker.last_failure
            return {
                "smpp_listening": self.smpp_port is not None and self.smpp_port.connected,
                **({"tls_listening": bool(self.tls_port.connected)} if self.tls_port is not None else {}),
                "store_writable": ok,
                "last_commit_ok": last is None or last.ok,
                "commits_ok": failed is None or now - failed.at >= COMMIT_FAILURE_HOLD,
                "last_commit_age_seconds": None if last is None else round(now - last.at, 3),
                "last_commit_error": None if failed is None else failed.error,
                "last_failure_age_seconds": None if failed is None else round(now - failed.at, 3),
                "sessions": len(self.factory.connections),
            }

        probe = worker.probe_writable if worker.last_failure is None else worker.probe_commit
        return probe().addCallbacks(lambda _: report(True), lambda _: report(False))

    @inlineCallbacks
    def stop(self) -> Any:
        """Graceful stop (SIGTERM), in an order that neither repeats a
        receipt after the restart nor leaves a committed submit unanswered:

        1. no new connections; every session refuses binds and writing
           requests with ESME_RSYSERR and is offered no new deliveries;
        2. every write already queued commits, so each submit the store
           took is answered (its submit_sm_resp written out at once);
        3. wait, at most ``[smpp] drain_timeout`` seconds, for the
           deliver_sm_resp of what was sent (their acknowledgements are
           stored: those receipts are done, not offered again);
        4. unbind every session (2 s for the unbind_resp, then close):
           what is still unanswered or waiting is written as owed;
        5. commit the rest, close the store."""
        clock = self.factory.clock
        drain = self.config.smpp.drain_timeout
        for timer in self.timers:
            if timer.running:
                timer.stop()
        if self.callbacks is not None:
            self.callbacks.stop()
        if self.smpp_port is not None:
            yield self.smpp_port.stopListening()
        if self.tls_port is not None:
            yield self.tls_port.stopListening()
        if self.http_port is not None:
            yield self.http_port.stopListening()
        self.factory.drain()
        if not (yield _within(clock, drain, self.worker.flushed())):
            log.warning("stopping: the store did not commit within %.1f s", drain)
        for p in list(self.factory.connections):
            p.flush()
        sessions = list(self.factory.connections)
        answered = yield _until(clock, drain, lambda: not any(p.awaiting_answers for p in sessions))
        if not answered:
            left = sum(p.awaiting_answers for p in sessions)
            log.warning("stopping: %d deliver_sm unanswered after %.1f s; they are owed again", left, drain)
        unbinds = [p.unbind() for p in list(self.factory.connections)]
        if unbinds:
            yield _within(clock, 2.0, DeferredList(unbinds))
            for p in list(self.factory.connections):
                p.transport.abortConnection()
        yield self.worker.stop()
        self.store.close()
        log.info("stopped")


def _within(clock: Any, seconds: float, d: Deferred) -> Deferred:
    """Fires True when ``d`` fires within ``seconds``, else False then (``d``
    goes on; its result is not this one's)."""
    out: Deferred = Deferred()
    call = clock.callLater(seconds, lambda: out.called or out.callback(False))

    def done(result: object) -> None:
        if not out.called:
            call.cancel()
            out.callback(True)

    d.addBoth(done)
    return out


def _until(clock: Any, seconds: float, condition: Any, step: float = 0.02) -> Deferred:
    """Fires True once ``condition()`` holds (checked every ``step``), or
    False after ``seconds``."""
    out: Deferred = Deferred()
    deadline = clock.seconds() + seconds

    def check() -> None:
        if condition():
            out.callback(True)
        elif clock.seconds() >= deadline:
            out.callback(False)
        else:
            clock.callLater(step, check)

    check()
    return out


def build_engine(
    config: Config, store: StorePort, reactor: Any, ids: MessageIds, metrics: Metrics,
    verify: Verify | None = None,
) -> Engine:
    """The engine and what it is made of: the simulation clock, the
    scheduler, the operators (one Random each, seeded from one: README
    [simulation] seed) and the receipt and MO hubs. Tests build the same
    graph on a task.Clock with an inline store."""
    sim = SimClock(reactor, config.simulation.time_scale)
    scheduler = Scheduler(reactor, bucket_seconds(config.simulation.time_scale))
    operators = build_operators(
        config.operators, sim, scheduler, random.Random(config.simulation.seed or None), config.rules,
    )
    return Engine(
        config=config, store=store, clock=reactor, sim=sim, scheduler=scheduler, operators=operators,
        receipts=DeliveryHub[Receipt](None, call_soon=lambda fn: reactor.callLater(0, fn)),
        mo=DeliveryHub[MoPart](None, call_soon=lambda fn: reactor.callLater(0, fn)),
        throttle=LoginThrottle(
            config.accounts.max_bind_failures, config.accounts.bind_failure_window, reactor.seconds,
            max_per_account=config.accounts.max_account_failures, lockout=config.accounts.account_lockout,
            on_lockout=metrics.lockout,
        ),
        ids=ids, metrics=metrics, verify=verify,
    )


def build(config: Config, reactor: Any, out: TextIO = sys.stdout) -> Server:
    store = Store(config.store.path, config.store.synchronous)
    ensure_first_account(store, config, out)
    worker = StoreWorker(store, reactor)
    metrics = Metrics()
    ids = MessageIds(store.message_ids(time.time()), worker, time.time)
    engine = build_engine(config, worker, reactor, ids, metrics)
    retention = config.receipts.retention
    expired = store.expire_owed(engine.sim.now() - retention)
    if expired:
        print(f"smsc: gave up {expired} receipts older than the retention", file=out, flush=True)
    callbacks = CallbackSender(
        watchers=engine.final_watchers, worker=worker, reactor=reactor, now=engine.sim.now,
        retries=config.http.callback_retries, backoff=config.http.callback_backoff,
        timeout=config.http.callback_timeout,
    )
    callbacks.recover(store)  # before the engine resumes (and may finish) messages
    resumed, owed = engine.recover(store)
    if resumed or owed:
        print(f"smsc: recovered {resumed} unfinished messages and {owed} owed receipts", file=out, flush=True)
    worker.start()
    callbacks.start()
    timers = [
        every(reactor, RETENTION_SWEEP, False, expire_receipts, engine, worker, retention),
        # MO rows written by `smsc mo inject` (also those a restart left undelivered)
        every(reactor, MO_POLL, True, engine.poll_mo),
        every(reactor, CAMPAIGN_TICK, True, CampaignRunner(
            engine, worker, config.billing.insufficient_funds_status, reactor.seconds, engine.sim.now).tick),
    ]
    factory = SmppFactory(engine, config.smpp, reactor, metrics, deliveries=Deliveries(engine.receipts, engine.mo))
    worker.on_commit.append(lambda writes, seconds, accounts: metrics.commit_latency.observe(seconds))
    worker.on_commit_failure.append(metrics.store_error)
    watch_state(metrics, engine, factory)
    return Server(config, store, worker, engine, factory, metrics, callbacks=callbacks, timers=timers)


def every(reactor: Any, seconds: float, now: bool, fn: Any, *args: Any) -> LoopingCall:
    """``fn(*args)`` every ``seconds`` on ``reactor``'s clock, started (at
    once too when ``now``); stopped by ``Server.stop``."""
    call = LoopingCall(fn, *args)
    call.clock = reactor
    call.start(seconds, now=now)
    return call


def watch_state(metrics: Metrics, engine: Engine, factory: SmppFactory) -> None:
    """Gauges read at scrape time: binds, receipt backlogs, operator queues."""

    def binds() -> Any:
        counts: dict[tuple[str, str], int] = {}
        for p in factory.connections:
            if p.account is not None and p.bind_type:
                key = (p.account.system_id, p.bind_type)
                counts[key] = counts.get(key, 0) + 1
        return counts.items()

    def backlog() -> Any:
        return (((sid,), engine.receipts.backlog(sid)) for sid in engine.accounts)

    def queues() -> Any:
        for key, op in engine.operators.items():
            yield (key, "held"), op.pending()
            yield (key, "in_network"), op.in_network()

    metrics.watch(GaugeCollector("smsc_connections", "Open SMPP connections (plain and TLS), bound or not.",
                                 [], lambda: [((), len(factory.connections))]))
    metrics.watch(GaugeCollector("smsc_binds", "Bound sessions by account and bind type.",
                                 ["account", "bind_type"], binds))
    metrics.watch(GaugeCollector("smsc_receipt_backlog", "Receipts waiting for a receiver, by account.",
                                 ["account"], backlog))
    metrics.watch(GaugeCollector("smsc_operator_queue", "Messages an operator holds (scheduled or "
                                 "over its throughput) or has in its network.", ["operator", "where"], queues))


def serve(config: Config, reactor: Any = None, out: TextIO = sys.stdout) -> Server:
    """Build, listen, and stop cleanly when the reactor stops. A port that
    cannot be opened is reported in one line naming its config key; the
    server then stops as soon as the reactor runs (``Server.failed``)."""
    if reactor is None:
        from twisted.internet import reactor as default_reactor

        reactor = default_reactor
    server = build(config, reactor, out)
    reactor.addSystemEventTrigger("before", "shutdown", server.stop)
    try:
        # the certificate is read before any port opens: a bad one stops the start
        tls = _tls_factory(config, server.factory) if config.tls.cert else None
        _raise_open_files(config.smpp.max_connections)
        backlog = config.smpp.backlog
        server.smpp_port = _listen(reactor, config.smpp.host, config.smpp.port, server.factory, "[smpp] host, port",
                                   backlog)
        host = server.smpp_port.getHost()
        print(f"smsc: SMPP listening on {host.host}:{host.port} (store {config.store.path})", file=out, flush=True)
        if tls is not None:
            server.tls_port = _listen(reactor, config.smpp.host, config.tls.port, tls, "[smpp] host, [tls] port",
                                      backlog)
            t = server.tls_port.getHost()
            print(f"smsc: SMPP over TLS listening on {t.host}:{t.port} (cert {config.tls.cert})", file=out, flush=True)
        if config.http.enabled:
            from twisted.web.server import Site

            from .web.deps import WebDeps
            from .web.root import http_root

            engine, callbacks = server.engine, server.callbacks
            assert callbacks is not None  # build makes one
            site = Site(http_root(WebDeps(
                engine=engine, store=server.worker, config=config, metrics=server.metrics,
                health=server.health, watch_dlr=callbacks.watch, sim_now=engine.sim.now,
            )))
            site.noisy = False
            server.http_port = _listen(reactor, config.http.host, config.http.port, site, "[http] host, port")
            h = server.http_port.getHost()
            print(f"smsc: HTTP listening on {h.host}:{h.port} (/metrics, /health, /api/v1, /reports)",
                  file=out, flush=True)
    except ListenError as exc:
        print(f"smsc: error: {exc}", file=sys.stderr, flush=True)
        server.failed = True
        reactor.callWhenRunning(reactor.stop)
    return server


class ListenError(Exception):
    pass


def _tls_factory(config: Config, factory: SmppFactory) -> Any:
    """The SMPP factory behind TLS with [tls] cert and key (smsc.server.tls)."""
    from .server.tls import TlsConfigError, TlsFactory, certificate_options

    try:
        return TlsFactory(certificate_options(config.tls.cert, config.tls.key), factory)
    except TlsConfigError as exc:
        raise ListenError(str(exc)) from None


def _raise_open_files(connections: int) -> None:
    """Let the process hold ``connections`` sockets (and some for the store
    and HTTP): the soft RLIMIT_NOFILE, often 1024, raised as far as the hard
    limit allows. Past it accept() fails with EMFILE and clients wait in the
    backlog instead of being refused by the limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = (connections or 65536) + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        if new > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


def _listen(reactor: Any, host: str, port: int, factory: Any, keys: str, backlog: int = 50) -> Any:
    try:
        return reactor.listenTCP(port, factory, backlog=backlog, interface=host)
    except CannotListenError as exc:
        raise ListenError(
            f"cannot listen on {host}:{port} ({keys}): {exc.socketError}"
        ) from None
