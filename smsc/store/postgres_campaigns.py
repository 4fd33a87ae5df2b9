"""The campaign tables in PostgreSQL: a part of ``smsc.store.postgres.PgStore``.

The same rows and the same reads as ``smsc.store.sqlite_campaigns``; the
runner's claim takes PENDING rows with ``FOR UPDATE SKIP LOCKED``, so two
nodes claiming at once never take the same recipient.
"""
from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..records import Message
from .port import (
    PENDING, SENDING, SKIPPED, BaseRecipient, Campaign, CampaignTally, Claimed, NewCampaign, Outcome,
    RecipientState, SendingRecipient, Unsettled,
)

if TYPE_CHECKING:
    import psycopg

_CAMPAIGN_COLUMNS = (
    "id, name, system_id, sender, template, rate, state, detail, created_at, started_at, "
    "finished_at, phone_column, columns, rows_in, kept, invalid, duplicates, blacklisted, "
    "estimate_segments, estimate_kopecks"
)
_JOIN = "campaign_recipients r LEFT JOIN messages m ON m.id = r.message_int"
_MESSAGE = Message._make
_MESSAGE_COLUMNS = ", ".join(Message._fields)
_RECIPIENT_COLUMNS = ("campaign_id", "seq", "msisdn", "fields", "line", "text", "status", "detail", "decided_at")


def _campaign(row: Sequence[Any]) -> Campaign:
    values = list(row)
    values[7] = values[7] or ""
    values[12] = tuple(json.loads(values[12] or "[]"))
    return Campaign(*values)


class PgCampaignTables:
    """The campaign methods of ``MessageStore``, over ``PgStore``'s connection."""

    if TYPE_CHECKING:
        @property
        def _conn(self) -> psycopg.Connection[Any]: ...
        def _transaction(self) -> contextlib.AbstractContextManager[psycopg.Connection[Any]]: ...

    # --- making and changing campaigns -------------------------------------------

    def create_campaign(self, new: NewCampaign, now: float) -> int:
        rows = new.recipients
        blacklisted = sum(r.blacklisted for r in rows)
        with self._transaction() as conn:
            row = conn.execute(
                "INSERT INTO campaigns (name, system_id, sender, template, rate, state, detail, created_at, "
                "phone_column, columns, rows_in, kept, invalid, duplicates, blacklisted, estimate_segments, "
                "estimate_kopecks) VALUES (%s, %s, %s, %s, %s, 'draft', '', %s, %s, %s, %s, %s, %s, %s, %s, "
                "%s, %s) RETURNING id",
                [new.name, new.system_id, new.sender, new.template, new.rate, now, new.phone_column,
                 json.dumps(list(new.columns)), new.rows_in, len(rows), new.invalid, new.duplicates,
                 blacklisted, new.estimate_segments, new.estimate_kopecks],
            ).fetchone()
            assert row is not None
            campaign_id = int(row[0])
            with conn.cursor().copy(
                f"COPY campaign_recipients ({', '.join(_RECIPIENT_COLUMNS)}) FROM STDIN"
            ) as copy:
                for seq, r in enumerate(rows, 1):
                    copy.write_row((
                        campaign_id, seq, r.msisdn, json.dumps(dict(r.fields), ensure_ascii=False), r.line,
                        r.text, SKIPPED if r.blacklisted else PENDING, "blacklisted" if r.blacklisted else "",
                        now if r.blacklisted else None,
                    ))
        return campaign_id

    def get_campaign(self, campaign_id: int) -> Campaign | None:
        row = self._conn.execute(f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE id = %s", [campaign_id]).fetchone()
        return None if row is None else _campaign(row)

    def list_campaigns(self) -> list[Campaign]:
        return [_campaign(r) for r in self._conn.execute(f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns ORDER BY id DESC")]

    def running_campaigns(self) -> list[Campaign]:
        return [_campaign(r) for r in self._conn.execute(
            f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE state = 'running' ORDER BY id")]

    def set_campaign_state(
        self, campaign_id: int, allowed: Iterable[str], state: str, detail: str, now: float
    ) -> bool:
        cur = self._conn.execute(
            "UPDATE campaigns SET state = %s, detail = %s, "
            "started_at = CASE WHEN %s = 'running' THEN coalesce(started_at, %s) ELSE started_at END "
            "WHERE id = %s AND state = ANY(%s::text[])",
            [state, detail, state, now, campaign_id, list(allowed)],
        )
        return cur.rowcount > 0

    # --- reading recipients ---------------------------------------------------------

    def campaign_tallies(self) -> list[CampaignTally]:
        return [CampaignTally(r[0], r[1], r[2], r[3], r[4], int(r[5])) for r in self._conn.execute(
            f"SELECT r.campaign_id, r.status, m.stat, max(m.done_time), count(*), "
            f"sum(coalesce(m.cost, 0)) FROM {_JOIN} GROUP BY 1, 2, 3"
        )]

    def campaign_lines(self, campaign_id: int) -> list[RecipientState]:
        return [RecipientState(r[0], r[1], r[2], r[3], r[4], r[5] or "", r[6], r[7], r[8], r[9],
                               json.loads(r[10] or "{}"), r[11]) for r in self._conn.execute(
            f"SELECT r.seq, r.msisdn, r.status, r.message_id, r.text, r.detail, r.decided_at, m.stat, "
            f"m.done_time, coalesce(m.cost, 0), r.fields, m.error FROM {_JOIN} "
            f"WHERE r.campaign_id = %s ORDER BY r.seq",
            [campaign_id],
        )]

    def campaign_base(self, campaign_id: int) -> list[BaseRecipient]:
        return [
            BaseRecipient(seq, msisdn, json.loads(fields), line, status, stat, done_time, removed_at)
            for seq, msisdn, fields, line, status, stat, done_time, removed_at in self._conn.execute(
                f"SELECT r.seq, r.msisdn, r.fields, r.line, r.status, m.stat, m.done_time, r.removed_at "
                f"FROM {_JOIN} WHERE r.campaign_id = %s ORDER BY r.seq", [campaign_id],
            )
        ]

    def exclude_from_base(self, campaign_id: int, seqs: Iterable[int], now: float) -> int:
        with self._transaction() as conn:
            return conn.execute(
                "UPDATE campaign_recipients SET removed_at = %s WHERE campaign_id = %s "
                "AND seq = ANY(%s::integer[]) AND removed_at IS NULL",
                [now, campaign_id, list(seqs)],
            ).rowcount

    # --- the runner's side ------------------------------------------------------------

    def claim_recipients(self, wants: Mapping[int, int], now: float) -> list[Claimed]:
        claimed: list[Claimed] = []
        with self._transaction() as conn:
            for campaign_id, n in wants.items():
                rows = sorted(conn.execute(
                    "UPDATE campaign_recipients SET status = %s, claimed_at = %s WHERE campaign_id = %s AND seq IN "
                    "(SELECT seq FROM campaign_recipients WHERE campaign_id = %s AND status = %s ORDER BY seq "
                    "LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING seq, msisdn, text",
                    [SENDING, now, campaign_id, campaign_id, PENDING, n],
                ).fetchall()) if n > 0 else []
                claimed += [Claimed(campaign_id, *row) for row in rows]
                if not rows:
                    conn.execute(
                        "UPDATE campaigns SET state = 'sent', finished_at = %s WHERE id = %s AND state = 'running' "
                        "AND NOT EXISTS (SELECT 1 FROM campaign_recipients WHERE campaign_id = %s "
                        "AND status IN (%s, %s))",
                        [time.time(), campaign_id, campaign_id, PENDING, SENDING],
                    )
        return claimed

    def record_outcomes(self, outcomes: Iterable[Outcome], pauses: Mapping[int, str] = {}) -> None:
        now = time.time()
        rows = [(o.status, o.message_int, o.message_id, o.detail, None if o.status == PENDING else now,
                 o.campaign_id, o.seq) for o in outcomes]
        with self._transaction() as conn:
            cur = conn.cursor()
            if rows:
                cur.executemany(
                    "UPDATE campaign_recipients SET status = %s, message_int = %s, message_id = %s, detail = %s, "
                    "decided_at = %s WHERE campaign_id = %s AND seq = %s", rows,
                )
            if pauses:
                cur.executemany(
                    "UPDATE campaigns SET state = 'paused', detail = %s WHERE id = %s AND state = 'running'",
                    [(why, cid) for cid, why in pauses.items()],
                )

    def unsettled_sends(self) -> Unsettled:
        conn = self._conn
        rows = conn.execute(
            "SELECT r.campaign_id, r.seq, r.msisdn, r.text, r.claimed_at, c.system_id, a.id_format, "
            "a.id_width FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id "
            "LEFT JOIN accounts a ON a.system_id = c.system_id WHERE r.status = %s "
            "ORDER BY r.campaign_id, r.seq", [SENDING],
        ).fetchall()
        taken = frozenset(int(n) for (n,) in conn.execute(
            "SELECT message_int FROM campaign_recipients WHERE message_int IS NOT NULL AND campaign_id IN "
            "(SELECT DISTINCT campaign_id FROM campaign_recipients WHERE status = %s)", [SENDING],
        ))
        recipients = tuple(
            SendingRecipient(
                campaign_id, seq, msisdn, text, system_id, id_format, id_width,
                tuple(_MESSAGE(m) for m in conn.execute(
                    f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE system_id = %s AND msisdn = %s "
                    f"AND submit_time >= %s ORDER BY id", [system_id, msisdn, claimed_at or 0.0],
                )),
            )
            for campaign_id, seq, msisdn, text, claimed_at, system_id, id_format, id_width in rows
        )
        return Unsettled(recipients, taken)
