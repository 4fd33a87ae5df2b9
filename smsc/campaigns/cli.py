"""``smsc campaign ...``: make, start and report campaigns from the command line.

    smsc campaign create --account SID (--csv FILE [--phone-column NAME] | --base ID | --from-campaign ID)
                         --sender NAME --text TEMPLATE [--name-column NAME] [--rate R]
                         [--name NAME] [--json]
    smsc campaign start ID [--allow-partial]   draft or paused -> running
    smsc campaign pause ID          running -> paused
    smsc campaign list [--json]
    smsc campaign status ID [--json]
    smsc campaign report ID [--status S] [--json | --csv]
    smsc campaign clean ID [--export FILE] [--remove]

Like the account commands these open the store directly and work while the
server runs (WAL): a started campaign is picked up by the server's runner
within a second. ``create`` refuses the whole campaign (nothing stored)
when a placeholder names no column or a recipient has no value for one:
a half-personalised mailing is worse than none.

Money: ``create`` warns (stderr) when the account's balance does not cover
the estimate, and makes the campaign all the same (a top-up may come before
the start); ``start`` refuses then, in one line, unless ``--allow-partial``
(the runner sends what the balance covers and pauses). One rule for both:
:func:`~smsc.campaigns.estimate.shortfall`.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from ..accounts.money import format_uah
from ..config import Config
from ..store.port import MessageStore
from . import store as campaigns
from .estimate import Estimate, shortfall
from .group import Group, GroupError, Recipient, parse_group
from .make import CampaignError, base_group, check_sender, make_campaign

__all__ = ["CampaignError", "add_parser", "run"]

def add_parser(subparsers: Any) -> None:
    """``campaign`` and its actions, under the ``smsc`` subparsers."""
    c = subparsers.add_parser("campaign", help="mass mailings from a CSV group") \
        .add_subparsers(dest="action", required=True)
    cr = c.add_parser("create", help="a draft campaign from a CSV (checked, de-duplicated, costed)")
    cr.add_argument("--account", required=True, metavar="SYSTEM_ID")
    source = cr.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv", metavar="FILE", help="UTF-8, ',' or ';', a header row naming the phone column")
    source.add_argument("--base", type=int, metavar="ID", help="a number base of the account (smsc base upload)")
    source.add_argument("--from-campaign", type=int, metavar="ID",
                        help="the recipients (and columns) of an earlier campaign, as cleaned")
    cr.add_argument("--phone-column", metavar="NAME", help="the phone column, when its name is not a usual one")
    cr.add_argument("--sender", required=True, help="alpha-name or number registered for the account")
    cr.add_argument("--text", required=True, metavar="TEMPLATE",
                    help="text with #column# placeholders; #abonent_name# (the FAQ's) is the name column")
    cr.add_argument("--name-column", metavar="NAME",
                    help="the column #abonent_name# stands for, when it is not called name, ім'я, ...")
    cr.add_argument("--rate", type=float, help="messages per second ([campaigns] rate)")
    cr.add_argument("--name", help="default: the CSV file's name")
    cr.add_argument("--json", action="store_true")
    sta = c.add_parser("start", help="start or resume sending")
    sta.add_argument("id", type=int)
    sta.add_argument("--allow-partial", action="store_true",
                     help="start although the balance does not cover the rest of the estimate")
    c.add_parser("pause", help="stop sending for now").add_argument("id", type=int)
    c.add_parser("list", help="all campaigns, newest first").add_argument("--json", action="store_true")
    st = c.add_parser("status", help="state and counts per status")
    st.add_argument("id", type=int)
    st.add_argument("--json", action="store_true")
    rp = c.add_parser("report", help="counts per status and every number's status")
    rp.add_argument("id", type=int)
    rp.add_argument("--status", type=str.upper, choices=campaigns.STATUSES, help="only numbers with this status")
    form = rp.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true")
    form.add_argument("--csv", action="store_true")
    cl = c.add_parser("clean", help="numbers whose status is REJECTD or UNDELIV: export and/or remove them")
    cl.add_argument("id", type=int)
    cl.add_argument("--export", metavar="FILE", help="write them to this CSV file")
    cl.add_argument("--remove", action="store_true", help="delete them from the campaign's base")


def run(args: argparse.Namespace, cfg: Config, store: MessageStore) -> int:
    """The campaign action of ``args`` on ``store`` (opened, and closed, by ``smsc``)."""
    return _ACTIONS[args.action](args, cfg, store)


# --- create -----------------------------------------------------------------------------


def _create(args: argparse.Namespace, cfg: Config, store: MessageStore) -> int:
    account = store.get_account(args.account)
    if account is None:
        raise CampaignError(f"no account {args.account}")
    check_sender(cfg, account, args.sender)
    group, name = _group(args, store, account.system_id)
    blacklist = frozenset(store.blacklist(account.system_id))
    new, cost = make_campaign(cfg, account, blacklist, group, text=args.text, sender=args.sender, name=name,
                              rate=args.rate, name_column=args.name_column)
    rate = new.rate
    campaign_id = campaigns.create_campaign(store, new)
    short = shortfall(cost.kopecks, account.balance_kopecks)
    if short is not None:
        print(f"smsc: warning: {short.describe(campaign_id, account.system_id)} (top up before "
              f"'smsc campaign start {campaign_id}', or start it with --allow-partial)", file=sys.stderr)
    if args.json:
        print(json.dumps({**_created_json(campaign_id, group, cost), "name": name, "rate": rate},
                         ensure_ascii=False))
        return 0
    print(upload_summary(group))
    for bad in group.invalid:
        print(f"  invalid {bad}")
    print(f"estimate: {cost.summary()}")
    per = ", ".join(f"{n} segment(s) x {k}" for n, k in cost.by_segments.items()) or "none"
    print(f"segments per recipient: {per}")
    print(f"campaign {campaign_id} created (draft, {rate:g} msg/s): start it with 'smsc campaign start {campaign_id}'")
    return 0


def upload_summary(group: Group) -> str:
    """The FAQ's "1000 in, 956 kept", with what happened to the rest."""
    return (
        f"{group.total_rows} in, {len(group.rows)} kept "
        f"({group.duplicates} duplicates removed, {len(group.invalid)} invalid)"
    )


def _group(args: argparse.Namespace, store: MessageStore, system_id: str) -> tuple[Group, str]:
    """The recipients from ``--csv``, ``--base`` or ``--from-campaign``, and the campaign's name."""
    if args.base is not None:
        b = store.get_base(args.base)
        if b is None or b.system_id != system_id:
            raise CampaignError(f"--base {args.base}: no such base of account {system_id}")
        return base_group(b, store.base_numbers(b.id)), args.name or b.name
    if args.from_campaign is not None:
        base = campaigns.get_campaign(store, args.from_campaign)
        if base is None:
            raise CampaignError(f"--from-campaign {args.from_campaign}: no such campaign")
        rows = tuple(Recipient(m, f, line) for m, f, line in campaigns.recipients_of(store, base.id))
        group = Group(base.columns, rows, len(rows), (), 0, base.phone_column)
        return group, args.name or base.name
    path = Path(args.csv)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CampaignError(f"--csv {args.csv}: {exc.strerror}") from None
    try:
        group = parse_group(data, args.phone_column)
    except GroupError as exc:
        raise CampaignError(f"{args.csv}: {exc}") from None
    return group, args.name or path.stem


def _created_json(campaign_id: int, group: Group, cost: Estimate) -> dict[str, Any]:
    return {
        "id": campaign_id, "state": "draft",
        "rows_in": group.total_rows, "kept": len(group.rows), "duplicates": group.duplicates,
        "invalid": [{"line": i.line, "reason": i.reason} for i in group.invalid],
        "estimate": {
            "recipients": cost.recipients, "sendable": cost.sendable, "blacklisted": cost.blacklisted,
            "unroutable": cost.unroutable, "too_long": cost.too_long, "segments": cost.segments,
            "kopecks": cost.kopecks, "uah": format_uah(cost.kopecks),
            "by_segments": {str(k): v for k, v in cost.by_segments.items()},
        },
    }


# --- state --------------------------------------------------------------------------------


def _campaign(store: MessageStore, campaign_id: int) -> campaigns.Campaign:
    c = campaigns.get_campaign(store, campaign_id)
    if c is None:
        raise CampaignError(f"no campaign {campaign_id}")
    return c


def _start(args: argparse.Namespace, cfg: Config, store: MessageStore) -> int:
    c = _campaign(store, args.id)
    if c.state in ("draft", "paused") and not args.allow_partial:
        account = store.get_account(c.system_id)
        available = account.balance_kopecks if account is not None else 0
        charged = _report_of(store, c.id)[0].cost_kopecks
        short = shortfall(c.estimate_kopecks, available, charged)
        if short is not None:
            raise CampaignError(
                f"{short.describe(c.id, c.system_id)} (smsc account topup {c.system_id} "
                f"{format_uah(short.short)}, or start it with --allow-partial to send what the balance covers)"
            )
    if not campaigns.set_state(store, c.id, ("draft", "paused"), "running"):
        raise CampaignError(f"campaign {c.id} is {c.state}: only a draft or a paused campaign starts")
    print(f"campaign {c.id}: running (a running server sends it at {c.rate:g} msg/s)")
    return 0


def _pause(args: argparse.Namespace, cfg: Config, store: MessageStore) -> int:
    c = _campaign(store, args.id)
    if not campaigns.set_state(store, c.id, ("running",), "paused", "paused by hand"):
        raise CampaignError(f"campaign {c.id} is {c.state}: only a running campaign pauses")
    print(f"campaign {c.id}: paused")
    return 0


# --- reports --------------------------------------------------------------------------------


def _summary_json(s: campaigns.CampaignSummary) -> dict[str, Any]:
    out = {f.name: getattr(s, f.name) for f in fields(s)}
    out["counts"] = dict(s.counts)
    out["cost_uah"] = format_uah(s.cost_kopecks)
    return out


def _counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "no recipients"


def _summary_line(s: campaigns.CampaignSummary) -> str:
    return (f"{s.id}\t{s.state}\t{s.name}\t{s.system_id}\t{s.recipients} recipients\t"
            f"{format_uah(s.cost_kopecks)} UAH\t{_counts_text(s.counts)}")


def _list(args: argparse.Namespace, cfg: Config, store: MessageStore) -> int:
    found = campaigns.list_campaigns(store)
    if args.json:
        print(json.dumps([_summary_json(s) for s in found], ensure_ascii=False))
    else:
        for s in found:
            print(_summary_line(s))
    return 0


def _report_of(store: MessageStore, campaign_id: int, status: str | None = None) -> tuple[
    campaigns.CampaignSummary, list[campaigns.RecipientLine]
]:
    found = campaigns.campaign_report(store, campaign_id, status)
    if found is None:
        raise CampaignError(f"no campaign {campaign_id}")
    return found


def _status(args: argparse.Namespace, cfg: Config, store: MessageStore) -> int:
    c = _campaign(store, args.id)
    summary, _ = _report_of(store, c.id)
    if args.json:
        print(json.dumps({
            **_summary_json(summary), "detail": c.detail, "rate": c.rate, "rows_in": c.rows_in,
            "duplicates": c.duplicates, "invalid": c.invalid, "blacklisted": c.blacklisted,
            "estimate_segments": c.estimate_segments, "estimate_kopecks": c.estimate_kopecks,
            "started_at": c.started_at, "finished_at": c.finished_at,
        }, ensure_ascii=False))
        return 0
    print(f"campaign {c.id} {c.name!r}: {c.state}{f' ({c.detail})' if c.detail else ''}")
    print(f"{c.system_id} from {c.sender} at {c.rate:g} msg/s: {summary.recipients} recipients, "
          f"charged {format_uah(summary.cost_kopecks)} UAH (estimate {format_uah(c.estimate_kopecks)} UAH)")
    print(_counts_text(summary.counts))
    return 0


_REPORT_COLUMNS = ("msisdn", "status", "message_id", "text", "detail", "done_at")
_TABLE_COLUMNS = _REPORT_COLUMNS[:-1]


def _iso_utc(ts: float | None) -> str:
    """Seconds as ISO 8601 UTC, as the HTTP API writes times; "" for None."""
    return "" if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _report(args: argparse.Namespace, cfg: Config, store: MessageStore) -> int:
    summary, lines = _report_of(store, args.id, args.status)
    if args.json:
        print(json.dumps({**_summary_json(summary), "lines": [asdict(x) for x in lines]}, ensure_ascii=False))
    elif args.csv:
        _report_csv(_campaign(store, args.id), lines)
    else:
        print(f"campaign {summary.id} {summary.name!r}: {summary.state}; {_counts_text(summary.counts)}")
        print("\t".join(_TABLE_COLUMNS))
        for x in lines:
            print(f"{x.msisdn}\t{x.status}\t{x.message_id or '-'}\t{x.text}\t{x.detail}")
    return 0


def _report_csv(c: campaigns.Campaign, lines: list[campaigns.RecipientLine]) -> None:
    """The report's columns, then the upload's other columns (as ``clean --export``):
    a CSV that can be joined back to the customer's file. An upload column named
    like a report column comes as ``csv_NAME``."""
    others = [name for name in c.columns if name != c.phone_column]
    taken = {k.casefold() for k in _REPORT_COLUMNS}
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow([*_REPORT_COLUMNS, *(f"csv_{k}" if k.casefold() in taken else k for k in others)])
    out.writerows(
        [x.msisdn, x.status, x.message_id or "", x.text, x.detail, _iso_utc(x.done_at),
         *(x.fields.get(k, "") for k in others)]
        for x in lines
    )


def _clean(args: argparse.Namespace, cfg: Config, store: MessageStore) -> int:
    c = _campaign(store, args.id)
    found = campaigns.clean_lines(store, c.id)
    what = " or ".join(campaigns.CLEAN_STATUSES)
    if args.export:
        _export(Path(args.export), c, found)
        print(f"campaign {c.id}: {len(found)} numbers with status {what} written to {args.export}")
    if args.remove:
        removed = campaigns.remove_recipients(store, c.id)
        print(f"campaign {c.id}: {removed} numbers with status {what} removed from its base "
              f"(create --from-campaign {c.id} leaves them out; the campaign's report keeps them)")
    if not (args.export or args.remove):
        for msisdn, status, _ in found:
            print(f"{msisdn}\t{status}")
        print(f"campaign {c.id}: {len(found)} numbers with status {what} "
              f"(--export FILE writes them, --remove deletes them from the base)")
    return 0


def _export(path: Path, c: campaigns.Campaign, found: list[tuple[str, str, dict[str, str]]]) -> None:
    """phone, status, then the upload's other columns: a CSV the group can be checked against."""
    others = [name for name in c.columns if name != c.phone_column]
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["phone", "status", *others])
    out.writerows([msisdn, status, *(fields.get(k, "") for k in others)] for msisdn, status, fields in found)
    try:
        path.write_text(buf.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise CampaignError(f"--export {path}: {exc.strerror}") from None


_ACTIONS: dict[str, Callable[[argparse.Namespace, Config, MessageStore], int]] = {
    "create": _create, "start": _start, "pause": _pause, "list": _list,
    "status": _status, "report": _report, "clean": _clean,
}
