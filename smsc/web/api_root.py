"""``/api``: every route of the HTTP API behind one resource (see api.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import api_admin, api_messages, openapi
from .api import ApiResource
from .api_auth import ApiAuth

if TYPE_CHECKING:
    from ..app import Server

ROUTES = (*api_messages.ROUTES, *api_admin.ROUTES, *openapi.ROUTES)


def api_resource(server: "Server") -> ApiResource:
    auth = ApiAuth(server.engine, server.worker, server.config.http.admin_token_sha256)
    return ApiResource(server, ROUTES, auth)
