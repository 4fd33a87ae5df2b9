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
from ..dlr.view import message_view
from ..pdu.constants import CommandStatus as S
from ..pdu.errors import SmppError
from ..engine import MessageInfo
from ..status import ACCEPTED
from ..store.port import StoredMessage
from ..submission import of_text
from .api import ApiError, Call, Reply, bad_field, route

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
    S.ESME_RMSGQFUL: Refusal(503, "unavailable"),
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
        submission = of_text(sender, to, text, validity_seconds=validity or 0)
    except ValueError as exc:  # a character no encoding has (a lone surrogate)
        raise ApiError(422, "invalid_text", f"text: {exc}", "text") from None
    live = call.account
    assert live is not None

    def accepted(message_id: str) -> Any:
        n = live.id_format.parse(message_id)
        assert n is not None  # the engine made it in this format
        if dlr_url is None:
            return deps.store.message(n).addCallback(answer, message_id)
        # watched before the operator can finish it (this runs in the
        # commit's callback, before the hand-off)
        deps.watch_dlr(n, message_id, dlr_url)
        # the callback's row first: durable before the 201
        stored = deps.store.add_callback(n, message_id, dlr_url)
        return stored.addCallback(lambda _: deps.store.message(n)).addCallback(answer, message_id)

    def answer(found: StoredMessage | None, message_id: str) -> Reply:
        assert found is not None  # committed before the engine answered
        m = found.message
        return Reply(201, {"id": message_id, "segments": m.segments, "cost_kopecks": m.cost, "status": ACCEPTED})

    def refused(failure: Failure) -> None:
        failure.trap(SmppError)
        raise refusal_error(failure.value, deps.config.billing.insufficient_funds_status)

    return deps.engine.send(live, submission).addCallbacks(accepted, refused)


@route("GET", "/v1/messages/{id}", auth="account")
def get_message(deps: "WebDeps", call: Call) -> Any:
    live = call.account
    assert live is not None
    message_id = call.params["id"]

    def view(info: MessageInfo) -> Reply:
        return Reply(200, message_view(
            info.stored, info.public_id, deps.sim_now(), held=info.held,
        ))

    def not_found(failure: Failure) -> None:
        # another account's message is as unknown as a missing one
        failure.trap(SmppError)
        raise ApiError(404, "not_found", f"no message {message_id}", "id")

    return deps.engine.message(live, message_id).addCallbacks(view, not_found)


@route("GET", "/v1/balance", auth="account")
def get_balance(deps: "WebDeps", call: Call) -> Reply:
    live = call.account
    assert live is not None
    return Reply(200, {
        "system_id": live.system_id, "mode": live.record.mode,
        "balance_kopecks": live.available, "balance_uah": format_uah(live.available),
    })


ROUTES = (send_message, get_message, get_balance)
