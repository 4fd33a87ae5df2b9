"""Who is calling: the admin token of the HTTP admin routes and reports page.

The config holds only the token's SHA-256 (``[http] admin_token_sha256``),
never the token: a leaked config file gives no access. A plain hash is
enough (no salt, no scrypt) because the token is 192 random bits, not a
password a person chose; it also keeps each check to a microsecond.

The token arrives as ``Authorization: Bearer TOKEN`` (API clients) or in
the ``smsc_admin`` cookie (the reports page sets it after its login form).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from twisted.web.server import Request

#: the reports page keeps the admin token in this cookie
ADMIN_COOKIE = b"smsc_admin"


def new_token() -> str:
    """A fresh admin token: 32 URL-safe characters (192 bits)."""
    return secrets.token_urlsafe(24)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str | None, expected_sha256: str) -> bool:
    """``token`` hashes to ``expected_sha256``; never when no token is
    configured (""). Constant-time comparison."""
    if not token or not expected_sha256:
        return False
    return hmac.compare_digest(token_sha256(token), expected_sha256.lower())


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    header = request.getHeader("authorization")  # str key: a str value
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None
