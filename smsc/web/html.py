"""Server-rendered HTML for the reports page: escaping, tables, forms, layout.

Everything a page shows passes through ``esc`` (numbers, account names,
message texts, CSV fields a customer uploaded), so a message text like
``<script>`` is shown, never run. Builders return ``Html``, a ``str``
subclass meaning "already safe": ``esc`` leaves it alone, so fragments nest
without double escaping and a plain ``str`` can never slip in unescaped.

No JavaScript and no external assets: the page works in any browser, and the
Content-Security-Policy the resources send forbids both anyway.
"""
from __future__ import annotations

import html
import time
from collections.abc import Iterable, Sequence


class Html(str):
    """Markup that is safe to emit as is. Adding a plain ``str`` escapes it,
    so ``Html + str`` stays safe (and stays ``Html``)."""

    __slots__ = ()

    def __add__(self, other: object) -> "Html":
        return Html(str.__add__(self, esc(other)))

    def __radd__(self, other: object) -> "Html":
        return Html(str.__add__(esc(other), self))


def esc(value: object) -> Html:
    """``value`` as safe text: ``Html`` unchanged, None as empty, the rest
    ``str()``-ed and escaped (quotes too, so it is safe in attributes)."""
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[object], sep: str = "") -> Html:
    return Html(esc(sep).join(esc(p) for p in parts))


def tag(element: str, content: object = "", /, **attrs: object) -> Html:
    """``<element attr="...">content</element>``; ``class_`` for ``class``, an
    attribute set to True is written bare, None/False left out."""
    return Html(f"<{element}{_attrs(attrs)}>{esc(content)}</{element}>")


def void(element: str, /, **attrs: object) -> Html:
    """An element without content (``input``, ``meta``)."""
    return Html(f"<{element}{_attrs(attrs)}>")


def _attrs(attrs: dict[str, object]) -> str:
    out = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        key = key.rstrip("_").replace("_", "-")
        out.append(f" {key}" if value is True else f' {key}="{esc(value)}"')
    return "".join(out)


def link(href: str, text: object) -> Html:
    return tag("a", text, href=href)


def when(ts: float | None) -> str:
    """A unix time as ``YYYY-MM-DD HH:MM:SS`` UTC; "" for None."""
    if ts is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], id_: str | None = None,
          empty: str = "nothing to show") -> Html:
    """A table; a row's cells are escaped unless they are ``Html``."""
    body = [tag("tr", join(tag("td", c) for c in row)) for row in rows]
    if not body:
        body = [tag("tr", tag("td", empty, colspan=len(headers), class_="empty"))]
    head = tag("thead", tag("tr", join(tag("th", h) for h in headers)))
    return tag("table", head + tag("tbody", join(body)), id=id_)


def select(name: str, options: Sequence[tuple[str, str]], chosen: str, label: str) -> Html:
    """A labelled ``<select>`` of (value, text) options, ``chosen`` selected."""
    opts = join(tag("option", text, value=value, selected=value == chosen) for value, text in options)
    return tag("label", Html(esc(label) + " ") + tag("select", opts, name=name, id=name))


def notice(text: object, kind: str = "error") -> Html:
    """A message on the page (bad input, nothing found)."""
    return tag("p", text, class_=kind, role="alert" if kind == "error" else None)


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}
header{background:#234;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center}
header a{color:#fff}header form{margin-left:auto}
main{padding:8px 16px}
table{border-collapse:collapse;margin:8px 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef}td.empty{color:#888}
.error{color:#a00;font-weight:bold}.info{color:#555}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:bold}
code{word-break:break-all;font-size:12px}
"""


def page(title: str, body: object, nav: bool = True) -> bytes:
    """A whole document, UTF-8 encoded; ``nav`` adds the links between the
    pages and the log-out button (not on the login form)."""
    header = Html("")
    if nav:
        header = tag("header", join([
            tag("strong", "smsc reports"),
            link("/reports/accounts", "Accounts"),
            link("/reports/campaigns", "Campaigns"),
            link("/reports/messages", "Messages"),
            link("/reports/senders", "Senders"),
            tag("form", tag("button", "Log out", type="submit"), method="post", action="/reports/logout"),
        ]))
    doc = Html("<!DOCTYPE html>") + tag("html", join([
        tag("head", join([
            void("meta", charset="utf-8"),
            tag("title", f"{title} - smsc"),
            tag("style", Html(_CSS)),
        ])),
        tag("body", header + tag("main", tag("h1", title) + esc(body))),
    ]), lang="en")
    return doc.encode("utf-8")
