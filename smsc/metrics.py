"""Prometheus metrics: one registry per server, passed to the parts that count.

Naming follows Prometheus conventions (counters end in ``_total``,
durations are histograms in seconds, gauges for current values). Label
values are bounded: account system_ids, command names, status names,
operator keys, stats; never message ids or phone numbers.

The hot path only bumps plain ints in dicts (~0.1 µs; a prometheus-client
child's ``inc()`` takes a lock and costs several times that, four PDUs and
a few events per message); a collector turns them into metric families at
scrape time, through prometheus-client's registry and exposition. Current
values (binds, receipt backlog, operator queues) are read at scrape time.
The registry also has prometheus-client's process and platform collectors
(``process_*``: CPU, memory, open files; ``python_info``).

Submits are counted per front door (:data:`DOORS`): the SMPP session
bumps its own dict (:meth:`Metrics.submit`, the hot path: no label
lookup), the engine's ``send`` the HTTP and campaign ones. A request PDU
has no status (its header's command_status is 0 whether it is then
accepted or refused): ``smsc_pdus`` labels it ``status=""``, and the
answer's status is on its ``*_resp``.
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from .pdu.constants import CommandId, CommandStatus

#: the front doors a message comes in by: SMPP, the HTTP API, a campaign
DOORS = ("smpp", "http", "campaign")
#: command_id bit of a response (SMPP 3.4 5.1.2.1)
_RESPONSE = 0x80000000

#: seconds; submit_sm -> resp is a group commit, a few ms to a few hundred
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def status_name(status: int) -> str:
    try:
        return CommandStatus(status).name
    except ValueError:
        return f"0x{status:08x}"


def command_name(command_id: int) -> str:
    try:
        return CommandId(command_id).name.lower()
    except ValueError:
        return "unknown"


class Histogram:
    """Cumulative buckets kept as plain ints; rendered at scrape time."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def family(self, name: str, doc: str) -> HistogramMetricFamily:
        buckets, running = [], 0
        for bound, n in zip((*map(str, self.bounds), "+Inf"), self.counts, strict=True):
            running += n
            buckets.append((bound, running))
        return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=self.sum)


class NodeLabelled:
    """A registry's metrics with a ``node`` label on every sample: what
    ``/metrics`` exposes, so the nodes of one store scrape apart
    (prometheus-client has no registry-wide constant label)."""

    def __init__(self, registry: CollectorRegistry, node: str) -> None:
        self._registry = registry
        self._node = node

    def collect(self) -> Any:
        for family in self._registry.collect():
            family.samples = [s._replace(labels={**s.labels, "node": self._node}) for s in family.samples]
            yield family


class Metrics(Collector):
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        #: this node's name ([cluster] node), a label on every sample once set
        self.node = ""
        #: (direction "in"/"out", command_id, command_status) -> count
        self.pdus: dict[tuple[str, int, int], int] = {}
        #: door (DOORS) -> command_status -> submits answered with it
        self.submits: dict[str, dict[int, int]] = {door: {} for door in DOORS}
        self._smpp_submits = self.submits["smpp"]
        #: result status -> bind attempts
        self.binds: dict[int, int] = {}
        #: (operator, encoding) -> segments accepted
        self.segments: dict[tuple[str, str], int] = {}
        #: (operator, stat) -> final states
        self.finals: dict[tuple[str, str], int] = {}
        self.balance_refusals = 0
        #: accounts locked after too many failed logins
        self.lockouts = 0
        #: store commits that failed (a full disk, an I/O error)
        self.store_errors = 0
        #: reason ("total", "address") -> SMPP connections closed at once
        self.refused_connections: dict[str, int] = {}
        self.submit_latency = Histogram()
        self.commit_latency = Histogram()
        self.registry.register(self)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    # --- counting (hot path: plain dict arithmetic) ---------------------------

    def pdu(self, direction: str, command_id: int, status: int) -> None:
        key = (direction, command_id, status)
        self.pdus[key] = self.pdus.get(key, 0) + 1

    def submit(self, status: int) -> None:
        """An SMPP submit answered (once per message: its door's dict is at hand)."""
        counts = self._smpp_submits
        counts[status] = counts.get(status, 0) + 1

    def door_submit(self, door: str, status: int) -> None:
        """A submit through another door (``http``, ``campaign``) answered."""
        counts = self.submits[door]
        counts[status] = counts.get(status, 0) + 1

    def bind(self, status: int) -> None:
        self.binds[status] = self.binds.get(status, 0) + 1

    def lockout(self, system_id: str) -> None:
        self.lockouts += 1

    def connection_refused(self, reason: str) -> None:
        self.refused_connections[reason] = self.refused_connections.get(reason, 0) + 1

    def store_error(self, writes: int, error: str) -> None:
        """A commit failed (StorePort.on_commit_failure): once per commit."""
        self.store_errors += 1

    def segment(self, operator: str, encoding: str, n: int) -> None:
        key = (operator, encoding)
        self.segments[key] = self.segments.get(key, 0) + n

    def final(self, operator: str, stat: str) -> None:
        key = (operator, stat)
        self.finals[key] = self.finals.get(key, 0) + 1

    # --- scraping -------------------------------------------------------------

    def collect(self) -> Iterable[Any]:
        c = CounterMetricFamily("smsc_pdus", "SMPP PDUs by direction, command and command_status.",
                                labels=["direction", "command", "status"])
        for (direction, cid, status), n in list(self.pdus.items()):
            c.add_metric([direction, command_name(cid), status_name(status) if cid & _RESPONSE else ""], n)
        yield c
        c = CounterMetricFamily("smsc_submits", "Submits answered, by door (smpp, http, campaign) and status.",
                                labels=["door", "status"])
        for door, counts in self.submits.items():
            for status, n in list(counts.items()):
                c.add_metric([door, status_name(status)], n)
        yield c
        c = CounterMetricFamily("smsc_bind_attempts", "Bind requests by result.", labels=["result"])
        for status, n in list(self.binds.items()):
            c.add_metric([status_name(status)], n)
        yield c
        c = CounterMetricFamily("smsc_segments", "Segments accepted, by operator and network encoding.",
                                labels=["operator", "encoding"])
        for (op, enc), n in list(self.segments.items()):
            c.add_metric([op, enc], n)
        yield c
        c = CounterMetricFamily("smsc_receipts", "Final states reached (receipt stat), by operator.",
                                labels=["operator", "stat"])
        for (op, stat), n in list(self.finals.items()):
            c.add_metric([op, stat], n)
        yield c
        yield CounterMetricFamily("smsc_balance_refusals", "Submits refused for a short balance.",
                                  value=self.balance_refusals)
        yield CounterMetricFamily("smsc_login_lockouts", "Accounts locked after too many failed logins "
                                  "([accounts] max_account_failures).", value=self.lockouts)
        c = CounterMetricFamily("smsc_connections_refused", "SMPP connections closed at once: over "
                                "[smpp] max_connections (total) or max_connections_per_address (address).",
                                labels=["reason"])
        for reason, n in list(self.refused_connections.items()):
            c.add_metric([reason], n)
        yield c
        yield CounterMetricFamily("smsc_store_errors", "Store commits that failed (a full disk, I/O errors); "
                                  "their submits were answered ESME_RSYSERR.", value=self.store_errors)
        yield self.submit_latency.family("smsc_submit_latency_seconds",
                                         "submit_sm received -> submit_sm_resp queued.")
        yield self.commit_latency.family("smsc_store_commit_seconds",
                                         "One group commit, from hand-off to the store thread back.")

    def watch(self, collector: Collector) -> None:
        self.registry.register(collector)


class GaugeCollector(Collector):
    """Current values read at scrape time: ``read()`` yields (labels, value)."""

    def __init__(self, name: str, doc: str, labels: list[str], read: Callable[[], Iterable[tuple]]) -> None:
        self._name, self._doc, self._labels, self._read = name, doc, labels, read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        g = GaugeMetricFamily(self._name, self._doc, labels=self._labels)
        for labels, value in self._read():
            g.add_metric(list(labels), value)
        yield g
