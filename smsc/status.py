"""What a message's status means, in one place.

The stat words (SMPP 3.4 Appendix B, and the FAQ's FAILED and NOREPORT),
which of them an operator may end a message with, their severity, their
message_state, the words a receipt shows, the statuses before the final
one, and :func:`message_status`, the one rule that derives a message's
status from what is stored about it. query_sm, receipts, the HTTP API,
dlr_url callbacks, the reports page and campaign reports all take their
words from here.

Only the standard library and ``smsc.pdu.constants``: ``smsc.pdu`` stays
the lowest layer and never imports this module. The stat -> message_state
table is wire data (what a receipt's TLV carries for its ``stat:`` word),
so it is defined there, once (``STAT_MESSAGE_STATE``), and named here.
"""
from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from .pdu.constants import STAT_MESSAGE_STATE, MessageState

# --- the stat words ---------------------------------------------------------------

#: SMPP 3.4 Appendix B
DELIVRD: Final = "DELIVRD"
EXPIRED: Final = "EXPIRED"
DELETED: Final = "DELETED"
UNDELIV: Final = "UNDELIV"
ACCEPTD: Final = "ACCEPTD"
UNKNOWN: Final = "UNKNOWN"
REJECTD: Final = "REJECTD"
ENROUTE: Final = "ENROUTE"
#: the FAQ's: an operator's failure (err 034), a part with no report;
#: receipts say UNDELIV / UNKNOWN for them unless ``[receipts] faq_words``
FAILED: Final = "FAILED"
NOREPORT: Final = "NOREPORT"

#: final states an operator may report (SPEC.md section 6; ENROUTE is not
#: final, DELETED is ours: a cancel)
OPERATOR_STATS: Final = (DELIVRD, UNDELIV, REJECTD, EXPIRED, FAILED, NOREPORT)

#: worst first: the state a message the server split reports when its
#: segments ended differently (one receipt per message, the worst segment's).
#: The operator refused a part or could not send it; a part was known not
#: to arrive; a part's validity ran out; a part has no report; all arrived.
WORST_FIRST: Final = (REJECTD, FAILED, UNDELIV, EXPIRED, NOREPORT, DELIVRD)
#: stat -> its rank in WORST_FIRST (0: the worst)
SEVERITY: Final[Mapping[str, int]] = MappingProxyType({stat: rank for rank, stat in enumerate(WORST_FIRST)})

#: every stat word, Appendix B's first
STATS: Final = (DELIVRD, EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD, ENROUTE, FAILED, NOREPORT)

#: stat -> message_state (the TLV of a receipt, query_sm_resp, the stored
#: state): the Appendix B words, and the FAQ's as the SMPP state they are
STAT_STATE: Final[Mapping[str, MessageState]] = MappingProxyType(STAT_MESSAGE_STATE)

# --- the words a receipt (and a campaign report) shows --------------------------------

#: what a receipt says for the FAQ stats unless the config asks for the
#: FAQ words themselves; the FAQ meaning stays in err:
_STANDARD: dict[str, str] = {FAILED: UNDELIV, NOREPORT: UNKNOWN}
STANDARD_WORD: Final[Mapping[str, str]] = MappingProxyType(_STANDARD)


def receipt_word(stat: str, faq_words: bool = False) -> str:
    """The stat: word of a receipt for a message whose state is ``stat``
    (``faq_words``: ``[receipts] faq_words``, FAILED / NOREPORT as they are).
    Once per receipt: a plain dict lookup."""
    return stat if faq_words else _STANDARD.get(stat, stat)


# --- before the final state -------------------------------------------------------------

#: accepted and held by its operator (over its throughput); SCHEDULED: its
#: schedule_delivery_time is still ahead; ENROUTE: in the network
ACCEPTED: Final = "ACCEPTED"
SCHEDULED: Final = "SCHEDULED"
PRE_FINAL: Final = (ACCEPTED, SCHEDULED, ENROUTE)


def message_status(
    stat: str | None, done_time: float | None, *, not_before: float | None = None,
    now: float | None = None, held: bool = False,
) -> str:
    """A stored message's status: its final ``stat`` once final (its
    ``done_time`` is set: stat and done time are committed together);
    before that ENROUTE, or, for those who know more (the HTTP API),
    SCHEDULED while its ``not_before`` is ahead of ``now`` (simulation
    time) and ACCEPTED while its operator ``held`` it.

    A message whose receipt waits for the client's acknowledgement has its
    final state written with it (engine), so until then it reads as not
    final here too: the status never runs ahead of what is committed.
    """
    if done_time is not None and stat is not None:
        return stat
    if not_before is not None and now is not None and not_before > now:
        return SCHEDULED
    return ACCEPTED if held else ENROUTE


def message_history(
    submit_time: float, stat: str | None, done_time: float | None, *, not_before: float | None = None,
    now: float | None = None, held: bool = False,
) -> list[tuple[str, float]]:
    """The statuses a message has had, each with when (simulation seconds),
    its last one :func:`message_status` of the same facts: what a poll of
    the HTTP API shows as ``status`` and ``history`` can't disagree.

    ACCEPTED at its submit; then its final ``stat`` at ``done_time``, or,
    before that, its status now when that is not ACCEPTED: SCHEDULED (since
    its submit) or ENROUTE (since it could go to the network: its
    schedule_delivery_time, else its submit).
    """
    history = [(ACCEPTED, submit_time)]
    status = message_status(stat, done_time, not_before=not_before, now=now, held=held)
    if done_time is not None and stat is not None:
        history.append((status, done_time))
    elif status == SCHEDULED:
        history.append((SCHEDULED, submit_time))
    elif status == ENROUTE:
        history.append((ENROUTE, submit_time if not_before is None else max(submit_time, not_before)))
    return history
