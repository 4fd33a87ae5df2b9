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
from collections.abc import Callable
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
from .engine import Engine
from .engine.auth import Verify
from .metrics import GaugeCollector, Metrics
from .operators.clock import SimClock
from .operators.scheduler import Scheduler, bucket_seconds
from .operators.port import Operator
from .operators.sim import build_operators
from .operators.spec import OperatorSpec, UpstreamSpec
from .operators.upstream import UpstreamCollector, UpstreamOperator, build_upstreams
from .operators.upstream_link import Connect, tcp_connect
from .records import Account
from .server.protocol import SmppFactory
from .store.sqlite import Store
from .store.port import StorePort
from .store.worker import StoreWorker

log = logging.getLogger(__name__)


#: seconds between sweeps for receipts past their retention
RETENTION_SWEEP = 60.0


#: seconds between reads of the MO queue
MO_POLL = 1.0


def expire_receipts(engine: Engine, worker: StoreWorker, retention: float) -> None:
    """Receipts nobody came for within the retention are given up, in the
    queues and in the store alike."""
    before = engine.sim.now() - retention
    if engine.receipts.expire(before):
        worker.expire_owed(before)


def first_message_id(store: Store, now: float) -> int:
    """Ids only grow, across restarts too: past both the largest stored id
    and a time-based floor (so a purged table never brings old ids back)."""
    return max(store.max_message_id() + 1, int(now) << 20)


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
    http_port: Any = None
    #: periodic jobs (retention sweep, MO pick-up, campaign runner), stopped first on stop
    timers: list[LoopingCall] = field(default_factory=list)
    #: dlr_url callbacks of HTTP messages (smsc.dlr.callbacks)
    callbacks: CallbackSender | None = None
    #: a listener could not be opened: the process stops and exits 1
    failed: bool = False
    #: router mode: the upstream SMSCs, unbound on stop after our clients
    upstreams: list[UpstreamOperator] = field(default_factory=list)

    def health(self) -> Deferred:
        """Listeners up and the store writable (a write transaction opened
        and rolled back on the store thread, behind any commit in progress)."""

        def report(ok: bool) -> dict[str, Any]:
            return {
                "smpp_listening": self.smpp_port is not None and self.smpp_port.connected,
                "store_writable": ok,
                "sessions": len(self.factory.connections),
            }

        return self.worker.probe_writable().addCallbacks(lambda _: report(True), lambda _: report(False))

    @inlineCallbacks
    def stop(self) -> Any:
        """Graceful stop: no new binds, unbind everyone, commit, close."""
        for timer in self.timers:
            if timer.running:
                timer.stop()
        if self.callbacks is not None:
            self.callbacks.stop()
        if self.smpp_port is not None:
            yield self.smpp_port.stopListening()
        if self.http_port is not None:
            yield self.http_port.stopListening()
        unbinds = [p.unbind() for p in list(self.factory.connections)]
        if unbinds:
            timeout: Deferred = Deferred()
            call = self.factory.clock.callLater(2.0, timeout.callback, None)
            yield DeferredList([DeferredList(unbinds), timeout], fireOnOneCallback=True)
            if call.active():
                call.cancel()
            for p in list(self.factory.connections):
                p.transport.abortConnection()
        for upstream in self.upstreams:
            yield upstream.stop()
        yield self.worker.stop()
        self.store.close()
        log.info("stopped")


def build_engine(
    config: Config, store: StorePort, reactor: Any, first_id: int, metrics: Metrics,
    verify: Verify | None = None,
    upstream_connect: Callable[[UpstreamSpec], Connect] | None = None,
) -> Engine:
    """The engine and what it is made of: the simulation clock, the
    scheduler, the operators (one Random each, seeded from one: README
    [simulation] seed; upstream SMSCs for kind = "smpp", reached through
    ``upstream_connect``, TCP by default) and the receipt and MO hubs.
    Tests build the same graph on a task.Clock with an inline store."""
    sim = SimClock(reactor, config.simulation.time_scale)
    scheduler = Scheduler(reactor, bucket_seconds(config.simulation.time_scale))
    sims = {key: spec for key, spec in config.operators.items() if isinstance(spec, OperatorSpec)}
    operators: dict[str, Operator] = dict(build_operators(
        sims, sim, scheduler, random.Random(config.simulation.seed or None), config.rules,
    ))
    # router mode: kind = "smpp" operators are upstream SMSCs (started by ``build``)
    upstreams = {key: spec for key, spec in config.operators.items() if isinstance(spec, UpstreamSpec)}
    if upstreams:
        operators.update(build_upstreams(
            upstreams, sim=sim, scheduler=scheduler, clock=reactor, store=store,
            connect=upstream_connect or (lambda spec: tcp_connect(reactor, spec)),
            mo_numbers=config.mo.numbers, default_alphabet=config.messages.default_alphabet,
        ))
    return Engine(
        config=config, store=store, clock=reactor, sim=sim, scheduler=scheduler, operators=operators,
        receipts=DeliveryHub[Receipt](None, call_soon=lambda fn: reactor.callLater(0, fn)),
        mo=DeliveryHub[MoPart](None, call_soon=lambda fn: reactor.callLater(0, fn)),
        throttle=LoginThrottle(
            config.accounts.max_bind_failures, config.accounts.bind_failure_window, reactor.seconds,
            max_per_account=config.accounts.max_account_failures, lockout=config.accounts.account_lockout,
            on_lockout=metrics.lockout,
        ),
        first_id=first_id, metrics=metrics, verify=verify,
    )


def build(config: Config, reactor: Any, out: TextIO = sys.stdout) -> Server:
    store = Store(config.store.path, config.store.synchronous)
    ensure_first_account(store, config, out)
    worker = StoreWorker(store, reactor)
    metrics = Metrics()
    engine = build_engine(config, worker, reactor, first_message_id(store, time.time()), metrics)
    retention = config.receipts.retention
    expired = store.expire_owed(engine.sim.now() - retention)
    if expired:
        print(f"smsc: gave up {expired} receipts older than the retention", file=out, flush=True)
    callbacks = CallbackSender(
        watchers=engine.final_watchers, worker=worker, reactor=reactor, now=engine.sim.now,
        retries=config.http.callback_retries, backoff=config.http.callback_backoff,
        timeout=config.http.callback_timeout, default_alphabet=config.messages.default_alphabet,
    )
    callbacks.recover(store)  # before the engine resumes (and may finish) messages
    resumed, owed = engine.recover(store)
    if resumed or owed:
        print(f"smsc: recovered {resumed} unfinished messages and {owed} owed receipts", file=out, flush=True)
    worker.start()
    callbacks.start()
    upstreams = [op for op in engine.operators.values() if isinstance(op, UpstreamOperator)]
    for upstream in upstreams:
        upstream.start()
    if upstreams:
        metrics.watch(UpstreamCollector(upstreams))
    timers = [
        every(reactor, RETENTION_SWEEP, False, expire_receipts, engine, worker, retention),
        # MO rows written by `smsc mo inject` (also those a restart left undelivered)
        every(reactor, MO_POLL, True, engine.poll_mo),
        every(reactor, CAMPAIGN_TICK, True, CampaignRunner(
            engine, worker, config.billing.insufficient_funds_status, reactor.seconds, engine.sim.now).tick),
    ]
    factory = SmppFactory(engine, config.smpp, reactor, metrics)
    worker.on_commit.append(lambda writes, seconds, accounts: metrics.commit_latency.observe(seconds))
    watch_state(metrics, engine, factory)
    return Server(
        config, store, worker, engine, factory, metrics, callbacks=callbacks, timers=timers, upstreams=upstreams,
    )


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
        server.smpp_port = _listen(reactor, config.smpp.host, config.smpp.port, server.factory, "[smpp]")
        host = server.smpp_port.getHost()
        print(f"smsc: SMPP listening on {host.host}:{host.port} (store {config.store.path})", file=out, flush=True)
        if config.http.enabled:
            from twisted.web.server import Site

            from .web.root import http_root

            site = Site(http_root(server))
            site.noisy = False
            server.http_port = _listen(reactor, config.http.host, config.http.port, site, "[http]")
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


def _listen(reactor: Any, host: str, port: int, factory: Any, section: str) -> Any:
    try:
        return reactor.listenTCP(port, factory, interface=host)
    except CannotListenError as exc:
        raise ListenError(
            f"cannot listen on {host}:{port} ({section} host, port): {exc.socketError}"
        ) from None
