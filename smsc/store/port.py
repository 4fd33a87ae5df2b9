"""The store port: the typed records the store hands out.

Everything above ``smsc/store/`` talks to the store in these records, never
in rows or connections, so a second backend (PostgreSQL, DESIGN.md "Growing
past one machine") can slot in under the same names.

The per-message records are NamedTuples, as ``Message`` is (records.py): a
recovery at start builds one per stored message, and a NamedTuple costs a
fraction of a frozen dataclass. A NamedTuple is still a tuple, so code that
unpacks one (``m, state, stat, error, done_time = found``) keeps working.
"""
from __future__ import annotations

from typing import NamedTuple

from ..records import Message


class StoredMessage(NamedTuple):
    """A message with how far it got: ``state`` is its message_state
    (1 ENROUTE while not final); ``stat``, ``error`` and ``done_time`` are
    None until its final state is committed."""

    message: Message
    state: int
    stat: str | None
    error: int | None
    done_time: float | None


class OwedReceipt(NamedTuple):
    """A final message whose receipt the client has not acknowledged yet
    (what a restart queues again)."""

    message: Message
    stat: str
    state: int
    error: int
    done_time: float


class MoRow(NamedTuple):
    """An MO message waiting for its account's receivers (``mo_queue``)."""

    id: int
    system_id: str
    source_addr: str
    destination_addr: str
    text: str

