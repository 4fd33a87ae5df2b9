"""Number bases, sender-name applications and paged campaign reports in
SQLite: a part of ``smsc.store.sqlite.Store``.

``bases`` holds one row per base, ``base_numbers`` one per number
(primary key (base_id, msisdn): a base never holds a number twice, and
adding one it has is a no-op, ``ON CONFLICT DO NOTHING`` on either
backend); ``seq`` keeps upload order. ``alpha_applications`` one row per
(account, name) applied for. The report queries read ``campaign_recipients``
a page at a time (LIMIT / OFFSET on the (campaign_id, status, seq) index):
a 100,000-number campaign is never read whole to show 100 lines.
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..records import Message
from .port import (
    ALPHA_APPROVED, ALPHA_PENDING, ALPHA_REJECTED, AlphaApplication, BaseNumber, Campaign, CampaignTally,
    NewBase, NumberBase, RecipientFilter, RecipientState, StoredMessage,
)

if TYPE_CHECKING:
    import sqlite_utils

_BASE = (
    "SELECT b.id, b.system_id, b.name, b.phone_column, b.columns, b.rows_in, b.invalid, b.duplicates, "
    "b.created_at, (SELECT count(*) FROM base_numbers n WHERE n.base_id = b.id) FROM bases b "
)
_JOIN = "campaign_recipients r LEFT JOIN messages m ON m.id = r.message_int"
_LINE = (
    "SELECT r.seq, r.msisdn, r.status, r.message_id, r.text, r.detail, r.decided_at, m.stat, "
    "m.done_time, coalesce(m.cost, 0), r.fields, m.error FROM "
)


def _base(row: Sequence[Any]) -> NumberBase:
    values = list(row)
    values[4] = tuple(json.loads(values[4] or "[]"))
    return NumberBase(*values)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class BaseTables:
    """The base, application and paged-report methods of ``MessageStore``."""

    _db: sqlite_utils.Database

    if TYPE_CHECKING:
        def _transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...

    def _create_base_tables(self) -> None:
        db = self._db
        db.table("bases").create(
            {"id": int, "system_id": str, "name": str, "phone_column": str, "columns": str,
             "rows_in": int, "invalid": int, "duplicates": int, "created_at": float},
            pk="id", if_not_exists=True,
        )
        db.table("base_numbers").create(
            {"base_id": int, "msisdn": str, "seq": int, "fields": str, "line": int},
            pk=("base_id", "msisdn"), if_not_exists=True,
        )
        db.execute("CREATE INDEX IF NOT EXISTS base_numbers_seq ON base_numbers (base_id, seq)")
        db.table("alpha_applications").create(
            {"system_id": str, "name": str, "state": str, "reason": str, "applied_at": float,
             "decided_at": float},
            pk=("system_id", "name"), if_not_exists=True,
        )

    # --- bases ----------------------------------------------------------------------

    def create_base(self, new: NewBase, now: float) -> int:
        with self._transaction() as conn:
            cur = conn.execute(
                "INSERT INTO bases (system_id, name, phone_column, columns, rows_in, invalid, duplicates, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [new.system_id, new.name, new.phone_column, json.dumps(list(new.columns), ensure_ascii=False),
                 new.rows_in, new.invalid, new.duplicates, now],
            )
            assert cur.lastrowid is not None
            base_id = cur.lastrowid
            self._insert_numbers(conn, base_id, new.numbers)
        return base_id

    def _insert_numbers(self, conn: sqlite3.Connection, base_id: int, numbers: Iterable[BaseNumber]) -> int:
        (top,) = conn.execute("SELECT coalesce(max(seq), 0) FROM base_numbers WHERE base_id = ?",
                              [base_id]).fetchone()
        before = conn.total_changes
        conn.executemany(
            "INSERT INTO base_numbers (base_id, msisdn, seq, fields, line) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (base_id, msisdn) DO NOTHING",
            [(base_id, n.msisdn, top + i, json.dumps(dict(n.fields), ensure_ascii=False), n.line)
             for i, n in enumerate(numbers, 1)],
        )
        return conn.total_changes - before

    def get_base(self, base_id: int) -> NumberBase | None:
        row = self._db.execute(_BASE + "WHERE b.id = ?", [base_id]).fetchone()
        return None if row is None else _base(row)

    def list_bases(self, system_id: str | None) -> list[NumberBase]:
        if system_id is None:
            rows = self._db.execute(_BASE + "ORDER BY b.id DESC").fetchall()
        else:
            rows = self._db.execute(_BASE + "WHERE b.system_id = ? ORDER BY b.id DESC", [system_id]).fetchall()
        return [_base(r) for r in rows]

    def rename_base(self, base_id: int, name: str) -> bool:
        with self._transaction() as conn:
            return conn.execute("UPDATE bases SET name = ? WHERE id = ?", [name, base_id]).rowcount > 0

    def delete_base(self, base_id: int) -> bool:
        with self._transaction() as conn:
            conn.execute("DELETE FROM base_numbers WHERE base_id = ?", [base_id])
            return conn.execute("DELETE FROM bases WHERE id = ?", [base_id]).rowcount > 0

    def base_numbers(self, base_id: int) -> list[BaseNumber]:
        return [BaseNumber(m, json.loads(f or "{}"), line) for m, f, line in self._db.execute(
            "SELECT msisdn, fields, line FROM base_numbers WHERE base_id = ? ORDER BY seq", [base_id])]

    def add_base_numbers(self, base_id: int, numbers: Iterable[BaseNumber]) -> int:
        with self._transaction() as conn:
            return self._insert_numbers(conn, base_id, numbers)

    def remove_base_numbers(self, base_id: int, msisdns: Iterable[str]) -> int:
        with self._transaction() as conn:
            before = conn.total_changes
            conn.executemany("DELETE FROM base_numbers WHERE base_id = ? AND msisdn = ?",
                             [(base_id, m) for m in msisdns])
            return conn.total_changes - before

    # --- sender-name applications --------------------------------------------------------

    def apply_alpha(self, system_id: str, name: str, now: float) -> bool:
        with self._transaction() as conn:
            cur = conn.execute(
                "INSERT INTO alpha_applications (system_id, name, state, reason, applied_at) "
                "VALUES (?, ?, ?, '', ?) ON CONFLICT (system_id, name) DO UPDATE SET state = excluded.state, "
                "reason = '', applied_at = excluded.applied_at, decided_at = NULL "
                "WHERE alpha_applications.state = ?",
                [system_id, name, ALPHA_PENDING, now, ALPHA_REJECTED],
            )
            return cur.rowcount > 0

    def alpha_applications(self, system_id: str | None) -> list[AlphaApplication]:
        head = "SELECT system_id, name, state, reason, applied_at, decided_at FROM alpha_applications "
        if system_id is None:
            rows = self._db.execute(head + "ORDER BY applied_at, system_id, name").fetchall()
        else:
            rows = self._db.execute(head + "WHERE system_id = ? ORDER BY applied_at, name", [system_id]).fetchall()
        return [AlphaApplication(r[0], r[1], r[2], r[3] or "", r[4], r[5]) for r in rows]

    def decide_alpha(self, system_id: str, name: str, approve: bool, reason: str, now: float) -> bool:
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE alpha_applications SET state = ?, reason = ?, decided_at = ? "
                "WHERE system_id = ? AND name = ? AND state = ?",
                [ALPHA_APPROVED if approve else ALPHA_REJECTED, "" if approve else reason, now,
                 system_id, name, ALPHA_PENDING],
            )
            if cur.rowcount and approve:
                conn.execute("INSERT INTO alpha_names (system_id, name) VALUES (?, ?) "
                             "ON CONFLICT (system_id, name) DO NOTHING", [system_id, name])
            return cur.rowcount > 0

    # --- campaign reports a page at a time ------------------------------------------------

    def account_campaigns(self, system_id: str) -> list[Campaign]:
        from .sqlite_campaigns import _CAMPAIGN_COLUMNS, _campaign

        rows = self._db.execute(
            f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE system_id = ? ORDER BY id DESC", [system_id]
        ).fetchall()
        return [_campaign(r) for r in rows]

    def campaign_tally(self, campaign_id: int) -> list[CampaignTally]:
        return [CampaignTally(*r) for r in self._db.execute(
            f"SELECT r.campaign_id, r.status, m.stat, max(m.done_time), count(*), "
            f"sum(coalesce(m.cost, 0)) FROM {_JOIN} WHERE r.campaign_id = ? GROUP BY 1, 2, 3", [campaign_id]
        )]

    def campaign_lines_page(
        self, campaign_id: int, where: RecipientFilter | None, limit: int, offset: int
    ) -> list[RecipientState]:
        sql = _LINE + _JOIN + " WHERE r.campaign_id = ?"
        args: list[Any] = [campaign_id]
        if where is not None:
            sql += f" AND r.status IN ({_marks(len(where.stored))})"
            args += where.stored
            if where.final is True:
                sql += f" AND m.done_time IS NOT NULL AND m.stat IN ({_marks(len(where.stats))})"
                args += where.stats
            elif where.final is False:
                sql += " AND (m.done_time IS NULL OR m.stat IS NULL)"
        sql += " ORDER BY r.seq LIMIT ? OFFSET ?"
        return [RecipientState(r[0], r[1], r[2], r[3], r[4], r[5] or "", r[6], r[7], r[8], r[9],
                               json.loads(r[10] or "{}"), r[11])
                for r in self._db.execute(sql, [*args, limit, offset])]

    def campaign_timeline(self, campaign_id: int, bucket: float) -> list[tuple[int, str, int]]:
        return [(int(b), stat, n) for b, stat, n in self._db.execute(
            f"SELECT CAST(m.done_time / ? AS INTEGER) AS b, m.stat, count(*) FROM {_JOIN} "
            f"WHERE r.campaign_id = ? AND m.done_time IS NOT NULL GROUP BY b, m.stat ORDER BY b",
            [bucket, campaign_id],
        )]

    def account_messages_to(self, system_id: str, msisdn: str, limit: int) -> list[StoredMessage]:
        cols = ", ".join(Message._fields)
        return [StoredMessage(Message._make(r[:-4]), *r[-4:]) for r in self._db.execute(
            f"SELECT {cols}, state, stat, error, done_time FROM messages WHERE system_id = ? AND msisdn = ? "
            f"ORDER BY id DESC LIMIT ?", [system_id, msisdn, limit],
        )]
