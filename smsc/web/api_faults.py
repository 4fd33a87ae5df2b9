"""The admin routes of faults on demand (README "Faults on demand") and of
the clients' conformance reports (README "Conformance report").

A fault is written to the store, as ``smsc fault add`` does; the server
applies it within a second (``smsc.faults.registry.Faults.poll``)."""
from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred

from ..fault_model import Fault, FaultError, parse
from .api import ApiError, Call, Reply, bad_field, route

if TYPE_CHECKING:
    from .deps import WebDeps


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


@route("GET", "/v1/admin/faults", auth="admin")
def list_faults(deps: "WebDeps", call: Call) -> Any:
    d: Deferred[Any] = deps.store.active_faults(time.time())
    return d.addCallback(lambda faults: Reply(200, [f.json() for f in faults]))


@route("POST", "/v1/admin/faults", auth="admin")
def add_fault(deps: "WebDeps", call: Call) -> Any:
    kind, scope, target = call.value("kind", str), call.value("scope", str), call.value("target", str)
    params = call.value("params", dict, required=False) or {}
    duration = call.value("duration", (int, Decimal), required=False)
    try:
        f = parse(kind, scope, target, {k: _plain(v) for k, v in params.items()}, now=time.time(),
                  duration=None if duration is None else float(duration))
    except FaultError as exc:
        raise bad_field(exc.field or "params", str(exc)) from None
    d: Deferred[Any] = deps.store.add_fault(f)
    return d.addCallback(lambda fault_id: Reply(201, Fault(
        fault_id, f.kind, f.scope, f.target, f.params, f.starts_at, f.ends_at).json()))


@route("DELETE", "/v1/admin/faults/{id}", auth="admin")
def remove_fault(deps: "WebDeps", call: Call) -> Any:
    try:
        fault_id = int(call.params["id"])
    except ValueError:
        raise ApiError(404, "not_found", f"no active fault {call.params['id']!r}") from None

    def removed(ok: bool) -> Reply:
        if not ok:
            raise ApiError(404, "not_found", f"no active fault {fault_id}")
        return Reply(200, {"id": fault_id, "removed": True})

    d: Deferred[Any] = deps.store.remove_fault(fault_id, time.time())
    return d.addCallback(removed)


@route("GET", "/v1/admin/clients/{system_id}", auth="admin")
def client_report(deps: "WebDeps", call: Call) -> Any:
    from ..server.conformance import summary

    sid = call.params["system_id"]
    args: dict[bytes, list[bytes]] = call.request.args or {}
    since_arg = args.get(b"since", [b"0"])[0]
    try:
        window = float(since_arg)
    except ValueError:
        raise ApiError(400, "invalid_field", "since: seconds back", "since") from None
    since = time.time() - window if window > 0 else 0.0
    d: Deferred[Any] = deps.store.client_reports(sid, since)
    return d.addCallback(lambda rows: Reply(200, summary(sid, [json.loads(r.body) for r in rows])))


ROUTES = (list_faults, add_fault, remove_fault, client_report)
