"""What the reports page shows of accounts and messages: its rows.

Pure functions of the store's records (``smsc.store.port``), which
``smsc.web.reports`` reads through the store port; rendering touches no
store. Campaign data comes from ``smsc.campaigns.store`` (its
``summaries`` and ``report``).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..accounts.ids import DEFAULT_ID_FORMAT, MessageIdFormat
from ..pdu.text import TextError, stored_text
from ..records import Account
from ..status import message_status
from ..store.port import AccountUsage, StoredMessage

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
    #: ENROUTE until its final state is committed, then its stat word
    #: (smsc.status.message_status)
    status: str
    submit_time: float  # simulation time
    done_time: float | None
    segments: int
    cost_kopecks: int
    text: str


def account_rows(usage: Iterable[AccountUsage]) -> list[AccountRow]:
    """Every account with what it sent on the day ``usage`` was read for."""
    return [
        AccountRow(u.account.system_id, u.account.mode, u.account.balance_kopecks, u.account.alpha_names,
                   u.messages)
        for u in usage
    ]


def message_rows(found: Iterable[StoredMessage], accounts: Mapping[str, Account | None]) -> list[MessageRow]:
    """The stored messages as rows, ids in their account's format
    (``accounts``: system_id -> its account, None if gone)."""
    formats: dict[str, MessageIdFormat] = {}
    out = []
    for m, _, stat, _, done_time in found:
        sid = m.system_id
        if sid not in formats:
            formats[sid] = _id_format(accounts.get(sid))
        out.append(MessageRow(
            message_id=formats[sid].format(m.id), system_id=sid, sender=m.source_addr,
            status=message_status(stat, done_time),
            submit_time=m.submit_time, done_time=done_time, segments=m.segments, cost_kopecks=m.cost,
            text=message_text(m.short_message, m.data_coding),
        ))
    return out


def _id_format(account: Account | None) -> MessageIdFormat:
    if account is None:  # no command removes an account today; be safe if one does
        return DEFAULT_ID_FORMAT
    return MessageIdFormat.of(account.id_format, account.id_width)


def message_text(body: bytes, data_coding: int) -> str:
    """A stored body as a person reads it (:func:`~smsc.pdu.text.stored_text`,
    the HTTP API's rule), binary codings as hex, and a note instead of an
    error for a body that does not decode (the engine refuses those, so
    only a damaged row would)."""
    try:
        text = stored_text(body, data_coding)
    except (TextError, ValueError):
        return f"(undecodable, data_coding {data_coding}: {body.hex()})"
    if isinstance(text, bytes):
        return f"(binary: {text.hex()})"
    return text
