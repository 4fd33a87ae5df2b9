"""The HTTP listener's tree: one place that says which path serves what.

    /metrics   Prometheus exposition (smsc.web.ops)
    /health    JSON health check (smsc.web.ops)
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.web.resource import Resource

from .ops import HealthResource, MetricsResource

if TYPE_CHECKING:
    from ..app import Server


def http_root(server: "Server") -> Resource:
    root = Resource()
    root.putChild(b"metrics", MetricsResource(server.metrics))
    root.putChild(b"health", HealthResource(server.health))
    return root
