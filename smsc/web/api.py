"""The JSON HTTP API under ``/api``: routing, JSON in and out, errors.

The routes themselves live in ``api_messages`` (an account's own:
messages, balance) and ``api_admin`` (the operators'); this module only
finds the route for a method and path, checks who is calling
(``api_auth``), parses the JSON body and turns the handler's ``Reply`` or
``ApiError`` into a response. Every error is JSON::

    {"error": {"code": "invalid_destination", "message": "...",
               "field": "to", "smpp_status": "ESME_RINVDSTADR"}}

(``field`` and ``smpp_status`` only when they apply), so a client can
branch on ``code`` and show ``message``.
"""
from __future__ import annotations

import json
import logging
from http import HTTPStatus
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import maybeDeferred
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

if TYPE_CHECKING:
    from ..accounts.live import LiveAccount
    from .deps import WebDeps

log = logging.getLogger(__name__)

#: a request body larger than this is refused (413) unread
MAX_BODY = 64 * 1024


class ApiError(Exception):
    """A request refused: the HTTP status and the JSON error it answers."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None,
        smpp_status: str | None = None, headers: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.smpp_status = smpp_status
        self.headers = headers

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        if self.smpp_status is not None:
            error["smpp_status"] = self.smpp_status
        return {"error": error}


def bad_field(name: str, message: str) -> ApiError:
    return ApiError(400, "invalid_field", f"{name}: {message}", name)


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any


@dataclass
class Call:
    """One request as a handler sees it."""

    request: Request
    #: the ``{name}`` segments of the route's path
    params: dict[str, str]
    #: the calling account (routes with ``auth="account"``)
    account: "LiveAccount | None" = None
    #: the XML API (smsc.web.xml_api): the body is XML and field text is coerced
    xml: bool = False
    _body: Any = field(default=None, repr=False)

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (400 if it is not one). Numbers with a
        fraction come as Decimal, so money is never a float."""
        if self._body is None:
            raw = self.request.content.read(MAX_BODY + 1) if self.request.content else b""
            if len(raw) > MAX_BODY:
                raise ApiError(413, "body_too_large", f"the body is over {MAX_BODY} bytes")
            if self.xml:
                from .xml_api import XmlBodyError, parse

                if not raw.strip():
                    raise ApiError(400, "invalid_xml", "an XML body is needed")
                try:
                    self._body = parse(raw)
                except XmlBodyError as exc:
                    raise ApiError(400, "invalid_xml", str(exc)) from None
                return self._body
            if not raw.strip():
                raise ApiError(400, "invalid_json", "a JSON object body is needed")
            try:
                body = json.loads(raw, parse_float=Decimal)
            except (ValueError, RecursionError) as exc:
                raise ApiError(400, "invalid_json", f"the body is not JSON: {exc}") from None
            if not isinstance(body, dict):
                raise ApiError(400, "invalid_json", "the body must be a JSON object")
            self._body = body
        return self._body

    def value(self, name: str, kind: type | tuple[type, ...], required: bool = True) -> Any:
        """Body field ``name`` of type ``kind`` (None when optional and
        absent or null); 400 naming it when missing or of another type."""
        value = self.json().get(name)
        if value is None:
            if required:
                raise ApiError(400, "missing_field", f"{name} is required", name)
            return None
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if self.xml:
            from .xml_api import coerce

            value = coerce(value, kinds)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(_JSON_TYPES.get(k, k.__name__) for k in kinds)
            raise bad_field(name, f"expected {names}, got {_json_type(value)}")
        return value

    def strings(self, name: str) -> list[str]:
        """Body field ``name``: a non-empty list of strings."""
        value = self.value(name, list)
        if not value or not all(isinstance(v, str) for v in value):
            raise bad_field(name, "expected a non-empty array of strings")
        return value


_JSON_TYPES = {str: "string", int: "integer", Decimal: "number", float: "number", list: "array",
               dict: "object", bool: "boolean"}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


#: a route handler: (its dependencies, the call) -> Reply or Deferred[Reply]
Handler = Callable[["WebDeps", Call], Any]


@dataclass(frozen=True)
class Route:
    method: str
    #: path segments after /api, ``{name}`` for a parameter
    path: tuple[str, ...]
    handler: Handler
    #: "none" | "account" | "admin"
    auth: str

    def match(self, segments: list[str]) -> dict[str, str] | None:
        if len(segments) != len(self.path):
            return None
        params = {}
        for want, got in zip(self.path, segments, strict=True):
            if want.startswith("{"):
                if not got:
                    return None
                params[want[1:-1]] = got
            elif want != got:
                return None
        return params


def route(method: str, path: str, auth: str) -> Callable[[Handler], Route]:
    """Decorator: ``@route("GET", "/v1/messages/{id}", auth="account")``."""
    def make(handler: Handler) -> Route:
        return Route(method, tuple(path.strip("/").split("/")), handler, auth)
    return make


class ApiResource(Resource):
    """``/api``: dispatches to the routes; a leaf, so it sees the whole path."""

    isLeaf = True

    def __init__(self, deps: "WebDeps", routes: tuple[Route, ...], auth: Any, xml: bool = False) -> None:
        super().__init__()
        self._xml = xml
        self._deps = deps
        self._routes = routes
        self._auth = auth

    def render(self, request: Request) -> Any:
        try:
            segments = [s.decode("utf-8") for s in request.postpath or ()]
        except UnicodeDecodeError:
            segments = None
        if segments and segments[-1] == "":
            segments.pop()  # a trailing slash
        method = request.method.decode("ascii", "replace")
        found = self._find(method, segments or [])
        if isinstance(found, ApiError):
            _answer(request, found.status, found.body(), found.headers, self._xml)
            return NOT_DONE_YET
        r, params = found
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))
        call = Call(request, params, xml=self._xml)

        def handle(_: Any) -> Any:
            return r.handler(self._deps, call)

        def reply(result: Reply) -> None:
            if not gone:
                _answer(request, result.status, result.body, xml=self._xml)

        def failed(failure: Failure) -> None:
            if gone:
                return
            if failure.check(ApiError):
                err = failure.value
            else:
                log.error("HTTP %s %s failed: %s", method, "/".join(segments or []),
                          failure.getTraceback())
                err = ApiError(500, "internal_error", "the server failed to answer; see its log")
            _answer(request, err.status, err.body(), err.headers, self._xml)

        d = maybeDeferred(self._auth.check, r.auth, call)
        d.addCallback(handle).addCallbacks(reply, failed)
        return NOT_DONE_YET

    def _find(self, method: str, segments: list[str]) -> tuple[Route, dict[str, str]] | ApiError:
        allowed = []
        for r in self._routes:
            params = r.match(segments)
            if params is None:
                continue
            if r.method == method:
                return r, params
            allowed.append(r.method)
        if allowed:
            return ApiError(405, "method_not_allowed", f"use {', '.join(allowed)}",
                            headers=((b"allow", ", ".join(allowed).encode()),))
        return ApiError(404, "not_found", "no such route; see /api/v1/openapi.json")


def _answer(
    request: Request, status: int, body: Any, headers: tuple[tuple[bytes, bytes], ...] = (), xml: bool = False,
) -> None:
    # the standard reason phrase: twisted's own table lacks some (422 went out as "Unknown Status")
    request.setResponseCode(status, HTTPStatus(status).phrase.encode("ascii"))
    if xml:
        from .xml_api import render

        request.setHeader(b"content-type", b"application/xml")
        request.setHeader(b"cache-control", b"no-store")
        for name, value in headers:
            request.setHeader(name, value)
        request.write(render(json.loads(json.dumps(body, default=str))))
        request.finish()
        return
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-store")
    for name, value in headers:
        request.setHeader(name, value)
    request.write(json.dumps(body, default=str).encode())
    request.finish()
