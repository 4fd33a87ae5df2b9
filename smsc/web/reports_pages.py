"""The reports page's documents: records in, UTF-8 HTML out.

Pure functions (no Twisted, no store), so each page is tested by rendering
it; ``smsc.web.reports`` decides which one a request gets and with what
status code.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from ..accounts.money import format_uah
from ..campaigns.store import STATUSES, CampaignSummary, RecipientLine
from .html import Html, join, link, notice, page, select, table, tag, void, when
from .reports_data import AccountRow, MessageRow

#: the most rows the message search shows
MESSAGE_LIMIT = 500


def login_page(error: str = "") -> bytes:
    form = tag("form", join([
        tag("label", Html("Admin token ") + void(
            "input", type="password", name="token", id="token", autocomplete="current-password",
            required=True, autofocus=True,
        )),
        Html(" "),
        tag("button", "Log in", type="submit"),
    ]), method="post", action="/reports/login")
    return page("Log in", (notice(error) if error else Html("")) + form, nav=False)


def message_page(title: str, text: str) -> bytes:
    """A page that only says something (not configured, not found)."""
    return page(title, notice(text), nav=False)


def accounts_page(rows: Sequence[AccountRow]) -> bytes:
    return page("Accounts", table(
        ("system_id", "mode", "balance, UAH", "sender names", "messages today (UTC)"),
        ((link(f"/reports/clients/{quote(r.system_id, safe='')}", r.system_id), r.mode,
          format_uah(r.balance_kopecks), ", ".join(r.alpha_names), r.sent_today)
         for r in rows),
        id_="accounts", empty="no accounts",
    ))


def client_page(system_id: str, body: object) -> bytes:
    """An account's conformance report (``smsc.web.client_pages``)."""
    return page(f"SMPP client {system_id}", body)


def counts_text(counts: Mapping[str, int]) -> str:
    """``DELIVRD 5, UNDELIV 1``: the non-zero counts in ``STATUSES`` order
    (a recipient's statuses, in the order a campaign moves through them)
    (any status outside it after them, so none is hidden)."""
    order = list(STATUSES) + sorted(set(counts) - set(STATUSES))
    return ", ".join(f"{s} {counts[s]}" for s in order if counts.get(s))


def campaigns_page(campaigns: Sequence[CampaignSummary]) -> bytes:
    return page("Campaigns", table(
        ("id", "name", "account", "sender", "state", "created (UTC)", "recipients", "statuses", "cost, UAH"),
        ((link(f"/reports/campaigns/{c.id}", c.id), c.name, c.system_id, c.sender, c.state,
          when(c.created_at), c.recipients, counts_text(c.counts), format_uah(c.cost_kopecks))
         for c in campaigns),
        id_="campaigns", empty="no campaigns",
    ))


def status_filter(action: str, chosen: str) -> Html:
    """The GET form that filters a campaign's recipients by status."""
    options = [("", "All")] + [(s, s) for s in STATUSES]
    return tag("form", select("status", options, chosen, "Status") + Html(" ")
               + tag("button", "Filter", type="submit"), method="get", action=action, id="filter")


def campaign_page(
    summary: CampaignSummary, lines: Sequence[RecipientLine], status: str, error: str = ""
) -> bytes:
    """A campaign's detailed report (the FAQ's): its summary, the count of
    every status, and every recipient with its status (only ``status``'s
    when one is chosen)."""
    c = summary
    facts = join(tag("dt", k) + tag("dd", v) for k, v in [
        ("name", c.name), ("account", c.system_id), ("sender", c.sender), ("text", c.template),
        ("state", c.state), ("created (UTC)", when(c.created_at)), ("recipients", c.recipients),
        ("cost, UAH", format_uah(c.cost_kopecks)),
    ])
    counts = table(("status", "recipients"), ((s, c.counts.get(s, 0)) for s in STATUSES), id_="counts")
    shown = f"{len(lines)} recipients" + (f" with status {status}" if status else "")
    body = join([
        tag("dl", facts, id="summary"),
        tag("h2", "Statuses"), counts,
        tag("h2", "Recipients"),
        status_filter(f"/reports/campaigns/{c.id}", status),
        notice(error) if error else notice(shown, "info"),
        table(
            ("number", "status", "message id", "text", "detail", "done (UTC)"),
            ((ln.msisdn, ln.status, ln.message_id or "", ln.text, ln.detail, when(ln.done_at))
             for ln in lines),
            id_="recipients", empty="no recipients" + (f" with status {status}" if status else ""),
        ),
    ])
    return page(f"Campaign {c.id}: {c.name}", body)


def messages_page(
    typed: str, msisdn: str = "", rows: Sequence[MessageRow] = (), error: str = ""
) -> bytes:
    """The search form; with ``msisdn`` the messages found for it (at most
    ``MESSAGE_LIMIT``, newest first), with ``error`` what was wrong with
    the number typed."""
    form = tag("form", join([
        tag("label", Html("Number ") + void(
            "input", type="search", name="number", id="number", value=typed,
            placeholder="+380 67 123 45 67",
        )),
        Html(" "),
        tag("button", "Search", type="submit"),
    ]), method="get", action="/reports/messages", id="search")
    parts = [form]
    if error:
        parts.append(notice(error))
    elif msisdn:
        capped = len(rows) >= MESSAGE_LIMIT
        parts.append(notice(
            f"{len(rows)} messages to +{msisdn}" + (f" (the newest {MESSAGE_LIMIT} shown)" if capped else ""),
            "info",
        ))
        parts.append(table(
            ("message id", "account", "sender", "status", "submitted (UTC)", "done (UTC)",
             "segments", "cost, UAH", "text"),
            ((r.message_id, r.system_id, r.sender, r.status, when(r.submit_time), when(r.done_time),
              r.segments, format_uah(r.cost_kopecks), r.text) for r in rows),
            id_="messages", empty=f"no messages to +{msisdn}",
        ))
    return page("Messages", join(parts))



def senders_page(applications: Sequence[Any], csrf: str) -> bytes:
    """The customers' alpha-name applications; a pending one has approve and
    reject (with a reason) buttons."""
    def actions(a: Any) -> Html:
        if a.state != "PENDING":
            return Html("")
        keys = join(void("input", type="hidden", name=k, value=v)
                    for k, v in (("csrf", csrf), ("system_id", a.system_id), ("name", a.name)))
        return join([
            tag("form", keys + tag("button", "Approve", type="submit"), method="post",
                action="/reports/senders/approve", class_="approve"),
            tag("form", keys + void("input", type="text", name="reason", placeholder="reason", required=True)
                + tag("button", "Reject", type="submit"), method="post", action="/reports/senders/reject",
                class_="reject"),
        ])

    return page("Sender names", table(
        ("account", "name", "state", "reason", "applied (UTC)", "decided (UTC)", ""),
        ((a.system_id, a.name, a.state, a.reason, when(a.applied_at), when(a.decided_at), actions(a))
         for a in applications),
        id_="applications", empty="no applications",
    ))
