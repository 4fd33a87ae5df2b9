"""The operations side of the HTTP listener: ``/metrics`` and ``/health``.

Thin twisted.web resources; what they report comes from the parts passed
in (the metrics registry, a health check), so they hold no rules.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from twisted.internet.defer import Deferred
from twisted.web import http
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from ..metrics import Metrics, NodeLabelled

log = logging.getLogger(__name__)


class QuietScrapeSite(Site):
    """twisted.web's Site, with the access-log line of a ``/metrics``
    scrape at DEBUG: Prometheus scrapes every few seconds, and an INFO line
    each time buries the log. Every other request is logged as before."""

    def log(self, request: http.Request) -> None:
        if request.path == b"/metrics":
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s", self._logFormatter(self._logDateTime, request))
            return
        super().log(request)


class MetricsResource(Resource):
    isLeaf = True

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()
        self._metrics = metrics

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", CONTENT_TYPE_LATEST.encode())
        m = self._metrics
        return generate_latest(NodeLabelled(m.registry, m.node) if m.node else m.registry)


class HealthResource(Resource):
    """200 with a small JSON when every check passes, 503 otherwise.

    ``check()`` fires with a dict of named booleans (listeners up, store
    writable, ...)."""

    isLeaf = True

    def __init__(self, check: Callable[[], "Deferred[dict[str, Any]]"]) -> None:
        super().__init__()
        self._check = check

    def render_GET(self, request: Request) -> Any:
        def answer(result: dict[str, Any]) -> None:
            ok = all(v is True for v in result.values() if isinstance(v, bool))
            request.setResponseCode(200 if ok else 503)
            request.setHeader(b"content-type", b"application/json")
            request.write(json.dumps({"status": "ok" if ok else "failing", **result}).encode())
            request.finish()

        def failed(failure: Any) -> None:
            request.setResponseCode(503)
            request.setHeader(b"content-type", b"application/json")
            request.write(json.dumps({"status": "failing", "error": failure.getErrorMessage()}).encode())
            request.finish()

        self._check().addCallbacks(answer, failed)
        return NOT_DONE_YET
