"""An account's number bases, campaigns and sender-name applications over HTTP.

The rules are ``smsc.web.customer``'s (the cabinet's too): a base is
uploaded once as CSV text, de-duplicated and checked as a campaign upload
is; campaigns are made from a base, costed, and started only when the
balance covers the estimate; another account's base or campaign answers
404 as a missing one does.
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred
from twisted.web.server import Request

from . import customer
from .api import Call, Reply, bad_field, route

if TYPE_CHECKING:
    from .deps import WebDeps



def _args(request: Request) -> dict[bytes, list[bytes]]:
    """The query or form fields (Twisted leaves ``args`` None on some requests)."""
    args: dict[bytes, list[bytes]] = request.args or {}
    return args

def _sid(call: Call) -> str:
    assert call.account is not None
    return call.account.system_id


def _run(work: Any) -> "Deferred[Reply]":
    return Deferred.fromCoroutine(work)


def _query(call: Call, name: str) -> str:
    values = _args(call.request).get(name.encode())
    return values[0].decode("utf-8", "replace") if values else ""


@route("GET", "/v1/bases", auth="account")
def list_bases(deps: "WebDeps", call: Call) -> Any:
    async def work() -> Reply:
        return Reply(200, {"bases": [customer.base_view(b) for b in await deps.store.list_bases(_sid(call))]})
    return _run(work())


@route("POST", "/v1/bases", auth="account")
def upload_base(deps: "WebDeps", call: Call) -> Any:
    name = call.value("name", str)
    csv_text = call.value("csv", str)
    phone_column = call.value("phone_column", str, required=False)

    async def work() -> Reply:
        up = await customer.upload_base(deps, _sid(call), name, csv_text.encode("utf-8"), phone_column)
        return Reply(201, {**customer.base_view(up.base), "summary": up.summary,
                           "invalid_rows": [{"line": i.line, "reason": i.reason} for i in up.group.invalid]})
    return _run(work())


@route("GET", "/v1/bases/{id}", auth="account")
def get_base(deps: "WebDeps", call: Call) -> Any:
    async def work() -> Reply:
        b = await customer.own_base(deps, _sid(call), customer.ident(call.params["id"], "id"))
        numbers = await deps.store.base_numbers(b.id)
        return Reply(200, {**customer.base_view(b),
                           "numbers": [{"msisdn": n.msisdn, "fields": dict(n.fields)} for n in numbers]})
    return _run(work())


@route("PATCH", "/v1/bases/{id}", auth="account")
def rename_base(deps: "WebDeps", call: Call) -> Any:
    name = call.value("name", str).strip()
    if not name:
        raise bad_field("name", "a base needs a name")

    async def work() -> Reply:
        b = await customer.own_base(deps, _sid(call), customer.ident(call.params["id"], "id"))
        await deps.store.rename_base(b.id, name)
        return Reply(200, customer.base_view(await customer.own_base(deps, _sid(call), b.id)))
    return _run(work())


@route("DELETE", "/v1/bases/{id}", auth="account")
def delete_base(deps: "WebDeps", call: Call) -> Any:
    async def work() -> Reply:
        b = await customer.own_base(deps, _sid(call), customer.ident(call.params["id"], "id"))
        await deps.store.delete_base(b.id)
        return Reply(200, {"id": b.id, "deleted": True})
    return _run(work())


@route("POST", "/v1/bases/{id}/numbers", auth="account")
def add_numbers(deps: "WebDeps", call: Call) -> Any:
    typed = call.strings("numbers")

    async def work() -> Reply:
        base_id = customer.ident(call.params["id"], "id")
        added = await customer.add_numbers(deps, _sid(call), base_id, typed)
        return Reply(200, {"added": added, "base": customer.base_view(await customer.own_base(deps, _sid(call),
                                                                                            base_id))})
    return _run(work())


@route("DELETE", "/v1/bases/{id}/numbers", auth="account")
def remove_numbers(deps: "WebDeps", call: Call) -> Any:
    typed = call.strings("numbers")

    async def work() -> Reply:
        base_id = customer.ident(call.params["id"], "id")
        removed = await customer.remove_numbers(deps, _sid(call), base_id, typed)
        return Reply(200, {"removed": removed, "base": customer.base_view(await customer.own_base(
            deps, _sid(call), base_id))})
    return _run(work())


@route("POST", "/v1/bases/{id}/clean", auth="account")
def clean_base(deps: "WebDeps", call: Call) -> Any:
    campaign = call.value("campaign", (int, str))

    async def work() -> Reply:
        base_id = customer.ident(call.params["id"], "id")
        removed = await customer.clean_base(deps, _sid(call), base_id, customer.ident(campaign, "campaign"))
        return Reply(200, {"removed": removed, "base": customer.base_view(await customer.own_base(
            deps, _sid(call), base_id))})
    return _run(work())


@route("GET", "/v1/campaigns", auth="account")
def list_campaigns(deps: "WebDeps", call: Call) -> Any:
    async def work() -> Reply:
        return Reply(200, {"campaigns": [customer.summary_view(s) for s in
                                         await customer.campaign_list(deps, _sid(call))]})
    return _run(work())


@route("POST", "/v1/campaigns", auth="account")
def create_campaign(deps: "WebDeps", call: Call) -> Any:
    base = call.value("base", (int, str))
    text = call.value("text", str)
    sender = call.value("from", str)
    name = call.value("name", str, required=False) or ""
    rate = call.value("rate", (int, Decimal), required=False)

    async def work() -> Reply:
        made = await customer.create_campaign(deps, _sid(call), customer.ident(base, "base"), text, sender, name,
                                              None if rate is None else float(rate))
        return Reply(201, {"id": made.campaign_id, "state": "draft", "estimate": customer.estimate_view(made.estimate),
                           "balance_covers": made.short is None,
                           "short_kopecks": 0 if made.short is None else made.short.short})
    return _run(work())


@route("GET", "/v1/campaigns/{id}", auth="account")
def get_campaign(deps: "WebDeps", call: Call) -> Any:
    async def work() -> Reply:
        c = await customer.own_campaign(deps, _sid(call), customer.ident(call.params["id"], "id"))
        return Reply(200, customer.summary_view(await customer.summary(deps, c), c))
    return _run(work())


@route("GET", "/v1/campaigns/{id}/recipients", auth="account")
def campaign_recipients(deps: "WebDeps", call: Call) -> Any:
    try:
        offset = int(_query(call, "offset") or 0)
        limit = int(_query(call, "limit") or customer.PAGE)
    except ValueError:
        raise bad_field("offset", "offset and limit are whole numbers") from None

    async def work() -> Reply:
        p = await customer.report_page(deps, _sid(call), customer.ident(call.params["id"], "id"),
                                       _query(call, "status"), offset, limit)
        return Reply(200, {"status": p.status or None, "offset": p.offset, "total": p.total,
                           "recipients": [customer.line_view(x) for x in p.lines]})
    return _run(work())


@route("POST", "/v1/campaigns/{id}/start", auth="account")
def start_campaign(deps: "WebDeps", call: Call) -> Any:
    raw = call.request.content.read() if call.request.content else b""
    call.request.content.seek(0) if call.request.content else None
    allow = bool(raw.strip()) and bool(call.value("allow_partial", bool, required=False))

    async def work() -> Reply:
        cid = customer.ident(call.params["id"], "id")
        await customer.start_campaign(deps, _sid(call), cid, allow)
        c = await customer.own_campaign(deps, _sid(call), cid)
        return Reply(200, customer.summary_view(await customer.summary(deps, c), c))
    return _run(work())


@route("POST", "/v1/campaigns/{id}/pause", auth="account")
def pause_campaign(deps: "WebDeps", call: Call) -> Any:
    async def work() -> Reply:
        cid = customer.ident(call.params["id"], "id")
        await customer.pause_campaign(deps, _sid(call), cid)
        c = await customer.own_campaign(deps, _sid(call), cid)
        return Reply(200, customer.summary_view(await customer.summary(deps, c), c))
    return _run(work())


@route("GET", "/v1/senders", auth="account")
def list_senders(deps: "WebDeps", call: Call) -> Any:
    async def work() -> Reply:
        return Reply(200, await customer.sender_names(deps, _sid(call)))
    return _run(work())


@route("POST", "/v1/senders", auth="account")
def apply_sender(deps: "WebDeps", call: Call) -> Any:
    name = call.value("name", str)

    async def work() -> Reply:
        return Reply(201, customer.application_view(await customer.apply_alpha(deps, _sid(call), name)))
    return _run(work())


ROUTES = (list_bases, upload_base, get_base, rename_base, delete_base, add_numbers, remove_numbers, clean_base,
          list_campaigns, create_campaign, get_campaign, campaign_recipients, start_campaign, pause_campaign,
          list_senders, apply_sender)
