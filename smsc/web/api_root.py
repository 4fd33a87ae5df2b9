"""``/api``: every route of the HTTP API behind one resource (see api.py); ``/xml``: the
account routes again, with XML bodies (xml_api.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import api_admin, api_bases, api_faults, api_messages, openapi
from .api import ApiResource
from .api_auth import ApiAuth

if TYPE_CHECKING:
    from .deps import WebDeps

ROUTES = (*api_messages.ROUTES, *api_bases.ROUTES, *api_admin.ROUTES, *api_faults.ROUTES, *openapi.ROUTES)


#: the XML API's routes (``/xml``, smsc.web.xml_api): an account's own, not the operators'
XML_ROUTES = (*api_messages.ROUTES, *api_bases.ROUTES)


def xml_resource(deps: "WebDeps") -> ApiResource:
    auth = ApiAuth(deps.engine, deps.store, deps.config.http.admin_token_sha256)
    return ApiResource(deps, XML_ROUTES, auth, xml=True)


def api_resource(deps: "WebDeps") -> ApiResource:
    auth = ApiAuth(deps.engine, deps.store, deps.config.http.admin_token_sha256)
    return ApiResource(deps, ROUTES, auth)
