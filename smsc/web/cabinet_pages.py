"""The customer cabinet's documents: records in, UTF-8 HTML out, in the
reader's language (``_``: a gettext of ``smsc.web.i18n``).

Pure functions, like the reports pages: ``smsc.web.cabinet`` reads the
store and picks the page. Every form that changes something carries the
session's CSRF token (``csrf``) as a hidden field; the resource checks it.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlencode

from ..accounts.money import format_uah
from ..campaigns.store import STATUSES, CampaignSummary, RecipientLine
from ..store.port import AlphaApplication, BaseNumber, Campaign, NumberBase
from . import svg
from .html import Html, esc, join, link, notice, table, tag, void, when
from .i18n import LANGUAGES, status_name
from .reports_data import MessageRow

T = Callable[[str], str]
BASE = "/cabinet"

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}
header{background:#163;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
header a{color:#fff}header form{margin:0}.grow{margin-left:auto}
main{padding:8px 16px}section{margin:12px 0}
table{border-collapse:collapse;margin:8px 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#efe}td.empty{color:#888}
.error{color:#a00;font-weight:bold}.info{color:#555}.ok{color:#070;font-weight:bold}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:bold}
form.inline{display:inline}label{margin-right:8px}
code{word-break:break-all;font-size:12px}
"""


def hidden(csrf: str) -> Html:
    return void("input", type="hidden", name="csrf", value=csrf)


def post_form(action: str, csrf: str, content: object, id_: str | None = None, multipart: bool = False,
              class_: str | None = None) -> Html:
    return tag("form", hidden(csrf) + esc(content), method="post", action=action, id=id_,
               enctype="multipart/form-data" if multipart else None, class_=class_)


def field(label: str, name: str, kind: str = "text", value: object = "", **attrs: object) -> Html:
    ident = attrs.pop("id_", name)
    return tag("label", Html(esc(label) + " ") + void("input", type=kind, name=name, id=ident, value=value or None,
                                                       **attrs))


def button(text: str, **attrs: object) -> Html:
    return tag("button", text, type="submit", **attrs)


def document(_: T, lang: str, here: str, title: str, body: object, *, csrf: str = "", who: str = "",
             flash: str = "", flash_kind: str = "ok") -> bytes:
    """A whole page; with ``who`` (logged in) the navigation and log-out button."""
    switch = join(link(f"{here}{'&' if '?' in here else '?'}lang={code}", code.upper()) for code in LANGUAGES
                  if code != lang)
    if who:
        header = tag("header", join([
            tag("strong", _("Customer cabinet")),
            link(f"{BASE}/home", _("Home")), link(f"{BASE}/bases", _("Number bases")),
            link(f"{BASE}/campaigns", _("Reports")), link(f"{BASE}/messages", _("Messages")),
            link(f"{BASE}/client", _("SMPP client")),
            tag("span", who, class_="grow", id="who"), tag("span", switch, id="lang"),
            post_form(f"{BASE}/logout", csrf, button(_("Log out"))),
        ]))
    else:
        header = tag("header", tag("strong", _("Customer cabinet")) + tag("span", switch, id="lang", class_="grow"))
    parts = [tag("h1", title)]
    if flash:
        parts.append(tag("p", flash, class_=flash_kind, id="flash", role="alert" if flash_kind == "error" else None))
    doc = Html("<!DOCTYPE html>") + tag("html", join([
        tag("head", join([void("meta", charset="utf-8"), tag("title", f"{title} - smsc"), tag("style", Html(_CSS))])),
        tag("body", header + tag("main", join(parts) + esc(body))),
    ]), lang=lang)
    return doc.encode("utf-8")


def login_page(_: T, lang: str, csrf: str, error: str = "") -> bytes:
    form = post_form(f"{BASE}/login", csrf, join([
        field(_("Login (system_id)"), "system_id", required=True, autofocus=True, autocomplete="username"),
        field(_("Password"), "password", "password", required=True, autocomplete="current-password"),
        button(_("Log in")),
    ]), id_="login")
    return document(_, lang, f"{BASE}/", _("Log in"), form, flash=error, flash_kind="error")


def status_label(_: T, word: str) -> str:
    """``UNDELIV (НЕДОСТАВЛЮВАНЕ)``: the stat code beside its name in the reader's language."""
    name = status_name(_, word)
    return word if name == word else f"{word} ({name})"


def home_page(_: T, balance_kopecks: int, senders: Sequence[str], applications: Sequence[AlphaApplication],
              csrf: str) -> Html:
    send = post_form(f"{BASE}/send", csrf, join([
        field(_("Sender"), "sender", value=senders[0] if senders else "", required=True, maxlength=11),
        field(_("Number"), "to", "tel", required=True, placeholder="+380 67 123 45 67"),
        field(_("Text"), "text", required=True, size=60),
        button(_("Send")),
    ]), id_="send")
    apply = post_form(f"{BASE}/senders", csrf, field(_("Name"), "name", required=True, maxlength=11)
                      + button(_("Apply")), id_="apply")
    apps = table((_("Name"), _("Status"), _("Reason")), [
        (a.name, f"{a.state} ({_('state:' + a.state)})", a.reason) for a in applications
    ], id_="applications", empty=_("nothing to show"))
    return join([
        tag("section", tag("h2", _("Balance")) + tag("p", f"{format_uah(balance_kopecks)} UAH", id="balance")),
        tag("section", tag("h2", _("Send an SMS")) + send),
        tag("section", join([tag("h2", _("Sender names")), tag("p", _("Usable now") + ": " + ", ".join(senders),
                                                                     id="senders"),
                             tag("h3", _("Apply for a personal alpha-name")), apply, tag("h3", _("Applications")),
                             apps])),
    ])


def bases_page(_: T, bases: Sequence[NumberBase], csrf: str) -> Html:
    upload = post_form(f"{BASE}/bases", csrf, join([
        field(_("Name"), "name", required=True), field(_("CSV file"), "csv", "file", required=True, accept=".csv"),
        button(_("Upload")),
    ]), id_="upload", multipart=True)
    rows = table(("id", _("Name"), _("Numbers"), _("Created")), [
        (link(f"{BASE}/bases/{b.id}", b.id), link(f"{BASE}/bases/{b.id}", b.name), b.size, when(b.created_at))
        for b in bases], id_="bases", empty=_("nothing to show"))
    return tag("section", tag("h2", _("Add a base")) + upload) + rows


def base_page(_: T, b: NumberBase, numbers: Sequence[BaseNumber], campaigns: Sequence[Campaign], senders:
              Sequence[str], csrf: str) -> Html:
    facts = join(tag("dt", k) + tag("dd", v, id=i) for k, v, i in [
        (_("Name"), b.name, "base-name"), (_("Numbers"), b.size, "base-size"),
        ("CSV", f"{b.rows_in} in, {b.rows_in - b.invalid - b.duplicates} kept, {b.duplicates} duplicates, "
         f"{b.invalid} invalid", "base-upload"),
    ])
    create = post_form(f"{BASE}/campaigns", csrf, join([
        void("input", type="hidden", name="base", value=b.id),
        field(_("Name"), "name", value=b.name),
        field(_("Sender"), "sender", value=senders[0] if senders else "", required=True, maxlength=11),
        field(_("Text"), "text", required=True, size=60, placeholder="#abonent_name#, ..."),
        button(_("Create")),
    ]), id_="create")
    options = join(tag("option", f"{c.id}: {c.name}", value=c.id) for c in campaigns)
    clean = post_form(f"{BASE}/bases/{b.id}/clean", csrf, tag("p", _(
        "Remove from the base the numbers that ended REJECTD or UNDELIV in the campaign"))
        + tag("label", Html(esc(_("Campaign")) + " ") + tag("select", options, name="campaign", id="campaign"))
        + button(_("Clean")), id_="clean")
    rename = post_form(f"{BASE}/bases/{b.id}/rename", csrf, field(_("Name"), "name", value=b.name, id_="rename-name")
                       + button(_("Rename")), class_="inline")
    delete = post_form(f"{BASE}/bases/{b.id}/delete", csrf, button(_("Delete")), class_="inline")
    others = [c for c in b.columns if c != b.phone_column]
    shown = table((_("Number"), *others), [(n.msisdn, *(n.fields.get(c, "") for c in others)) for n in numbers],
                  id_="numbers", empty=_("nothing to show"))
    return join([tag("dl", facts, id="summary"), tag("section", tag("h2", _("Create a mailing")) + create),
                 tag("section", tag("h2", _("Clean the base")) + clean), tag("section", rename + delete),
                 tag("h2", _("Numbers")), shown])


def campaigns_page(_: T, found: Sequence[CampaignSummary]) -> Html:
    return table(("id", _("Name"), _("Sender"), _("State"), _("Created"), _("Recipients"), _("Statuses"),
                  _("Cost, UAH")), [
        (link(f"{BASE}/campaigns/{c.id}", c.id), c.name, c.sender, _("state:" + c.state), when(c.created_at),
         c.recipients, ", ".join(f"{s} {n}" for s, n in c.counts.items() if n), format_uah(c.cost_kopecks))
        for c in found], id_="campaigns", empty=_("nothing to show"))


def campaign_page(
    _: T, c: Campaign, s: CampaignSummary, lines: Sequence[RecipientLine], status: str, offset: int, total: int,
    page_size: int, short_kopecks: int | None, per_second: Sequence[tuple[int, int]], csrf: str,
) -> Html:
    facts = join(tag("dt", k) + tag("dd", v, id=i) for k, v, i in [
        (_("Name"), c.name, "c-name"), (_("Sender"), c.sender, "c-sender"), (_("Text"), c.template, "c-text"),
        (_("State"), f"{c.state} ({_('state:' + c.state)})", "c-state"),
        (_("Recipients"), s.recipients, "c-recipients"),
        (_("Estimate, UAH"), format_uah(c.estimate_kopecks), "c-estimate"),
        (_("Cost, UAH"), format_uah(s.cost_kopecks), "c-cost"),
    ])
    if short_kopecks is None:
        money = tag("p", _("The balance covers the estimate"), class_="ok", id="funds")
    else:
        money = tag("p", _("The balance does not cover the estimate: %s UAH short") % format_uah(short_kopecks),
                    class_="error", id="funds")
    actions = Html("")
    if c.state in ("draft", "paused"):
        actions = post_form(f"{BASE}/campaigns/{c.id}/start", csrf, button(_("Start"), id="start"), class_="inline")
    elif c.state == "running":
        actions = post_form(f"{BASE}/campaigns/{c.id}/pause", csrf, button(_("Pause"), id="pause"), class_="inline")
    counts = table((_("Status"), "", _("Recipients")), [(st, status_name(_, st), s.counts.get(st, 0))
                                                      for st in STATUSES], id_="counts")
    options = join([tag("option", _("All"), value="", selected=not status)] + [
        tag("option", status_label(_, st), value=st, selected=st == status) for st in STATUSES])
    filt = tag("form", tag("label", Html(esc(_("Status")) + " ") + tag("select", options, name="status", id="status"))
               + button(_("Filter")), method="get", action=f"{BASE}/campaigns/{c.id}", id="filter")
    pages = max(1, -(-total // page_size))
    page_no = offset // page_size + 1

    def href(to: int) -> str:
        q = {"status": status} if status else {}
        if to:
            q["offset"] = str(to)
        return f"{BASE}/campaigns/{c.id}" + (f"?{urlencode(q)}" if q else "")

    nav = [tag("span", _("Page %(page)d of %(pages)d, %(total)d recipients") % {
        "page": page_no, "pages": pages, "total": total}, id="page")]
    if offset > 0:
        nav.append(link(href(max(0, offset - page_size)), _("Previous")))
    if offset + page_size < total:
        nav.append(link(href(offset + page_size), _("Next")))
    export = link(f"{BASE}/campaigns/{c.id}/export.csv" + (f"?{urlencode({'status': status})}" if status else ""),
                  _("Export CSV"))
    rows = table((_("Number"), _("Status"), _("Message id"), _("Text"), _("Detail"), _("Done (UTC)")), [
        (x.msisdn, status_label(_, x.status), x.message_id or "", x.text, x.detail, when(x.done_at)) for x in lines
    ], id_="recipients", empty=_("nothing to show"))
    return join([
        tag("dl", facts, id="summary"), money, actions,
        tag("section", tag("h2", _("Share of each status")) + svg.status_share(
            {st: n for st, n in s.counts.items()}, lambda w: status_name(_, w))),
        tag("section", tag("h2", _("Deliveries over time")) + svg.deliveries(per_second)),
        tag("h2", _("Statuses")), counts, tag("h2", _("Recipients")), filt,
        tag("p", join(nav, " · "), class_="info", id="pager"), tag("p", export, id="export"), rows,
    ])


def messages_page(_: T, typed: str, msisdn: str, rows: Sequence[MessageRow], error: str = "") -> Html:
    form = tag("form", field(_("Number"), "number", "search", typed, placeholder="+380 67 123 45 67")
               + button(_("Search")), method="get", action=f"{BASE}/messages", id="search")
    parts = [form]
    if error:
        parts.append(notice(error))
    elif msisdn:
        parts.append(table((_("Message id"), _("Sender"), _("Status"), _("Submitted (UTC)"), _("Done (UTC)"),
                            _("Segments"), _("Cost, UAH"), _("Text")), [
            (r.message_id, r.sender, status_label(_, r.status), when(r.submit_time), when(r.done_time), r.segments,
             format_uah(r.cost_kopecks), r.text) for r in rows], id_="messages", empty=_("nothing to show")))
    return join(parts)


def counts_of(found: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in found.items() if v)
