"""What the HTTP API says about one message: the body of
``GET /api/v1/messages/{id}`` and of the dlr_url callback.

Pure functions of the stored row (``Store.get_message``), so the answer
to a poll and the callback pushed on the final state can't disagree.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..pdu.errors import SmppError
from ..pdu.text import decode

#: statuses before the final one (after it: the receipt's stat word,
#: DELIVRD, UNDELIV, REJECTD, EXPIRED, DELETED, UNKNOWN)
ACCEPTED, SCHEDULED, ENROUTE = "ACCEPTED", "SCHEDULED", "ENROUTE"

#: the fields a dlr_url callback carries
CALLBACK_FIELDS = ("id", "status", "error", "to", "done_at")


def iso_utc(ts: float | None) -> str | None:
    """Simulation seconds as ISO 8601 UTC (``2026-11-25T05:42:00Z``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_of(found: tuple, now: float, held: bool) -> str:
    """The final stat word; before it SCHEDULED (its schedule time is still
    ahead), ACCEPTED (its operator holds it) or ENROUTE (in the network)."""
    m, _, stat, _, done_time = found
    if done_time is not None:
        return stat
    if m.not_before is not None and m.not_before > now:
        return SCHEDULED
    return ACCEPTED if held else ENROUTE


def message_view(
    found: tuple, public_id: str, now: float, *, held: bool = False, default_alphabet: str = "gsm"
) -> dict[str, Any]:
    """``found``: a ``Store.get_message`` row; ``now``: simulation time;
    ``held``: its operator has not handed it to the network yet."""
    m, _, stat, error, done_time = found
    status = status_of(found, now, held)
    history = [{"status": ACCEPTED, "at": iso_utc(m.submit_time)}]
    if done_time is not None:
        history.append({"status": stat, "at": iso_utc(done_time)})
    try:
        text = decode(m.short_message, m.data_coding, default_alphabet)
    except (SmppError, ValueError):
        text = None
    return {
        "id": public_id,
        "from": m.source_addr,
        "to": m.msisdn,
        "text": text if isinstance(text, str) else None,
        "segments": m.segments,
        "cost_kopecks": m.cost,
        "status": status,
        "error": error if done_time is not None else None,
        "submitted_at": iso_utc(m.submit_time),
        "scheduled_for": iso_utc(m.not_before),
        "done_at": iso_utc(done_time),
        "history": history,
    }


def callback_payload(view: dict[str, Any]) -> dict[str, Any]:
    """The JSON a dlr_url gets: a subset of ``message_view``."""
    return {k: view[k] for k in CALLBACK_FIELDS}
