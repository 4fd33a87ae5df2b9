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
from twisted.internet.task import LoopingCall

from .accounts.passwords import generate_password, hash_password
from .accounts.throttle import LoginThrottle
from .campaigns.runner import TICK as CAMPAIGN_TICK, CampaignRunner
from .config import Config, node_name
from .dlr.callbacks import POLL as CALLBACK_POLL, CallbackSender
from .dlr.hub import DeliveryHub
from .dlr.mo import MoPart
from .records import Receipt
from .dlr.deliveries import Deliveries
from .engine import Engine
from .engine.auth import Verify
from .engine.cluster import CLAIM_EVERY, ClusterNode
from .engine.cluster_limits import SYNC as BIND_SYNC
from .engine.fence import TAKEN_OVER, Fence
from .metrics import GaugeCollector, Metrics
from .operators.clock import SimClock
from .operators.scheduler import Scheduler, bucket_seconds
from .operators.port import Operator
from .operators.sim import build_operators
from .operators.spec import OperatorSpec, UpstreamSpec
from .operators.upstream import UpstreamCollector, UpstreamOperator, build_upstreams
from .operators.upstream_link import Connect, tcp_connect
from .records import Account
from .server.conformance import SAVE_EVERY as REPORTS_SAVE, Reports
from .server.protocol import SmppFactory
from .store.open import display_target, is_url, open_store, target_of
from .store.port import AccountExists, MessageStore, NodeState
from .startup import StartupError, StoreLock, bind, lock_store
from .store.cluster_port import ClusterWorker, cluster_store
from .store.id_blocks import MessageIds
from .store.port import StorePort
from .store.worker import StoreWorker

log = logging.getLogger(__name__)


#: seconds between sweeps for receipts past their retention
RETENTION_SWEEP = 60.0


#: seconds between reads of the MO queue
MO_POLL = 1.0

#: seconds between reads of the faults table (smsc.faults)
FAULT_POLL = 1.0


#: seconds /health stays 503 after a failed commit (README "Config", /health)
COMMIT_FAILURE_HOLD = 10.0


def expire_receipts(engine: Engine, worker: StoreWorker, retention: float, shared: bool = False) -> None:
    """Receipts nobody came for within the retention are given up, in the
    queues and in the store alike (``shared``: a cluster node, whose owed
    receipts wait in the store rather than in its queues)."""
    before = engine.sim.now() - retention
    if engine.receipts.expire(before) or shared:
        worker.expire_owed(before)


def ensure_first_account(store: MessageStore, config: Config, out: TextIO) -> None:
    """On a first start with an empty store, create a test account and print
    its credentials once (the password is not kept anywhere in clear)."""
    if store.count_accounts():
        return
    password = generate_password()
    acc = config.accounts
    try:
        store.add_account(Account(
            system_id=acc.first_account, password_hash=hash_password(password), mode="test",
            balance_kopecks=acc.test_balance_kopecks, alpha_names=(),
        ))
    except AccountExists:  # another node of the store, starting at the same time, made it
        return
    print(
        f"smsc: first start: created test account system_id={acc.first_account} "
        f"password={password} (shown once; change it with 'smsc account passwd')",
        file=out, flush=True,
    )


@dataclass
class Server:
    config: Config
    store: MessageStore
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
    #: this node's name ([cluster] node), set once the SMPP port is known
    node: str = ""
    #: every node of the store as the last heartbeat read them (``/health``)
    cluster: list[NodeState] = field(default_factory=list)

    def start_heartbeat(self, reactor: Any, node: str) -> None:
        """This node's heartbeat every third of the lease (``[cluster]``):
        other nodes see it alive; the answer lists the cluster. A node of a
        cluster fences itself when it cannot renew it (``smsc.engine.fence``)."""
        self.node = node
        if is_url(target_of(self.config.store)):  # nodes sharing a store scrape apart
            self.metrics.node = node
        lease = self.config.cluster.lease

        def seen(nodes: list[NodeState]) -> None:
            self.cluster = nodes

        cluster_node = self.cluster_node
        if cluster_node is not None:
            self.fence = Fence(
                node=node, lease=lease, clock=reactor, beat=cluster_node.beat, seen=seen,
                on_fence=lambda reason: self._fenced(reactor),
                on_unfence=self._unfenced, on_taken=lambda: self._taken_over(reactor),
                last_beat=cluster_node.started_at,
            )
            self.metrics.watch(self.fence)
            self.fence.start()
            self.timers.append(every(reactor, lease / 3, True, self.fence.beat))
            return

        def beat() -> None:
            def lost(failure: Any) -> None:
                log.warning("heartbeat of node %s failed: %s", node, failure.getErrorMessage())

            self.worker.heartbeat(node, lease).addCallbacks(seen, lost)

        self.timers.append(every(reactor, lease / 3, True, beat))

    def _fenced(self, clock: Any) -> None:
        """Fenced: binds and writes refused, no deliveries offered (as a
        graceful stop's drain), and every session unbound (2 s for the
        unbind_resp, then closed) so its client binds to another node;
        what was offered and not answered is owed again."""
        assert self.cluster_node is not None
        self.cluster_node.fence()
        self.factory.drain()
        sessions = list(self.factory.connections)
        unbinds = [p.unbind() for p in sessions]

        def close(_: object) -> None:
            for p in sessions:
                if not p.gone:
                    p.transport.abortConnection()

        if unbinds:
            _within(clock, 2.0, DeferredList(unbinds)).addCallback(close)

    def _unfenced(self) -> None:
        assert self.cluster_node is not None
        self.cluster_node.unfence()
        self.factory.undrain()

    def _taken_over(self, reactor: Any) -> None:
        """Another node holds this node's work now: stop (its sessions are
        closed already) with ``TAKEN_OVER`` as the exit status."""
        self.exit_status = TAKEN_OVER
        reactor.callLater(0, reactor.stop)

    #: the store's lock (smsc.startup), held for the life of the process
    store_lock: StoreLock | None = None
    #: router mode: the upstream SMSCs, unbound on stop after our clients
    upstreams: list[UpstreamOperator] = field(default_factory=list)
    #: this node's part of a cluster (a PostgreSQL store), None on SQLite
    cluster_node: ClusterNode | None = None
    #: a cluster node's heartbeat and self-fencing (``smsc.engine.fence``)
    fence: Fence | None = None
    #: the process's exit status once stopped (``TAKEN_OVER``: another node took this one over)
    exit_status: int = 0

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
                "node": self.node,
                **({"heartbeat_ok": not self.fence.fenced, "fence_reason": self.fence.reason or None}
                   if self.fence is not None else {}),
                "cluster": [
                    {"node": n.name, "alive": n.alive,
                     "last_heartbeat": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(n.heartbeat_at))}
                    for n in self.cluster
                ],
            }

        probe = worker.probe_writable if worker.last_failure is None else worker.probe_commit
        return probe().addCallbacks(lambda _: report(True), lambda _: report(False))

    def abandon(self) -> None:
        """A start that failed after the build (``serve``): nothing was
        served, so there is nothing to drain or commit; the timers and the
        store's threads stop and the store closes."""
        for timer in self.timers:
            if timer.running:
                timer.stop()
        self.worker.abandon()
        self.store.close()

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
        if self.fence is not None:
            self.fence.stop()
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
        for upstream in self.upstreams:
            yield upstream.stop()
        if self.node:  # gone at once, not after the lease: its claims freed, its work taken at once
            try:
                if self.cluster_node is not None:
                    yield self.cluster_node.stop()
                else:
                    yield self.worker.heartbeat(self.node, self.config.cluster.lease, True)
            except Exception as exc:
                log.warning("could not mark node %s stopped: %s", self.node, exc)
        yield self.worker.stop()
        self.store.close()
        log.info("stopped")


def _within(clock: Any, seconds: float, d: Deferred) -> Deferred:
    """Fires True when ``d`` fires within ``seconds``, else False then (``d``
    goes on; its result is not this one's)."""
    out: Deferred = Deferred()

    def late() -> None:
        if not out.called:
            out.callback(False)

    call = clock.callLater(seconds, late)

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
        ids=ids, metrics=metrics, verify=verify,
    )


def build(config: Config, reactor: Any, out: TextIO = sys.stdout, node: str = "") -> Server:
    """The server on ``config``'s store; ``node``: this node's name
    ([cluster]), which on a PostgreSQL store makes it a node of a cluster:
    it resumes only its own messages, takes over dead nodes' and claims the
    receipts and MO of its receivers (``smsc.engine.cluster``), and shares
    max_binds, the rate, campaigns and callbacks with the other nodes
    (``smsc.engine.cluster_limits``)."""
    store = open_store(config.store)
    # several nodes may share a PostgreSQL store; a SQLite file has one
    cluster = bool(node) and is_url(target_of(config.store))
    lease = config.cluster.lease if cluster else 0.0
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
        timeout=config.http.callback_timeout, node=node, lease=lease,
    )
    if cluster:
        worker.node = node
        store.forget_node_binds(node)  # what a kill -9 of this node left
    callbacks.recover(store)  # before the engine resumes (and may finish) messages
    shared = cluster_store(store) if node else None
    cluster_node = None
    if shared is not None:
        cluster_node = ClusterNode(
            node=node, lease=config.cluster.lease, cluster=ClusterWorker(worker, shared), store=worker,
            clock=reactor, lifecycle=engine.lifecycle, receipts=engine.receipts, mo=engine.mo,
            operators=engine.operators,
        )
        resumed, owed = cluster_node.start(shared), 0  # owed receipts: claimed by nodes with receivers
    else:
        resumed, owed = engine.recover(store)
    if resumed or owed:
        print(f"smsc: recovered {resumed} unfinished messages and {owed} owed receipts", file=out, flush=True)
    worker.start()
    callbacks.start()
    engine.faults.read = worker.active_faults
    upstreams = [op for op in engine.operators.values() if isinstance(op, UpstreamOperator)]
    for upstream in upstreams:
        upstream.start()
    if upstreams:
        metrics.watch(UpstreamCollector(upstreams))
    timers = [
        every(reactor, RETENTION_SWEEP, False, expire_receipts, engine, worker, retention, cluster_node is not None),
        # MO rows written by `smsc mo inject` (also those a restart left undelivered);
        # a cluster node claims them with owed receipts, for the receivers bound to it
        every(reactor, MO_POLL, True, engine.poll_mo) if cluster_node is None
        else every(reactor, CLAIM_EVERY, False, cluster_node.claim),
        # faults added by `smsc fault add` / the admin API (smsc.faults)
        every(reactor, FAULT_POLL, True, engine.faults.poll),
        every(reactor, CAMPAIGN_TICK, True, CampaignRunner(
            engine, worker, config.billing.insufficient_funds_status, reactor.seconds, engine.sim.now,
            node=node, lease=lease).tick),
    ]
    if cluster_node is not None:  # dead nodes' work, every half lease (and at once)
        timers.append(every(reactor, config.cluster.lease / 2, True, cluster_node.take_over))
        metrics.watch(cluster_node)
    deliveries = Deliveries(engine.receipts, engine.mo)
    if cluster:  # max_binds and the rate across nodes; callbacks of nodes gone
        timers.append(every(reactor, BIND_SYNC, False, engine.share_limits(node, lease).sync))
        timers.append(every(reactor, CALLBACK_POLL, False, callbacks.adopt))
    factory = SmppFactory(
        engine, config.smpp, reactor, metrics,
        deliveries=deliveries if cluster_node is None else cluster_node.deliveries(deliveries),
        faults=engine.faults, reports=Reports(reactor.seconds, worker.save_client_reports),
    )
    timers.append(every(reactor, REPORTS_SAVE, False, factory.reports.save))  # type: ignore[union-attr]
    worker.on_commit.append(lambda writes, seconds, accounts: metrics.commit_latency.observe(seconds))
    worker.on_commit_failure.append(metrics.store_error)
    watch_state(metrics, engine, factory)
    return Server(
        config, store, worker, engine, factory, metrics, callbacks=callbacks, timers=timers, upstreams=upstreams,
        cluster_node=cluster_node,
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

    metrics.watch(GaugeCollector("smsc_faults_active", "Faults on demand now active, by kind.",
                                 ["kind"], engine.faults.gauge))
    metrics.watch(GaugeCollector("smsc_connections", "Open SMPP connections (plain and TLS), bound or not.",
                                 [], lambda: [((), len(factory.connections))]))
    metrics.watch(GaugeCollector("smsc_binds", "Bound sessions by account and bind type.",
                                 ["account", "bind_type"], binds))
    metrics.watch(GaugeCollector("smsc_receipt_backlog", "Receipts waiting for a receiver, by account.",
                                 ["account"], backlog))
    metrics.watch(GaugeCollector("smsc_operator_queue", "Messages an operator holds (scheduled or "
                                 "over its throughput) or has in its network.", ["operator", "where"], queues))


def serve(config: Config, reactor: Any = None, out: TextIO = sys.stdout) -> Server:
    """Lock the store and open the ports, then build, listen, and stop
    cleanly when the reactor stops. Another server on the store, a port
    that cannot be opened, or a TLS certificate that cannot be read, raises
    StartupError (one line naming the pid or the config keys) before the
    store is touched: no crash recovery run on a live store, no first
    account made whose password would be lost."""
    if reactor is None:
        from twisted.internet import reactor as default_reactor

        reactor = default_reactor
    # one server per SQLite file; PostgreSQL nodes share their database on purpose
    lock = None if config.store.url else lock_store(config.store.path)
    sockets: dict[str, Any] = {}
    try:
        # the certificate is read before any port opens: a bad one stops the start
        tls_options = _tls_options(config) if config.tls.cert else None
        _raise_open_files(config.smpp.max_connections)
        backlog = config.smpp.backlog
        sockets["smpp"] = bind(config.smpp.host, config.smpp.port, "[smpp]", backlog)
        if tls_options is not None:
            sockets["tls"] = bind(config.smpp.host, config.tls.port, "[tls]", backlog)
        if config.http.enabled:
            sockets["http"] = bind(config.http.host, config.http.port, "[http]")
    except StartupError:
        for sock in sockets.values():
            sock.close()
        if lock is not None:
            lock.release()
        raise
    node = node_name(config, sockets["smpp"].getsockname()[1])
    try:
        server = build(config, reactor, out, node)
    except BaseException:
        _close(sockets, lock)
        raise
    server.store_lock = lock
    try:
        _listen(server, config, reactor, sockets, node, tls_options, out)
    except BaseException:
        server.abandon()  # no thread left to keep a process alive that cannot serve
        _close(sockets, lock)
        raise
    return server


def _close(sockets: dict[str, Any], lock: StoreLock | None) -> None:
    for sock in sockets.values():
        if sock.fileno() != -1:
            sock.close()
    if lock is not None:
        lock.release()


def _listen(
    server: Server, config: Config, reactor: Any, sockets: dict[str, Any], node: str, tls_options: Any,
    out: TextIO,
) -> None:
    """``serve``'s last part: the built server on the sockets it bound."""
    reactor.addSystemEventTrigger("before", "shutdown", server.stop)
    wrap = _proxied if config.smpp.proxy_protocol else (lambda factory: factory)
    server.smpp_port = _adopt(reactor, sockets["smpp"], wrap(server.factory))
    host = server.smpp_port.getHost()
    server.start_heartbeat(reactor, node)
    print(f"smsc: SMPP listening on {host.host}:{host.port} (store {display_target(target_of(config.store))})",
          file=out, flush=True)
    if tls_options is not None:
        from .server.tls import TlsFactory

        server.tls_port = _adopt(reactor, sockets["tls"], wrap(TlsFactory(tls_options, server.factory)))
        t = server.tls_port.getHost()
        print(f"smsc: SMPP over TLS listening on {t.host}:{t.port} (cert {config.tls.cert})", file=out, flush=True)
    if config.http.enabled:
        from .web.deps import WebDeps
        from .web.ops import QuietScrapeSite
        from .web.root import http_root

        engine, callbacks = server.engine, server.callbacks
        assert callbacks is not None  # build makes one
        site = QuietScrapeSite(http_root(WebDeps(
            engine=engine, store=server.worker, config=config, metrics=server.metrics,
            health=server.health, watch_dlr=callbacks.watch, sim_now=engine.sim.now,
        )))
        site.noisy = False
        server.http_port = _adopt(reactor, sockets["http"], site)
        h = server.http_port.getHost()
        print(f"smsc: HTTP listening on {h.host}:{h.port} (/metrics, /health, /api/v1, /reports)",
              file=out, flush=True)


def _proxied(factory: Any) -> Any:
    """``factory`` behind the PROXY protocol ([smpp] proxy_protocol): the
    client's address comes from the balancer's header (smsc.server.proxy)."""
    from .server.proxy import ProxyFactory

    return ProxyFactory(factory)


def _adopt(reactor: Any, sock: Any, factory: Any) -> Any:
    """Serve ``factory`` on a socket :func:`~smsc.startup.bind` opened (the
    reactor takes a duplicate of it; ours is closed)."""
    try:
        return reactor.adoptStreamPort(sock.fileno(), sock.family, factory)
    finally:
        sock.close()


def _tls_options(config: Config) -> Any:
    """[tls] cert and key as Twisted's certificate options (smsc.server.tls)."""
    from .server.tls import TlsConfigError, certificate_options

    try:
        return certificate_options(config.tls.cert, config.tls.key)
    except TlsConfigError as exc:
        raise StartupError(str(exc)) from None


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
