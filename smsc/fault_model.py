"""What a fault is: its kind, its scope, its parameters and its time.

A fault is a plain frozen record, the same in the store, the CLI, the HTTP
API and the server. ``parse`` is the one place that checks one (each door
turns its ``FaultError`` into its own refusal). Only the standard library:
the CLI imports this module.

Kinds and their parameters (every one optional but where said):

========  ==================================================================
outage    ``mode`` "hold" (default: messages wait until it ends; their
          validity still applies) or "fail" (they end ``stat`` UNDELIV or
          REJECTD with ``error``, default 1)
throttle  ``status`` ESME_RTHROTTLED (default) or ESME_RMSGQFUL; ``ratio``
          of the submits in scope refused (default 1.0)
receipts  ``delay`` seconds a receipt is held, or ``ratio`` of receipts
          lost: ``lost`` "noreport" (a NOREPORT receipt when the
          validity ends, default) or "nothing" (no receipt at all)
slow      ``delay_ms`` each submit_sm_resp waits (scope: an account)
link      ``action``: "no_enquire" (enquire_link goes unanswered),
          "unbind" (we send unbind), "drop" (the TCP connection is cut),
          "nack" (the next ``count`` requests get generic_nack); ``every``
          seconds for unbind / drop (default: once, when the fault starts).
          Scope: an account
========  ==================================================================

Scopes: ``operator`` (a key of ``[operators]``), ``account`` (a system_id)
or ``destination`` (a regular expression searched in the E.164 number).
Times are Unix seconds; ``ends_at`` None: until removed.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("outage", "throttle", "receipts", "slow", "link")
SCOPES = ("operator", "account", "destination")
LINK_ACTIONS = ("no_enquire", "unbind", "drop", "nack")
#: the kinds that act on an account's sessions only
ACCOUNT_ONLY = frozenset({"slow", "link"})

#: command_status names a throttle fault may answer with
THROTTLE_STATUS = {"ESME_RTHROTTLED": 0x58, "ESME_RMSGQFUL": 0x14}
OUTAGE_STATS = ("UNDELIV", "REJECTD")

_ALLOWED: Mapping[str, frozenset[str]] = {
    "outage": frozenset({"mode", "stat", "error"}),
    "throttle": frozenset({"status", "ratio"}),
    "receipts": frozenset({"delay", "ratio", "lost"}),
    "slow": frozenset({"delay_ms"}),
    "link": frozenset({"action", "every", "count", "status"}),
}


class FaultError(ValueError):
    """A fault that cannot be: ``field`` names the culprit."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Fault:
    id: int
    kind: str
    scope: str
    target: str
    params: Mapping[str, Any] = field(default_factory=dict)
    starts_at: float = 0.0
    ends_at: float | None = None

    def describe(self) -> str:
        """One line for the log and the CLI."""
        params = " ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        until = "until removed" if self.ends_at is None else f"until {self.ends_at:.0f}"
        return f"fault {self.id} {self.kind} {self.scope}={self.target} {params} ({until})".replace("  ", " ")

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "scope": self.scope, "target": self.target,
            "params": dict(self.params), "starts_at": self.starts_at, "ends_at": self.ends_at,
        }

    def params_json(self) -> str:
        return json.dumps(dict(self.params), sort_keys=True)


def _number(params: Mapping[str, Any], name: str, low: float, high: float | None = None) -> None:
    if name not in params:
        return
    value = params[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError(f"{name} must be a number", name)
    if value < low or (high is not None and value > high):
        raise FaultError(f"{name} must be within {low}..{high if high is not None else 'any'}", name)


def parse(
    kind: str, scope: str, target: str, params: Mapping[str, Any] | None = None, *,
    now: float, duration: float | None = None, fault_id: int = 0,
) -> Fault:
    """A checked ``Fault`` starting ``now``, ending after ``duration`` s."""
    params = dict(params or {})
    if kind not in KINDS:
        raise FaultError(f"kind must be one of {', '.join(KINDS)}", "kind")
    if scope not in SCOPES:
        raise FaultError(f"scope must be one of {', '.join(SCOPES)}", "scope")
    if not target:
        raise FaultError("a scope needs a target (operator key, system_id or pattern)", "target")
    if kind in ACCOUNT_ONLY and scope != "account":
        raise FaultError(f"a {kind} fault acts on an account's sessions: scope must be account", "scope")
    if scope == "destination":
        try:
            re.compile(target)
        except re.error as exc:
            raise FaultError(f"bad destination pattern: {exc}", "target") from None
    unknown = set(params) - _ALLOWED[kind]
    if unknown:
        raise FaultError(f"{kind}: unknown parameter {sorted(unknown)[0]}", sorted(unknown)[0])
    if duration is not None and duration <= 0:
        raise FaultError("duration must be positive", "duration")
    _number(params, "ratio", 0.0, 1.0)
    _number(params, "delay", 0.0)
    _number(params, "delay_ms", 0.0)
    _number(params, "every", 0.1)
    _number(params, "count", 1)
    _number(params, "error", 0, 255)
    if kind == "outage":
        if params.setdefault("mode", "hold") not in ("hold", "fail"):
            raise FaultError("mode must be hold or fail", "mode")
        if params["mode"] == "fail":
            if params.setdefault("stat", "UNDELIV") not in OUTAGE_STATS:
                raise FaultError("stat must be UNDELIV or REJECTD", "stat")
            params.setdefault("error", 1)
    elif kind == "throttle":
        if params.setdefault("status", "ESME_RTHROTTLED") not in THROTTLE_STATUS:
            raise FaultError("status must be ESME_RTHROTTLED or ESME_RMSGQFUL", "status")
        params.setdefault("ratio", 1.0)
    elif kind == "receipts":
        if ("delay" in params) == ("ratio" in params):
            raise FaultError("a receipts fault has a delay or a ratio (of receipts lost)", "delay")
        if "ratio" in params and params.setdefault("lost", "noreport") not in ("noreport", "nothing"):
            raise FaultError("lost must be noreport or nothing", "lost")
    elif kind == "slow":
        if "delay_ms" not in params:
            raise FaultError("a slow fault needs delay_ms", "delay_ms")
    elif kind == "link":
        if params.get("action") not in LINK_ACTIONS:
            raise FaultError(f"action must be one of {', '.join(LINK_ACTIONS)}", "action")
        if params["action"] == "nack":
            params.setdefault("count", 1)
    return Fault(fault_id, kind, scope, target, params, now, None if duration is None else now + duration)


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` words (the CLI's) as parameters: numbers as numbers."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise FaultError(f"{pair!r}: expected key=value", pair)
        try:
            out[key] = int(value)
        except ValueError:
            try:
                out[key] = float(value)
            except ValueError:
                out[key] = value
    return out


def parse_duration(text: str | float | int | None) -> float | None:
    """``30``, ``30s``, ``5m``, ``1h`` in seconds; None for none."""
    if text is None or text == "":
        return None
    if isinstance(text, int | float):
        return float(text)
    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = (text[:-1], units[text[-1]]) if text[-1] in units else (text, 1)
    try:
        return float(number) * unit
    except ValueError:
        raise FaultError(f"{text!r}: expected seconds, or a number with s, m or h", "duration") from None
