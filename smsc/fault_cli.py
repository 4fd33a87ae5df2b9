"""``smsc fault add|list|remove|run``: faults on demand from the command
line, written to the store; a running server applies them within a second."""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .store.port import MessageStore

from .faults import scenario
from .fault_model import KINDS, SCOPES, Fault, FaultError, parse, parse_duration, parse_params


def add_parser(sub: Any) -> None:
    f = sub.add_parser("fault", help="faults on demand (README \"Faults on demand\")")
    actions = f.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="switch a fault on")
    add.add_argument("kind", choices=KINDS)
    add.add_argument("--scope", choices=SCOPES, required=True)
    add.add_argument("--target", required=True, metavar="OPERATOR|SYSTEM_ID|REGEX")
    add.add_argument("--duration", metavar="SECONDS", help="ends by itself after this (30, 30s, 5m, 1h)")
    add.add_argument("-p", "--param", dest="params", action="append", default=[], metavar="KEY=VALUE",
                     help="a parameter of the kind, repeatable (-p mode=fail -p ratio=0.5; README)")
    actions.add_parser("list", help="the active faults")
    rm = actions.add_parser("remove", help="switch a fault off")
    rm.add_argument("id", type=int)
    run = actions.add_parser("run", help="run a scenario file of timed faults")
    run.add_argument("scenario", metavar="scenario.toml")


def command(args: argparse.Namespace, store: MessageStore) -> int:
    now = time.time()
    if args.action == "add":
        f = parse(args.kind, args.scope, args.target, parse_params(args.params), now=now,
                  duration=parse_duration(args.duration))
        fault_id = store.add_fault(f)
        print(f"added {Fault(fault_id, f.kind, f.scope, f.target, f.params, f.starts_at, f.ends_at).describe()}")
        return 0
    if args.action == "list":
        for f in store.active_faults(now):
            print(f.describe())
        return 0
    if args.action == "remove":
        if not store.remove_fault(args.id, now):
            print(f"smsc: error: no active fault {args.id}", file=sys.stderr)
            return 1
        print(f"removed fault {args.id}")
        return 0
    try:
        with open(args.scenario, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise FaultError(f"{args.scenario}: {exc.strerror}") from None
    steps = scenario.load(text, args.scenario)
    scenario.run(steps, store.add_fault, store.remove_fault, sys.stdout)
    return 0


def add_report_parser(sub: Any) -> None:
    r = sub.add_parser("report", help="reports on clients").add_subparsers(dest="action", required=True)
    c = r.add_parser("client", help="what a client did wrong, per bind (README \"Conformance report\")")
    c.add_argument("system_id")
    c.add_argument("--since", type=float, default=0.0, metavar="SECONDS", help="only binds of the last SECONDS")
    c.add_argument("--json", action="store_true")


def report_command(args: argparse.Namespace, store: MessageStore) -> int:
    import json

    from .server.conformance import render, summary

    since = time.time() - args.since if args.since > 0 else 0.0
    report = summary(args.system_id, [json.loads(r.body) for r in store.client_reports(args.system_id, since)])
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0
