"""The reports page at ``/reports``: accounts, campaigns, message search.

Plain server-rendered HTML (``smsc.web.reports_pages``), no JavaScript, for
the operators of the service. Every page needs the admin token (see
``smsc.web.auth``): a browser logs in once through the form at
``/reports/``, which puts the token in the ``smsc_admin`` cookie (HttpOnly,
SameSite=Strict, Path=/reports); scripts may send ``Authorization: Bearer``.

    GET  /reports/                  login form (to /reports/accounts when logged in)
    POST /reports/login             token=... -> cookie, 303 to /reports/accounts; 403 if wrong
    POST /reports/logout            clears the cookie, 303 to /reports/
    GET  /reports/accounts          accounts, balances, messages today
    GET  /reports/campaigns         campaigns with their status counts
    GET  /reports/campaigns/ID      one campaign, ?status=UNDELIV filters its recipients
    GET  /reports/messages          ?number=... messages to that number
    GET  /reports/clients/SID       ?since=SECONDS: the account's conformance report (its binds)
    GET  /reports/senders           customers' alpha-name applications
    POST /reports/senders/approve   system_id, name (csrf): the name is usable from now
    POST /reports/senders/reject    system_id, name, reason (csrf): the customer sees the reason

Without the token a page answers 303 to the login form (a person is sent
where they can log in; a script sees a redirect, not the data). With no
token configured (``[http] admin_token_sha256 = ""``) every page is a 403
saying so. Unknown paths and campaigns are 404 pages, bad input (a number
that is not one, an unknown status) a 400 page naming the field.

Store reads go through the store port (``StorePort``, on the store
thread); the page is written when they come back (NOT_DONE_YET).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from urllib.parse import quote
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from ..accounts.throttle import ADMIN
from ..campaigns import store as campaigns
from ..engine import utc_day
from ..router.numbers import RoutingError, normalise_loose
from ..server.conformance import summary
from .auth import ADMIN_COOKIE, bearer_token, token_matches
from .client_pages import binds_of, client_report, window
from .reports_data import AccountRow, MessageRow, account_rows, message_rows
from .reports_pages import (
    MESSAGE_LIMIT, accounts_page, campaign_page, campaigns_page, client_page, login_page, message_page,
    messages_page, senders_page,
)

if TYPE_CHECKING:
    from .deps import WebDeps

log = logging.getLogger(__name__)

#: the URL prefix the cookie is limited to; the tree mounts us there
BASE = "/reports"

#: what a page may do in the browser: no scripts, no frames, forms to us only
_HEADERS = {
    b"content-type": b"text/html; charset=utf-8",
    b"cache-control": b"no-store",
    b"content-security-policy":
        b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
}

#: RFC 6265 cookie-octets: a token outside them cannot be kept in the cookie
_COOKIE_SAFE = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+")

#: largest campaign id taken from a URL (SQLite INTEGER)
_MAX_ID = (1 << 63) - 1


class ReportsResource(Resource):
    """The whole ``/reports`` subtree in one leaf: the routes are few, and
    one ``render`` keeps the token check in one place."""

    isLeaf = True

    def __init__(self, deps: "WebDeps") -> None:
        super().__init__()
        self._deps = deps

    # --- routing ----------------------------------------------------------

    def render(self, request: Request) -> Any:
        for name, value in _HEADERS.items():
            request.setHeader(name, value)
        if not request.postpath:  # /reports: relative to /reports/ from here on
            return _redirect(request, f"{BASE}/")
        path = [p.decode("utf-8", "replace") for p in request.postpath]
        while len(path) > 1 and path[-1] == "":
            path.pop()  # /reports/accounts/ is /reports/accounts
        method = request.method.decode("ascii", "replace")
        expected = self._deps.config.http.admin_token_sha256
        if not expected:
            request.setResponseCode(403)
            return message_page(
                "Reports are off",
                "No admin token is configured: set [http] admin_token_sha256 to the SHA-256 "
                "of a token (smsc admin token makes one) and restart.",
            )
        if path in (["login"], ["logout"]):
            if method != "POST":
                return _not_allowed(request, "POST")
            return self._login(request, expected) if path == ["login"] else self._logout(request)
        admin = self._admin(request, expected)
        if admin is None:
            return _throttled(request)
        if path == [""]:
            return _redirect(request, f"{BASE}/accounts") if admin else login_page()
        if not admin:
            return _redirect(request, f"{BASE}/")
        if path[0] == "senders" and (method == "POST") == (len(path) == 2):
            return self._senders(request, path[1] if len(path) == 2 else "")
        if method not in ("GET", "HEAD"):
            return _not_allowed(request, "GET, HEAD")
        if path == ["accounts"]:
            return self._read(request, accounts_page, self._accounts(utc_day(time.time())))
        if path == ["campaigns"]:
            return self._read(request, campaigns_page, self._campaigns())
        if len(path) == 2 and path[0] == "campaigns":
            return self._campaign(request, path[1])
        if path == ["messages"]:
            return self._messages(request)
        if len(path) == 2 and path[0] == "clients":
            return self._client(request, path[1])
        request.setResponseCode(404)
        return message_page("Not found", f"No page {request.path.decode('utf-8', 'replace')}")

    # --- log in and out -----------------------------------------------------

    def _admin(self, request: Request, expected: str) -> bool | None:
        """The request carries the admin token (``Authorization: Bearer``
        or the cookie): True; none: False; a wrong one: False, counted in
        the login throttle as a wrong token on the API is (a cookie is a
        way to guess too); None while the address is throttled."""
        token = bearer_token(request)
        if token is None:
            cookie = request.getCookie(ADMIN_COOKIE)
            token = cookie.decode("utf-8", "replace") if cookie else None
        if token is None:
            return False
        return self._token_ok(request, token, expected)

    def _token_ok(self, request: Request, token: str, expected: str) -> bool | None:
        """``token`` is the admin token; a wrong one counts against the
        caller's address (and the admin token's own lock), as on the API."""
        throttle = self._deps.engine.throttle
        host = request.getClientAddress().host
        if throttle.blocked(host, ADMIN) is not None:
            return None
        if not token_matches(token, expected):
            throttle.failed(host, ADMIN)
            return False
        throttle.succeeded(host, ADMIN)
        return True

    def _login(self, request: Request, expected: str) -> bytes:
        token = _arg(request, "token").strip()
        if not token:
            request.setResponseCode(400)
            return login_page("token: enter the admin token")
        ok = self._token_ok(request, token, expected)
        if ok is None:
            return _throttled(request)
        if not ok:
            request.setResponseCode(403)
            return login_page("token: not the admin token")
        if not _COOKIE_SAFE.fullmatch(token):
            request.setResponseCode(400)
            return login_page(
                "token: it has characters a cookie cannot hold; send it as Authorization: Bearer instead"
            )
        request.addCookie(ADMIN_COOKIE, token.encode(), path=BASE.encode(), httpOnly=True, sameSite="strict")
        return _redirect(request, f"{BASE}/accounts")

    def _logout(self, request: Request) -> bytes:
        request.addCookie(
            ADMIN_COOKIE, b"", path=BASE.encode(), max_age="0", httpOnly=True, sameSite="strict",
            expires="Thu, 01 Jan 1970 00:00:00 GMT",
        )
        return _redirect(request, f"{BASE}/")

    # --- pages with data ----------------------------------------------------

    def _campaign(self, request: Request, ident: str) -> Any:
        if not (ident.isascii() and ident.isdigit() and 0 < int(ident) <= _MAX_ID):
            request.setResponseCode(404)
            return message_page("Not found", f"No campaign {ident!r}: a campaign id is a positive number")
        campaign_id = int(ident)
        status = _arg(request, "status").strip().upper()
        if status == "ALL":
            status = ""
        error = ""
        if status and status not in campaigns.STATUSES:
            request.setResponseCode(400)
            error = f"status: {status!r} is not one of All, {', '.join(campaigns.STATUSES)}"
            status = ""
        return self._read(request, lambda r: _campaign_or_404(request, campaign_id, r, status, error),
                          self._report(campaign_id, status or None))

    def _messages(self, request: Request) -> Any:
        typed = _arg(request, "number")
        if not typed.strip():
            return messages_page(typed)
        try:
            msisdn = normalise_loose(typed)
        except RoutingError as exc:
            request.setResponseCode(400)
            return messages_page(typed, error=f"number: {exc.detail}")
        return self._read(request, lambda rows: messages_page(typed, msisdn, rows), self._messages_to(msisdn))

    def _client(self, request: Request, system_id: str) -> Any:
        """What the account's SMPP client did wrong, per bind, over ``since``."""
        action = f"{BASE}/clients/{quote(system_id, safe='')}"
        try:
            since, start = window(_arg(request, "since"))
        except ValueError:
            request.setResponseCode(400)
            error = f"since: {_arg(request, 'since')!r} is not a number of seconds back"
            return client_page(system_id, client_report(_same, summary(system_id, []), "", action, error))

        async def read() -> dict[str, Any]:
            return summary(system_id, binds_of(await self._deps.store.client_reports(system_id, start)))

        return self._read(request, lambda r: client_page(system_id, client_report(_same, r, since, action)), read())

    def _senders(self, request: Request, decision: str) -> Any:
        """The customers' alpha-name applications; POST .../approve or .../reject
        (system_id, name, reason, csrf) decides a pending one."""
        csrf = _csrf(request)
        if not decision:
            return self._read(request, lambda apps: senders_page(apps, csrf), self._applications())
        if decision not in ("approve", "reject") or not hmac.compare_digest(_arg(request, "csrf"), csrf):
            request.setResponseCode(403 if decision in ("approve", "reject") else 404)
            return message_page("Refused", "the form expired or the page does not exist; reload the senders page")
        sid, name, reason = (_arg(request, k).strip() for k in ("system_id", "name", "reason"))
        if decision == "reject" and not reason:
            request.setResponseCode(400)
            return message_page("Reason needed", "reason: say why (the customer is shown it)")

        async def decide() -> bool:
            return await self._deps.store.decide_alpha(sid, name, decision == "approve", reason, time.time())

        return self._read(request, lambda _: _redirect(request, f"{BASE}/senders"), decide())

    async def _applications(self) -> list[Any]:
        return await self._deps.store.alpha_applications(None)

    # --- store reads (through the store port) --------------------------------

    async def _accounts(self, day: int) -> list[AccountRow]:
        return account_rows(await self._deps.store.accounts_usage(day))

    async def _campaigns(self) -> list[campaigns.CampaignSummary]:
        store = self._deps.store
        return campaigns.summaries(await store.list_campaigns(), await store.campaign_tallies())

    async def _report(
        self, campaign_id: int, status: str | None
    ) -> tuple[campaigns.CampaignSummary, list[campaigns.RecipientLine]] | None:
        store = self._deps.store
        c = await store.get_campaign(campaign_id)
        if c is None:
            return None
        return campaigns.report(c, await store.campaign_lines(campaign_id), status)

    async def _messages_to(self, msisdn: str) -> list[MessageRow]:
        store = self._deps.store
        found = await store.messages_to(msisdn, MESSAGE_LIMIT)
        accounts = {sid: await store.account(sid) for sid in {f.message.system_id for f in found}}
        return message_rows(found, accounts)

    def _read(self, request: Request, render: Callable[[Any], bytes], read: Coroutine[Any, Any, Any]) -> Any:
        """Run ``read`` (store reads), then write ``render(result)``; a
        store failure is a 503 page (and a log line)."""
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))

        def write(body: bytes) -> None:
            if not gone:
                request.write(body)
                request.finish()

        def failed(failure: Failure) -> None:
            log.error("reports: store read failed: %s", failure.getTraceback())
            request.setResponseCode(503)
            write(message_page("Store unavailable", f"Reading the store failed: {failure.getErrorMessage()}"))

        d: Deferred[Any] = Deferred.fromCoroutine(read)
        d.addCallback(render).addCallbacks(write, failed)
        return NOT_DONE_YET


def _campaign_or_404(request: Request, campaign_id: int, report: Any, status: str, error: str = "") -> bytes:
    if report is None:
        request.setResponseCode(404)
        return message_page("Not found", f"No campaign {campaign_id}")
    summary, lines = report
    return campaign_page(summary, [] if error else lines, status, error)


def _same(text: str) -> str:
    """The reports page is in English: its "gettext" is the text itself."""
    return text


def _csrf(request: Request) -> str:
    """The reports forms' CSRF token: derived from the admin token the
    request carries, so only a page served to its holder has it."""
    token = bearer_token(request) or (request.getCookie(ADMIN_COOKIE) or b"").decode("utf-8", "replace")
    return hashlib.sha256(b"smsc-reports-csrf\0" + token.encode()).hexdigest()


def _arg(request: Request, name: str) -> str:
    """The first value of a query or form field, "" when absent."""
    args: dict[bytes, list[bytes]] = request.args or {}
    values = args.get(name.encode())
    return values[0].decode("utf-8", "replace") if values else ""


def _throttled(request: Request) -> bytes:
    request.setResponseCode(429)
    return login_page("too many wrong tokens from this address (or against the admin token); try again later")


def _redirect(request: Request, to: str) -> bytes:
    """303 See Other: after a POST the browser GETs ``to``."""
    request.setResponseCode(303)
    request.setHeader(b"location", to.encode())
    return b""


def _not_allowed(request: Request, allow: str) -> bytes:
    request.setResponseCode(405)
    request.setHeader(b"allow", allow.encode())
    return message_page("Method not allowed", f"{request.method.decode('ascii', 'replace')}: use {allow}")
