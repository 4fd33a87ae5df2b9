"""``smsc load``: the command line of the load client."""
from __future__ import annotations

import argparse
import ipaddress
import socket
import sys

from .messages import destinations, encode_text
from .report import EXIT_NO_BIND, LoadReport, format_human
from .runner import LoadConfig, run_load

_DEFAULTS = LoadConfig()


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="smsc load",
        description="SMPP 3.4 load client: submits N messages at full window over B binds, "
                    "matches every delivery receipt, reports rates and latencies.",
    )
    ap.add_argument("--host", default=_DEFAULTS.host)
    ap.add_argument("--allow-remote", action="store_true",
                    help="allow a non-loopback --host (refused by default)")
    ap.add_argument("--port", type=int, default=_DEFAULTS.port)
    ap.add_argument("--system-id", default=_DEFAULTS.system_id)
    ap.add_argument("--password", default=_DEFAULTS.password)
    ap.add_argument("--n", type=int, default=_DEFAULTS.n, help="total submit_sm")
    ap.add_argument("--window", type=int, default=_DEFAULTS.window,
                    help="outstanding submit_sm per bind")
    ap.add_argument("--binds", type=int, default=_DEFAULTS.binds,
                    help="binds sharing the N messages (tx+rx: B transmitters + B receivers)")
    ap.add_argument("--bind-type", choices=["trx", "tx+rx"], default=_DEFAULTS.bind_type)
    ap.add_argument("--registered-delivery", action="store_true",
                    help="request receipts (registered_delivery=1) and wait for them")
    ap.add_argument("--source", default=_DEFAULTS.source, help="alphanumeric sender (TON 5)")
    ap.add_argument("--dest-prefix", default=_DEFAULTS.dest_prefix,
                    help="first destination; the run cycles through --destinations numbers")
    ap.add_argument("--destinations", type=int, default=_DEFAULTS.destinations)
    ap.add_argument("--text", default=_DEFAULTS.text)
    ap.add_argument("--timeout", type=float, default=_DEFAULTS.timeout,
                    help="seconds to wait for receipts after the last submit_sm_resp")
    ap.add_argument("--resp-timeout", type=float, default=_DEFAULTS.resp_timeout,
                    help="end the submit phase after this long without a submit_sm_resp")
    ap.add_argument("--bind-timeout", type=float, default=_DEFAULTS.bind_timeout)
    ap.add_argument("--enquire-link", type=float, default=_DEFAULTS.enquire_link,
                    help="idle seconds before sending enquire_link")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    return ap


def config_from_args(argv: list[str]) -> tuple[LoadConfig, bool, bool]:
    """(config, allow_remote, json); argparse exits 2 on a bad command line."""
    ap = build_parser()
    a = ap.parse_args(argv)
    if a.n < 0 or a.window < 1 or a.binds < 1:
        ap.error("--n must be >= 0, --window and --binds >= 1")
    try:
        encode_text(a.text)
        destinations(a.dest_prefix, a.destinations)
    except ValueError as e:
        ap.error(str(e))
    cfg = LoadConfig(
        host=a.host, port=a.port, system_id=a.system_id, password=a.password,
        n=a.n, window=a.window, binds=a.binds, bind_type=a.bind_type,
        registered_delivery=a.registered_delivery, source=a.source,
        dest_prefix=a.dest_prefix, destinations=a.destinations, text=a.text,
        timeout=a.timeout, bind_timeout=a.bind_timeout, resp_timeout=a.resp_timeout,
        enquire_link=a.enquire_link,
    )
    return cfg, a.allow_remote, a.json


def non_loopback(host: str) -> str | None:
    """The first address of ``host`` outside loopback, or None. A load test
    aimed at a real SMSC by a typo would spend real money."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as e:
        return f"{host} ({e})"
    for info in infos:
        addr = str(info[4][0]).split("%")[0]
        if not ipaddress.ip_address(addr).is_loopback:
            return addr
    return None


def _run_reactor(cfg: LoadConfig) -> LoadReport:
    """Run the reactor for one load run. Twisted's reactor cannot restart, so
    this is once per process: callers that need several runs use subprocesses."""
    from twisted.internet import defer, reactor

    outcome: dict[str, object] = {}

    def start() -> None:
        d = defer.Deferred.fromCoroutine(run_load(reactor, cfg))
        d.addCallbacks(lambda r: outcome.__setitem__("report", r),
                       lambda f: outcome.__setitem__("failure", f))
        d.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(start)
    reactor.run()
    if "failure" in outcome:
        outcome["failure"].raiseException()  # type: ignore[attr-defined]
    return outcome["report"]  # type: ignore[return-value]


def main(argv: list[str]) -> int:
    """Entry point of ``smsc load``; returns the exit code (0 / 1 / 2)."""
    try:
        cfg, allow_remote, as_json = config_from_args(argv)
    except SystemExit as e:          # argparse: usage error (2) or --help (0)
        return int(e.code or 0)
    if not allow_remote:
        bad = non_loopback(cfg.host)
        if bad is not None:
            print(f"smsc load: refusing non-loopback target {cfg.host} ({bad}); "
                  "pass --allow-remote to aim at it", file=sys.stderr)
            return EXIT_NO_BIND
    report = _run_reactor(cfg)
    print(report.to_json() if as_json else format_human(report))
    return report.exit_code
