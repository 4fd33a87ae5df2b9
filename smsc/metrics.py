"""Prometheus metrics: one registry per server, passed to the parts that count.

Naming follows Prometheus conventions (counters end in ``_total``,
durations are histograms in seconds, gauges for current values). Label
values are bounded: account system_ids, command names, status names,
operator keys, stats; never message ids or phone numbers.

Hot-path counters keep their label children cached (``labels(...)`` costs
~1 µs, a cached child's ``inc()`` ~0.3 µs). Current values (binds, receipt
backlog, operator queues) are read at scrape time by a collector, so
nothing on the hot path maintains them.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .pdu.constants import CommandId, CommandStatus

#: seconds; submit_sm -> resp is a group commit, a few ms to a few hundred
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def status_name(status: int) -> str:
    try:
        return CommandStatus(status).name
    except ValueError:
        return f"0x{status:08x}"


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.bind_attempts = Counter(
            "smsc_bind_attempts_total", "Bind requests by result (command_status name).",
            ["result"], registry=r,
        )
        self.pdus = Counter(
            "smsc_pdus_total", "SMPP PDUs by direction (in/out), command and command_status.",
            ["direction", "command", "status"], registry=r,
        )
        self.submits = Counter(
            "smsc_submits_total", "submit_sm results by command_status name.", ["status"], registry=r,
        )
        self.segments = Counter(
            "smsc_segments_total", "Segments accepted, by operator and network encoding.",
            ["operator", "encoding"], registry=r,
        )
        self.receipts = Counter(
            "smsc_receipts_total", "Final states reached (receipt stat), by operator.",
            ["operator", "stat"], registry=r,
        )
        self.balance_refusals = Counter(
            "smsc_balance_refusals_total", "Submits refused because the balance was short.",
            registry=r,
        )
        self.submit_latency = Histogram(
            "smsc_submit_latency_seconds", "submit_sm received -> submit_sm_resp queued.",
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.commit_latency = Histogram(
            "smsc_store_commit_seconds", "One group commit, from hand-off to the store thread back.",
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self._children: dict[tuple, Any] = {}

    def pdu(self, direction: str, command_id: int, status: int) -> None:
        key = ("pdu", direction, command_id, status)
        child = self._children.get(key)
        if child is None:
            try:
                command = CommandId(command_id).name.lower()
            except ValueError:
                command = "unknown"
            child = self._children[key] = self.pdus.labels(direction, command, status_name(status))
        child.inc()

    def submit(self, status: int) -> None:
        key = ("submit", status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.submits.labels(status_name(status))
        child.inc()

    def segment(self, operator: str, encoding: str, n: int) -> None:
        key = ("segments", operator, encoding)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.segments.labels(operator, encoding)
        child.inc(n)

    def final(self, operator: str, stat: str) -> None:
        key = ("final", operator, stat)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.receipts.labels(operator, stat)
        child.inc()

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
