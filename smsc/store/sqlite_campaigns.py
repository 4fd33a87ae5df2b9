"""The campaign tables in SQLite: a part of ``smsc.store.sqlite.Store``.

``campaigns`` holds one row per campaign; ``campaign_recipients`` one row
per kept number, with its rendered text and how far the runner got
(``status``, smsc.store.port PENDING ... SENT). What a report makes of a
recipient (its message's final state, SENDING read as PENDING) is decided
in ``smsc.campaigns.store`` from the raw columns read here; this module
only reads and writes them.
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..records import Message
from .port import (
    PENDING, SENDING, SKIPPED, BaseRecipient, Campaign, CampaignTally, Claimed, NewCampaign, Outcome,
    RecipientState, SendingRecipient, Unsettled,
)

if TYPE_CHECKING:
    import sqlite_utils

_CAMPAIGN_COLUMNS = (
    "id, name, system_id, sender, template, rate, state, detail, created_at, started_at, "
    "finished_at, phone_column, columns, rows_in, kept, invalid, duplicates, blacklisted, "
    "estimate_segments, estimate_kopecks"
)
_JOIN = "campaign_recipients r LEFT JOIN messages m ON m.id = r.message_int"
_MESSAGE = Message._make
_MESSAGE_COLUMNS = ", ".join(Message._fields)


def _campaign(row: Sequence[Any]) -> Campaign:
    values = list(row)
    values[7] = values[7] or ""
    values[12] = tuple(json.loads(values[12] or "[]"))
    return Campaign(*values)


class CampaignTables:
    """The campaign methods of ``MessageStore``, over ``Store``'s connection."""

    _db: sqlite_utils.Database

    if TYPE_CHECKING:
        def _transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...

    def _create_campaign_tables(self) -> None:
        db = self._db
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
                "detail": str, "claimed_at": float, "decided_at": float, "removed_at": float,
            },
            pk=("campaign_id", "seq"), if_not_exists=True,
        )
        # added since the table was first made (nullable: an older table only needs it added)
        if "removed_at" not in db.table("campaign_recipients").columns_dict:
            try:
                db.table("campaign_recipients").add_column("removed_at", float)
            except sqlite3.OperationalError:  # another process added it first
                if "removed_at" not in db.table("campaign_recipients").columns_dict:
                    raise
        db.execute(
            "CREATE INDEX IF NOT EXISTS campaign_recipients_status "
            "ON campaign_recipients (campaign_id, status, seq)"
        )

    # --- making and changing campaigns -------------------------------------------

    def create_campaign(self, new: NewCampaign, now: float) -> int:
        """Store a draft with its recipients in one transaction; its id.
        Recipients blacklisted at creation are SKIPPED ("blacklisted")."""
        rows = new.recipients
        blacklisted = sum(r.blacklisted for r in rows)
        with self._transaction() as conn:
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

    def get_campaign(self, campaign_id: int) -> Campaign | None:
        row = self._db.execute(
            f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?", [campaign_id]
        ).fetchone()
        return None if row is None else _campaign(row)

    def list_campaigns(self) -> list[Campaign]:
        """Every campaign, newest first."""
        rows = self._db.execute(f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns ORDER BY id DESC").fetchall()
        return [_campaign(r) for r in rows]

    def running_campaigns(self) -> list[Campaign]:
        rows = self._db.execute(
            f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE state = 'running' ORDER BY id"
        ).fetchall()
        return [_campaign(r) for r in rows]

    def set_campaign_state(
        self, campaign_id: int, allowed: Iterable[str], state: str, detail: str, now: float
    ) -> bool:
        """Move a campaign in one of the ``allowed`` states to ``state``; False
        (nothing changed) when it is in another. A first start stamps started_at."""
        allowed = list(allowed)
        with self._transaction() as conn:
            cur = conn.execute(
                f"UPDATE campaigns SET state = ?, detail = ?, "
                f"started_at = CASE WHEN ? = 'running' THEN coalesce(started_at, ?) ELSE started_at END "
                f"WHERE id = ? AND state IN ({', '.join('?' * len(allowed))})",
                [state, detail, state, now, campaign_id, *allowed],
            )
        return cur.rowcount > 0

    # --- reading recipients ---------------------------------------------------------

    def campaign_tallies(self) -> list[CampaignTally]:
        """Recipients of every campaign grouped by stored status and their
        message's stat (None: not sent, or not final), with the cost."""
        return [CampaignTally(*r) for r in self._db.execute(
            f"SELECT r.campaign_id, r.status, m.stat, max(m.done_time), count(*), "
            f"sum(coalesce(m.cost, 0)) FROM {_JOIN} GROUP BY 1, 2, 3"
        )]

    def campaign_lines(self, campaign_id: int) -> list[RecipientState]:
        """Every recipient of the campaign with its message's state, in upload order."""
        return [RecipientState(r[0], r[1], r[2], r[3], r[4], r[5] or "", r[6], r[7], r[8], r[9],
                               json.loads(r[10] or "{}"), r[11]) for r in self._db.execute(
            f"SELECT r.seq, r.msisdn, r.status, r.message_id, r.text, r.detail, r.decided_at, m.stat, "
            f"m.done_time, coalesce(m.cost, 0), r.fields, m.error FROM {_JOIN} "
            f"WHERE r.campaign_id = ? ORDER BY r.seq",
            [campaign_id],
        )]

    def campaign_base(self, campaign_id: int) -> list[BaseRecipient]:
        """The campaign's numbers with their upload columns, in upload order
        (those taken out of the base too, with ``removed_at``)."""
        return [
            BaseRecipient(seq, msisdn, json.loads(fields), line, status, stat, done_time, removed_at)
            for seq, msisdn, fields, line, status, stat, done_time, removed_at in self._db.execute(
                f"SELECT r.seq, r.msisdn, r.fields, r.line, r.status, m.stat, m.done_time, r.removed_at "
                f"FROM {_JOIN} WHERE r.campaign_id = ? ORDER BY r.seq", [campaign_id],
            )
        ]

    def exclude_from_base(self, campaign_id: int, seqs: Iterable[int], now: float) -> int:
        """Take these recipients out of the campaign's base (stamped ``now``):
        a campaign made from it leaves them out. Nothing is deleted, so the
        campaign's report stays as it was. How many were still in the base."""
        with self._transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                "UPDATE campaign_recipients SET removed_at = ? "
                "WHERE campaign_id = ? AND seq = ? AND removed_at IS NULL",
                [(now, campaign_id, seq) for seq in seqs],
            )
            return conn.total_changes - before

    # --- the runner's side ------------------------------------------------------------

    def claim_recipients(self, wants: Mapping[int, int], now: float) -> list[Claimed]:
        """Mark up to ``wants[id]`` PENDING recipients of each running campaign
        SENDING (stamped ``now``, simulation time) and return them, in upload
        order. A running campaign with nothing PENDING or SENDING left is
        ``sent`` (stamped with the wall time)."""
        claimed: list[Claimed] = []
        with self._transaction() as conn:
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

    def record_outcomes(self, outcomes: Iterable[Outcome], pauses: Mapping[int, str] = {}) -> None:
        """Write what became of claimed recipients, and pause the campaigns in
        ``pauses`` (id -> why) that are still running, in one transaction."""
        now = time.time()
        with self._transaction() as conn:
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

    def unsettled_sends(self) -> Unsettled:
        """Recipients left SENDING (by a kill) with the messages that may be
        their submit, and the message ids their campaigns already recorded."""
        conn = self._db.conn
        rows = conn.execute(
            "SELECT r.campaign_id, r.seq, r.msisdn, r.text, r.claimed_at, c.system_id, a.id_format, "
            "a.id_width FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id "
            "LEFT JOIN accounts a ON a.system_id = c.system_id WHERE r.status = ? "
            "ORDER BY r.campaign_id, r.seq",
            [SENDING],
        ).fetchall()
        taken = frozenset(n for (n,) in conn.execute(
            "SELECT message_int FROM campaign_recipients WHERE message_int IS NOT NULL AND campaign_id IN "
            "(SELECT DISTINCT campaign_id FROM campaign_recipients WHERE status = ?)", [SENDING],
        ))
        recipients = tuple(
            SendingRecipient(
                campaign_id, seq, msisdn, text, system_id, id_format, id_width,
                tuple(_MESSAGE(m) for m in conn.execute(
                    f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE system_id = ? AND msisdn = ? "
                    f"AND submit_time >= ? ORDER BY id", [system_id, msisdn, claimed_at or 0.0],
                )),
            )
            for campaign_id, seq, msisdn, text, claimed_at, system_id, id_format, id_width in rows
        )
        return Unsettled(recipients, taken)
