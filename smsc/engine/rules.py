"""Small rules every job of the engine shares: registered_delivery, times,
message ids, segment references. Pure functions and values, no state."""
from __future__ import annotations

from typing import NamedTuple, Protocol

from ..accounts.ids import DEFAULT_ID_FORMAT
from ..pdu.constants import CommandStatus
from ..pdu.errors import SmppError
from ..pdu.smpp_time import parse_smpp_time
from ..status import DELIVRD

#: registered_delivery bits 0-1 (SMPP 3.4 5.2.17): which final receipts
RD_NONE, RD_FINAL, RD_FAILURE, RD_RESERVED = 0, 1, 2, 3
#: registered_delivery bit 4: intermediate (ENROUTE) notifications
RD_INTERMEDIATE = 0x10
#: the err: code of a receipt for a blacklisted destination
ERR_BLACKLISTED = 1


class QueryAnswer(NamedTuple):
    """What query_sm_resp says about a message."""

    #: message_state: ENROUTE (1) while not final
    message_state: int
    #: SMPP absolute time of the final state, "" while not final
    final_date: str
    #: the network error code's low octet (query_sm_resp has one)
    error_code: int


class Terms(Protocol):
    """What a Submission and a Replacement share: times and the receipt ask."""

    @property
    def validity_period(self) -> str: ...
    @property
    def schedule_delivery_time(self) -> str: ...
    @property
    def registered_delivery(self) -> int: ...


def receipt_owed(registered_delivery: int, stat: str) -> bool:
    wanted = registered_delivery & 0x03
    return wanted == RD_FINAL or (wanted == RD_FAILURE and stat != DELIVRD)


def delivery_terms(terms: Terms, now: float) -> tuple[float | None, float | None]:
    """validity_period and schedule_delivery_time as simulation times (None
    when unset), checking registered_delivery too: what submit and replace
    share. Raises the SmppError naming the bad field."""
    validity = parse_smpp_time(
        terms.validity_period, now, CommandStatus.ESME_RINVEXPIRY) if terms.validity_period else None
    not_before = parse_smpp_time(
        terms.schedule_delivery_time, now, CommandStatus.ESME_RINVSCHED) if terms.schedule_delivery_time else None
    if terms.registered_delivery & 0x03 == RD_RESERVED:
        raise SmppError(CommandStatus.ESME_RINVREGDLVFLG, "registered_delivery 3 is reserved")
    return validity, not_before


def utc_day(ts: float) -> int:
    return int(ts // 86400)


def format_message_id(n: int) -> str:
    """Message ids are a counter that only grows, by default in lower-case
    hex; an account may ask for another format (``LiveAccount.format_id``,
    accounts/ids.py)."""
    return format(n, "x")


def parse_message_id(s: str) -> int | None:
    """The counter behind a default (hex) message id, or None when ``s`` is
    not one of ours (upper-case hex is taken: some clients normalise ids).
    An account's own ids: ``live.id_format.parse``."""
    return DEFAULT_ID_FORMAT.parse(s)


class SegmentRefs:
    """The 8-bit concatenation reference, counted per destination, so two
    long messages to one phone never share a reference. Bounded: past
    ``limit`` destinations it starts over (a reference only has to differ
    from the last few to the same phone)."""

    def __init__(self, limit: int = 100_000) -> None:
        self._next: dict[str, int] = {}
        self._limit = limit

    def take(self, msisdn: str) -> int:
        ref = self._next.get(msisdn, 0)
        if len(self._next) >= self._limit:
            self._next.clear()
        self._next[msisdn] = (ref + 1) & 0xFF
        return ref
