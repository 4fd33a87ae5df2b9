"""``smsc base ...``: number bases of an account (FAQ 7, 13) from the command line.

    smsc base upload --account SID --csv FILE [--phone-column NAME] [--name NAME] [--json]
    smsc base list [--account SID] [--json]
    smsc base show ID [--json]           the base and its numbers
    smsc base rename ID NAME
    smsc base delete ID
    smsc base add ID NUMBER...           numbers as people write them
    smsc base remove ID NUMBER...
    smsc base clean ID --campaign CID    remove the numbers that ended REJECTD or UNDELIV in CID

An upload is read by ``parse_group`` (the campaign upload's rules) and says
the FAQ's arithmetic: ``1000 in, 956 kept, 44 duplicates, 0 invalid``.
``smsc campaign create --base ID`` sends to a base as it is then.
"""
from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import Config
from ..router.numbers import RoutingError, normalise_loose
from ..store.port import BaseNumber, MessageStore, NumberBase
from . import store as campaigns
from .group import GroupError, parse_group
from .make import CampaignError, counts_line, new_base

__all__ = ["add_parser", "base_json", "run"]


def add_parser(subparsers: Any) -> None:
    b = subparsers.add_parser("base", help="number bases: upload once, send many campaigns, clean") \
        .add_subparsers(dest="action", required=True)
    up = b.add_parser("upload", help="a base from a CSV (de-duplicated and checked as campaign uploads)")
    up.add_argument("--account", required=True, metavar="SYSTEM_ID")
    up.add_argument("--csv", required=True, metavar="FILE")
    up.add_argument("--phone-column", metavar="NAME")
    up.add_argument("--name", help="default: the file's name")
    up.add_argument("--json", action="store_true")
    ls = b.add_parser("list", help="bases, newest first")
    ls.add_argument("--account", metavar="SYSTEM_ID")
    ls.add_argument("--json", action="store_true")
    sh = b.add_parser("show", help="a base and its numbers")
    sh.add_argument("id", type=int)
    sh.add_argument("--json", action="store_true")
    rn = b.add_parser("rename", help="give a base another name")
    rn.add_argument("id", type=int)
    rn.add_argument("name")
    b.add_parser("delete", help="delete a base (campaigns made from it keep their reports)") \
        .add_argument("id", type=int)
    for op in ("add", "remove"):
        p = b.add_parser(op, help=f"{op} numbers")
        p.add_argument("id", type=int)
        p.add_argument("numbers", metavar="NUMBER", nargs="+")
    cl = b.add_parser("clean", help="remove the numbers that ended REJECTD or UNDELIV in a campaign (FAQ 13)")
    cl.add_argument("id", type=int)
    cl.add_argument("--campaign", type=int, required=True, metavar="ID")


def run(args: argparse.Namespace, cfg: Config, store: MessageStore) -> int:
    return _ACTIONS[args.action](args, cfg, store)


def base_json(b: NumberBase) -> dict[str, Any]:
    return {"id": b.id, "system_id": b.system_id, "name": b.name, "phone_column": b.phone_column,
            "columns": list(b.columns), "rows_in": b.rows_in, "invalid": b.invalid, "duplicates": b.duplicates,
            "kept": b.rows_in - b.invalid - b.duplicates, "size": b.size, "created_at": b.created_at}


def _base(store: MessageStore, base_id: int) -> NumberBase:
    b = store.get_base(base_id)
    if b is None:
        raise CampaignError(f"no base {base_id}")
    return b


def numbers_of(typed: list[str]) -> list[str]:
    """Numbers as people write them, normalised; ``CampaignError`` naming the first bad one."""
    out = []
    for t in typed:
        try:
            out.append(normalise_loose(t))
        except RoutingError as exc:
            raise CampaignError(f"{t!r}: {exc.detail}") from None
    return out


def _upload(args: argparse.Namespace, cfg: Config, store: MessageStore) -> int:
    if store.get_account(args.account) is None:
        raise CampaignError(f"no account {args.account}")
    path = Path(args.csv)
    try:
        group = parse_group(path.read_bytes(), args.phone_column)
    except OSError as exc:
        raise CampaignError(f"--csv {args.csv}: {exc.strerror}") from None
    except GroupError as exc:
        raise CampaignError(f"{args.csv}: {exc}") from None
    base_id = store.create_base(new_base(args.account, args.name or path.stem, group), time.time())
    if args.json:
        print(json.dumps({**base_json(_base(store, base_id)),
                          "invalid_rows": [{"line": i.line, "reason": i.reason} for i in group.invalid]},
                         ensure_ascii=False))
        return 0
    print(counts_line(group))
    for bad in group.invalid:
        print(f"  invalid {bad}")
    print(f"base {base_id} created: send to it with 'smsc campaign create --base {base_id} ...'")
    return 0


def _list(args: argparse.Namespace, cfg: Config, store: MessageStore) -> int:
    found = store.list_bases(args.account)
    if args.json:
        print(json.dumps([base_json(b) for b in found], ensure_ascii=False))
    else:
        for b in found:
            print(f"{b.id}\t{b.system_id}\t{b.name}\t{b.size} numbers")
    return 0


def _show(args: argparse.Namespace, cfg: Config, store: MessageStore) -> int:
    b = _base(store, args.id)
    numbers = store.base_numbers(b.id)
    if args.json:
        print(json.dumps({**base_json(b), "numbers": [{"msisdn": n.msisdn, "fields": dict(n.fields)}
                                                      for n in numbers]}, ensure_ascii=False))
        return 0
    print(f"base {b.id} {b.name!r} of {b.system_id}: {b.size} numbers (upload: {b.rows_in} in, "
          f"{b.duplicates} duplicates, {b.invalid} invalid)")
    for n in numbers:
        print("\t".join([n.msisdn, *(n.fields.get(c, "") for c in b.columns if c != b.phone_column)]))
    return 0


def _rename(args: argparse.Namespace, cfg: Config, store: MessageStore) -> int:
    name = args.name.strip()
    if not name:
        raise CampaignError("a base needs a name")
    if not store.rename_base(_base(store, args.id).id, name):
        raise CampaignError(f"no base {args.id}")
    print(f"base {args.id}: renamed {name!r}")
    return 0


def _delete(args: argparse.Namespace, cfg: Config, store: MessageStore) -> int:
    if not store.delete_base(args.id):
        raise CampaignError(f"no base {args.id}")
    print(f"base {args.id}: deleted")
    return 0


def _add(args: argparse.Namespace, cfg: Config, store: MessageStore) -> int:
    b = _base(store, args.id)
    added = store.add_base_numbers(b.id, [BaseNumber(m, {b.phone_column: m}) for m in numbers_of(args.numbers)])
    print(f"base {b.id}: {added} numbers added ({len(args.numbers) - added} already in it)")
    return 0


def _remove(args: argparse.Namespace, cfg: Config, store: MessageStore) -> int:
    b = _base(store, args.id)
    removed = store.remove_base_numbers(b.id, numbers_of(args.numbers))
    print(f"base {b.id}: {removed} numbers removed")
    return 0


def _clean(args: argparse.Namespace, cfg: Config, store: MessageStore) -> int:
    b = _base(store, args.id)
    c = store.get_campaign(args.campaign)
    if c is None or c.system_id != b.system_id:
        raise CampaignError(f"--campaign {args.campaign}: no such campaign of account {b.system_id}")
    removed = campaigns.clean_base(store, b.id, c.id)
    print(f"base {b.id}: {removed} numbers with status REJECTD or UNDELIV in campaign {c.id} removed "
          f"(the campaign's report keeps them)")
    return 0


_ACTIONS: dict[str, Callable[[argparse.Namespace, Config, MessageStore], int]] = {
    "upload": _upload, "list": _list, "show": _show, "rename": _rename, "delete": _delete,
    "add": _add, "remove": _remove, "clean": _clean,
}
