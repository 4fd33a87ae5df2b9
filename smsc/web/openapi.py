"""The OpenAPI 3.1 document of the HTTP API, served at
``GET /api/v1/openapi.json``.

Built here in Python so the parts that have a single source elsewhere are
taken from it: the error codes of a refused message from
``api_messages.REFUSALS``. ``tests/web/test_api_schema.py`` checks every
route is described and runs schemathesis against a live server with it.
"""
from __future__ import annotations

from typing import Any

from .api import Call, Reply, route
from .api_messages import INSUFFICIENT_FUNDS, OTHER_REFUSAL, REFUSALS

_ACCOUNT_AUTH: list[dict[str, list[str]]] = [{"basicAuth": []}, {"apiKey": []}]
_ADMIN_AUTH: list[dict[str, list[str]]] = [{"adminToken": []}]

_ERROR_TEXT = {
    400: "Bad request: not JSON, a missing field, a field of the wrong type or value (`field` names it)",
    401: "Missing or wrong credentials",
    402: "The balance does not cover the message (`insufficient_funds`)",
    403: "Admin routes are off: no admin token is configured (`admin_disabled`), or the account may not "
         "log in from this address (`address_not_allowed`: its IP allowlist)",
    404: "No such account, message, alpha-name, blacklisted number or allowlisted network",
    409: "The account already exists",
    413: "The body is over 64 KiB",
    422: "The message is refused (`invalid_destination`, `invalid_sender`, `text_too_long`, ...)",
    429: "Over the account's rate or a test account's daily cap, or too many failed logins "
         "from this address or against this account or the admin token (`throttled`)",
    503: "The message could not be stored (`unavailable`); try again",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _op(summary: str, ok: int, schema: str, errors: tuple[int, ...], *, auth: list | None,
        body: str | None = None, params: tuple[str, ...] = ()) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {
            str(ok): {"description": "OK", "content": _json(_ref(schema))},
            **{str(code): {"description": _ERROR_TEXT[code], "content": _json(_ref("Error"))}
               # 400: a bad body; 429: too many failed logins from the address, on every route behind a secret
               for code in sorted({*errors, *((400,) if body else ()), *((429,) if auth is not None else ())})},
        },
    }
    if auth is not None:
        op["security"] = auth
    if body is not None:
        op["requestBody"] = {"required": True, "content": _json(_ref(body))}
    if params:
        op["parameters"] = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
            for p in params
        ]
    return op


def _object(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


_STR = {"type": "string"}
_INT = {"type": "integer"}
_NULL_STR = {"type": ["string", "null"]}
_AMOUNT = {"oneOf": [{"type": "string", "pattern": r"^\s*-?[0-9]+(\.[0-9]{1,2})?\s*$"},
                     {"type": "number", "multipleOf": 0.01}],
           "description": "UAH, at most two decimals: \"12.34\" or 12.34"}

_FAULT = _object(
    ["id", "kind", "scope", "target", "params", "starts_at", "ends_at"], id=_INT, kind=_STR, scope=_STR,
    target=_STR, params={"type": "object"}, starts_at={"type": "number"}, ends_at={"type": ["number", "null"]})

_ACCOUNT = _object(
    ["system_id", "mode", "balance_kopecks", "balance_uah", "alpha_names"],
    system_id=_STR, mode={"enum": ["test", "user"]}, balance_kopecks=_INT, balance_uah=_STR,
    alpha_names={"type": "array", "items": _STR},
    rate={"type": ["number", "null"]}, max_binds={"type": ["integer", "null"]},
    id_format={"enum": ["hex", "decimal", "uuid"]}, id_width=_INT,
    receipt_seconds={"type": "boolean"}, receipt_tz=_STR,
    allowlist={"type": "array", "items": _STR,
               "description": "IP networks (CIDR) it may log in from; empty: any address"},
)

_ERROR_CODES = sorted({r.code for r in REFUSALS.values()} | {INSUFFICIENT_FUNDS.code, OTHER_REFUSAL.code} | {
    "invalid_json", "missing_field", "invalid_field", "body_too_large", "unauthorized",
    "admin_disabled", "address_not_allowed", "not_found", "conflict", "method_not_allowed", "internal_error"})

SCHEMAS: dict[str, Any] = {
    "Error": _object(["error"], error=_object(
        ["code", "message"], code={"type": "string", "enum": _ERROR_CODES}, message=_STR,
        field=_STR, smpp_status={"type": "string", "description": "the SMPP command_status an ESME would get"},
    )),
    "SendMessage": _object(
        ["from", "to", "text"],
        **{"from": {"type": "string", "description": "alpha-name or numeric sender registered for the account"}},
        to={"type": "string", "description": "+380XXXXXXXXX, 380XXXXXXXXX or 0XXXXXXXXX"},
        text={"type": "string", "minLength": 1, "description": "GSM 7-bit when it can, else UCS-2; at most 4 segments"},
        validity={"type": "integer", "minimum": 1, "description": "seconds the operator keeps trying"},
        dlr_url={"type": "string", "pattern": "^https?://",
                 "description": "the final status is POSTed here (JSON CallbackPayload)"},
    ),
    "Accepted": _object(["id", "segments", "cost_kopecks", "status"], id=_STR, segments=_INT,
                        cost_kopecks=_INT, status={"const": "ACCEPTED"}),
    "Message": _object(
        ["id", "from", "to", "segments", "cost_kopecks", "status", "error", "submitted_at", "done_at", "history"],
        id=_STR, **{"from": _STR}, to={"type": "string", "description": "E.164 digits"},
        text=_NULL_STR, segments=_INT, cost_kopecks=_INT,
        status={"type": "string", "description": "ACCEPTED, SCHEDULED, ENROUTE, then the final stat word "
                "(DELIVRD, UNDELIV, REJECTD, EXPIRED, DELETED, UNKNOWN)"},
        error={"type": ["integer", "null"], "description": "network error code once final"},
        submitted_at={"type": "string", "format": "date-time"},
        scheduled_for={"type": ["string", "null"]},
        done_at={"type": ["string", "null"]},
        history={"type": "array", "items": _object(["status", "at"], status=_STR, at=_STR)},
    ),
    "CallbackPayload": _object(["id", "status", "error", "to", "done_at"], id=_STR, status=_STR,
                               error={"type": ["integer", "null"]}, to=_STR, done_at=_NULL_STR),
    "Balance": _object(["system_id", "mode", "balance_kopecks", "balance_uah"], system_id=_STR,
                       mode=_STR, balance_kopecks=_INT, balance_uah=_STR),
    "Account": _ACCOUNT,
    "Accounts": {"type": "array", "items": _ACCOUNT},
    "NewAccount": _object(["system_id"], system_id={"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,15}$"},
                          mode={"enum": ["test", "user"]},
                          password={"type": "string", "minLength": 1, "maxLength": 8,
                                    "description": "generated when omitted"},
                          balance_uah=_AMOUNT,
                          alpha_names={"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z0-9]{1,11}$"}}),
    "CreatedAccount": {"allOf": [_ACCOUNT, _object(["password"], password={
        "type": "string", "description": "shown once"})]},
    "TopUp": _object(["amount_uah"], amount_uah=_AMOUNT),
    "AlphaName": _object(["name"], name={"type": "string", "description": "1-11 Latin letters and digits, "
                                         "or up to 15 digits"}),
    "AlphaNames": _object(["system_id", "alpha_names"], system_id=_STR,
                          alpha_names={"type": "array", "items": _STR}),
    "Numbers": _object(["numbers"], numbers={"type": "array", "minItems": 1, "items": _STR}),
    "Blacklist": _object(["system_id", "numbers"], system_id=_STR,
                         numbers={"type": "array", "items": _STR}, added=_INT),
    "Networks": _object(["networks"], networks={
        "type": "array", "minItems": 1, "items": _STR,
        "description": "IPv4 or IPv6 addresses or CIDR networks: 10.1.2.3, 192.0.2.0/24, 2001:db8::/32"}),
    "Allowlist": _object(["system_id", "networks"], system_id=_STR,
                         networks={"type": "array", "items": _STR}, added=_INT),
    "ApiKey": _object(["system_id", "api_key"], system_id=_STR,
                      api_key={"type": "string", "description": "shown once; replaces the old key"}),
    "InjectMo": _object(["to", "from", "text"], to={"type": "string", "description": "one of [mo] numbers"},
                        **{"from": {"type": "string", "description": "the handset, 380XXXXXXXXX"}},
                        text={"type": "string", "minLength": 1}),
    "MoQueued": _object(["id", "system_id", "from", "to", "status"], id=_INT, system_id=_STR,
                        **{"from": _STR}, to=_STR, status={"const": "QUEUED"}),
    "OpenApi": {"type": "object"},
    "NewFault": _object(
        ["kind", "scope", "target"], kind={"enum": ["outage", "throttle", "receipts", "slow", "link"]},
        scope={"enum": ["operator", "account", "destination"]}, target={"type": "string", "minLength": 1},
        params={"type": "object", "description": "the kind's parameters (README \"Faults on demand\")"},
        duration={"type": "number", "exclusiveMinimum": 0, "description": "seconds; omit: until removed"}),
    "Fault": _FAULT,
    "Faults": {"type": "array", "items": _FAULT},
    "FaultRemoved": _object(["id", "removed"], id=_INT, removed={"const": True}),
    "ClientReport": _object(["system_id", "binds", "findings"], system_id=_STR,
                            binds={"type": "array", "items": {"type": "object"}},
                            findings={"type": "array", "items": {"type": "object"}}),
    # number bases, campaigns, sender names (smsc.web.api_bases; README "Number bases")
    "Object": {"type": "object"},
    "Applications": {"type": "array", "items": {"type": "object"}},
    "Reason": _object(["reason"], reason={"type": "string", "minLength": 1}),
    "NewBase": _object(["name", "csv"], name={"type": "string", "minLength": 1},
                       csv={"type": "string", "description": "UTF-8 CSV text with a header naming the phone column"},
                       phone_column=_STR),
    "BaseName": _object(["name"], name={"type": "string", "minLength": 1}),
    "Clean": _object(["campaign"], campaign={"type": ["integer", "string"],
                                             "description": "the campaign whose REJECTD and UNDELIV numbers go"}),
    "NewCampaign": _object(["base", "text", "from"], base={"type": ["integer", "string"]},
                           text={"type": "string", "minLength": 1, "description": "#column# placeholders"},
                           **{"from": _STR}, name=_STR, rate={"type": "number", "exclusiveMinimum": 0}),
    "Start": {"type": "object", "properties": {"allow_partial": {"type": "boolean"}}},
}

_ACC = "/api/v1/admin/accounts/{system_id}"
_ADMIN_ERRORS = (401, 403, 404)


def document() -> dict[str, Any]:
    account = (401, 403)  # 403: outside the account's IP allowlist
    return {
        "openapi": "3.1.0",
        "info": {"title": "smsc HTTP API", "version": "1",
                 "description": "Send SMS through the same engine as SMPP; see README \"HTTP API\"."},
        "components": {
            "securitySchemes": {
                "basicAuth": {"type": "http", "scheme": "basic",
                              "description": "the account's SMPP system_id and password"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                           "description": "smsc account apikey SYSTEM_ID"},
                "adminToken": {"type": "http", "scheme": "bearer",
                               "description": "smsc admin token; its SHA-256 in [http] admin_token_sha256"},
            },
            "schemas": SCHEMAS,
        },
        "paths": {
            "/api/v1/openapi.json": {"get": _op("This document", 200, "OpenApi", (), auth=[])},
            "/api/v1/messages": {"post": _op(
                "Send a message", 201, "Accepted", (*account, 402, 413, 422, 429, 503),
                auth=_ACCOUNT_AUTH, body="SendMessage")},
            "/api/v1/messages/{id}": {"get": _op(
                "A message's status and history (own messages only)", 200, "Message", (*account, 404),
                auth=_ACCOUNT_AUTH, params=("id",))},
            "/api/v1/balance": {"get": _op("The account's balance", 200, "Balance", account, auth=_ACCOUNT_AUTH)},
            **_customer_paths(),
            "/api/v1/admin/accounts": {
                "get": _op("All accounts", 200, "Accounts", (401, 403), auth=_ADMIN_AUTH),
                "post": _op("Create an account", 201, "CreatedAccount", (401, 403, 409, 413),
                            auth=_ADMIN_AUTH, body="NewAccount"),
            },
            _ACC: {"get": _op("One account", 200, "Account", _ADMIN_ERRORS, auth=_ADMIN_AUTH,
                              params=("system_id",))},
            f"{_ACC}/topup": {"post": _op("Add money", 200, "Account", (*_ADMIN_ERRORS, 413), auth=_ADMIN_AUTH,
                                          body="TopUp", params=("system_id",))},
            f"{_ACC}/promote": {"post": _op("test -> user", 200, "Account", _ADMIN_ERRORS, auth=_ADMIN_AUTH,
                                            params=("system_id",))},
            f"{_ACC}/apikey": {"post": _op("A new API key", 201, "ApiKey", _ADMIN_ERRORS, auth=_ADMIN_AUTH,
                                           params=("system_id",))},
            f"{_ACC}/alpha": {"post": _op("Register a sender name", 200, "AlphaNames", (*_ADMIN_ERRORS, 413),
                                          auth=_ADMIN_AUTH, body="AlphaName", params=("system_id",))},
            f"{_ACC}/alpha/{{name}}": {"delete": _op(
                "Remove a sender name", 200, "AlphaNames", (400, *_ADMIN_ERRORS), auth=_ADMIN_AUTH,
                params=("system_id", "name"))},
            f"{_ACC}/blacklist": {
                "get": _op("Blacklisted numbers", 200, "Blacklist", _ADMIN_ERRORS, auth=_ADMIN_AUTH,
                           params=("system_id",)),
                "post": _op("Blacklist numbers", 200, "Blacklist", (*_ADMIN_ERRORS, 413), auth=_ADMIN_AUTH,
                            body="Numbers", params=("system_id",)),
                "delete": _op("Take numbers off the blacklist (all or none)", 200, "Blacklist",
                              (*_ADMIN_ERRORS, 413), auth=_ADMIN_AUTH, body="Numbers", params=("system_id",)),
            },
            "/api/v1/admin/faults": {
                "get": _op("Active faults", 200, "Faults", (401, 403), auth=_ADMIN_AUTH),
                "post": _op("Switch a fault on", 201, "Fault", (401, 403, 413), auth=_ADMIN_AUTH, body="NewFault"),
            },
            "/api/v1/admin/faults/{id}": {"delete": _op(
                "Switch a fault off", 200, "FaultRemoved", _ADMIN_ERRORS, auth=_ADMIN_AUTH, params=("id",))},
            "/api/v1/admin/clients/{system_id}": {"get": _op(
                "A client's conformance report, per bind", 200, "ClientReport", (401, 403), auth=_ADMIN_AUTH,
                params=("system_id",))},
            f"{_ACC}/allowlist": {
                "get": _op("IP networks the account may log in from (empty: any)", 200, "Allowlist",
                           _ADMIN_ERRORS, auth=_ADMIN_AUTH, params=("system_id",)),
                "post": _op("Allow networks", 200, "Allowlist", (*_ADMIN_ERRORS, 413), auth=_ADMIN_AUTH,
                            body="Networks", params=("system_id",)),
                "delete": _op("Take networks off the allowlist (all or none)", 200, "Allowlist",
                              (*_ADMIN_ERRORS, 413), auth=_ADMIN_AUTH, body="Networks", params=("system_id",)),
            },
            "/api/v1/admin/alpha-applications": {"get": _op(
                "Customers' applications for alpha-names", 200, "Applications", (401, 403), auth=_ADMIN_AUTH)},
            f"{_ACC}/alpha/{{name}}/approve": {"post": _op(
                "Approve a pending alpha-name: usable from now", 200, "Object", (400, *_ADMIN_ERRORS),
                auth=_ADMIN_AUTH, params=("system_id", "name"))},
            f"{_ACC}/alpha/{{name}}/reject": {"post": _op(
                "Reject a pending alpha-name, with the reason", 200, "Object", (*_ADMIN_ERRORS, 413),
                auth=_ADMIN_AUTH, body="Reason", params=("system_id", "name"))},
            "/api/v1/admin/mo": {"post": _op("Inject an MO message", 202, "MoQueued", (401, 403, 413),
                                             auth=_ADMIN_AUTH, body="InjectMo")},
        },
    }


def _customer_paths() -> dict[str, Any]:
    errors = (400, 401, 402, 404, 409, 413, 422, 429)

    def op(summary: str, ok: int = 200, body: str | None = None, params: tuple[str, ...] = ()) -> dict[str, Any]:
        return _op(summary, ok, "Object", errors, auth=_ACCOUNT_AUTH, body=body, params=params)

    one = ("id",)
    return {
        "/api/v1/bases": {"get": op("The account's number bases"),
                          "post": op("Upload a base (CSV text)", 201, "NewBase")},
        "/api/v1/bases/{id}": {"get": op("A base and its numbers", params=one),
                               "patch": op("Rename a base", body="BaseName", params=one),
                               "delete": op("Delete a base", params=one)},
        "/api/v1/bases/{id}/numbers": {"post": op("Add numbers", body="Numbers", params=one),
                                       "delete": op("Remove numbers", body="Numbers", params=one)},
        "/api/v1/bases/{id}/clean": {"post": op("Remove the numbers that ended REJECTD or UNDELIV in a campaign",
                                                body="Clean", params=one)},
        "/api/v1/campaigns": {"get": op("The account's campaigns"),
                              "post": op("A draft campaign to a base, costed", 201, "NewCampaign")},
        "/api/v1/campaigns/{id}": {"get": op("A campaign and its counts per status", params=one)},
        "/api/v1/campaigns/{id}/recipients": {"get": op(
            "A page of the detailed report (?status=&offset=&limit=)", params=one)},
        "/api/v1/campaigns/{id}/start": {"post": op("Start (balance checked)", params=one)},
        "/api/v1/campaigns/{id}/pause": {"post": op("Pause", params=one)},
        "/api/v1/senders": {"get": op("Sender names usable now, and applications"),
                            "post": op("Apply for a personal alpha-name (PENDING until approved)", 201,
                                       "AlphaName")},
    }


@route("GET", "/v1/openapi.json", auth="none")
def openapi(deps: Any, call: Call) -> Reply:
    return Reply(200, document())


ROUTES = (openapi,)
