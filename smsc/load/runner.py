"""One load run, start to end: bind, submit at full window, wait for the
receipts, unbind, and turn the counters into a LoadReport."""
from __future__ import annotations

from dataclasses import dataclass

from twisted.internet import defer
from twisted.internet.endpoints import HostnameEndpoint, connectProtocol
from twisted.internet.task import LoopingCall

from smsc.pdu.pdus import UnbindResp

from .client import EsmeSession
from .messages import destinations, submit_templates
from .report import LoadReport, ReceiptSummary
from .run_state import LoadRun, RunSettings, status_name
from .stats import LatencySummary, rate

_UNBIND_TIMEOUT_S = 5.0
_CLOSE_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class LoadConfig:
    host: str = "127.0.0.1"
    port: int = 2775
    system_id: str = ""
    password: str = ""
    n: int = 10000
    window: int = 100
    binds: int = 1
    bind_type: str = "trx"            # "trx" or "tx+rx"
    registered_delivery: bool = False
    source: str = "SMSClub"
    dest_prefix: str = "380670000000"
    destinations: int = 1000
    text: str = "SMPP load test 0123456789"
    timeout: float = 30.0             # receipts, after the last submit_sm_resp
    bind_timeout: float = 10.0
    resp_timeout: float = 30.0        # submit phase: give up after this long without a resp
    enquire_link: float = 30.0        # idle seconds before we send enquire_link


def _bind_types(cfg: LoadConfig) -> list[str]:
    # tx+rx: receivers first, so receipts have a bind to go to from the start
    if cfg.bind_type == "tx+rx":
        return ["rx"] * cfg.binds + ["tx"] * cfg.binds
    return ["trx"] * cfg.binds


async def _open(reactor, cfg: LoadConfig, session: EsmeSession) -> str | None:
    """Connect and bind one session; None on success, else why it failed."""
    endpoint = HostnameEndpoint(reactor, cfg.host, cfg.port, timeout=cfg.bind_timeout)
    try:
        await connectProtocol(endpoint, session)
    except Exception as e:  # noqa: BLE001 - every connect failure is reported alike
        return f"connect: {type(e).__name__}"
    d = session.bind()
    d.addTimeout(cfg.bind_timeout, reactor)
    try:
        resp = await d
    except defer.TimeoutError:
        session.transport.abortConnection()
        return "bind: timeout"
    if resp is None:
        return "bind: connection closed"
    status = getattr(resp, "command_status", 0)
    if status != 0:
        session.transport.loseConnection()
        return f"bind: {status_name(status)}"
    session.bound = True
    return None


async def _close(reactor, session: EsmeSession) -> bool:
    """Unbind (if bound) and close; True when the server answered the unbind."""
    answered = False
    if session.transport is None:     # never connected
        return False
    if session.bound:
        d = session.unbind()
        d.addTimeout(_UNBIND_TIMEOUT_S, reactor)
        try:
            resp = await d
        except defer.TimeoutError:
            session.run.error("unbind_timeout")
        else:
            answered = isinstance(resp, UnbindResp) and resp.command_status == 0
            if resp is not None and not answered:
                session.run.error("unbind_refused", repr(resp))
    if not session.closed.called:
        session.transport.loseConnection()
        closed = session.closed
        closed.addTimeout(_CLOSE_TIMEOUT_S, reactor)
        try:
            await closed
        except defer.TimeoutError:
            session.transport.abortConnection()
    return answered


async def run_load(reactor, cfg: LoadConfig) -> LoadReport:
    """Drive one run on ``reactor`` and report it (never raises for server faults)."""
    templates = submit_templates(
        source=cfg.source,
        dest_numbers=destinations(cfg.dest_prefix, cfg.destinations),
        text=cfg.text,
        registered_delivery=cfg.registered_delivery,
    )
    settings = RunSettings(
        system_id=cfg.system_id, password=cfg.password, window=cfg.window,
        registered_delivery=cfg.registered_delivery,
        enquire_link_s=cfg.enquire_link, resp_timeout_s=cfg.resp_timeout,
    )
    run = LoadRun(settings, templates, cfg.n)
    t_start = run.now()
    run.sessions = [EsmeSession(run, t) for t in _bind_types(cfg)]
    failures = await defer.gatherResults(
        [defer.Deferred.fromCoroutine(_open(reactor, cfg, s)) for s in run.sessions]
    )
    bind_failures: dict[str, int] = {}
    for f in failures:
        if f is not None:
            bind_failures[f] = bind_failures.get(f, 0) + 1

    ticker = LoopingCall(run.tick)
    ticker.clock = reactor
    ticker.start(1.0, now=False)
    if not bind_failures:
        run.submitting = True
        run.t_progress = run.now()
        for s in run.sessions:
            s.start_submitting()
        run.check_submit_done()       # n == 0
        await run.submit_done.wait(reactor)
        run.stopping = True
        if cfg.registered_delivery and run.accepted:
            run.check_receipts_done()
            left = (run.t_last_resp or run.now()) + cfg.timeout - run.now()
            await run.receipts_done.wait(reactor, left)
    run.stopping = True
    answered = await defer.gatherResults(
        [defer.Deferred.fromCoroutine(_close(reactor, s)) for s in run.sessions]
    )
    ticker.stop()
    return _report(cfg, run, bind_failures, sum(answered), run.now() - t_start)


def _span(a: float | None, b: float | None) -> float | None:
    return round(b - a, 4) if a is not None and b is not None else None


def _report(cfg: LoadConfig, run: LoadRun, bind_failures: dict[str, int],
            unbinds_ok: int, wall: float) -> LoadReport:
    tally = run.ledger.tally()
    finals = run.accepted - tally.missing
    submit_s = _span(run.t_first_submit, run.t_last_resp)
    e2e_s = _span(run.t_first_submit, run.t_last_receipt)
    return LoadReport(
        target=f"{cfg.host}:{cfg.port}",
        bind_type=cfg.bind_type,
        binds=cfg.binds,
        sessions=len(run.sessions),
        n=cfg.n,
        window=cfg.window,
        registered_delivery=cfg.registered_delivery,
        binds_ok=len(run.sessions) - sum(bind_failures.values()),
        bind_failures=bind_failures,
        submitted=run.submitted,
        responses=run.responses,
        accepted=run.accepted,
        refused=dict(sorted(run.refused.items())),
        no_response=run.no_response,
        duplicate_message_ids=tally.duplicate_message_ids,
        submit_seconds=submit_s,
        submit_rate=rate(run.responses, submit_s),
        submit_latency_ms=LatencySummary.of(run.resp_latencies),
        receipts=ReceiptSummary(
            received=tally.received,
            matched=tally.matched,
            intermediate=tally.intermediate,
            missing=tally.missing if cfg.registered_delivery else None,
            duplicates=tally.duplicates,
            unknown=tally.unknown,
            early=tally.early,
            by_stat=tally.by_stat,
            rate=rate(tally.received, _span(run.t_first_receipt, run.t_last_receipt)),
            latency_ms=LatencySummary.of(tally.latencies_s),
        ),
        end_to_end_seconds=e2e_s,
        end_to_end_rate=rate(finals, e2e_s) if tally.received else None,
        mo_messages=run.mo_messages,
        enquire_links_sent=run.enquire_links_sent,
        enquire_links_answered=run.enquire_links_answered,
        unbinds_ok=unbinds_ok,
        errors=dict(sorted(run.errors.items())),
        error_samples=list(run.error_samples),
        wall_seconds=round(wall, 3),
    )
