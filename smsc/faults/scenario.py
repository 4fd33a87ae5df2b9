"""A scenario: timed faults in a TOML file, run in order
(``smsc fault run scenario.toml``), for reproducible test runs::

    [[fault]]
    at = 0            # seconds after the run starts
    duration = 10     # then it ends by itself (omit: until the run ends)
    kind = "throttle"
    scope = "account"
    target = "shop"
    params = { ratio = 0.5 }

Each fault is checked before anything runs (a typo fails the run at
once). The runner adds each to the store at its time (a running server
applies it within a second) and, once the last has ended, exits; faults
without a duration are removed when the run ends (or is interrupted).
"""
from __future__ import annotations

import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from ..fault_model import Fault, FaultError, parse, parse_duration


@dataclass(frozen=True, slots=True)
class Step:
    at: float
    fault: Fault  # its times relative to the run's start (0)


def load(text: str, where: str = "<scenario>") -> list[Step]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FaultError(f"{where}: {exc}") from None
    steps = []
    for n, entry in enumerate(raw.get("fault", []), 1):
        if not isinstance(entry, dict):
            raise FaultError(f"{where}: [[fault]] {n}: expected a table")
        try:
            at = float(entry.get("at", 0))
            f = parse(
                entry.get("kind", ""), entry.get("scope", ""), str(entry.get("target", "")),
                entry.get("params", {}), now=0.0, duration=parse_duration(entry.get("duration")),
            )
        except (FaultError, TypeError, ValueError) as exc:
            raise FaultError(f"{where}: [[fault]] {n}: {exc}") from None
        steps.append(Step(at, f))
    if not steps:
        raise FaultError(f"{where}: no [[fault]] tables")
    return sorted(steps, key=lambda s: s.at)


def run(
    steps: list[Step], add: Callable[[Fault], int], remove: Callable[[int, float], bool], out: TextIO,
    now: Callable[[], float] = time.time, sleep: Callable[[float], Any] = time.sleep,
) -> int:
    """Add each step's fault at its time; wait for the ends; remove what
    has no end. Returns how many faults ran."""
    start = now()
    open_ended: list[int] = []
    last_end = start
    try:
        for step in steps:
            wait = start + step.at - now()
            if wait > 0:
                sleep(wait)
            t = now()
            f = step.fault
            ends = None if f.ends_at is None else t + (f.ends_at - f.starts_at)
            fault_id = add(Fault(0, f.kind, f.scope, f.target, f.params, t, ends))
            print(f"+{t - start:.1f}s {Fault(fault_id, f.kind, f.scope, f.target, f.params, t, ends).describe()}",
                  file=out, flush=True)
            if ends is None:
                open_ended.append(fault_id)
            else:
                last_end = max(last_end, ends)
        wait = last_end - now()
        if wait > 0:
            sleep(wait)
    finally:
        for fault_id in open_ended:
            remove(fault_id, now())
    print(f"scenario done: {len(steps)} faults in {now() - start:.1f}s", file=out, flush=True)
    return len(steps)
