"""Campaigns in the store: their own two tables in the server's SQLite file.

A campaign is an uploaded group (its recipients, already de-duplicated and
personalised) plus a sender and a rate. ``campaigns`` holds one row per
campaign; ``campaign_recipients`` one row per kept number, with its rendered
text and how far it got. The tables are created here when missing (the
server's schema in ``smsc.store.sqlite`` knows nothing of them).

Functions take a :class:`~smsc.store.sqlite.Store`: the CLI calls them on
its own connection, the server only on its store thread
(``StoreWorker.run``); WAL lets both work on one file at once.

A recipient's stored ``status`` is how far the *runner* got with it:

``PENDING``  not handed to the engine yet;
``SENDING``  claimed by the runner, its submit may or may not be committed
             (only seen after a kill: see :func:`recover_sending`);
``SKIPPED``  blacklisted: nothing sent, nothing charged;
``REFUSED``  the engine refused the submit (``detail``: the status name);
``SENT``     accepted: ``message_int`` is the engine's message id.

What a report shows (:data:`STATUSES`) is computed at read time: SENDING
reads as PENDING, SENT as the message's final stat from the ``messages``
table (the FAQ's FAILED / NOREPORT as their SMPP words UNDELIV / UNKNOWN),
or ENROUTE while it has none. Nothing is pushed into these tables when a
message ends, so a report is always as fresh as the messages table.
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from ..accounts.ids import MessageIdFormat
from ..pdu.errors import SmppError
from ..pdu.receipt import STANDARD_WORD
from ..pdu.text import decode
from ..store.sqlite import Store

__all__ = [
    "CLEAN_STATUSES", "STATES", "STATUSES", "Campaign", "CampaignSummary", "Claimed", "NewCampaign",
    "NewRecipient", "Outcome", "RecipientLine", "campaign_report", "claim", "clean_lines",
    "create_campaign", "get_campaign", "list_campaigns", "record", "recover_sending",
    "remove_recipients", "running_campaigns", "set_state",
]

#: campaign states: a draft waits for ``start``; ``paused`` (insufficient
#: funds, or by hand) waits for ``start`` again; ``sent``: every recipient
#: was handed to the engine (or skipped / refused)
STATES = ("draft", "running", "paused", "sent")
#: what a report says about a recipient, in report order
STATUSES = (
    "PENDING", "SKIPPED", "REFUSED", "ENROUTE",
    "DELIVRD", "UNDELIV", "REJECTD", "EXPIRED", "DELETED", "UNKNOWN",
)
#: "cleaning the base" (SPEC 7): the numbers that could not take an SMS
CLEAN_STATUSES = ("REJECTD", "UNDELIV")

# stored recipient statuses (see the module doc)
PENDING, SENDING, SKIPPED, REFUSED, SENT = "PENDING", "SENDING", "SKIPPED", "REFUSED", "SENT"

#: the stored stat as its SMPP word (the FAQ's FAILED / NOREPORT are UNDELIV / UNKNOWN)
_STAT = (
    "CASE m.stat " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in STANDARD_WORD.items())
    + " ELSE m.stat END"
)
#: the one place a stored row becomes a report status
_STATUS_SQL = (
    f"CASE r.status WHEN '{SENT}' THEN coalesce({_STAT}, 'ENROUTE') "
    f"WHEN '{SENDING}' THEN '{PENDING}' ELSE r.status END"
)
_JOIN = "campaign_recipients r LEFT JOIN messages m ON m.id = r.message_int"
_CAMPAIGN_COLUMNS = (
    "id, name, system_id, sender, template, rate, state, detail, created_at, started_at, "
    "finished_at, phone_column, columns, rows_in, kept, invalid, duplicates, blacklisted, "
    "estimate_segments, estimate_kopecks"
)


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
    #: "" or why: the refusal's status name, "blacklisted"
    detail: str
    #: when it became final: the message's done time (simulation seconds),
    #: or when it was skipped / refused; None while not final
    done_at: float | None


@dataclass(frozen=True)
class Campaign:
    """Every column of a campaign row (the CLI and the runner need more than the summary)."""

    id: int
    name: str
    system_id: str
    sender: str
    template: str
    #: messages per second
    rate: float
    state: str
    #: why it is paused, or ""
    detail: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    phone_column: str
    columns: tuple[str, ...]
    #: the upload: data rows read, kept, invalid, duplicates; blacklisted at creation
    rows_in: int
    kept: int
    invalid: int
    duplicates: int
    blacklisted: int
    estimate_segments: int
    estimate_kopecks: int


@dataclass(frozen=True)
class NewRecipient:
    msisdn: str
    fields: Mapping[str, str]
    #: the CSV line it came from (0: not from a file)
    line: int
    text: str
    #: blacklisted when the campaign was made: stored as SKIPPED
    blacklisted: bool = False


@dataclass(frozen=True)
class NewCampaign:
    name: str
    system_id: str
    sender: str
    template: str
    rate: float
    phone_column: str
    columns: tuple[str, ...]
    rows_in: int
    invalid: int
    duplicates: int
    estimate_segments: int
    estimate_kopecks: int
    recipients: tuple[NewRecipient, ...]


@dataclass(frozen=True)
class Claimed:
    """A recipient the runner took (now SENDING) to hand to the engine."""

    campaign_id: int
    seq: int
    msisdn: str
    text: str


@dataclass(frozen=True)
class Outcome:
    """What became of a claimed recipient: ``status`` one of PENDING (try
    again), SKIPPED, REFUSED, SENT."""

    campaign_id: int
    seq: int
    status: str
    message_int: int | None = None
    message_id: str | None = None
    detail: str = ""


# --- schema -------------------------------------------------------------------------

_ready: weakref.WeakSet[Store] = weakref.WeakSet()


def _tables(store: Store) -> sqlite3.Connection:
    """The store's connection, with the campaign tables made (once per Store)."""
    if store not in _ready:
        db = store.db
        db.table("campaigns").create(
            {
                "id": int, "name": str, "system_id": str, "sender": str, "template": str,
                "rate": float, "state": str, "detail": str, "created_at": float,
                "started_at": float, "finished_at": float, "phone_column": str, "columns": str,
                "rows_in": int, "kept": int, "invalid": int, "duplicates": int,
                "blacklisted": int, "estimate_segments": int, "estimate_kopecks": int,
            },
            pk="id", if_not_exists=True,
        )
        db.table("campaign_recipients").create(
            {
                "campaign_id": int, "seq": int, "msisdn": str, "fields": str, "line": int,
                "text": str, "status": str, "message_int": int, "message_id": str,
                "detail": str, "claimed_at": float, "decided_at": float,
            },
            pk=("campaign_id", "seq"), if_not_exists=True,
        )
        db.execute(
            "CREATE INDEX IF NOT EXISTS campaign_recipients_status "
            "ON campaign_recipients (campaign_id, status, seq)"
        )
        _ready.add(store)
    return store.db.conn



@contextlib.contextmanager
def _write(store: Store) -> Iterator[sqlite3.Connection]:
    """One write transaction, on the campaign tables."""
    _tables(store)
    with store.transaction() as conn:
        yield conn


# --- making and changing campaigns ---------------------------------------------------


def create_campaign(store: Store, new: NewCampaign, now: float | None = None) -> int:
    """Store a draft with its recipients in one transaction; its id."""
    now = time.time() if now is None else now
    rows = new.recipients
    blacklisted = sum(r.blacklisted for r in rows)
    with _write(store) as conn:
        cur = conn.execute(
            "INSERT INTO campaigns (name, system_id, sender, template, rate, state, detail, "
            "created_at, phone_column, columns, rows_in, kept, invalid, duplicates, blacklisted, "
            "estimate_segments, estimate_kopecks) VALUES (?, ?, ?, ?, ?, 'draft', '', ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?)",
            [new.name, new.system_id, new.sender, new.template, new.rate, now, new.phone_column,
             json.dumps(list(new.columns)), new.rows_in, len(rows), new.invalid, new.duplicates,
             blacklisted, new.estimate_segments, new.estimate_kopecks],
        )
        assert cur.lastrowid is not None
        campaign_id = cur.lastrowid
        conn.executemany(
            "INSERT INTO campaign_recipients (campaign_id, seq, msisdn, fields, line, text, status, "
            "detail, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (campaign_id, seq, r.msisdn, json.dumps(dict(r.fields), ensure_ascii=False), r.line,
                 r.text, SKIPPED if r.blacklisted else PENDING,
                 "blacklisted" if r.blacklisted else "", now if r.blacklisted else None)
                for seq, r in enumerate(rows, 1)
            ],
        )
    return campaign_id


def get_campaign(store: Store, campaign_id: int) -> Campaign | None:
    conn = _tables(store)
    row = conn.execute(f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?", [campaign_id]).fetchone()
    return None if row is None else _campaign(row)


def _campaign(row: Sequence) -> Campaign:
    values = list(row)
    values[7] = values[7] or ""
    values[12] = tuple(json.loads(values[12] or "[]"))
    return Campaign(*values)


def set_state(
    store: Store, campaign_id: int, allowed: Iterable[str], state: str, detail: str = "",
    now: float | None = None,
) -> bool:
    """Move a campaign in one of the ``allowed`` states to ``state``; False
    (nothing changed) when it is in another. A first start stamps started_at."""
    now = time.time() if now is None else now
    allowed = list(allowed)
    with _write(store) as conn:
        cur = conn.execute(
            f"UPDATE campaigns SET state = ?, detail = ?, "
            f"started_at = CASE WHEN ? = 'running' THEN coalesce(started_at, ?) ELSE started_at END "
            f"WHERE id = ? AND state IN ({', '.join('?' * len(allowed))})",
            [state, detail, state, now, campaign_id, *allowed],
        )
    return cur.rowcount > 0


# --- reports (the contract with the reports page) -----------------------------------


def list_campaigns(store: Store) -> list[CampaignSummary]:
    """Every campaign, newest first."""
    conn = _tables(store)
    counts: dict[int, dict[str, int]] = {}
    costs: dict[int, int] = {}
    for cid, status, n, cost in conn.execute(
        f"SELECT r.campaign_id, {_STATUS_SQL}, count(*), sum(coalesce(m.cost, 0)) FROM {_JOIN} "
        f"GROUP BY 1, 2"
    ):
        counts.setdefault(cid, {})[status] = n
        costs[cid] = costs.get(cid, 0) + cost
    rows = conn.execute(f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns ORDER BY id DESC").fetchall()
    return [_summary(_campaign(r), counts.get(r[0], {}), costs.get(r[0], 0)) for r in rows]


def _summary(c: Campaign, counts: Mapping[str, int], cost: int) -> CampaignSummary:
    full = {s: counts.get(s, 0) for s in STATUSES}
    full.update((s, n) for s, n in counts.items() if s not in full)  # a stat we don't know yet
    return CampaignSummary(
        c.id, c.name, c.system_id, c.sender, c.template, c.state, c.created_at,
        sum(full.values()), MappingProxyType(full), cost,
    )


def campaign_report(
    store: Store, campaign_id: int, status: str | None = None
) -> tuple[CampaignSummary, list[RecipientLine]] | None:
    """The campaign and its numbers in upload order (only those with
    ``status`` when given); None when there is no such campaign."""
    c = get_campaign(store, campaign_id)
    if c is None:
        return None
    lines: list[RecipientLine] = []
    counts: dict[str, int] = {}
    cost = 0
    for msisdn, st, message_id, text, detail, done_time, decided_at, kopecks in _tables(store).execute(
        f"SELECT r.msisdn, {_STATUS_SQL}, r.message_id, r.text, r.detail, m.done_time, "
        f"r.decided_at, coalesce(m.cost, 0) FROM {_JOIN} WHERE r.campaign_id = ? ORDER BY r.seq",
        [campaign_id],
    ):
        counts[st] = counts.get(st, 0) + 1
        cost += kopecks
        if status is None or st == status:
            done_at = done_time if done_time is not None else (decided_at if st in (SKIPPED, REFUSED) else None)
            lines.append(RecipientLine(msisdn, st, message_id, text, detail or "", done_at))
    return _summary(c, counts, cost), lines


# --- cleaning the base ---------------------------------------------------------------


def clean_lines(
    store: Store, campaign_id: int, statuses: Sequence[str] = CLEAN_STATUSES
) -> list[tuple[str, str, dict[str, str]]]:
    """(msisdn, status, fields) of the numbers whose status is one of ``statuses``."""
    marks = ", ".join("?" * len(statuses))
    return [
        (msisdn, st, json.loads(fields))
        for msisdn, st, fields in _tables(store).execute(
            f"SELECT r.msisdn, {_STATUS_SQL} AS s, r.fields FROM {_JOIN} "
            f"WHERE r.campaign_id = ? AND s IN ({marks}) ORDER BY r.seq",
            [campaign_id, *statuses],
        )
    ]


def remove_recipients(store: Store, campaign_id: int, statuses: Sequence[str] = CLEAN_STATUSES) -> int:
    """Delete the numbers whose status is one of ``statuses`` from the
    campaign's base; how many. Only final statuses make sense here: the
    runner never touches those rows again."""
    marks = ", ".join("?" * len(statuses))
    with _write(store) as conn:
        cur = conn.execute(
            f"DELETE FROM campaign_recipients WHERE campaign_id = ? AND seq IN ("
            f"SELECT r.seq FROM {_JOIN} WHERE r.campaign_id = ? AND {_STATUS_SQL} IN ({marks}))",
            [campaign_id, campaign_id, *statuses],
        )
    return cur.rowcount


def recipients_of(store: Store, campaign_id: int) -> list[tuple[str, dict[str, str], int]]:
    """(msisdn, fields, line) of a campaign's base, in upload order: a new
    campaign to the same (cleaned) group."""
    return [
        (msisdn, json.loads(fields), line)
        for msisdn, fields, line in _tables(store).execute(
            "SELECT msisdn, fields, line FROM campaign_recipients WHERE campaign_id = ? ORDER BY seq",
            [campaign_id],
        )
    ]


# --- the runner's side ------------------------------------------------------------------


def running_campaigns(store: Store) -> list[Campaign]:
    rows = _tables(store).execute(
        f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE state = 'running' ORDER BY id"
    ).fetchall()
    return [_campaign(r) for r in rows]


def claim(store: Store, wants: Mapping[int, int], now: float) -> list[Claimed]:
    """Mark up to ``wants[id]`` PENDING recipients of each running campaign
    SENDING (stamped ``now``, simulation time) and return them, in upload
    order. A running campaign with nothing PENDING or SENDING left is
    ``sent`` (stamped with the wall time)."""
    claimed: list[Claimed] = []
    with _write(store) as conn:
        for campaign_id, n in wants.items():
            rows = conn.execute(
                "SELECT seq, msisdn, text FROM campaign_recipients WHERE campaign_id = ? AND status = ? "
                "ORDER BY seq LIMIT ?", [campaign_id, PENDING, n],
            ).fetchall() if n > 0 else []
            conn.executemany(
                "UPDATE campaign_recipients SET status = ?, claimed_at = ? WHERE campaign_id = ? AND seq = ?",
                [(SENDING, now, campaign_id, seq) for seq, _, _ in rows],
            )
            claimed += [Claimed(campaign_id, *row) for row in rows]
            if not rows:
                conn.execute(
                    "UPDATE campaigns SET state = 'sent', finished_at = ? WHERE id = ? AND state = 'running' "
                    "AND NOT EXISTS (SELECT 1 FROM campaign_recipients WHERE campaign_id = ? "
                    "AND status IN (?, ?))",
                    [time.time(), campaign_id, campaign_id, PENDING, SENDING],
                )
    return claimed


def record(store: Store, outcomes: Iterable[Outcome], pauses: Mapping[int, str] = {}) -> None:
    """Write what became of claimed recipients, and pause the campaigns in
    ``pauses`` (id -> why) that are still running, in one transaction."""
    now = time.time()
    with _write(store) as conn:
        conn.executemany(
            "UPDATE campaign_recipients SET status = ?, message_int = ?, message_id = ?, detail = ?, "
            "decided_at = ? WHERE campaign_id = ? AND seq = ?",
            [(o.status, o.message_int, o.message_id, o.detail, None if o.status == PENDING else now,
              o.campaign_id, o.seq) for o in outcomes],
        )
        conn.executemany(
            "UPDATE campaigns SET state = 'paused', detail = ? WHERE id = ? AND state = 'running'",
            [(why, cid) for cid, why in pauses.items()],
        )


def recover_sending(store: Store) -> tuple[int, int]:
    """After a restart: settle recipients left SENDING by a kill.

    Their submit may have been committed (the message exists) without the
    runner recording it. Each is looked up among the account's messages
    submitted since it was claimed, to the same number with the same text:
    found, it is SENT with that message (not sent again); not found, it is
    PENDING again. Returns (found, requeued).
    """
    conn = _tables(store)
    rows = conn.execute(
        "SELECT r.campaign_id, r.seq, r.msisdn, r.text, r.claimed_at, c.system_id, c.sender "
        "FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id WHERE r.status = ?",
        [SENDING],
    ).fetchall()
    outcomes: list[Outcome] = []
    taken: set[int] = set(
        n for (n,) in conn.execute(
            "SELECT message_int FROM campaign_recipients WHERE message_int IS NOT NULL AND campaign_id IN "
            "(SELECT DISTINCT campaign_id FROM campaign_recipients WHERE status = ?)", [SENDING],
        )
    )
    formats: dict[str, MessageIdFormat] = {}
    for campaign_id, seq, msisdn, text, claimed_at, system_id, _sender in rows:
        if system_id not in formats:
            account = store.get_account(system_id)
            formats[system_id] = MessageIdFormat.of(
                account.id_format if account else None, account.id_width if account else None
            )
        found = None
        for n, body, coding in conn.execute(
            "SELECT id, short_message, data_coding FROM messages WHERE system_id = ? AND msisdn = ? "
            "AND submit_time >= ? ORDER BY id", [system_id, msisdn, claimed_at or 0.0],
        ):
            if n not in taken and _same_text(body, coding, text):
                found = n
                break
        if found is None:
            outcomes.append(Outcome(campaign_id, seq, PENDING))
        else:
            taken.add(found)
            outcomes.append(Outcome(campaign_id, seq, SENT, found, formats[system_id].format(found)))
    if outcomes:
        record(store, outcomes)
    sent = sum(o.status == SENT for o in outcomes)
    return sent, len(outcomes) - sent


def _same_text(body: bytes, data_coding: int, text: str) -> bool:
    try:
        return decode(body, data_coding) == text
    except (SmppError, ValueError):
        return False
