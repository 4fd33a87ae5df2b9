"""Who is calling the HTTP API.

Account routes take either credential (README "HTTP API"):

- ``Authorization: Basic`` with the account's SMPP system_id and password,
  checked by the engine's login (``smsc.engine.auth``), the check and the
  failure throttle an SMPP bind has; a verified pair is remembered there,
  so a client sending it with every request pays scrypt once.
- ``X-API-Key: KEY`` (``smsc account apikey``): the store has only the
  key's SHA-256.

Missing or wrong credentials answer 401 with ``WWW-Authenticate: Basic``.
Admin routes need the admin token (``smsc.web.auth``) as
``Authorization: Bearer``; with none configured they answer 403.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from ..accounts.admin import api_key_sha256
from ..engine import SmscEngine
from ..engine.auth import AddressNotAllowed, check_address
from ..pdu.constants import CommandStatus
from ..pdu.errors import SmppError
from ..store.port import StorePort
from .api import ApiError, Call
from ..accounts.throttle import ADMIN
from .auth import bearer_token, token_matches

def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers=((b"www-authenticate", b'Basic realm="smsc"'),))


def throttled() -> ApiError:
    return ApiError(429, "throttled", "too many failed logins from this address or against this account; "
                    "try again later")


def address_refused(exc: AddressNotAllowed) -> ApiError:
    return ApiError(403, "address_not_allowed", f"the account may not log in from {exc.host} (its IP allowlist)")


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(system_id, password) of an ``Authorization: Basic`` header, if any."""
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    system_id, colon, password = decoded.partition(":")
    return (system_id, password) if colon else None


class ApiAuth:
    def __init__(self, engine: SmscEngine, worker: StorePort, admin_token_sha256: str) -> None:
        self._engine = engine
        self._worker = worker
        self._admin_sha256 = admin_token_sha256

    def check(self, kind: str, call: Call) -> Deferred | None:
        """Raise (or fail with) the ApiError refusing ``call``; for account
        routes, set ``call.account``."""
        if kind == "admin":
            self._admin(call)
            return None
        if kind == "account":
            return self._account(call)
        return None

    def _admin(self, call: Call) -> None:
        if not self._admin_sha256:
            raise ApiError(403, "admin_disabled",
                           "admin routes are off: no [http] admin_token_sha256 is configured "
                           "(make one with 'smsc admin token')")
        host = call.request.getClientAddress().host
        throttle = self._engine.throttle
        if throttle.blocked(host, ADMIN) is not None:
            raise throttled()
        # the header only, not the reports page's cookie: a cookie rides
        # along on cross-site requests (CSRF), a header does not
        if not token_matches(bearer_token(call.request), self._admin_sha256):
            throttle.failed(host, ADMIN)
            raise ApiError(401, "unauthorized", "admin routes need 'Authorization: Bearer ADMIN_TOKEN'",
                           headers=((b"www-authenticate", b'Bearer realm="smsc"'),))
        throttle.succeeded(host, ADMIN)

    def _account(self, call: Call) -> Deferred:
        key = call.request.getHeader("x-api-key")
        host = call.request.getClientAddress().host
        if key is None:
            creds = basic_credentials(call.request.getHeader("authorization"))
            if creds is None:
                raise unauthorized("credentials needed: HTTP Basic (system_id, password) or X-API-Key")
            d = self._password(*creds, host)
        else:
            if self._engine.throttle.blocked(host) is not None:
                raise throttled()
            d = self._worker.api_key_owner(api_key_sha256(key)).addCallback(self._key_owner, host)

        def found(account: Any) -> None:
            call.account = account

        return d.addCallback(found)

    def _key_owner(self, system_id: str | None, host: str) -> Deferred:
        if system_id is None:
            self._engine.throttle.failed(host)  # a key names no account: the address only
            raise unauthorized("unknown API key")

        def found(account: Any) -> Any:
            if account is None:
                raise unauthorized(f"no account {system_id}")
            try:
                check_address(account.record, host)
            except AddressNotAllowed as exc:
                raise address_refused(exc) from None
            return account

        return self._engine.account(system_id).addCallback(found)

    def _password(self, system_id: str, password: str, host: str) -> Deferred:
        """Fires with the live account when ``password`` is its password: the
        engine's login, the check SMPP binds make, with their throttle of
        failures per address (``[accounts] max_bind_failures`` in
        ``bind_failure_window``): past it, 429 until the window passes."""

        def refused(failure: Failure) -> None:
            failure.trap(SmppError)
            if isinstance(failure.value, AddressNotAllowed):
                raise address_refused(failure.value)
            if failure.value.status == CommandStatus.ESME_RBINDFAIL:
                raise throttled()
            raise unauthorized("wrong system_id or password")

        return self._engine.login(system_id, password, host).addErrback(refused)
