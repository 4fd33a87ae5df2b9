"""Pure statistics of a load run: percentiles, receipt text, receipt matching.

No sockets, no reactor, no clock: everything here takes the times it needs as
arguments, so the rules that decide the exit code (missing, duplicate and
unknown receipts) are tested in microseconds, not over TCP.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from collections.abc import Sequence

#: receipt ``stat:`` words that are not final: the message is still on its way
INTERMEDIATE_STATS = frozenset({"ENROUTE"})


# --- percentiles -----------------------------------------------------------


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None when empty).

    Nearest rank rather than interpolation: every figure reported is a latency
    some message really had, and p100 is the max.
    """
    if not sorted_values:
        return None
    rank = math.ceil(p / 100.0 * len(sorted_values))
    return sorted_values[min(len(sorted_values), max(1, rank)) - 1]


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Latencies in milliseconds; every figure None when nothing was measured."""

    count: int
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None

    @classmethod
    def of(cls, seconds: Sequence[float]) -> LatencySummary:
        """Summarise latencies given in seconds (sorted here, once, at the end)."""
        values = sorted(seconds)

        def ms(v: float | None) -> float | None:
            return None if v is None else round(v * 1000.0, 3)

        return cls(
            count=len(values),
            p50=ms(percentile(values, 50)),
            p90=ms(percentile(values, 90)),
            p99=ms(percentile(values, 99)),
            max=ms(values[-1] if values else None),
        )


def rate(count: int, seconds: float | None) -> float | None:
    """count / seconds, rounded; None when the span is missing or zero."""
    if not seconds or seconds <= 0:
        return None
    return round(count / seconds, 1)


# --- receipt text (SMPP 3.4 Appendix B) -----------------------------------


@dataclass(frozen=True, slots=True)
class ReceiptText:
    """The fields of an Appendix B receipt text, as strings (None: absent)."""

    id: str | None
    sub: str | None = None
    dlvrd: str | None = None
    submit_date: str | None = None
    done_date: str | None = None
    stat: str | None = None
    err: str | None = None
    text: str | None = None


_KEY = re.compile(
    r"(?<![A-Za-z0-9_])(id|sub|dlvrd|submit[ _]date|done[ _]date|stat|err|text)\s*:",
    re.IGNORECASE,
)


def parse_receipt_text(text: str) -> ReceiptText | None:
    """Read a receipt text leniently: any spacing, order or case of the field
    names, ``submit_date`` for ``submit date``, missing fields.

    The client first applies the project's strict Appendix B parser
    (smsc.pdu.receipt) and reports a text that fails it; this one is the
    fallback that still recovers id and stat, so one format slip is not also
    counted as a lost receipt. ``stat`` is upper-cased, other values kept as
    sent; ``text:`` runs to the end. None when there is no ``id:``.
    """
    found: dict[str, str] = {}
    keys = list(_KEY.finditer(text))
    for i, k in enumerate(keys):
        name = k.group(1).lower().replace("_", " ")
        if name == "text":
            found.setdefault(name, text[k.end():])
            break
        end = keys[i + 1].start() if i + 1 < len(keys) else len(text)
        found.setdefault(name, text[k.end():end].strip())
    if not found.get("id"):
        return None
    stat = found.get("stat")
    return ReceiptText(
        id=found["id"], sub=found.get("sub"), dlvrd=found.get("dlvrd"),
        submit_date=found.get("submit date"), done_date=found.get("done date"),
        stat=stat.upper() if stat else None, err=found.get("err"),
        text=found.get("text"),
    )


# --- receipt matching ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceiptTally:
    """What the ledger concluded once the run ended.

    ``missing``: accepted ids without a final receipt. ``duplicates``: final
    receipts beyond the first for one id. ``unknown``: receipts whose id no
    submit_sm_resp of this run carried. ``early``: receipts that arrived
    before their own submit_sm_resp and were matched later (possible with
    tx+rx, where they travel on another socket; on a transceiver the design
    forbids it).
    """

    received: int
    matched: int
    intermediate: int
    missing: int
    duplicates: int
    unknown: int
    early: int
    duplicate_message_ids: int
    by_stat: dict[str, int] = field(default_factory=dict)
    latencies_s: tuple[float, ...] = ()

    @property
    def exactly_once(self) -> bool:
        """Every accepted message got one final receipt, nothing else came."""
        return self.missing == 0 and self.duplicates == 0 and self.unknown == 0


class ReceiptLedger:
    """Matches receipts to the message_ids of accepted submit_sm.

    Mutable on purpose (it lives for one run and sees every message), but
    with no I/O. Costs O(1) dict operations per message: accepted ids wait in
    ``_pending`` (id -> submit time) until their final receipt moves them to
    ``_done``. A receipt for an id not seen yet is parked, not condemned: on
    tx+rx binds it may legitimately beat its submit_sm_resp, which travels on
    the other socket.
    """

    __slots__ = (
        "_pending", "_done", "_parked", "_by_stat", "_latencies",
        "received", "matched", "intermediate", "duplicates", "early",
        "duplicate_message_ids",
    )

    def __init__(self) -> None:
        self._pending: dict[str, float] = {}
        self._done: set[str] = set()
        self._parked: dict[str, list[tuple[str, float]]] = {}
        self._by_stat: Counter[str] = Counter()
        self._latencies: list[float] = []
        self.received = 0
        self.matched = 0
        self.intermediate = 0
        self.duplicates = 0
        self.early = 0
        self.duplicate_message_ids = 0

    @property
    def awaiting(self) -> int:
        """Accepted messages still without a final receipt."""
        return len(self._pending)

    def accepted(self, message_id: str, submitted_at: float) -> None:
        """A submit_sm_resp with ESME_ROK carried ``message_id``."""
        if message_id in self._pending or message_id in self._done:
            self.duplicate_message_ids += 1
            return
        self._pending[message_id] = submitted_at
        if self._parked:
            parked = self._parked.pop(message_id, None)
            if parked:
                for stat, at in parked:
                    self.early += 1
                    self._match(message_id, stat, at)

    def receipt(self, message_id: str, stat: str, at: float) -> None:
        """A delivery receipt for ``message_id`` with ``stat`` arrived at ``at``."""
        self.received += 1
        self._by_stat[stat] += 1
        if message_id in self._pending or message_id in self._done:
            self._match(message_id, stat, at)
        else:
            self._parked.setdefault(message_id, []).append((stat, at))

    def _match(self, message_id: str, stat: str, at: float) -> None:
        self.matched += 1
        if stat in INTERMEDIATE_STATS:
            self.intermediate += 1
            return
        submitted_at = self._pending.pop(message_id, None)
        if submitted_at is None:
            self.duplicates += 1
            return
        self._done.add(message_id)
        self._latencies.append(at - submitted_at)

    def tally(self) -> ReceiptTally:
        """The verdict; parked receipts still unmatched count as unknown."""
        return ReceiptTally(
            received=self.received,
            matched=self.matched,
            intermediate=self.intermediate,
            missing=len(self._pending),
            duplicates=self.duplicates,
            unknown=sum(len(v) for v in self._parked.values()),
            early=self.early,
            duplicate_message_ids=self.duplicate_message_ids,
            by_stat=dict(sorted(self._by_stat.items())),
            latencies_s=tuple(self._latencies),
        )
