"""The HTTP listener's tree: one place that says which path serves what.

    /metrics   Prometheus exposition (smsc.web.ops)
    /health    JSON health check (smsc.web.ops)
    /api       the JSON HTTP API (smsc.web.api_root)
    /reports   the admin's reports page (smsc.web.reports)
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.web.resource import Resource

from .api_root import api_resource
from .ops import HealthResource, MetricsResource
from .reports import ReportsResource

if TYPE_CHECKING:
    from ..app import Server


def http_root(server: "Server") -> Resource:
    root = Resource()
    root.putChild(b"metrics", MetricsResource(server.metrics))
    root.putChild(b"health", HealthResource(server.health))
    root.putChild(b"api", api_resource(server))
    root.putChild(b"reports", ReportsResource(server))
    return root
