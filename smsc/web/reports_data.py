"""What the reports page reads from the store: accounts and message search.

Functions of a ``Store``, run on the store thread (``StoreWorker.run``) by
``smsc.web.reports``; they return frozen records, never rows, so rendering
(on the reactor thread) touches no connection. Campaign data comes from
``smsc.campaigns.store`` (its ``list_campaigns`` and ``campaign_report``).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..accounts.ids import DEFAULT_ID_FORMAT, MessageIdFormat
from ..pdu.text import TextError, decode
from ..store.sqlite import Store

#: esm_class bit: short_message starts with a user data header
_UDHI = 0x40

#: the statuses a message row can show: ENROUTE until its final state is
#: committed, then the final stat word
ENROUTE = "ENROUTE"


@dataclass(frozen=True, slots=True)
class AccountRow:
    system_id: str
    mode: str
    balance_kopecks: int
    alpha_names: tuple[str, ...]
    #: messages charged on ``day`` (the ``usage`` table, per UTC day)
    sent_today: int


@dataclass(frozen=True, slots=True)
class MessageRow:
    message_id: str  # as the account's client sees it
    system_id: str
    sender: str
    status: str
    submit_time: float  # simulation time
    done_time: float | None
    segments: int
    cost_kopecks: int
    text: str


def account_rows(store: Store, day: int) -> list[AccountRow]:
    """Every account with what it sent on UTC ``day`` (``engine.utc_day``)."""
    return [
        AccountRow(a.system_id, a.mode, a.balance_kopecks, a.alpha_names, store.usage_today(a.system_id, day))
        for a in store.list_accounts()
    ]


def messages_to(store: Store, msisdn: str, limit: int, default_alphabet: str) -> list[MessageRow]:
    """The newest ``limit`` messages to ``msisdn`` (E.164 digits), newest first.

    A full scan of ``messages``: it has no index on msisdn on purpose, since
    every accepted message would pay for one on the hot path, while this
    search is a person waiting a moment on a report page.
    """
    rows = store.db["messages"].rows_where(
        "msisdn = ?", [msisdn], order_by="id desc", limit=limit,
        select="id, system_id, source_addr, stat, submit_time, done_time, segments, cost, "
               "short_message, data_coding, esm_class",
    )
    formats: dict[str, MessageIdFormat] = {}
    out = []
    for r in rows:
        sid = r["system_id"]
        if sid not in formats:
            formats[sid] = _id_format(store, sid)
        out.append(MessageRow(
            message_id=formats[sid].format(r["id"]), system_id=sid, sender=r["source_addr"],
            status=r["stat"] or ENROUTE, submit_time=r["submit_time"], done_time=r["done_time"],
            segments=r["segments"], cost_kopecks=r["cost"],
            text=message_text(r["short_message"], r["data_coding"], r["esm_class"], default_alphabet),
        ))
    return out


def _id_format(store: Store, system_id: str) -> MessageIdFormat:
    account = store.get_account(system_id)
    if account is None:  # no command removes an account today; be safe if one does
        return DEFAULT_ID_FORMAT
    return MessageIdFormat.of(account.id_format, account.id_width)


def message_text(body: bytes, data_coding: int, esm_class: int, default_alphabet: str) -> str:
    """A stored body as a person reads it: a client's UDH dropped, binary
    codings as hex, and a note instead of an error for a body that does not
    decode (the engine refuses those, so only a damaged row would)."""
    if esm_class & _UDHI and body:
        body = body[1 + body[0]:]
    try:
        text = decode(body, data_coding, default_alphabet)
    except (TextError, ValueError):
        return f"(undecodable, data_coding {data_coding}: {body.hex()})"
    if isinstance(text, bytes):
        return f"(binary: {text.hex()})"
    return text
