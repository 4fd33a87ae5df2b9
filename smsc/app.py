"""Composition root: builds the parts from a Config and starts listening.

The only place that knows every part; each part gets what it needs passed
in (no globals), so tests build the same graph with a fake clock or a
temporary store.
"""
from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from typing import Any, TextIO

from twisted.internet.defer import Deferred, DeferredList, inlineCallbacks

from .accounts.passwords import generate_password, hash_password
from .accounts.throttle import BindThrottle
from .config import Config
from .engine import Engine
from .records import Account
from .server.protocol import SmppFactory
from .store.sqlite import Store
from .store.worker import StoreWorker

log = logging.getLogger(__name__)


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
    smpp_port: Any = None

    @inlineCallbacks
    def stop(self) -> Any:
        """Graceful stop: no new binds, unbind everyone, commit, close."""
        if self.smpp_port is not None:
            yield self.smpp_port.stopListening()
        unbinds = [p.unbind() for p in list(self.factory.connections)]
        if unbinds:
            timeout: Deferred = Deferred()
            call = self.engine_clock.callLater(2.0, timeout.callback, None)
            yield DeferredList([DeferredList(unbinds), timeout], fireOnOneCallback=True)
            if call.active():
                call.cancel()
            for p in list(self.factory.connections):
                p.transport.abortConnection()
        yield self.worker.stop()
        self.store.close()
        log.info("stopped")

    @property
    def engine_clock(self) -> Any:
        return self.factory.clock


def build(config: Config, reactor: Any, out: TextIO = sys.stdout) -> Server:
    store = Store(config.store.path, config.store.synchronous)
    ensure_first_account(store, config, out)
    worker = StoreWorker(store, reactor)
    engine = Engine(
        config=config,
        store=worker,
        clock=reactor,
        throttle=BindThrottle(
            config.accounts.max_bind_failures, config.accounts.bind_failure_window, reactor.seconds
        ),
        first_id=first_message_id(store, time.time()),
    )
    resumed, owed = engine.recover(store)
    if resumed or owed:
        print(f"smsc: recovered {resumed} unfinished messages and {owed} owed receipts", file=out, flush=True)
    worker.start()
    factory = SmppFactory(engine, config.smpp, reactor)
    return Server(config, store, worker, engine, factory)


def serve(config: Config, reactor: Any = None, out: TextIO = sys.stdout) -> Server:
    """Build, listen, and stop cleanly when the reactor stops."""
    if reactor is None:
        from twisted.internet import reactor as default_reactor

        reactor = default_reactor
    server = build(config, reactor, out)
    server.smpp_port = reactor.listenTCP(config.smpp.port, server.factory, interface=config.smpp.host)
    host = server.smpp_port.getHost()
    print(f"smsc: SMPP listening on {host.host}:{host.port} (store {config.store.path})", file=out, flush=True)
    reactor.addSystemEventTrigger("before", "shutdown", server.stop)
    return server
