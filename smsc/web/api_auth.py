"""Who is calling the HTTP API.

Account routes take either credential (README "HTTP API"):

- ``Authorization: Basic`` with the account's SMPP system_id and password,
  checked against the stored scrypt hash on a thread (slow on purpose).
  A success is remembered as an HMAC of (system_id, password) under a key
  drawn at start, next to the hash it matched, so the next request of the
  same client costs a microsecond instead of ~30 ms of scrypt; nothing
  kept can be turned back into a password, and a changed password (new
  hash) is verified afresh.
- ``X-API-Key: KEY`` (``smsc account apikey``): the store has only the
  key's SHA-256.

Missing or wrong credentials answer 401 with ``WWW-Authenticate: Basic``.
Admin routes need the admin token (``smsc.web.auth``) as
``Authorization: Bearer``; with none configured they answer 403.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from ..accounts.admin import api_key_sha256
from ..accounts.passwords import verify_password
from ..engine import Engine
from ..records import Account
from ..store.port import StorePort
from .api import ApiError, Call
from .auth import bearer_token, token_matches

#: remembered Basic credentials; past this many the memory starts over
_MAX_REMEMBERED = 10_000


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers=((b"www-authenticate", b'Basic realm="smsc"'),))


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
    def __init__(self, engine: Engine, worker: StorePort, admin_token_sha256: str) -> None:
        self._engine = engine
        self._worker = worker
        self._admin_sha256 = admin_token_sha256
        self._key = secrets.token_bytes(32)
        #: HMAC(system_id, password) -> the password hash it was verified against
        self._verified: dict[bytes, str] = {}

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
        # the header only, not the reports page's cookie: a cookie rides
        # along on cross-site requests (CSRF), a header does not
        if not token_matches(bearer_token(call.request), self._admin_sha256):
            raise ApiError(401, "unauthorized", "admin routes need 'Authorization: Bearer ADMIN_TOKEN'",
                           headers=((b"www-authenticate", b'Bearer realm="smsc"'),))

    def _account(self, call: Call) -> Deferred:
        key = call.request.getHeader("x-api-key")
        d: Deferred[Any]
        if key is not None:
            d = self._worker.api_key_owner(api_key_sha256(key))

            def owner(system_id: str | None) -> str:
                if system_id is None:
                    raise unauthorized("unknown API key")
                return system_id

            d.addCallback(owner)
        else:
            creds = basic_credentials(call.request.getHeader("authorization"))
            if creds is None:
                raise unauthorized("credentials needed: HTTP Basic (system_id, password) or X-API-Key")
            d = self._password(*creds, call.request.getClientAddress().host)

        def live(system_id: str) -> Deferred:
            return self._engine.account(system_id).addCallback(found, system_id)

        def found(account: Any, system_id: str) -> None:
            if account is None:
                raise unauthorized(f"no account {system_id}")
            call.account = account

        return d.addCallback(live)

    def _password(self, system_id: str, password: str, host: str) -> Deferred:
        """Fires with ``system_id`` when ``password`` is its password.
        Failures count against ``host`` in the engine's throttle, the one
        SMPP binds use (``[accounts] max_bind_failures`` in
        ``bind_failure_window``): past it, 429 until the window passes."""
        throttle = self._engine.throttle
        if throttle.blocked(host):
            raise ApiError(429, "throttled", "too many failed logins from this address; try again later")
        mark = hmac.new(self._key, f"{system_id}\0{password}".encode(), hashlib.sha256).digest()

        def check(account: Account | None) -> Any:
            if account is None:
                throttle.failed(host)
                raise unauthorized("wrong system_id or password")
            if self._verified.get(mark) == account.password_hash:
                return system_id
            return deferToThread(verify_password, password, account.password_hash).addCallback(
                decide, account.password_hash)

        def decide(ok: bool, password_hash: str) -> str:
            if not ok:
                throttle.failed(host)
                raise unauthorized("wrong system_id or password")
            throttle.succeeded(host)
            if len(self._verified) >= _MAX_REMEMBERED:
                self._verified.clear()
            self._verified[mark] = password_hash
            return system_id

        return self._worker.account(system_id).addCallback(check)
