"""A client's conformance report as a page (README "Conformance report"):
``/reports/clients/SYSTEM_ID`` for the operator, ``/cabinet/client`` for the
customer's own account.

Pure functions, like the other pages: the resources read the stored binds
(``StorePort.client_reports``) and pass the ``summary`` of
``smsc.server.conformance`` here. Over the window asked for (``since``:
seconds back, 0 for every bind kept) the findings with their count, first
and last time, advice and one example PDU (hex, a bind's password already
masked when it was recorded), then each bind with its own findings. The
advice is today's sentence for the kind, in the reader's language.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..server.conformance import advice
from .html import Html, join, notice, table, tag, when

T = Callable[[str], str]

#: the windows offered (seconds back, label); the URL may ask for any other
WINDOWS = (("3600", "last hour"), ("86400", "last 24 hours"), ("604800", "last 7 days"), ("0", "all binds kept"))
DEFAULT_WINDOW = "86400"


def window(arg: str, now: float | None = None) -> tuple[str, float]:
    """``since`` as typed (seconds back; "" is the default) -> (it, the unix
    time binds are read from; 0.0 for all). ValueError for what is not a
    number of seconds."""
    arg = arg.strip() or DEFAULT_WINDOW
    seconds = float(arg)
    if seconds != seconds or seconds < 0:  # NaN or negative
        raise ValueError(arg)
    return arg, ((time.time() if now is None else now) - seconds) if seconds > 0 else 0.0


def binds_of(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """The stored reports (``ClientReport``) as the binds ``summary`` takes."""
    return [json.loads(r.body) for r in rows]


def _kinds(findings: list[dict[str, Any]]) -> str:
    return ", ".join(f"{f['kind']} ×{f['count']}" for f in findings)


def client_report(_: T, report: dict[str, Any], since: str, action: str, error: str = "") -> Html:
    """The window form, the findings over it, and the binds in it."""
    options = list(WINDOWS)
    if since not in {v for v, _label in options}:
        options.append((since, f"{since} s"))
    opts = join(tag("option", _(label), value=value, selected=value == since) for value, label in options)
    form = tag("form", tag("label", Html(_("Window") + " ") + tag("select", opts, name="since", id="since"))
               + Html(" ") + tag("button", _("Show"), type="submit"), method="get", action=action, id="window")
    binds, findings = report["binds"], report["findings"]
    parts = [form]
    if error:
        parts.append(notice(error))
    parts.append(notice(_("%(binds)d binds, %(findings)d kinds of findings")
                        % {"binds": len(binds), "findings": len(findings)}, "info"))
    parts.append(table(
        (_("Finding"), _("Count"), _("First (UTC)"), _("Last (UTC)"), _("Detail"), _("What to change"),
         _("Example PDU (hex)")),
        ((f["kind"], f["count"], when(f["first"]), when(f["last"]), f["detail"], _(advice(f["kind"]) or f["advice"]),
          tag("code", f["example"]) if f["example"] else "") for f in findings),
        id_="findings", empty=_("no findings: the client behaved"),
    ))
    parts.append(tag("h2", _("Binds")))
    parts.append(table(
        (_("Bind"), _("Type"), _("From"), _("Bound (UTC)"), _("Ended (UTC)"), _("Submits"), _("Findings")),
        # no end: live, or cut off by a crash after the last periodic save
        ((b["bind_id"], b["bind_type"], b["host"], when(b["bound_at"]),
          when(b["ended_at"]) or _("not ended at the last save"), b["submits"], _kinds(b["findings"]))
         for b in sorted(binds, key=lambda b: -b["bound_at"])),
        id_="binds", empty=_("no binds in this window"),
    ))
    return join(parts)
