"""The operators' routes (admin token): the CLI's account operations and
MO injection over HTTP.

Each route calls the same ``smsc.accounts.admin`` function as its CLI
command, on the store thread; its ``AdminError`` becomes 400 (invalid,
with the field), 404 (not_found) or 409 (conflict). Changes reach the
running engine as CLI changes do: accounts are read back after commits,
within a second.
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from twisted.python.failure import Failure

from ..accounts import admin
from .api import ApiError, Call, Reply, bad_field, route

if TYPE_CHECKING:
    from .deps import WebDeps

_HTTP = {"invalid": 400, "not_found": 404, "conflict": 409}


def _run(deps: "WebDeps", status: int, fn: Any, *args: Any) -> Any:
    """``fn(store, *args)`` on the store thread, answered with ``status``
    and its result; an AdminError as its HTTP error."""

    def refused(failure: Failure) -> None:
        failure.trap(admin.AdminError)
        e = failure.value
        field = {"amount": "amount_uah", "balance": "balance_uah"}.get(e.field, e.field)
        raise ApiError(_HTTP[e.code], e.code if e.code != "invalid" else "invalid_field", str(e), field)

    return deps.store.run(fn, *args).addCallbacks(lambda body: Reply(status, body), refused)


def _kopecks(call: Call, name: str, required: bool = True) -> int | None:
    """A UAH amount field (``"12.34"`` or 12.34) in kopecks; 400 naming it."""
    value = call.value(name, (str, int, Decimal), required)
    if value is None:
        return None
    try:
        return admin.kopecks_of(value, name)
    except admin.AdminError as exc:
        raise bad_field(name, str(exc)) from None


@route("GET", "/v1/admin/accounts", auth="admin")
def list_accounts(deps: "WebDeps", call: Call) -> Any:
    return _run(deps, 200, lambda store: [admin.account_json(a) for a in store.list_accounts()])


@route("POST", "/v1/admin/accounts", auth="admin")
def create_account(deps: "WebDeps", call: Call) -> Any:
    system_id = call.value("system_id", str)
    mode = call.value("mode", str, required=False) or "test"
    password = call.value("password", str, required=False)
    balance = _kopecks(call, "balance_uah", required=False)
    alpha = call.strings("alpha_names") if call.json().get("alpha_names") else []

    def create(store: Any) -> dict[str, Any]:
        account, pw = admin.create_account(
            store, deps.config.accounts, system_id, password=password, mode=mode,
            balance_kopecks=balance, alpha=tuple(alpha),
        )
        return {**admin.account_json(account), "password": pw.password}

    return _run(deps, 201, create)


@route("GET", "/v1/admin/accounts/{system_id}", auth="admin")
def show_account(deps: "WebDeps", call: Call) -> Any:
    return _run(deps, 200, lambda store, sid: admin.account_json(admin.get_account(store, sid)),
                call.params["system_id"])


@route("POST", "/v1/admin/accounts/{system_id}/topup", auth="admin")
def topup(deps: "WebDeps", call: Call) -> Any:
    kopecks = _kopecks(call, "amount_uah")
    return _run(deps, 200, lambda store, sid: admin.account_json(admin.topup(store, sid, kopecks)),
                call.params["system_id"])


@route("POST", "/v1/admin/accounts/{system_id}/promote", auth="admin")
def promote(deps: "WebDeps", call: Call) -> Any:
    return _run(deps, 200, lambda store, sid: admin.account_json(admin.promote(store, sid)),
                call.params["system_id"])


@route("POST", "/v1/admin/accounts/{system_id}/apikey", auth="admin")
def api_key(deps: "WebDeps", call: Call) -> Any:
    def make(store: Any, sid: str) -> dict[str, Any]:
        return {"system_id": sid, "api_key": admin.new_api_key(store, sid)}

    return _run(deps, 201, make, call.params["system_id"])


def _alpha_names(store: Any, sid: str) -> dict[str, Any]:
    return {"system_id": sid, "alpha_names": list(admin.get_account(store, sid).alpha_names)}


@route("POST", "/v1/admin/accounts/{system_id}/alpha", auth="admin")
def add_alpha(deps: "WebDeps", call: Call) -> Any:
    name = call.value("name", str)

    def add(store: Any, sid: str) -> dict[str, Any]:
        admin.add_alpha(store, sid, name)
        return _alpha_names(store, sid)

    return _run(deps, 200, add, call.params["system_id"])


@route("DELETE", "/v1/admin/accounts/{system_id}/alpha/{name}", auth="admin")
def remove_alpha(deps: "WebDeps", call: Call) -> Any:
    def remove(store: Any, sid: str, name: str) -> dict[str, Any]:
        admin.remove_alpha(store, sid, name)
        return _alpha_names(store, sid)

    return _run(deps, 200, remove, call.params["system_id"], call.params["name"])


def _numbers(store: Any, sid: str, **extra: Any) -> dict[str, Any]:
    return {"system_id": sid, "numbers": admin.blacklist(store, sid), **extra}


@route("GET", "/v1/admin/accounts/{system_id}/blacklist", auth="admin")
def get_blacklist(deps: "WebDeps", call: Call) -> Any:
    return _run(deps, 200, _numbers, call.params["system_id"])


@route("POST", "/v1/admin/accounts/{system_id}/blacklist", auth="admin")
def add_blacklist(deps: "WebDeps", call: Call) -> Any:
    numbers = call.strings("numbers")

    def add(store: Any, sid: str) -> dict[str, Any]:
        _, added = admin.blacklist_add(store, sid, numbers)
        return _numbers(store, sid, added=added)

    return _run(deps, 200, add, call.params["system_id"])


@route("DELETE", "/v1/admin/accounts/{system_id}/blacklist", auth="admin")
def remove_blacklist(deps: "WebDeps", call: Call) -> Any:
    numbers = call.strings("numbers")

    def remove(store: Any, sid: str) -> dict[str, Any]:
        admin.blacklist_remove(store, sid, numbers)
        return _numbers(store, sid)

    return _run(deps, 200, remove, call.params["system_id"])


@route("POST", "/v1/admin/mo", auth="admin")
def inject_mo(deps: "WebDeps", call: Call) -> Any:
    to, source, text = call.value("to", str), call.value("from", str), call.value("text", str)

    def inject(store: Any) -> dict[str, Any]:
        mo = admin.inject_mo(store, deps.config.mo, to, source, text)
        return {"id": mo.id, "system_id": mo.system_id, "from": mo.source, "to": mo.to, "status": "QUEUED"}

    return _run(deps, 202, inject)


ROUTES = (list_accounts, create_account, show_account, topup, promote, api_key, add_alpha, remove_alpha,
          get_blacklist, add_blacklist, remove_blacklist, inject_mo)
