"""``smsc``: serve, manage accounts, generate load.

    smsc [--config FILE] [--store PATH|URL] [-v] COMMAND ...   (the three also after COMMAND)
    smsc [--config FILE] serve [--host H] [--port P]
    smsc [--config FILE] account add SYSTEM_ID [--password P] [--mode test|user]
                                     [--balance UAH] [--alpha NAME ...]
    smsc [--config FILE] account show SYSTEM_ID [--json]
    smsc [--config FILE] account list [--json]
    smsc [--config FILE] account topup SYSTEM_ID UAH
    smsc [--config FILE] account passwd SYSTEM_ID [--password P]
    smsc [--config FILE] account promote SYSTEM_ID
    smsc [--config FILE] account alpha add|remove|apply|approve SYSTEM_ID NAME
    smsc [--config FILE] account alpha reject SYSTEM_ID NAME --reason TEXT
    smsc [--config FILE] account alpha applications [SYSTEM_ID] [--json]
    smsc [--config FILE] base upload|list|show|rename|delete|add|remove|clean ...  (smsc.campaigns.base_cli)
    smsc [--config FILE] account blacklist add|remove SYSTEM_ID NUMBER...
    smsc [--config FILE] account blacklist list SYSTEM_ID [--json]
    smsc [--config FILE] account allowlist add|remove SYSTEM_ID CIDR...
    smsc [--config FILE] account allowlist list SYSTEM_ID [--json]
    smsc [--config FILE] account receipts SYSTEM_ID [--id-format hex|decimal|uuid]
                         [--id-width N] [--seconds|--minutes] [--tz NAME] [--default]
    smsc [--config FILE] account apikey SYSTEM_ID
    smsc admin token
    smsc store copy --from PATH --to URL
    smsc load ...            (see ``smsc load --help``)

Account commands work while the server runs: they write the same store
(the SQLite file in WAL mode, or the PostgreSQL database of ``[store] url``,
from any machine), and the server reads accounts at bind time. Errors print
one line and exit 1; only ``serve`` makes a store:
the other commands refuse a SQLite file that does not exist (a command run
from the wrong directory would otherwise start an empty store and report
from it).
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from . import config as config_mod
from .accounts import admin, ids, validation
from .accounts.money import format_uah, parse_uah
from .campaigns import base_cli
from .campaigns import cli as campaign_cli
from . import fault_cli
from .records import Account
from .store.open import StoreUnavailable, display_target, is_url, open_store
from .store.port import MessageStore
from .startup import StartupError


class CliError(Exception):
    pass


def _common_options(p: argparse.ArgumentParser, default: Any) -> None:
    """--config, --store and -v, taken before the subcommand and after it
    (``smsc serve --config X`` as well as ``smsc --config X serve``)."""
    p.add_argument("--config", metavar="FILE", default=default,
                   help="TOML config (default: the shipped config/smsc.toml)")
    p.add_argument("--store", metavar="PATH|URL", default=default,
                   help="SQLite file ([store] path; relative to the working directory) or "
                        "postgresql://USER[:PASSWORD]@HOST:PORT/DB ([store] url)")
    p.add_argument("-v", "--verbose", action="store_true", default=default, help="debug logging")


def _everywhere(p: argparse.ArgumentParser) -> None:
    """The common options on every subcommand, at every depth. Their
    default there is SUPPRESS: one given before the subcommand is not reset
    by the subcommand's parser."""
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if name != "load":  # its own parser (see _load_args)
                    _common_options(sub, argparse.SUPPRESS)
                    _everywhere(sub)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smsc", description="SMPP 3.4 SMSC simulator")
    _common_options(p, None)
    p.set_defaults(verbose=False)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the server (makes the store when it does not exist)")
    s.add_argument("--host", help="SMPP listen address ([smpp] host)")
    s.add_argument("--port", type=int, help="SMPP port, 0 for any free one ([smpp] port)")

    a = sub.add_parser("account", help="manage accounts").add_subparsers(dest="action", required=True)
    add = a.add_parser("add", help="create an account")
    add.add_argument("system_id")
    add.add_argument("--password", help="8 characters at most; generated and printed if omitted")
    add.add_argument("--mode", default="test", choices=validation.MODES)
    add.add_argument("--balance", metavar="UAH", help="initial balance (test accounts: 2.00 by default)")
    add.add_argument("--alpha", metavar="NAME", action="append", default=[], help="registered alpha-name")
    add.add_argument("--rate", type=float, help="submit_sm per second, all binds together (default: by mode)")
    add.add_argument("--max-binds", type=int, help="concurrent binds (default: by mode)")
    show = a.add_parser("show", help="one account")
    show.add_argument("system_id")
    show.add_argument("--json", action="store_true")
    lst = a.add_parser("list", help="all accounts")
    lst.add_argument("--json", action="store_true")
    top = a.add_parser("topup", help="add money")
    top.add_argument("system_id")
    top.add_argument("amount", metavar="UAH")
    pw = a.add_parser("passwd", help="set a new password")
    pw.add_argument("system_id")
    pw.add_argument("--password", help="generated and printed if omitted")
    pr = a.add_parser("promote", help="turn a test account into a user account")
    pr.add_argument("system_id")
    lim = a.add_parser("limits", help="set or clear the account's rate and bind limits")
    lim.add_argument("system_id")
    lim.add_argument("--rate", type=float, help="submit_sm per second; 0 unlimited")
    lim.add_argument("--max-binds", type=int, help="concurrent binds; 0 unlimited")
    lim.add_argument("--default", action="store_true", help="back to the mode's defaults")
    al = a.add_parser("alpha", help="register or remove an alpha-name; the customers' applications for one")
    al.add_argument("op", choices=("add", "remove", "apply", "approve", "reject", "applications"),
                    help="apply: a customer's application (PENDING); approve/reject it; applications: list them")
    al.add_argument("system_id", nargs="?")
    al.add_argument("name", nargs="?")
    al.add_argument("--reason", default="", help="reject: why (the customer sees it)")
    al.add_argument("--json", action="store_true", help="applications: a JSON array")
    bl = a.add_parser("blacklist", help="numbers that get nothing: accepted, not sent, not charged, UNDELIV")
    bl.add_argument("op", choices=("add", "remove", "list"))
    bl.add_argument("system_id")
    bl.add_argument("numbers", metavar="NUMBER", nargs="*",
                    help="as people write them: +380671234567, 067 123-45-67, ...")
    bl.add_argument("--json", action="store_true", help="list: a JSON array")
    alw = a.add_parser("allowlist", help="IP networks the account may bind from (none: any address)")
    alw.add_argument("op", choices=("add", "remove", "list"))
    alw.add_argument("system_id")
    alw.add_argument("networks", metavar="CIDR", nargs="*",
                     help="IPv4 or IPv6 address or network: 10.1.2.3, 192.0.2.0/24, 2001:db8::/32")
    alw.add_argument("--json", action="store_true", help="list: a JSON array")

    rc = a.add_parser("receipts", help="message id format and receipt dates (for picky clients)")
    rc.add_argument("system_id")
    rc.add_argument("--id-format", choices=ids.FORMATS, help="message ids: hex (default), decimal or uuid")
    rc.add_argument("--id-width", type=int, metavar="N",
                    help="zero-pad hex/decimal ids to N characters (0: no padding)")
    dates = rc.add_mutually_exclusive_group()
    dates.add_argument("--seconds", dest="seconds", action="store_const", const=True,
                       help="receipt dates YYMMDDhhmmss (12 digits)")
    dates.add_argument("--minutes", dest="seconds", action="store_const", const=False,
                       help="receipt dates YYMMDDhhmm (10 digits, the default)")
    rc.add_argument("--tz", metavar="NAME", help="receipt dates in this IANA time zone (default UTC)")
    rc.add_argument("--default", action="store_true", help="back to hex ids and 10-digit UTC dates")

    mo = sub.add_parser("mo", help="mobile originated messages").add_subparsers(dest="action", required=True)
    inj = mo.add_parser("inject", help="a handset writes to one of our numbers ([mo] numbers)")
    inj.add_argument("--to", required=True, metavar="NUMBER", help="the short code / number ([mo] numbers)")
    inj.add_argument("--from", dest="source", required=True, metavar="380XXXXXXXXX", help="the handset")
    inj.add_argument("--text", required=True)

    ak = a.add_parser("apikey", help="a new HTTP API key (replaces the old one; printed once)")
    ak.add_argument("system_id")

    adm = sub.add_parser("admin", help="HTTP admin access").add_subparsers(dest="action", required=True)
    adm.add_parser("token", help="print a new admin token and the [http] admin_token_sha256 line")

    st = sub.add_parser("store", help="the store itself").add_subparsers(dest="action", required=True)
    cp = st.add_parser("copy", help="copy an embedded SQLite store into an empty PostgreSQL database")
    cp.add_argument("--from", dest="source", required=True, metavar="PATH", help="the SQLite file")
    cp.add_argument("--to", dest="dest", required=True, metavar="URL",
                    help="postgresql://USER[:PASSWORD]@HOST:PORT/DB (its schema is made if missing)")

    campaign_cli.add_parser(sub)
    fault_cli.add_parser(sub)
    fault_cli.add_report_parser(sub)
    base_cli.add_parser(sub)
    sub.add_parser("load", help="SMPP load generator (smsc load --help)", add_help=False)
    _everywhere(p)
    return p


def _print_account(a: Account, universal_alpha: str) -> None:
    """A test account sends from the universal name (its registered names wait for promote)."""
    if a.mode == "test":
        names = ", ".join([f"{universal_alpha} (universal)", *(f"{n} (after promote)" for n in a.alpha_names)])
    else:
        names = ", ".join(a.alpha_names) or "-"
    print(f"{a.system_id}\tmode={a.mode}\tbalance={format_uah(a.balance_kopecks)} UAH\talpha={names}")


def _print_password(pw: admin.NewPassword) -> None:
    if pw.generated:
        print(f"password: {pw.password}")


def _open_store(cfg: config_mod.Config) -> MessageStore:
    """The store of every command but ``serve``, which alone makes one: a
    command run from the wrong directory must not start an empty SQLite
    store and report from it (a PostgreSQL URL names a database that exists)."""
    if not cfg.store.url and not os.path.exists(cfg.store.path):
        raise CliError(f"no store at {os.path.abspath(cfg.store.path)}: start the server first, or pass --store")
    return open_store(cfg.store)


def _store_copy(args: argparse.Namespace) -> int:
    """``smsc store copy``: every row of a SQLite store into PostgreSQL."""
    from .store.copy import copy_store

    counts = copy_store(args.source, args.dest)
    shown = ", ".join(f"{n} {table}" for table, n in counts.items())
    print(f"copied {args.source} to {display_target(args.dest)}: {shown}")
    return 0


def _mo_inject(args: argparse.Namespace, cfg: config_mod.Config) -> int:
    """Queue an MO message; a running server delivers it within a second
    (smsc.dlr.mo)."""
    store = _open_store(cfg)
    try:
        mo = admin.inject_mo(store, cfg.mo, args.to, args.source, args.text)
    finally:
        store.close()
    print(f"queued MO {mo.id} from {mo.source} to {mo.to} for {mo.system_id}")
    return 0


def _admin_token(args: argparse.Namespace, cfg: config_mod.Config) -> int:
    """A fresh admin token for the HTTP admin routes; the config keeps only
    its SHA-256."""
    from .web.auth import new_token, token_sha256  # twisted.web: only here

    token = new_token()
    print(f"admin token: {token}  (shown once; send it as 'Authorization: Bearer TOKEN')")
    print("put this line in the [http] section of the config and restart the server:")
    print(f'admin_token_sha256 = "{token_sha256(token)}"')
    return 0


def _fault_cmd(args: argparse.Namespace, cfg: config_mod.Config) -> int:
    store = _open_store(cfg)
    try:
        return (fault_cli.command if args.command == "fault" else fault_cli.report_command)(args, store)
    finally:
        store.close()


def _account_cmd(args: argparse.Namespace, cfg: config_mod.Config) -> int:
    store = _open_store(cfg)
    try:
        return _ACTIONS[args.action](args, cfg, store)
    except admin.AdminError as exc:
        raise CliError(str(exc)) from None
    finally:
        store.close()


def _campaign_cmd(args: argparse.Namespace, cfg: config_mod.Config) -> int:
    store = _open_store(cfg)
    try:
        if args.command == "base":
            return base_cli.run(args, cfg, store)
        return campaign_cli.run(args, cfg, store)
    finally:
        store.close()


def _add(args: argparse.Namespace, cfg: config_mod.Config, store: MessageStore) -> int:
    balance = None if args.balance is None else parse_uah(args.balance)
    a, pw = admin.create_account(
        store, cfg.accounts, args.system_id, password=args.password, mode=args.mode,
        balance_kopecks=balance, alpha=tuple(args.alpha), rate=args.rate, max_binds=args.max_binds,
    )
    print(f"created {a.mode} account {a.system_id} with {format_uah(a.balance_kopecks)} UAH")
    _print_password(pw)
    return 0


def _show(args: argparse.Namespace, cfg: config_mod.Config, store: MessageStore) -> int:
    a = admin.get_account(store, args.system_id)
    if args.json:
        print(json.dumps(admin.account_json(a, cfg.accounts.universal_alpha)))
    else:
        _print_account(a, cfg.accounts.universal_alpha)
    return 0


def _list(args: argparse.Namespace, cfg: config_mod.Config, store: MessageStore) -> int:
    accounts = store.list_accounts()
    if args.json:
        print(json.dumps([admin.account_json(a, cfg.accounts.universal_alpha) for a in accounts]))
    else:
        for a in accounts:
            _print_account(a, cfg.accounts.universal_alpha)
    return 0


def _topup(args: argparse.Namespace, cfg: config_mod.Config, store: MessageStore) -> int:
    a = admin.topup(store, args.system_id, parse_uah(args.amount))
    print(f"{a.system_id}: balance {format_uah(a.balance_kopecks)} UAH")
    return 0


def _passwd(args: argparse.Namespace, cfg: config_mod.Config, store: MessageStore) -> int:
    pw = admin.set_password(store, args.system_id, args.password)
    print(f"{args.system_id}: password changed")
    _print_password(pw)
    return 0


def _limits(args: argparse.Namespace, cfg: config_mod.Config, store: MessageStore) -> int:
    rate, max_binds = admin.set_limits(store, args.system_id, args.rate, args.max_binds, args.default)
    print(f"{args.system_id}: rate={'default' if rate is None else rate} "
          f"max_binds={'default' if max_binds is None else max_binds}")
    return 0


def _receipts(args: argparse.Namespace, cfg: config_mod.Config, store: MessageStore) -> int:
    id_format, width, seconds, tz = admin.set_receipt_options(
        store, args.system_id, args.id_format, args.id_width, args.seconds, args.tz, args.default,
    )
    print(f"{args.system_id}: ids {id_format or 'hex'}"
          f"{f' width {width}' if width else ''}, dates {12 if seconds else 10} digits {tz or 'UTC'}")
    return 0


def _promote(args: argparse.Namespace, cfg: config_mod.Config, store: MessageStore) -> int:
    admin.promote(store, args.system_id)
    print(f"{args.system_id}: mode user")
    return 0


def _alpha(args: argparse.Namespace, cfg: config_mod.Config, store: MessageStore) -> int:
    if args.op == "applications":
        found = store.alpha_applications(args.system_id)
        if args.json:
            print(json.dumps([{"system_id": x.system_id, "name": x.name, "state": x.state, "reason": x.reason,
                               "applied_at": x.applied_at, "decided_at": x.decided_at} for x in found]))
        for x in [] if args.json else found:
            print(f"{x.system_id}\t{x.name}\t{x.state}" + (f"\t{x.reason}" if x.reason else ""))
        return 0
    if not (args.system_id and args.name):
        raise CliError(f"account alpha {args.op} needs SYSTEM_ID NAME")
    if args.op == "apply":
        name = admin.alpha_name(args.name)
        if store.get_account(args.system_id) is None:
            raise admin.no_account(args.system_id)
        if not store.apply_alpha(args.system_id, name, time.time()):
            raise CliError(f"{args.system_id}: alpha-name {name} is pending or approved already")
        print(f"{args.system_id}: alpha-name {name} applied for (PENDING until the operator approves it)")
        return 0
    if args.op in ("approve", "reject"):
        name = admin.alpha_name(args.name)
        if args.op == "reject" and not args.reason.strip():
            raise CliError("account alpha reject needs --reason (the customer is shown it)")
        if not store.decide_alpha(args.system_id, name, args.op == "approve", args.reason.strip(), time.time()):
            raise CliError(f"{args.system_id}: no pending application for alpha-name {name}")
        print(f"{args.system_id}: alpha-name {name} " + ("approved: usable now" if args.op == "approve"
                                                          else f"rejected ({args.reason.strip()})"))
        return 0
    if args.op == "add":
        name = admin.add_alpha(store, args.system_id, args.name)
        print(f"{args.system_id}: alpha-name {name} registered")
    else:
        name = admin.remove_alpha(store, args.system_id, args.name)
        print(f"{args.system_id}: alpha-name {name} removed")
    return 0


def _blacklist(args: argparse.Namespace, cfg: config_mod.Config, store: MessageStore) -> int:
    """Numbers are normalised to E.164 digits as a person writes them; a
    running server picks a change up within a second (it rereads a
    blacklist when its version changed). remove is all or nothing."""
    if args.op == "list":
        if args.numbers:
            raise CliError("blacklist list takes no numbers")
        numbers = admin.blacklist(store, args.system_id)
        if args.json:
            print(json.dumps(numbers))
        else:
            for n in numbers:
                print(n)
        return 0
    if not args.numbers:
        raise CliError(f"blacklist {args.op} needs at least one NUMBER")
    if args.op == "add":
        numbers, added = admin.blacklist_add(store, args.system_id, args.numbers)
        print(f"{args.system_id}: blacklisted {', '.join(numbers)} ({added} new)")
    else:
        numbers = admin.blacklist_remove(store, args.system_id, args.numbers)
        print(f"{args.system_id}: removed {', '.join(numbers)} from the blacklist")
    return 0


def _allowlist(args: argparse.Namespace, cfg: config_mod.Config, store: MessageStore) -> int:
    """The next bind (or HTTP login) of the account sees a change; remove
    is all or nothing; an empty list lets every address in."""
    if args.op == "list":
        if args.networks:
            raise CliError("allowlist list takes no networks")
        networks = admin.allowlist(store, args.system_id)
        if args.json:
            print(json.dumps(networks))
        else:
            for n in networks:
                print(n)
        return 0
    if not args.networks:
        raise CliError(f"allowlist {args.op} needs at least one CIDR")
    if args.op == "add":
        networks, added = admin.allowlist_add(store, args.system_id, args.networks)
        print(f"{args.system_id}: binds allowed from {', '.join(networks)} ({added} new)")
    else:
        networks = admin.allowlist_remove(store, args.system_id, args.networks)
        left = admin.allowlist(store, args.system_id)
        print(f"{args.system_id}: removed {', '.join(networks)} from the allowlist"
              f"{'' if left else ' (now empty: binds from any address)'}")
    return 0


def _apikey(args: argparse.Namespace, cfg: config_mod.Config, store: MessageStore) -> int:
    key = admin.new_api_key(store, args.system_id)
    print(f"{args.system_id}: new HTTP API key (shown once; the old one no longer works)")
    print(f"api key: {key}")
    return 0


_ACTIONS: dict[str, Callable[[argparse.Namespace, config_mod.Config, MessageStore], int]] = {
    "add": _add, "show": _show, "list": _list, "topup": _topup,
    "passwd": _passwd, "promote": _promote, "alpha": _alpha, "limits": _limits,
    "blacklist": _blacklist, "allowlist": _allowlist, "receipts": _receipts, "apikey": _apikey,
}


def _serve(args: argparse.Namespace, cfg: config_mod.Config) -> int:
    from twisted.internet import reactor
    from twisted.logger import STDLibLogObserver, globalLogBeginner

    from .app import serve

    cfg = config_mod.with_overrides(cfg, smpp={"host": args.host, "port": args.port})
    globalLogBeginner.beginLoggingTo([STDLibLogObserver()], redirectStandardIO=False)
    server = serve(cfg, reactor)
    # Startup objects never die: keep the cyclic GC from rescanning them, and
    # let it run less often (the hot path makes many short-lived objects and
    # few cycles). Measured: ~5% of server CPU at 10k msg/s.
    gc.freeze()
    gc.set_threshold(50000, 20, 100)
    # The reactor thread drops the GIL at every system call anyway; the
    # store thread, which wants it back after each SQLite statement, need
    # not also force a hand-over every 5 ms. Measured at 50k messages, 0.1-1 s
    # delays, two pairs back to back: 172 and 177 µs of server CPU per
    # message with 5 ms, 162 and 170 with 50 ms (a small gain, near the noise).
    sys.setswitchinterval(0.05)
    reactor.run()
    return server.exit_status  # TAKEN_OVER (75): another node took this one over (smsc.engine.fence)


def _load_args(argv: list[str]) -> list[str] | None:
    """The arguments after ``load`` when that is the command: ``smsc load``
    has its own parser (and its own --help)."""
    i = 0
    while i < len(argv):
        if argv[i] in ("--config", "--store"):
            i += 2
        elif argv[i].startswith(("--config=", "--store=")) or argv[i] in ("-v", "--verbose"):
            i += 1
        else:
            break
    return argv[i + 1:] if i < len(argv) and argv[i] == "load" else None


def main(argv: Sequence[str] | None = None) -> int:
    """``smsc ARGV``; the exit code.

    A reader that stops early (``smsc campaign report 3 | head``) ends the
    command quietly with 141, the status a shell reports for a command
    killed by SIGPIPE (``seq 1000000 | head`` gives it too): no traceback,
    and ``set -o pipefail`` scripts still see that the output was cut,
    apart from a real error (1). Python ignores SIGPIPE, so the write raises
    instead; stdout goes to /dev/null so the flush at exit cannot raise again.
    """
    try:
        code = _main(argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError):  # no file descriptor: stdout redirected in-process
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    load_args = _load_args(argv)
    if load_args is not None:
        from .load import main as load_main

        return load_main(load_args)
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        store: dict[str, str | None] = {}
        if args.store is not None:  # a path overrides a configured URL, and a URL a path
            store = {"url": args.store} if is_url(args.store) else {"path": args.store, "url": ""}
        cfg = config_mod.with_overrides(config_mod.load(args.config), store=store)
        if args.command == "serve":
            return _serve(args, cfg)
        if args.command == "mo":
            return _mo_inject(args, cfg)
        if args.command == "admin":
            return _admin_token(args, cfg)
        if args.command == "store":
            return _store_copy(args)
        if args.command in ("campaign", "base"):
            return _campaign_cmd(args, cfg)
        if args.command in ("fault", "report"):
            return _fault_cmd(args, cfg)
        return _account_cmd(args, cfg)
    except (CliError, StartupError, admin.AdminError, ValueError, config_mod.ConfigError, StoreUnavailable) as exc:
        print(f"smsc: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
