"""The operators' routes (admin token): the CLI's account operations and
MO injection over HTTP.

Each route makes the same checks (``smsc.accounts.admin``) and the same
store calls as its CLI command, through the server's store port; an
``AdminError`` (or the store refusal it stands for) becomes 400 (invalid,
with the field), 404 (not_found) or 409 (conflict). Changes reach the
running engine as CLI changes do: accounts are read back after commits,
within a second.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure

from ..accounts import admin
from ..records import Account
from ..store.port import StorePort
from .api import ApiError, Call, Reply, Route, bad_field, route

if TYPE_CHECKING:
    from .deps import WebDeps

_HTTP = {"invalid": 400, "not_found": 404, "conflict": 409}


def _run(status: int, system_id: str, work: Coroutine[Any, Any, Any]) -> "Deferred[Reply]":
    """``work``, answered with ``status`` and its result; an AdminError, or
    a store refusal about ``system_id``, as its HTTP error."""

    def refused(failure: Failure) -> Failure:
        e = failure.value
        if not isinstance(e, admin.AdminError):
            mapped = admin.store_error(e, system_id)
            if mapped is None:
                return failure
            e = mapped
        field = e.field and {"amount": "amount_uah", "balance": "balance_uah"}.get(e.field, e.field)
        raise ApiError(_HTTP[e.code], e.code if e.code != "invalid" else "invalid_field", str(e), field)

    d: Deferred[Any] = Deferred.fromCoroutine(work)
    return d.addCallbacks(lambda body: Reply(status, body), refused)


async def _account(store: StorePort, system_id: str) -> Account:
    account = await store.account(system_id)
    if account is None:
        raise admin.no_account(system_id)
    return account


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
    async def work() -> list[dict[str, Any]]:
        return [admin.account_json(a) for a in await deps.store.list_accounts()]

    return _run(200, "", work())


@route("POST", "/v1/admin/accounts", auth="admin")
def create_account(deps: "WebDeps", call: Call) -> Any:
    system_id = call.value("system_id", str)
    mode = call.value("mode", str, required=False) or "test"
    password = call.value("password", str, required=False)
    balance = _kopecks(call, "balance_uah", required=False)
    alpha = call.strings("alpha_names") if call.json().get("alpha_names") else []

    async def work() -> dict[str, Any]:
        # hashing the password is slow on purpose: on a thread
        account, pw = await deferToThread(
            admin.new_account, deps.config.accounts, system_id, password=password, mode=mode,
            balance_kopecks=balance, alpha=tuple(alpha),
        )
        await deps.store.add_account(account)
        return {**admin.account_json(await _account(deps.store, system_id)), "password": pw.password}

    return _run(201, system_id, work())


@route("GET", "/v1/admin/accounts/{system_id}", auth="admin")
def show_account(deps: "WebDeps", call: Call) -> Any:
    sid = call.params["system_id"]

    async def work() -> dict[str, Any]:
        return admin.account_json(await _account(deps.store, sid))

    return _run(200, sid, work())


@route("POST", "/v1/admin/accounts/{system_id}/topup", auth="admin")
def topup(deps: "WebDeps", call: Call) -> Any:
    kopecks = _kopecks(call, "amount_uah")
    assert kopecks is not None
    sid = call.params["system_id"]

    async def work() -> dict[str, Any]:
        admin.check_topup(kopecks)
        await deps.store.add_balance(sid, kopecks)
        return admin.account_json(await _account(deps.store, sid))

    return _run(200, sid, work())


@route("POST", "/v1/admin/accounts/{system_id}/promote", auth="admin")
def promote(deps: "WebDeps", call: Call) -> Any:
    sid = call.params["system_id"]

    async def work() -> dict[str, Any]:
        await deps.store.set_mode(sid, "user")
        return admin.account_json(await _account(deps.store, sid))

    return _run(200, sid, work())


@route("POST", "/v1/admin/accounts/{system_id}/apikey", auth="admin")
def api_key(deps: "WebDeps", call: Call) -> Any:
    sid = call.params["system_id"]

    async def work() -> dict[str, Any]:
        key, sha = admin.new_key()
        await deps.store.set_api_key(sid, sha)
        return {"system_id": sid, "api_key": key}

    return _run(201, sid, work())


async def _alpha_names(store: StorePort, sid: str) -> dict[str, Any]:
    return {"system_id": sid, "alpha_names": list((await _account(store, sid)).alpha_names)}


@route("POST", "/v1/admin/accounts/{system_id}/alpha", auth="admin")
def add_alpha(deps: "WebDeps", call: Call) -> Any:
    name = call.value("name", str)
    sid = call.params["system_id"]

    async def work() -> dict[str, Any]:
        await deps.store.add_alpha(sid, admin.alpha_name(name))
        return await _alpha_names(deps.store, sid)

    return _run(200, sid, work())


@route("DELETE", "/v1/admin/accounts/{system_id}/alpha/{name}", auth="admin")
def remove_alpha(deps: "WebDeps", call: Call) -> Any:
    sid = call.params["system_id"]

    async def work() -> dict[str, Any]:
        name = admin.alpha_name(call.params["name"])
        if not await deps.store.remove_alpha(sid, name):
            raise admin.no_alpha(sid, name)
        return await _alpha_names(deps.store, sid)

    return _run(200, sid, work())


def _list_routes(
    name: str, field: str, normalise: Callable[[list[str]], list[str]],
    read: Callable[[StorePort, str], Awaitable[list[str]]],
    add: Callable[[StorePort, str, list[str]], Awaitable[int]],
    remove: Callable[[StorePort, str, list[str]], Awaitable[object]],
) -> tuple[Route, Route, Route]:
    """GET, POST and DELETE of an account's list ``name`` (blacklist,
    allowlist): ``{"system_id", field: [...]}`` back, with ``added`` on a
    POST. One shape, so the two lists answer and refuse alike."""
    path = f"/v1/admin/accounts/{{system_id}}/{name}"

    async def listed(store: StorePort, sid: str, **extra: Any) -> dict[str, Any]:
        return {"system_id": sid, field: await read(store, sid), **extra}

    def get(deps: "WebDeps", call: Call) -> Any:
        sid = call.params["system_id"]

        async def work() -> dict[str, Any]:
            await _account(deps.store, sid)
            return await listed(deps.store, sid)

        return _run(200, sid, work())

    def post(deps: "WebDeps", call: Call) -> Any:
        values, sid = call.strings(field), call.params["system_id"]

        async def work() -> dict[str, Any]:
            added = await add(deps.store, sid, normalise(values))
            return await listed(deps.store, sid, added=added)

        return _run(200, sid, work())

    def delete(deps: "WebDeps", call: Call) -> Any:
        values, sid = call.strings(field), call.params["system_id"]

        async def work() -> dict[str, Any]:
            await remove(deps.store, sid, normalise(values))
            return await listed(deps.store, sid)

        return _run(200, sid, work())

    return route("GET", path, "admin")(get), route("POST", path, "admin")(post), route("DELETE", path, "admin")(delete)


BLACKLIST_ROUTES = _list_routes(
    "blacklist", "numbers", admin.normalise_numbers,
    lambda store, sid: store.blacklist(sid),
    lambda store, sid, numbers: store.add_blacklist(sid, numbers),
    lambda store, sid, numbers: store.remove_blacklist(sid, numbers),
)
ALLOWLIST_ROUTES = _list_routes(
    "allowlist", "networks", admin.normalise_networks,
    lambda store, sid: store.allowlist(sid),
    lambda store, sid, networks: store.add_allowlist(sid, networks),
    lambda store, sid, networks: store.remove_allowlist(sid, networks),
)


@route("POST", "/v1/admin/mo", auth="admin")
def inject_mo(deps: "WebDeps", call: Call) -> Any:
    to, source, text = call.value("to", str), call.value("from", str), call.value("text", str)

    async def work() -> dict[str, Any]:
        system_id, digits = admin.mo_route(deps.config.mo, to, source, text)
        mo_id = await deps.store.add_mo(system_id, digits, to, text)
        return {"id": mo_id, "system_id": system_id, "from": digits, "to": to, "status": "QUEUED"}

    return _run(202, "", work())



@route("GET", "/v1/admin/alpha-applications", auth="admin")
def alpha_applications(deps: "WebDeps", call: Call) -> Any:
    from .customer import application_view

    async def work() -> list[dict[str, Any]]:
        return [application_view(a) for a in await deps.store.alpha_applications(None)]

    return _run(200, "", work())


def _decide(deps: "WebDeps", call: Call, approve: bool) -> Any:
    import time

    from .customer import application_view

    sid = call.params["system_id"]
    reason = "" if approve else call.value("reason", str).strip()
    if not approve and not reason:
        raise bad_field("reason", "say why (the customer is shown it)")

    async def work() -> dict[str, Any]:
        name = admin.alpha_name(call.params["name"])
        if not await deps.store.decide_alpha(sid, name, approve, reason, time.time()):
            raise admin.AdminError("not_found", f"{sid} has no pending application for {name}", "name")
        found = {a.name: a for a in await deps.store.alpha_applications(sid)}
        return application_view(found[name])

    return _run(200, sid, work())


@route("POST", "/v1/admin/accounts/{system_id}/alpha/{name}/approve", auth="admin")
def approve_alpha(deps: "WebDeps", call: Call) -> Any:
    return _decide(deps, call, True)


@route("POST", "/v1/admin/accounts/{system_id}/alpha/{name}/reject", auth="admin")
def reject_alpha(deps: "WebDeps", call: Call) -> Any:
    return _decide(deps, call, False)

ROUTES = (list_accounts, create_account, show_account, topup, promote, api_key, add_alpha, remove_alpha,
          *BLACKLIST_ROUTES, *ALLOWLIST_ROUTES, inject_mo, alpha_applications, approve_alpha, reject_alpha)
