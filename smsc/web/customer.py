"""What a customer may do with its own bases, campaigns and sender names,
over the store port: one set of rules behind the account API (JSON and XML)
and the cabinet.

Every function takes the calling account's ``system_id`` and touches only
what belongs to it: another account's base or campaign is as unknown as a
missing one (404 not_found), never shown nor changed. Refusals are
``ApiError`` (the API answers them as they are; the cabinet shows their
message); the rules themselves are the CLI's (``smsc.campaigns``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..accounts import admin
from ..accounts.money import format_uah
from ..campaigns import store as campaigns
from ..campaigns.estimate import Estimate, Shortfall, shortfall
from ..campaigns.group import Group, GroupError, parse_group
from ..campaigns.make import CampaignError, base_group, counts_line, make_campaign, new_base
from ..router.numbers import RoutingError, normalise_loose
from ..store.port import ALPHA_APPROVED, ALPHA_PENDING, AlphaApplication, BaseNumber, Campaign, NumberBase
from .api import ApiError, bad_field

if TYPE_CHECKING:
    from .deps import WebDeps

#: largest id taken from a URL or form (SQLite INTEGER)
MAX_ID = (1 << 63) - 1
#: recipients per report page, and the most a request may ask for
PAGE = 100
MAX_PAGE = 1000


def ident(text: str, what: str) -> int:
    """A positive id from a URL or a form field; 404 naming ``what`` otherwise."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not (isinstance(text, str) and text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID):
        raise ApiError(404, "not_found", f"no {what} {text!r}", what)
    return int(text)


def base_view(b: NumberBase) -> dict[str, Any]:
    return {"id": b.id, "name": b.name, "size": b.size, "rows_in": b.rows_in,
            "kept": b.rows_in - b.invalid - b.duplicates, "duplicates": b.duplicates, "invalid": b.invalid,
            "columns": list(b.columns), "phone_column": b.phone_column, "created_at": b.created_at}


async def own_base(deps: "WebDeps", sid: str, base_id: int) -> NumberBase:
    b = await deps.store.get_base(base_id)
    if b is None or b.system_id != sid:
        raise ApiError(404, "not_found", f"no base {base_id}", "id")
    return b


async def own_campaign(deps: "WebDeps", sid: str, campaign_id: int) -> Campaign:
    c = await deps.store.get_campaign(campaign_id)
    if c is None or c.system_id != sid:
        raise ApiError(404, "not_found", f"no campaign {campaign_id}", "id")
    return c


@dataclass(frozen=True)
class Uploaded:
    base: NumberBase
    group: Group

    @property
    def summary(self) -> str:
        return counts_line(self.group)


async def upload_base(deps: "WebDeps", sid: str, name: str, data: bytes, phone_column: str | None = None) -> Uploaded:
    """A base from CSV bytes, read as campaign uploads are (``parse_group``)."""
    name = name.strip()
    if not name:
        raise bad_field("name", "a base needs a name")
    try:
        group = parse_group(data, phone_column or None)
    except GroupError as exc:
        raise bad_field("csv", str(exc)) from None
    base_id = await deps.store.create_base(new_base(sid, name, group), time.time())
    return Uploaded(await own_base(deps, sid, base_id), group)


def numbers_of(typed: list[str], field: str = "numbers") -> list[str]:
    out = []
    for t in typed:
        try:
            out.append(normalise_loose(t))
        except RoutingError as exc:
            raise bad_field(field, f"{t!r}: {exc.detail}") from None
    return out


async def add_numbers(deps: "WebDeps", sid: str, base_id: int, typed: list[str]) -> int:
    b = await own_base(deps, sid, base_id)
    return await deps.store.add_base_numbers(b.id, [BaseNumber(m, {b.phone_column: m}) for m in numbers_of(typed)])


async def remove_numbers(deps: "WebDeps", sid: str, base_id: int, typed: list[str]) -> int:
    b = await own_base(deps, sid, base_id)
    return await deps.store.remove_base_numbers(b.id, numbers_of(typed))


async def clean_base(deps: "WebDeps", sid: str, base_id: int, campaign_id: int) -> int:
    """FAQ 13: remove from the base the numbers that ended REJECTD or UNDELIV
    in the campaign (the campaign's report is untouched)."""
    b = await own_base(deps, sid, base_id)
    try:
        c = await own_campaign(deps, sid, campaign_id)
    except ApiError:
        raise bad_field("campaign", f"no campaign {campaign_id}") from None
    return await deps.store.remove_base_numbers(b.id, campaigns.clean_numbers(await deps.store.campaign_base(c.id)))


@dataclass(frozen=True)
class Created:
    campaign_id: int
    estimate: Estimate
    #: what the balance lacks to start it, or None
    short: Shortfall | None


def estimate_view(cost: Estimate) -> dict[str, Any]:
    return {"recipients": cost.recipients, "sendable": cost.sendable, "blacklisted": cost.blacklisted,
            "unroutable": cost.unroutable, "too_long": cost.too_long, "segments": cost.segments,
            "kopecks": cost.kopecks, "uah": format_uah(cost.kopecks)}


async def create_campaign(
    deps: "WebDeps", sid: str, base_id: int, text: str, sender: str, name: str = "", rate: float | None = None,
) -> Created:
    """A draft to the base as it is now, checked and costed as ``smsc campaign create``."""
    b = await own_base(deps, sid, base_id)
    account = await deps.store.account(sid)
    if account is None:
        raise ApiError(404, "not_found", f"no account {sid}")
    group = base_group(b, await deps.store.base_numbers(b.id))
    blacklist = frozenset(await deps.store.blacklist(sid))
    try:
        new, cost = make_campaign(deps.config, account, blacklist, group, text=text, sender=sender,
                                  name=name.strip() or b.name, rate=rate)
    except CampaignError as exc:
        message = str(exc)
        field = "from" if message.startswith("--sender") else "rate" if message.startswith("--rate") else "text"
        raise ApiError(422, "invalid_campaign", message.removeprefix("--"), field) from None
    campaign_id = await deps.store.create_campaign(new, time.time())
    live = await deps.engine.account(sid)
    available = live.available if live is not None else account.balance_kopecks
    return Created(campaign_id, cost, shortfall(cost.kopecks, available))


async def summary(deps: "WebDeps", c: Campaign) -> campaigns.CampaignSummary:
    (s,) = campaigns.summaries([c], await deps.store.campaign_tally(c.id))
    return s


async def start_campaign(deps: "WebDeps", sid: str, campaign_id: int, allow_partial: bool = False) -> None:
    """draft or paused -> running, unless the balance does not cover the rest
    of the estimate (402, the CLI's ``shortfall`` rule) and not ``allow_partial``."""
    c = await own_campaign(deps, sid, campaign_id)
    if c.state in ("draft", "paused") and not allow_partial:
        live = await deps.engine.account(sid, fresh=True)
        available = live.available if live is not None else 0
        short = shortfall(c.estimate_kopecks, available, (await summary(deps, c)).cost_kopecks)
        if short is not None:
            raise ApiError(402, "insufficient_funds", short.describe(c.id, sid) + " (top up, or start it with "
                           "allow_partial to send what the balance covers)")
    if not await deps.store.set_campaign_state(c.id, ("draft", "paused"), "running", "", time.time()):
        raise ApiError(409, "conflict", f"campaign {c.id} is {c.state}: only a draft or a paused campaign starts")


async def pause_campaign(deps: "WebDeps", sid: str, campaign_id: int) -> None:
    c = await own_campaign(deps, sid, campaign_id)
    if not await deps.store.set_campaign_state(c.id, ("running",), "paused", "paused by hand", time.time()):
        raise ApiError(409, "conflict", f"campaign {c.id} is {c.state}: only a running campaign pauses")


@dataclass(frozen=True)
class ReportPage:
    summary: campaigns.CampaignSummary
    lines: list[campaigns.RecipientLine]
    #: the filter ("" all), the first line's index, the lines it has in all
    status: str
    offset: int
    total: int


def check_status(status: str) -> str:
    status = status.strip().upper()
    if status in ("", "ALL"):
        return ""
    if status not in campaigns.STATUSES:
        raise bad_field("status", f"{status!r} is not one of {', '.join(campaigns.STATUSES)}")
    return status


async def report_page(
    deps: "WebDeps", sid: str, campaign_id: int, status: str = "", offset: int = 0, limit: int = PAGE,
) -> ReportPage:
    """One page of a campaign's detailed report: LIMIT/OFFSET in the store."""
    status = check_status(status)
    c = await own_campaign(deps, sid, campaign_id)
    s = await summary(deps, c)
    total = s.counts.get(status, 0) if status else s.recipients
    offset = max(0, min(offset, max(total - 1, 0)))
    where = campaigns.status_filter(status) if status else None
    rows = await deps.store.campaign_lines_page(c.id, where, max(1, min(limit, MAX_PAGE)), offset)
    _, lines = campaigns.report(c, rows)
    return ReportPage(s, lines, status, offset, total)


def line_view(x: campaigns.RecipientLine) -> dict[str, Any]:
    return {"msisdn": x.msisdn, "status": x.status, "message_id": x.message_id, "text": x.text,
            "detail": x.detail, "done_at": x.done_at, "fields": dict(x.fields)}


def summary_view(s: campaigns.CampaignSummary, c: Campaign | None = None) -> dict[str, Any]:
    out = {"id": s.id, "name": s.name, "sender": s.sender, "text": s.template, "state": s.state,
           "created_at": s.created_at, "recipients": s.recipients, "counts": dict(s.counts),
           "cost_kopecks": s.cost_kopecks, "cost_uah": format_uah(s.cost_kopecks)}
    if c is not None:
        out.update(estimate_kopecks=c.estimate_kopecks, detail=c.detail)
    return out


async def campaign_list(deps: "WebDeps", sid: str) -> list[campaigns.CampaignSummary]:
    found = await deps.store.account_campaigns(sid)
    tallies = [t for c in found for t in await deps.store.campaign_tally(c.id)]
    return campaigns.summaries(found, tallies)


# --- sender names -------------------------------------------------------------------------


async def apply_alpha(deps: "WebDeps", sid: str, name: str) -> AlphaApplication:
    """A PENDING application for a personal alpha-name: unusable (the engine
    answers ESME_RINVSRCADR) until the operator approves it."""
    try:
        name = admin.alpha_name(name)
    except admin.AdminError as exc:
        raise bad_field("name", str(exc)) from None
    if not await deps.store.apply_alpha(sid, name, time.time()):
        found = {a.name: a for a in await deps.store.alpha_applications(sid)}
        state = found[name].state if name in found else ALPHA_PENDING
        raise ApiError(409, "conflict", f"alpha-name {name} is {state.lower()} already", "name")
    found = {a.name: a for a in await deps.store.alpha_applications(sid)}
    return found[name]


async def sender_names(deps: "WebDeps", sid: str) -> dict[str, Any]:
    """The names the account may send from now, and its applications."""
    from ..accounts.senders import senders_of

    account = await deps.store.account(sid)
    senders = list(senders_of(account, deps.config.accounts.universal_alpha)) if account else []
    return {"senders": senders, "applications": [application_view(a) for a in
                                                  await deps.store.alpha_applications(sid)]}


def application_view(a: AlphaApplication) -> dict[str, Any]:
    return {"system_id": a.system_id, "name": a.name, "state": a.state, "reason": a.reason,
            "applied_at": a.applied_at, "decided_at": a.decided_at, "usable": a.state == ALPHA_APPROVED}
