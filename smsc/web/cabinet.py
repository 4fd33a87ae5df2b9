"""The customer cabinet at ``/cabinet``: a customer's own balance, number
bases, campaigns with their detailed reports, single sends, the message
search and sender-name applications (the FAQ's "особистий кабінет").

Plain server-rendered HTML (``smsc.web.cabinet_pages``), no JavaScript, the
reports page's strict Content-Security-Policy. Ukrainian or English
(``?lang=uk|en``, kept in the ``smsc_lang`` cookie; ``smsc.web.i18n``).

Logging in: system_id and password, checked by the engine's ``login`` (the
check and the failure throttle an SMPP bind has). A session is a random
token in the ``smsc_cabinet`` cookie (HttpOnly, SameSite=Strict,
Path=/cabinet) naming a server-side record in memory (a restart logs
everyone out); it ends on log-out or after ``SESSION_IDLE`` seconds unused.
Every form that changes something carries the session's CSRF token; the
login form a pre-session one (a cookie and a field that must match).

Every read and write goes through ``smsc.web.customer``, which only ever
touches the session account's own data: another account's base or campaign
is a 404 page, as a missing one.

    GET  /cabinet/                      login form (to /cabinet/home when logged in)
    POST /cabinet/login | /logout
    GET  /cabinet/home                  balance, single send, sender names
    POST /cabinet/send                  sender, to, text
    POST /cabinet/senders               name: apply for an alpha-name
    GET  /cabinet/bases                 bases, upload form;  POST: upload (multipart)
    GET  /cabinet/bases/ID              a base; POST .../clean, .../rename, .../delete
    POST /cabinet/campaigns             a draft from a base (base, name, sender, text)
    GET  /cabinet/campaigns             the reports list
    GET  /cabinet/campaigns/ID          ?status=&offset=: the detailed report, 100 a page
    GET  /cabinet/campaigns/ID/export.csv
    POST /cabinet/campaigns/ID/start | pause
    GET  /cabinet/messages              ?number=
    GET  /cabinet/client                ?since=SECONDS: what the account's SMPP client did wrong, per bind
"""
from __future__ import annotations

import csv
import hmac
import io
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from ..accounts.senders import senders_of
from ..pdu.constants import CommandStatus
from ..pdu.errors import SmppError
from ..router.numbers import RoutingError, normalise_loose
from ..server.conformance import summary
from ..submission import of_text
from . import cabinet_pages as pages
from . import customer
from .api import ApiError
from .api_messages import refusal_error
from .client_pages import binds_of, client_report, window
from .i18n import DEFAULT, LANGUAGES, gettext_for, status_name
from .reports_data import message_rows
from .reports_pages import MESSAGE_LIMIT

if TYPE_CHECKING:
    from .deps import WebDeps

log = logging.getLogger(__name__)

BASE = pages.BASE
SESSION_COOKIE = b"smsc_cabinet"
PRE_COOKIE = b"smsc_cabinet_login"
LANG_COOKIE = b"smsc_lang"
#: a session unused this long ends (seconds)
SESSION_IDLE = 8 * 3600
#: the largest base upload read (bytes)
MAX_UPLOAD = 16 * 1024 * 1024

_HEADERS = {
    b"content-type": b"text/html; charset=utf-8",
    b"cache-control": b"no-store",
    b"content-security-policy":
        b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
}


@dataclass
class Session:
    system_id: str
    csrf: str
    seen: float
    #: a one-time notice for the next page (what a POST did), and its kind
    flash: str = ""
    flash_kind: str = "ok"


class Sessions:
    """Sessions in memory: token -> Session. Tokens are 256 random bits."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._by_token: dict[str, Session] = {}
        self._clock = clock

    def new(self, system_id: str) -> tuple[str, Session]:
        now = self._clock()
        # sessions nobody came back to go when another one is made: memory stays bounded by active ones
        for old in [t for t, s in self._by_token.items() if now - s.seen > SESSION_IDLE]:
            del self._by_token[old]
        token = secrets.token_urlsafe(32)
        s = Session(system_id, secrets.token_urlsafe(24), now)
        self._by_token[token] = s
        return token, s

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        s = self._by_token.get(token)
        now = self._clock()
        if s is not None and now - s.seen > SESSION_IDLE:
            del self._by_token[token]
            return None
        if s is not None:
            s.seen = now
        return s

    def drop(self, token: str | None) -> None:
        if token:
            self._by_token.pop(token, None)



def _args(request: Request) -> dict[bytes, list[bytes]]:
    """The query or form fields (Twisted leaves ``args`` None on some requests)."""
    args: dict[bytes, list[bytes]] = request.args or {}
    return args

def _arg(request: Request, name: str) -> str:
    values = _args(request).get(name.encode())
    return values[0].decode("utf-8", "replace") if values else ""


def _cookie(request: Request, name: bytes) -> str | None:
    value = request.getCookie(name)
    return value.decode("ascii", "replace") if value else None


def _is_id(segment: str) -> bool:
    """A path segment that is a base or campaign id (SQLite INTEGER)."""
    return segment.isascii() and segment.isdigit() and 0 < int(segment) <= customer.MAX_ID


def _redirect(request: Request, to: str) -> bytes:
    request.setResponseCode(303)
    request.setHeader(b"location", to.encode())
    return b""


class CabinetResource(Resource):
    isLeaf = True

    def __init__(self, deps: "WebDeps") -> None:
        super().__init__()
        self._deps = deps
        self.sessions = Sessions()

    # --- routing ----------------------------------------------------------------

    def render(self, request: Request) -> Any:
        for name, value in _HEADERS.items():
            request.setHeader(name, value)
        if not request.postpath:
            return _redirect(request, f"{BASE}/")
        path = [p.decode("utf-8", "replace") for p in request.postpath]
        while len(path) > 1 and path[-1] == "":
            path.pop()
        lang = _arg(request, "lang")
        if lang in LANGUAGES:
            request.addCookie(LANG_COOKIE, lang.encode(), path=BASE.encode(), httpOnly=True, sameSite="strict")
        else:
            lang = _cookie(request, LANG_COOKIE) or DEFAULT
            lang = lang if lang in LANGUAGES else DEFAULT
        _ = gettext_for(lang)
        method = request.method.decode("ascii", "replace")
        token = _cookie(request, SESSION_COOKIE)
        session = self.sessions.get(token)
        if path == ["login"] and method == "POST":
            return self._login(request, _, lang)
        if path == [""]:
            if session is not None:
                return _redirect(request, f"{BASE}/home")
            return self._login_form(request, _, lang)
        if session is None:
            return _redirect(request, f"{BASE}/")
        here = request.uri.decode("utf-8", "replace").split("?", 1)[0]
        query = {k.decode(): v[0].decode("utf-8", "replace") for k, v in _args(request).items()
                 if k != b"lang" and method == "GET" and v}
        if query:
            from urllib.parse import urlencode
            here += "?" + urlencode(query)
        ctx = Ctx(request, session, _, lang, here)
        if method == "POST":
            if not hmac.compare_digest(_arg(request, "csrf").encode(), session.csrf.encode()):
                request.setResponseCode(403)
                return ctx.page(_("Not found"), pages.notice(_("The form expired; please try again")))
            if path == ["logout"]:
                self.sessions.drop(token)
                request.addCookie(SESSION_COOKIE, b"", path=BASE.encode(), max_age="0", httpOnly=True,
                                  sameSite="strict", expires="Thu, 01 Jan 1970 00:00:00 GMT")
                return _redirect(request, f"{BASE}/")
            action = _POSTS.get(tuple("ID" if _is_id(p) else p for p in path))
            if action is None:
                return self._not_found(ctx)
            return self._serve(ctx, action(self, ctx, *[int(p) for p in path if _is_id(p)]), post=True)
        if method not in ("GET", "HEAD"):
            request.setResponseCode(405)
            request.setHeader(b"allow", b"GET, HEAD, POST")
            return b""
        view = _GETS.get(tuple("ID" if _is_id(p) else p for p in path))
        if view is None:
            return self._not_found(ctx)
        return self._serve(ctx, view(self, ctx, *[int(p) for p in path if _is_id(p)]))

    def _not_found(self, ctx: "Ctx") -> bytes:
        ctx.request.setResponseCode(404)
        return ctx.page(ctx._("Not found"), pages.notice(ctx.request.path.decode("utf-8", "replace")))

    def _serve(self, ctx: "Ctx", work: Coroutine[Any, Any, bytes], post: bool = False) -> Any:
        """Run ``work`` (store reads and writes) and write what it returns.
        A refusal (ApiError): after a POST, back to the page with its message;
        on a GET, an error page with its status."""
        request = ctx.request
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))

        def write(body: bytes) -> None:
            if not gone:
                request.write(body)
                request.finish()

        def failed(failure: Failure) -> None:
            if failure.check(ApiError):
                e = failure.value
                if post:
                    ctx.session.flash, ctx.session.flash_kind = e.message, "error"
                    write(_redirect(request, ctx.back or f"{BASE}/home"))
                    return
                request.setResponseCode(e.status)
                write(ctx.page(ctx._("Not found") if e.status == 404 else str(e.status), pages.notice(e.message)))
                return
            log.error("cabinet: %s", failure.getTraceback())
            request.setResponseCode(503)
            write(ctx.page("503", pages.notice(failure.getErrorMessage())))

        d: Deferred[bytes] = Deferred.fromCoroutine(work)
        d.addCallbacks(write, failed)
        return NOT_DONE_YET

    # --- logging in -----------------------------------------------------------------

    def _login_form(self, request: Request, _: Callable[[str], str], lang: str, error: str = "") -> bytes:
        pre = secrets.token_urlsafe(24)
        request.addCookie(PRE_COOKIE, pre.encode(), path=BASE.encode(), httpOnly=True, sameSite="strict")
        return pages.login_page(_, lang, pre, error)

    def _login(self, request: Request, _: Callable[[str], str], lang: str) -> Any:
        pre = _cookie(request, PRE_COOKIE) or ""
        if not pre or not hmac.compare_digest(_arg(request, "csrf").encode(), pre.encode()):
            request.setResponseCode(403)
            return self._login_form(request, _, lang, _("The form expired; please try again"))
        system_id, password = _arg(request, "system_id").strip(), _arg(request, "password")
        host = request.getClientAddress().host

        def ok(live: Any) -> None:
            token, _s = self.sessions.new(live.system_id)
            request.addCookie(SESSION_COOKIE, token.encode(), path=BASE.encode(), httpOnly=True, sameSite="strict")
            request.write(_redirect(request, f"{BASE}/home"))
            request.finish()

        def refused(failure: Failure) -> None:
            failure.trap(SmppError)
            request.setResponseCode(429 if failure.value.status == CommandStatus.ESME_RBINDFAIL else 403)
            why = (_("Too many failed logins; try again later") if failure.value.status == CommandStatus.ESME_RBINDFAIL
                   else _("Wrong login or password"))
            request.write(self._login_form(request, _, lang, why))
            request.finish()

        self._deps.engine.login(system_id, password, host).addCallbacks(ok, refused)
        return NOT_DONE_YET

    # --- pages ----------------------------------------------------------------------

    async def home(self, ctx: "Ctx") -> bytes:
        sid, deps = ctx.session.system_id, self._deps
        live = await deps.engine.account(sid)
        account = await deps.store.account(sid)
        senders = list(senders_of(account, deps.config.accounts.universal_alpha)) if account else []
        apps = await deps.store.alpha_applications(sid)
        return ctx.page(ctx._("Home"), pages.home_page(ctx._, live.available if live else 0, senders, apps,
                                                       ctx.session.csrf))

    async def bases(self, ctx: "Ctx") -> bytes:
        found = await self._deps.store.list_bases(ctx.session.system_id)
        return ctx.page(ctx._("Number bases"), pages.bases_page(ctx._, found, ctx.session.csrf))

    async def base(self, ctx: "Ctx", base_id: int) -> bytes:
        sid, deps = ctx.session.system_id, self._deps
        b = await customer.own_base(deps, sid, base_id)
        numbers = (await deps.store.base_numbers(b.id))[:customer.PAGE]
        account = await deps.store.account(sid)
        senders = list(senders_of(account, deps.config.accounts.universal_alpha)) if account else []
        found = await deps.store.account_campaigns(sid)
        return ctx.page(f"{ctx._('Number bases')}: {b.name}",
                        pages.base_page(ctx._, b, numbers, found, senders, ctx.session.csrf))

    async def campaigns(self, ctx: "Ctx") -> bytes:
        found = await customer.campaign_list(self._deps, ctx.session.system_id)
        return ctx.page(ctx._("Reports"), pages.campaigns_page(ctx._, found))

    async def campaign(self, ctx: "Ctx", campaign_id: int) -> bytes:
        sid, deps = ctx.session.system_id, self._deps
        try:
            offset = max(0, int(_arg(ctx.request, "offset") or 0))
        except ValueError:
            offset = 0
        p = await customer.report_page(deps, sid, campaign_id, _arg(ctx.request, "status"), offset)
        c = await customer.own_campaign(deps, sid, campaign_id)
        short = None
        if c.state in ("draft", "paused"):
            from ..campaigns.estimate import shortfall

            live = await deps.engine.account(sid)
            found = shortfall(c.estimate_kopecks, live.available if live else 0, p.summary.cost_kopecks)
            short = None if found is None else found.short
        timeline = await deps.store.campaign_timeline(c.id, 1.0)
        per_second: dict[int, int] = {}
        for second, _stat, n in timeline:
            per_second[second] = per_second.get(second, 0) + n
        return ctx.page(f"{ctx._('Campaign')} {c.id}: {c.name}", pages.campaign_page(
            ctx._, c, p.summary, p.lines, p.status, p.offset, p.total, customer.PAGE, short,
            sorted(per_second.items()), ctx.session.csrf))

    async def export(self, ctx: "Ctx", campaign_id: int) -> bytes:
        sid, deps = ctx.session.system_id, self._deps
        first = await customer.report_page(deps, sid, campaign_id, _arg(ctx.request, "status"), 0, 1)
        c = await customer.own_campaign(deps, sid, campaign_id)
        where = customer.campaigns.status_filter(first.status) if first.status else None
        rows = await deps.store.campaign_lines_page(c.id, where, max(first.total, 1), 0)
        _, lines = customer.campaigns.report(c, rows)
        others = [k for k in c.columns if k != c.phone_column]
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator="\r\n")
        out.writerow(["msisdn", "status", "status_name", "message_id", "text", "detail", "done_at", *others])
        from .html import when

        out.writerows([x.msisdn, x.status, status_name(ctx._, x.status), x.message_id or "", x.text, x.detail,
                       when(x.done_at), *(x.fields.get(k, "") for k in others)] for x in lines)
        ctx.request.setHeader(b"content-type", b"text/csv; charset=utf-8")
        ctx.request.setHeader(b"content-disposition",
                              f'attachment; filename="campaign-{c.id}.csv"'.encode())
        return ("\ufeff" + buf.getvalue()).encode("utf-8")

    async def messages(self, ctx: "Ctx") -> bytes:
        typed = _arg(ctx.request, "number")
        rows: list[Any] = []
        msisdn = error = ""
        if typed.strip():
            try:
                msisdn = normalise_loose(typed)
            except RoutingError as exc:
                ctx.request.setResponseCode(400)
                error = f"{ctx._('Number')}: {exc.detail}"
            else:
                sid, store = ctx.session.system_id, self._deps.store
                found = await store.account_messages_to(sid, msisdn, MESSAGE_LIMIT)
                rows = message_rows(found, {sid: await store.account(sid)})
        return ctx.page(ctx._("Messages"), pages.messages_page(ctx._, typed, msisdn, rows, error))

    async def client(self, ctx: "Ctx") -> bytes:
        """The session account's own conformance report (never another's)."""
        sid, typed = ctx.session.system_id, _arg(ctx.request, "since")
        action = f"{BASE}/client"
        try:
            since, start = window(typed)
        except ValueError:
            ctx.request.setResponseCode(400)
            body = client_report(ctx._, summary(sid, []), "", action, f"{ctx._('Window')}: {typed!r}")
        else:
            body = client_report(ctx._, summary(sid, binds_of(await self._deps.store.client_reports(sid, start))),
                                 since, action)
        return ctx.page(ctx._("SMPP client"), body)

    # --- actions (POST, CSRF checked) -------------------------------------------------

    async def send(self, ctx: "Ctx") -> bytes:
        ctx.back = f"{BASE}/home"
        deps, sid = self._deps, ctx.session.system_id
        sender, to, text = (_arg(ctx.request, k).strip() for k in ("sender", "to", "text"))
        if not (sender and to and text):
            raise ApiError(400, "missing_field", f"{ctx._('Sender')}, {ctx._('Number')}, {ctx._('Text')}")
        try:
            to = normalise_loose(to)  # as people type it: +38 067 123 45 67, 0671234567
        except RoutingError as exc:
            raise ApiError(422, "invalid_destination", f"{ctx._('Number')}: {exc.detail}") from None
        try:
            submission = of_text(sender, to, text)
        except ValueError as exc:
            raise ApiError(422, "invalid_text", str(exc)) from None
        live = await deps.engine.account(sid)
        assert live is not None
        try:
            message_id = await deps.engine.send(live, submission)
        except SmppError as exc:
            raise refusal_error(exc, deps.config.billing.insufficient_funds_status) from None
        return ctx.done(ctx._("Message accepted: %s") % message_id)

    async def apply_sender(self, ctx: "Ctx") -> bytes:
        ctx.back = f"{BASE}/home"
        a = await customer.apply_alpha(self._deps, ctx.session.system_id, _arg(ctx.request, "name"))
        return ctx.done(f"{a.name}: {a.state} ({ctx._('state:' + a.state)})")

    async def upload(self, ctx: "Ctx") -> bytes:
        ctx.back = f"{BASE}/bases"
        data = (_args(ctx.request).get(b"csv") or [b""])[0]
        if len(data) > MAX_UPLOAD:
            raise ApiError(413, "body_too_large", f"CSV: over {MAX_UPLOAD} bytes")
        up = await customer.upload_base(self._deps, ctx.session.system_id, _arg(ctx.request, "name"), data)
        ctx.back = f"{BASE}/bases/{up.base.id}"
        return ctx.done(up.summary)

    async def clean(self, ctx: "Ctx", base_id: int) -> bytes:
        ctx.back = f"{BASE}/bases/{base_id}"
        removed = await customer.clean_base(self._deps, ctx.session.system_id, base_id,
                                            customer.ident(_arg(ctx.request, "campaign"), "campaign"))
        return ctx.done(f"-{removed}")

    async def rename(self, ctx: "Ctx", base_id: int) -> bytes:
        ctx.back = f"{BASE}/bases/{base_id}"
        b = await customer.own_base(self._deps, ctx.session.system_id, base_id)
        name = _arg(ctx.request, "name").strip()
        if not name:
            raise ApiError(400, "invalid_field", ctx._("Name"))
        await self._deps.store.rename_base(b.id, name)
        return ctx.done(name)

    async def delete(self, ctx: "Ctx", base_id: int) -> bytes:
        b = await customer.own_base(self._deps, ctx.session.system_id, base_id)
        await self._deps.store.delete_base(b.id)
        ctx.back = f"{BASE}/bases"
        return ctx.done(f"{b.name}: {ctx._('Delete')}")

    async def create(self, ctx: "Ctx") -> bytes:
        raw = _arg(ctx.request, "base")
        ctx.back = f"{BASE}/bases/{raw}" if raw.isdigit() else f"{BASE}/bases"
        made = await customer.create_campaign(
            self._deps, ctx.session.system_id, customer.ident(raw, "base"), _arg(ctx.request, "text"),
            _arg(ctx.request, "sender").strip(), _arg(ctx.request, "name"))
        ctx.back = f"{BASE}/campaigns/{made.campaign_id}"
        return ctx.done(made.estimate.summary())

    async def start(self, ctx: "Ctx", campaign_id: int) -> bytes:
        ctx.back = f"{BASE}/campaigns/{campaign_id}"
        await customer.start_campaign(self._deps, ctx.session.system_id, campaign_id)
        return ctx.done(ctx._("state:running"))

    async def pause(self, ctx: "Ctx", campaign_id: int) -> bytes:
        ctx.back = f"{BASE}/campaigns/{campaign_id}"
        await customer.pause_campaign(self._deps, ctx.session.system_id, campaign_id)
        return ctx.done(ctx._("state:paused"))


@dataclass
class Ctx:
    """One request as a page or action sees it."""

    request: Request
    session: Session
    _: Callable[[str], str]
    lang: str
    here: str
    #: where a POST's outcome is shown (set by the action before it can fail)
    back: str = ""

    def page(self, title: str, body: object) -> bytes:
        flash, kind = self.session.flash, self.session.flash_kind
        self.session.flash, self.session.flash_kind = "", "ok"
        return pages.document(self._, self.lang, self.here, title, body, csrf=self.session.csrf,
                              who=self.session.system_id, flash=flash, flash_kind=kind)

    def done(self, flash: str) -> bytes:
        """A POST went through: say so on the next page (303 See Other)."""
        self.session.flash, self.session.flash_kind = flash, "ok"
        return _redirect(self.request, self.back or f"{BASE}/home")


_GETS: dict[tuple[str, ...], Callable[..., Coroutine[Any, Any, bytes]]] = {
    ("home",): CabinetResource.home, ("bases",): CabinetResource.bases, ("bases", "ID"): CabinetResource.base,
    ("campaigns",): CabinetResource.campaigns, ("campaigns", "ID"): CabinetResource.campaign,
    ("campaigns", "ID", "export.csv"): CabinetResource.export, ("messages",): CabinetResource.messages,
    ("client",): CabinetResource.client,
}
_POSTS: dict[tuple[str, ...], Callable[..., Coroutine[Any, Any, bytes]]] = {
    ("send",): CabinetResource.send, ("senders",): CabinetResource.apply_sender, ("bases",): CabinetResource.upload,
    ("bases", "ID", "clean"): CabinetResource.clean, ("bases", "ID", "rename"): CabinetResource.rename,
    ("bases", "ID", "delete"): CabinetResource.delete, ("campaigns",): CabinetResource.create,
    ("campaigns", "ID", "start"): CabinetResource.start, ("campaigns", "ID", "pause"): CabinetResource.pause,
}
