"""What the HTTP handlers may use: a small dependency object, not the
composition root.

``smsc.app.serve`` builds one ``WebDeps`` and hands it to ``http_root``;
every route handler and resource under ``smsc.web`` gets it and nothing
else, so no module here imports ``smsc.app`` (the parts it needs are
named, and a test can build them from fakes). Where a handler needs one
answer from an engine internal, it gets a narrow callable (``sim_now``)
rather than the internal itself (``engine.sim``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

    from ..config import Config
    from ..engine import SmscEngine
    from ..metrics import Metrics
    from ..store.port import StorePort


@dataclass(frozen=True, slots=True)
class WebDeps:
    #: the business rules: submit, accounts, the login throttle
    engine: "SmscEngine"
    #: the store, on its thread
    store: "StorePort"
    config: "Config"
    #: the registry /metrics exposes
    metrics: "Metrics"
    #: /health's check: fires with named booleans (listeners up, store writable, ...)
    health: "Callable[[], Deferred[dict[str, Any]]]"
    #: (message number, its id as the client sees it, dlr_url): POST the
    #: message's status there once it is final (smsc.dlr.callbacks)
    watch_dlr: Callable[[int, str, str], None]
    #: the simulation clock's now (stored message times are simulation times)
    sim_now: Callable[[], float]
