"""Campaigns in the store: what a report says, cleaning, settling after a kill.

A campaign is an uploaded group (its recipients, already de-duplicated and
personalised) plus a sender and a rate. The store keeps it in two tables
(``smsc.store.sqlite_campaigns``; records in ``smsc.store.port``); this
module holds the rules on top, as pure functions of the records the store
returns, plus the few wrappers the CLI calls on its own ``MessageStore``
(the server reads the same records through ``StorePort``).

A recipient's stored ``status`` is how far the *runner* got with it:

``PENDING``  not handed to the engine yet;
``SENDING``  claimed by the runner, its submit may or may not be committed
             (only seen after a kill: see :func:`settle`);
``SKIPPED``  blacklisted: nothing sent, nothing charged;
``REFUSED``  the engine refused the submit (``detail``: the status name);
``SENT``     accepted: ``message_int`` is the engine's message id.

What a report shows (:data:`STATUSES`) is computed at read time
(:func:`report_status`): SENDING reads as PENDING, SENT as the message's
final stat (the FAQ's FAILED / NOREPORT as their SMPP words UNDELIV /
UNKNOWN), or ENROUTE while it has none. Nothing is pushed into the
campaign tables when a message ends, so a report is always as fresh as
the messages table.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from ..accounts.ids import MessageIdFormat
from ..pdu.errors import SmppError
from ..pdu.text import decode
from ..status import (
    DELETED, DELIVRD, ENROUTE, EXPIRED, REJECTD, STATS, UNDELIV, UNKNOWN, message_status, receipt_word,
)
from ..store.port import (
    CAMPAIGN_STATES as STATES, PENDING, REFUSED, SENDING, SENT, SKIPPED, Campaign, CampaignTally, Claimed,
    BaseRecipient, MessageStore, NewCampaign, NewRecipient, Outcome, RecipientFilter, RecipientState, Unsettled,
)

__all__ = [
    "CLEAN_STATUSES", "PENDING", "REFUSED", "SENDING", "SENT", "SKIPPED", "STATES", "STATUSES", "Campaign",
    "CampaignSummary", "Claimed", "NewCampaign", "NewRecipient", "Outcome", "RecipientLine",
    "campaign_report", "clean_base", "clean_lines", "clean_numbers", "status_filter",
    "create_campaign", "get_campaign", "list_campaigns", "recipients_of",
    "recover_sending", "remove_recipients", "report", "report_status", "set_state", "settle", "summaries",
]

#: what a report says about a recipient, in report order: how far the
#: runner got, then its message's status (smsc.status) in the SMPP words
STATUSES = (
    PENDING, SKIPPED, REFUSED, ENROUTE,
    DELIVRD, UNDELIV, REJECTD, EXPIRED, DELETED, UNKNOWN,
)
#: "cleaning the base" (SPEC 7): the numbers that could not take an SMS
CLEAN_STATUSES = (REJECTD, UNDELIV)


@dataclass(frozen=True)
class CampaignSummary:
    """One campaign as the reports list it (the contract with the reports page)."""

    id: int
    name: str
    system_id: str
    sender: str
    template: str
    #: one of :data:`STATES`
    state: str
    #: unix seconds
    created_at: float
    #: recipients kept after de-dup (blacklisted included)
    recipients: int
    #: every status of :data:`STATUSES`, in that order -> recipients with it (0s included)
    counts: Mapping[str, int]
    #: charged so far
    cost_kopecks: int


@dataclass(frozen=True)
class RecipientLine:
    """One number of a campaign report."""

    #: E.164 digits
    msisdn: str
    #: one of :data:`STATUSES`
    status: str
    #: as the client sees it (the account's id format), None if not sent
    message_id: str | None
    #: the personalised text
    text: str
    #: "" or why: the refusal's status name, "blacklisted", or a final
    #: message's network error code as its receipt says it (``err:013``)
    detail: str
    #: when it became final: the message's done time (simulation seconds),
    #: or when it was skipped / refused; None while not final
    done_at: float | None
    #: the upload's cells of this number, by column (the phone column too)
    fields: Mapping[str, str] = field(default_factory=dict)


# --- what a report says ----------------------------------------------------------------


def report_status(status: str, stat: str | None, done_time: float | None) -> str:
    """The one place a stored recipient becomes a report status: its
    stored ``status``, with its message's ``stat`` and ``done_time``. A
    sent one has its message's status (``smsc.status.message_status``) in
    the words a receipt uses by default (FAILED reads UNDELIV)."""
    if status == SENT:
        return receipt_word(message_status(stat, done_time))
    return PENDING if status == SENDING else status


def _summary(c: Campaign, counts: Mapping[str, int], cost: int) -> CampaignSummary:
    full = {s: counts.get(s, 0) for s in STATUSES}
    full.update((s, n) for s, n in counts.items() if s not in full)  # a stat we don't know yet
    return CampaignSummary(
        c.id, c.name, c.system_id, c.sender, c.template, c.state, c.created_at,
        sum(full.values()), MappingProxyType(full), cost,
    )


def summaries(campaigns: Iterable[Campaign], tallies: Iterable[CampaignTally]) -> list[CampaignSummary]:
    """The campaigns (in the order given) with their counts per status and cost."""
    counts: dict[int, dict[str, int]] = {}
    costs: dict[int, int] = {}
    for t in tallies:
        per = counts.setdefault(t.campaign_id, {})
        status = report_status(t.status, t.stat, t.done_time)
        per[status] = per.get(status, 0) + t.recipients
        costs[t.campaign_id] = costs.get(t.campaign_id, 0) + t.cost
    return [_summary(c, counts.get(c.id, {}), costs.get(c.id, 0)) for c in campaigns]


def report(
    c: Campaign, recipients: Iterable[RecipientState], status: str | None = None
) -> tuple[CampaignSummary, list[RecipientLine]]:
    """The campaign and its numbers in upload order (only those with
    ``status`` when given)."""
    lines: list[RecipientLine] = []
    counts: dict[str, int] = {}
    cost = 0
    for r in recipients:
        st = report_status(r.status, r.stat, r.done_time)
        counts[st] = counts.get(st, 0) + 1
        cost += r.cost
        if status is None or st == status:
            done_at = r.done_time if r.done_time is not None else (
                r.decided_at if st in (SKIPPED, REFUSED) else None)
            lines.append(RecipientLine(r.msisdn, st, r.message_id, r.text, _detail(r), done_at, r.fields))
    return _summary(c, counts, cost), lines


def _detail(r: RecipientState) -> str:
    """Why a number ended as it did: the runner's word (a refusal, the
    blacklist), else its message's network error code, as the receipt has it."""
    if r.detail or not r.error or r.done_time is None:
        return r.detail
    return f"err:{r.error:03d}"


# --- settling SENDING recipients after a restart ------------------------------------------


def settle(unsettled: Unsettled) -> list[Outcome]:
    """What became of recipients left SENDING by a kill.

    Their submit may have been committed (the message exists) without the
    runner recording it. Each is looked for among the account's messages
    submitted since it was claimed, to the same number with the same text
    (``unsettled`` carries them): found, it is SENT with that message (not
    sent again); not found, it is PENDING again. A message is taken once.
    """
    taken = set(unsettled.taken)
    outcomes: list[Outcome] = []
    for r in unsettled.recipients:
        found = next(
            (m.id for m in r.candidates if m.id not in taken and _same_text(m.short_message, m.data_coding, r.text)),
            None,
        )
        if found is None:
            outcomes.append(Outcome(r.campaign_id, r.seq, PENDING))
        else:
            taken.add(found)
            message_id = MessageIdFormat.of(r.id_format, r.id_width).format(found)
            outcomes.append(Outcome(r.campaign_id, r.seq, SENT, found, message_id))
    return outcomes


def _same_text(body: bytes, data_coding: int, text: str) -> bool:
    try:
        return decode(body, data_coding) == text
    except (SmppError, ValueError):
        return False


# --- on a MessageStore of one's own (the CLI) ------------------------------------------------


def create_campaign(store: MessageStore, new: NewCampaign, now: float | None = None) -> int:
    """Store a draft with its recipients; its id."""
    return store.create_campaign(new, time.time() if now is None else now)


def get_campaign(store: MessageStore, campaign_id: int) -> Campaign | None:
    return store.get_campaign(campaign_id)


def set_state(
    store: MessageStore, campaign_id: int, allowed: Iterable[str], state: str, detail: str = "",
    now: float | None = None,
) -> bool:
    """Move a campaign in one of the ``allowed`` states to ``state``; False
    (nothing changed) when it is in another. A first start stamps started_at."""
    return store.set_campaign_state(campaign_id, allowed, state, detail, time.time() if now is None else now)


def list_campaigns(store: MessageStore) -> list[CampaignSummary]:
    """Every campaign, newest first."""
    return summaries(store.list_campaigns(), store.campaign_tallies())


def campaign_report(
    store: MessageStore, campaign_id: int, status: str | None = None
) -> tuple[CampaignSummary, list[RecipientLine]] | None:
    """:func:`report` of the campaign; None when there is no such campaign."""
    c = store.get_campaign(campaign_id)
    if c is None:
        return None
    return report(c, store.campaign_lines(campaign_id), status)


def clean_lines(
    store: MessageStore, campaign_id: int, statuses: Sequence[str] = CLEAN_STATUSES
) -> list[tuple[str, str, dict[str, str]]]:
    """(msisdn, status, fields) of the numbers whose status is one of ``statuses``."""
    out = []
    for r in store.campaign_base(campaign_id):
        st = report_status(r.status, r.stat, r.done_time)
        if st in statuses:
            out.append((r.msisdn, st, dict(r.fields)))
    return out


def clean_numbers(base: Iterable[BaseRecipient], statuses: Sequence[str] = CLEAN_STATUSES) -> list[str]:
    """The numbers of a campaign (its ``campaign_base``) that ended with one
    of ``statuses``: what cleaning a number base after it removes (FAQ 13)."""
    return [r.msisdn for r in base if report_status(r.status, r.stat, r.done_time) in statuses]


def clean_base(store: MessageStore, base_id: int, campaign_id: int) -> int:
    """Remove from the number base the numbers that ended REJECTD or UNDELIV
    in the campaign; how many were in it. The campaign's report is untouched."""
    return store.remove_base_numbers(base_id, clean_numbers(store.campaign_base(campaign_id)))


def status_filter(status: str) -> RecipientFilter:
    """The stored columns that make a recipient's report status ``status``
    (:func:`report_status` backwards): what a report page asks the store for."""
    if status == PENDING:
        return RecipientFilter((PENDING, SENDING))
    if status in (SKIPPED, REFUSED):
        return RecipientFilter((status,))
    if status == ENROUTE:
        return RecipientFilter((SENT,), (), False)
    stats = tuple(s for s in STATS if receipt_word(s) == status)
    return RecipientFilter((SENT,), stats or (status,), True)


def remove_recipients(
    store: MessageStore, campaign_id: int, statuses: Sequence[str] = CLEAN_STATUSES, now: float | None = None,
) -> int:
    """Take the numbers whose status is one of ``statuses`` out of the
    campaign's base (FAQ 13: the base for the next mailing); how many were
    still in it. The campaign itself is history and stays as it was: its
    report keeps those numbers, their statuses and their cost. Only final
    statuses make sense here: a final status stays."""
    return store.exclude_from_base(campaign_id, [
        r.seq for r in store.campaign_base(campaign_id)
        if r.removed_at is None and report_status(r.status, r.stat, r.done_time) in statuses
    ], time.time() if now is None else now)


def recipients_of(store: MessageStore, campaign_id: int) -> list[tuple[str, dict[str, str], int]]:
    """(msisdn, fields, line) of a campaign's base, in upload order, without
    the numbers cleaning took out: a new campaign to the same (cleaned) group."""
    return [(r.msisdn, dict(r.fields), r.line) for r in store.campaign_base(campaign_id) if r.removed_at is None]


def recover_sending(store: MessageStore) -> tuple[int, int]:
    """:func:`settle` the SENDING recipients and record it. Returns (found, requeued)."""
    outcomes = settle(store.unsettled_sends())
    if outcomes:
        store.record_outcomes(outcomes)
    sent = sum(o.status == SENT for o in outcomes)
    return sent, len(outcomes) - sent
