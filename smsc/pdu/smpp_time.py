"""SMPP 3.4 section 7.1.1 time strings <-> POSIX timestamps.

``schedule_delivery_time`` and ``validity_period`` carry either

* absolute ``YYMMDDhhmmsstnnp``: local time, ``t`` tenths of a second,
  ``nn`` quarter hours between that local time and UTC, ``p`` ``+`` (local
  ahead of UTC) or ``-`` (behind); or
* relative ``YYMMDDhhmmss000R``: a duration from now;
* or nothing (the empty string): not set.

``parse_smpp_time(value, now, status)`` returns an absolute POSIX timestamp
(or None for empty); the caller passes the status a bad value earns
(ESME_RINVSCHED for schedule_delivery_time, ESME_RINVEXPIRY for
validity_period), and gets ``SmppTimeError(status, detail)``.
``format_smpp_time(ts)`` writes an absolute UTC time (``...t00+``), e.g. for
query_sm_resp final_date.

Decisions:

* ``YY`` is 2000 + YY (2000-2099), not strptime's 1969-2068 pivot: no client
  schedules into the past century, and the range is what ``format`` can
  write.
* ``nn`` is 00-48, the range SMPP 3.4 states (UTC+13/+14 zones are outside
  it and refused, as the spec has it).
* The calendar is checked (month 01-12, the month's days with Feb 29 only in
  leap years, hh 00-23, mm and ss 00-59; no leap second 60).
* Relative fields are counts, each any two digits (``000000480000000R`` is
  48 hours). A year is 365 days and a month 30 days, as most SMSCs count, so
  the duration does not depend on today's date. ``tnn`` must be ``000`` as
  the spec writes the format.
* A time in the past is returned as it is: whether that is "now" (schedule)
  or an error (validity) is the caller's rule.
"""
from __future__ import annotations

import time
from datetime import date
from typing import Final

from .constants import CommandStatus
from .errors import SmppError

#: length of a non-empty SMPP time string
SMPP_TIME_LENGTH: Final = 16
#: the largest quarter-hour offset SMPP 3.4 allows (12 hours)
MAX_QUARTER_HOURS: Final = 48
YEAR_SECONDS: Final = 365 * 86400
MONTH_SECONDS: Final = 30 * 86400

_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()


class SmppTimeError(SmppError):
    """A schedule_delivery_time / validity_period the SMSC cannot use."""


def parse_smpp_time(value: str, now: float, status: CommandStatus) -> float | None:
    """POSIX timestamp of ``value`` (relative times count from ``now``); None if empty."""
    if not value:
        return None
    if len(value) != SMPP_TIME_LENGTH:
        raise SmppTimeError(status, f"{value!r}: {len(value)} characters, an SMPP time has 16")
    head = value[:15]
    if not (head.isascii() and head.isdigit()):
        raise SmppTimeError(status, f"{value!r}: the first 15 characters must be digits")
    # one int() and a few divmods: a third of the cost of six int(slice) calls
    rest, nn = divmod(int(head), 100)
    rest, tenths = divmod(rest, 10)
    rest, ss = divmod(rest, 100)
    rest, mi = divmod(rest, 100)
    rest, hh = divmod(rest, 100)
    yy, rest = divmod(rest, 10000)
    mo, dd = divmod(rest, 100)
    p = value[15]
    if p == "R":
        if tenths or nn:
            raise SmppTimeError(status, f"{value!r}: a relative time ends in 000R")
        return now + yy * YEAR_SECONDS + mo * MONTH_SECONDS + dd * 86400 + hh * 3600 + mi * 60 + ss
    if p != "+" and p != "-":
        raise SmppTimeError(status, f"{value!r}: last character {p!r} is not '+', '-' or 'R'")
    if nn > MAX_QUARTER_HOURS:
        raise SmppTimeError(
            status, f"{value!r}: UTC offset {nn} quarter hours, at most {MAX_QUARTER_HOURS}"
        )
    if not 1 <= mo <= 12:
        raise SmppTimeError(status, f"{value!r}: month {mo:02d}")
    try:
        days = date(2000 + yy, mo, dd).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        raise SmppTimeError(status, f"{value!r}: day {dd:02d} of {2000 + yy}-{mo:02d}") from None
    if hh > 23 or mi > 59 or ss > 59:
        raise SmppTimeError(status, f"{value!r}: time of day {hh:02d}:{mi:02d}:{ss:02d}")
    offset = nn * 900 if p == "+" else -nn * 900
    return days * 86400 + hh * 3600 + mi * 60 + ss - offset + tenths / 10


def format_smpp_time(ts: float) -> str:
    """Absolute SMPP time of ``ts`` in UTC (``YYMMDDhhmmsst00+``).

    ``ts`` is rounded to the millisecond (float noise), then truncated to
    tenths: a final_date never claims a moment later than the real one.

    ``ValueError`` outside 2000-2099, the years the format can hold.
    """
    # round to the millisecond first, so 1e9 + 0.3 (not exact in binary) keeps its 3 tenths
    whole, tenths = divmod(round(ts * 1000) // 100, 10)
    tm = time.gmtime(whole)
    if not 2000 <= tm.tm_year <= 2099:
        raise ValueError(f"timestamp {ts!r} is outside 2000-2099, which SMPP time cannot hold")
    return "%02d%02d%02d%02d%02d%02d%d00+" % (
        tm.tm_year - 2000, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tenths
    )


#: the longest relative time this writes: 99 days (the operators' TTLs are
#: far shorter, so a longer qos_time_to_live or HTTP validity changes nothing)
_MAX_RELATIVE = 99 * 86400 + 23 * 3600 + 59 * 60 + 59


def format_relative(seconds: int) -> str:
    """A relative SMPP time (``0000DDhhmmss000R``) of ``seconds``, "" for 0:
    how a door that speaks in seconds (data_sm's qos_time_to_live, the HTTP
    API's validity) states a validity_period."""
    if seconds <= 0:
        return ""
    seconds = min(seconds, _MAX_RELATIVE)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"0000{days:02d}{hours:02d}{minutes:02d}{secs:02d}000R"
