"""An account's own routes: send a message, read its status, the balance.

``POST /api/v1/messages`` goes through ``smsc.submission`` into the same
``Engine.submit`` as an SMPP submit_sm: the same text, sender, route,
limit and balance rules, the same charge in the same commit. A refusal's
SMPP status becomes an HTTP status and error code by ``REFUSALS``, the
one table of that mapping (README "HTTP API" shows it). HTTP messages ask
for no SMPP receipt (registered_delivery 0): their status is polled with
``GET /api/v1/messages/{id}`` or pushed to their ``dlr_url``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twisted.python.failure import Failure

from ..accounts.money import format_uah
from ..dlr.callbacks import check_url
from ..pdu.constants import CommandStatus as S
from ..pdu.errors import SmppError
from ..store.sqlite import Store
from ..submission import submit, submit_sm_of
from .api import ApiError, Call, Reply, bad_field, route
from .api_status import ACCEPTED, message_view

if TYPE_CHECKING:
    from .deps import WebDeps


@dataclass(frozen=True)
class Refusal:
    http: int
    code: str
    #: the request field at fault, if one is
    field: str | None = None


#: SMPP status of a refused submit -> the HTTP answer. The balance status
#: is configurable ([billing] insufficient_funds_status) and checked first:
#: it answers 402 insufficient_funds whatever it is.
REFUSALS: dict[int, Refusal] = {
    S.ESME_RINVDSTADR: Refusal(422, "invalid_destination", "to"),
    S.ESME_RINVDSTTON: Refusal(422, "invalid_destination", "to"),
    S.ESME_RINVDSTNPI: Refusal(422, "invalid_destination", "to"),
    S.ESME_RINVSRCADR: Refusal(422, "invalid_sender", "from"),
    S.ESME_RINVSRCTON: Refusal(422, "invalid_sender", "from"),
    S.ESME_RINVMSGLEN: Refusal(422, "text_too_long", "text"),
    S.ESME_RSUBMITFAIL: Refusal(422, "invalid_text", "text"),
    S.ESME_RINVEXPIRY: Refusal(422, "invalid_validity", "validity"),
    S.ESME_RTHROTTLED: Refusal(429, "throttled"),
    S.ESME_RSYSERR: Refusal(503, "unavailable"),
}
INSUFFICIENT_FUNDS = Refusal(402, "insufficient_funds")
#: a status the table does not name
OTHER_REFUSAL = Refusal(422, "refused")


def refusal_error(exc: SmppError, funds_status: int) -> ApiError:
    status = int(exc.status)
    r = INSUFFICIENT_FUNDS if status == funds_status else REFUSALS.get(status, OTHER_REFUSAL)
    try:
        name = S(status).name
    except ValueError:
        name = f"0x{status:08x}"
    message = {
        "insufficient_funds": "the balance does not cover this message",
        "throttled": "over the account's rate or daily limit; try again later",
        "unavailable": "the message could not be stored; try again",
    }.get(r.code, exc.detail)
    return ApiError(r.http, r.code, message, r.field, name)


@route("POST", "/v1/messages", auth="account")
def send_message(deps: "WebDeps", call: Call) -> Any:
    sender = call.value("from", str)
    to = call.value("to", str)
    text = call.value("text", str)
    validity = call.value("validity", int, required=False)
    dlr_url = call.value("dlr_url", str, required=False)
    if not text:
        raise bad_field("text", "is empty")
    if validity is not None and validity <= 0:
        raise bad_field("validity", "seconds, above 0")
    if dlr_url is not None:
        try:
            check_url(dlr_url)
        except ValueError as exc:
            raise bad_field("dlr_url", str(exc)) from None
    try:
        pdu = submit_sm_of(sender, to, text, validity_seconds=validity or 0)
    except ValueError as exc:  # a character no encoding has (a lone surrogate)
        raise ApiError(422, "invalid_text", f"text: {exc}", "text") from None
    live = call.account
    assert live is not None

    def accepted(message_id: str) -> Any:
        n = live.id_format.parse(message_id)
        if dlr_url is not None:
            # watched before the operator can finish it (this runs in the
            # commit's callback, before the hand-off)
            deps.watch_dlr(n, message_id, dlr_url)
        return deps.store.run(_record, n, message_id, dlr_url).addCallback(answer, message_id)

    def answer(found: tuple, message_id: str) -> Reply:
        m = found[0]
        return Reply(201, {"id": message_id, "segments": m.segments, "cost_kopecks": m.cost, "status": ACCEPTED})

    def refused(failure: Failure) -> None:
        failure.trap(SmppError)
        raise refusal_error(failure.value, deps.config.billing.insufficient_funds_status)

    return submit(deps.engine, live, pdu).addCallbacks(accepted, refused)


def _record(store: Store, n: int, message_id: str, dlr_url: str | None) -> tuple:
    """The committed message row; its callback stored first (durable before 201)."""
    if dlr_url is not None:
        store.add_callback(n, message_id, dlr_url)
    return store.get_message(n)


@route("GET", "/v1/messages/{id}", auth="account")
def get_message(deps: "WebDeps", call: Call) -> Any:
    live = call.account
    assert live is not None
    message_id = call.params["id"]
    n = live.id_format.parse(message_id)
    not_found = ApiError(404, "not_found", f"no message {message_id}", "id")
    if n is None:
        raise not_found

    def view(found: tuple | None) -> Reply:
        # another account's message is as unknown as a missing one
        if found is None or found[0].system_id != live.system_id:
            raise not_found
        m = found[0]
        held = found[4] is None and deps.held(n)
        return Reply(200, message_view(
            found, live.format_id(n), deps.sim_now(), held=held,
            default_alphabet=deps.config.messages.default_alphabet,
        ))

    return deps.store.read_committed(Store.get_message, n).addCallback(view)


@route("GET", "/v1/balance", auth="account")
def get_balance(deps: "WebDeps", call: Call) -> Reply:
    live = call.account
    assert live is not None
    return Reply(200, {
        "system_id": live.system_id, "mode": live.record.mode,
        "balance_kopecks": live.available, "balance_uah": format_uah(live.available),
    })


ROUTES = (send_message, get_message, get_balance)
