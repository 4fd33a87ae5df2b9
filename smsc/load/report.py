"""The load run's result as one frozen record, its verdict, and its two
renderings (human summary, one JSON object for scripts/bench)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from .stats import LatencySummary

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_NO_BIND = 2


@dataclass(frozen=True, slots=True)
class ReceiptSummary:
    """Receipts as the client saw them; ``missing`` is None when none were asked for."""

    received: int
    matched: int
    intermediate: int
    missing: int | None
    duplicates: int
    unknown: int
    early: int
    by_stat: dict[str, int]
    rate: float | None          # received / (last receipt - first receipt)
    latency_ms: LatencySummary  # submit_sm sent -> final receipt


@dataclass(frozen=True, slots=True)
class LoadReport:
    target: str
    bind_type: str
    binds: int                  # as asked: trx binds, or tx+rx pairs
    sessions: int               # connections: binds, or 2 x binds for tx+rx
    n: int
    window: int
    registered_delivery: bool
    binds_ok: int
    bind_failures: dict[str, int]
    submitted: int
    responses: int
    accepted: int
    refused: dict[str, int]
    no_response: int
    duplicate_message_ids: int
    submit_seconds: float | None
    submit_rate: float | None   # submit_sm_resp / (last resp - first submit)
    submit_latency_ms: LatencySummary  # submit_sm sent -> submit_sm_resp
    receipts: ReceiptSummary
    end_to_end_seconds: float | None   # first submit -> last receipt
    end_to_end_rate: float | None      # messages with a final receipt / that span
    mo_messages: int
    enquire_links_sent: int
    enquire_links_answered: int
    unbinds_ok: int
    errors: dict[str, int]
    error_samples: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """2: a bind failed; 0: every message accepted, nothing went wrong on
        the wire and (when asked) every receipt came exactly once; else 1."""
        if self.bind_failures or self.binds_ok < self.sessions:
            return EXIT_NO_BIND
        ok = (
            self.submitted == self.n
            and self.responses == self.n
            and self.accepted == self.n
            and not self.refused
            and self.no_response == 0
            and self.duplicate_message_ids == 0
            and not self.errors
        )
        if self.registered_delivery:
            r = self.receipts
            ok = ok and r.missing == 0 and r.duplicates == 0 and r.unknown == 0
        return EXIT_OK if ok else EXIT_FAILED

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["exit_code"] = self.exit_code
        d["ok"] = self.exit_code == EXIT_OK
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False)


def _lat(s: LatencySummary) -> str:
    if not s.count:
        return "-"
    return f"p50 {s.p50} p90 {s.p90} p99 {s.p99} max {s.max}"


def _counts(d: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in d.items()) or "-"


def format_human(r: LoadReport) -> str:
    """A dozen lines a person reads after a run."""
    rc = r.receipts
    sessions = f"{r.sessions} session{'' if r.sessions == 1 else 's'}"
    lines = [
        f"target {r.target}  {r.bind_type} x{r.binds} ({sessions})  n={r.n} window={r.window}"
        f"  registered_delivery={'yes' if r.registered_delivery else 'no'}",
        f"binds: {r.binds_ok}/{r.sessions} ok"
        + (f"  failed {_counts(r.bind_failures)}" if r.bind_failures else ""),
        f"submitted {r.submitted}  accepted {r.accepted}  refused {_counts(r.refused)}"
        f"  no response {r.no_response}  duplicate ids {r.duplicate_message_ids}",
        f"submit: {r.submit_seconds} s  {r.submit_rate} msg/s"
        f"  submit->resp ms {_lat(r.submit_latency_ms)}",
    ]
    if r.registered_delivery or rc.received:
        lines += [
            f"receipts: {rc.received} received ({_counts(rc.by_stat)})  {rc.rate} rcpt/s"
            f"  submit->receipt ms {_lat(rc.latency_ms)}",
            f"receipts: missing {rc.missing}  duplicate {rc.duplicates}  unknown {rc.unknown}"
            f"  intermediate {rc.intermediate}  before their resp {rc.early}",
            f"end to end: {r.end_to_end_seconds} s  {r.end_to_end_rate} msg/s"
            " (messages with a final receipt / first submit -> last receipt)",
        ]
    lines.append(
        f"unbind ok {r.unbinds_ok}/{r.binds_ok}  enquire_link {r.enquire_links_sent} sent"
        f" {r.enquire_links_answered} answered  mo {r.mo_messages}  wall {r.wall_seconds} s"
    )
    if r.errors:
        lines.append(f"ERRORS: {_counts(r.errors)}")
        lines += [f"  {s}" for s in r.error_samples]
    code = r.exit_code
    lines.append(f"RESULT: {'OK' if code == EXIT_OK else 'FAIL'} (exit {code})")
    return "\n".join(lines)
