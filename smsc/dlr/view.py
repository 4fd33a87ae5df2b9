"""What the HTTP API says about one message: the body of
``GET /api/v1/messages/{id}`` and of the dlr_url callback.

Pure functions of the stored message (``smsc.store.port.StoredMessage``),
so the answer to a poll and the callback pushed on the final state can't
disagree; the status is ``smsc.status.message_status``, the rule the
reports and campaigns use too. Here, not in ``smsc.web``: the callback
sender (smsc.dlr.callbacks) needs it, and dlr imports nothing from web.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..pdu.errors import SmppError
from ..pdu.text import stored_text
from ..status import ACCEPTED, message_status
from ..store.port import StoredMessage

#: the fields a dlr_url callback carries
CALLBACK_FIELDS = ("id", "status", "error", "to", "done_at")


def iso_utc(ts: float | None) -> str | None:
    """Simulation seconds as ISO 8601 UTC (``2026-11-25T05:42:00Z``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def message_view(
    found: StoredMessage, public_id: str, now: float, *, held: bool = False
) -> dict[str, Any]:
    """``now``: simulation time; ``held``: its operator has not handed it
    to the network yet."""
    m, _, stat, error, done_time = found
    status = message_status(stat, done_time, not_before=m.not_before, now=now, held=held)
    history = [{"status": ACCEPTED, "at": iso_utc(m.submit_time)}]
    if done_time is not None:
        history.append({"status": stat, "at": iso_utc(done_time)})
    try:
        text = stored_text(m.short_message, m.data_coding)
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
