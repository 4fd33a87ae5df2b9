"""The HTTP listener's tree: one place that says which path serves what.

    /metrics   Prometheus exposition (smsc.web.ops)
    /health    JSON health check (smsc.web.ops)
    /api       the JSON HTTP API (smsc.web.api_root)
    /xml       the same account routes in XML (smsc.web.xml_api)
    /reports   the admin's reports page (smsc.web.reports)
    /cabinet   the customer cabinet (smsc.web.cabinet)
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.web.resource import Resource

from .api_root import api_resource, xml_resource
from .cabinet import CabinetResource
from .ops import HealthResource, MetricsResource
from .reports import ReportsResource

if TYPE_CHECKING:
    from .deps import WebDeps


def http_root(deps: "WebDeps") -> Resource:
    root = Resource()
    root.putChild(b"metrics", MetricsResource(deps.metrics))
    root.putChild(b"health", HealthResource(deps.health))
    root.putChild(b"api", api_resource(deps))
    root.putChild(b"xml", xml_resource(deps))
    root.putChild(b"reports", ReportsResource(deps))
    root.putChild(b"cabinet", CabinetResource(deps))
    return root
