"""The embedded store: one SQLite file in WAL mode, implementing
``smsc.store.port.MessageStore``.

Schema and ordinary queries go through sqlite-utils; the hot writes (message
rows, charges, final states, receipt acks) go through ``write_batch``, a few
multi-row statements inside one transaction, because a per-row commit costs
~26 µs. Every SQL statement of the server lives in this package: the
campaign tables' in ``sqlite_campaigns`` (a part of ``Store``), the rest
here; nothing outside it sees the connection.

The methods are synchronous. The server calls them only from the store's
own thread (``smsc.store.worker``); the CLI calls them directly, from
another process, which WAL and the busy timeout make safe.
"""
from __future__ import annotations

import contextlib
import json
import functools
import sqlite3
from itertools import chain
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import sqlite_utils

from ..fault_model import Fault
from ..records import ID_LIMIT, Account, Message
from .port import (
    CALLBACK_PENDING, RECEIPT_EXPIRED, AccountExists, AccountUsage, Batch, BatchResult, ClientReport, MoRow,
    NoSuchAccount, NotAllowlisted, NotBlacklisted, OwedReceipt, MessageStore, NodeState, PendingCallback,
    StoredMessage, UpstreamLeg, debit_due, without,
)
from .sqlite_bases import BaseTables
from .sqlite_campaigns import CampaignTables
from .sqlite_limits import OneNodeLimits

__all__ = ["SCHEMA_VERSION", "Store"]

#: bumped when a table changes shape; added tables (the blacklist ones)
#: are created when missing and need no bump
SCHEMA_VERSION = 2

MESSAGE_COLUMNS = Message._fields
_ROW = "(" + ", ".join("?" * len(MESSAGE_COLUMNS)) + ", 1)"
_INSERT_HEAD = f"INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)}, state) VALUES "
_FINISH_HEAD = (
    "UPDATE messages SET state = ?, stat = ?, error = ?, done_time = ?, receipt = ? WHERE id IN "
)
_ACK_HEAD = "UPDATE messages SET receipt = 2 WHERE id IN "
_REFUND_HEAD = "UPDATE messages SET cost = 0 WHERE id IN "
_REPLACE = (
    "UPDATE messages SET short_message = ?, data_coding = ?, segments = ?, cost = ?, "
    "expires_at = ?, not_before = ?, registered_delivery = ? WHERE id = ?"
)
_CHARGE = "UPDATE accounts SET balance_kopecks = balance_kopecks - ? WHERE system_id = ?"
#: a submit's charge: only when the balance covers it
_DEBIT = (
    "UPDATE accounts SET balance_kopecks = balance_kopecks - ? WHERE system_id = ? AND balance_kopecks >= ?"
)
_USAGE = (
    "INSERT INTO usage (system_id, day, messages, segments, kopecks) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (system_id, day) DO UPDATE SET messages = messages + excluded.messages, "
    "segments = segments + excluded.segments, kopecks = kopecks + excluded.kopecks"
)
#: per-account receipt options (README "Receipts"), nullable: NULL is the default
_RECEIPT_COLUMNS = {"id_format": str, "id_width": int, "receipt_seconds": int, "receipt_tz": str}
_ACCOUNT_COLUMNS = (
    "system_id, password_hash, mode, balance_kopecks, rate, max_binds, "
    "id_format, id_width, receipt_seconds, receipt_tz"
)
#: the accounts with their blacklist's version (0: never changed)
_ACCOUNTS_WITH_VERSION = (
    "SELECT a.system_id, a.password_hash, a.mode, a.balance_kopecks, a.rate, a.max_binds, "
    "a.id_format, a.id_width, a.receipt_seconds, a.receipt_tz, "
    "coalesce(v.version, 0) FROM accounts a "
    "LEFT JOIN blacklist_versions v ON v.system_id = a.system_id WHERE a.system_id IN "
)
_LEG_UPSERT = (
    "INSERT INTO upstream_legs (message_id, part, upstream_id, stat, error, done_time, udh) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id, part) DO UPDATE SET "
    "upstream_id = coalesce(excluded.upstream_id, upstream_id), stat = coalesce(excluded.stat, stat), "
    "error = coalesce(excluded.error, error), done_time = coalesce(excluded.done_time, done_time), "
    "udh = coalesce(excluded.udh, udh)"
)
#: the largest multi-row statement; SQLite allows 32766 parameters
_MAX_CHUNK = 1024


def _chunks(n: int) -> list[tuple[int, int]]:
    """Cut n rows into power-of-two runs (largest first, at most _MAX_CHUNK).

    One multi-row statement per run rather than ``executemany``: the sqlite3
    module drops and retakes the GIL around every row of an executemany,
    which stalls this thread behind the busy reactor thread once per row.
    Power-of-two sizes keep the distinct statements few, so they stay in the
    connection's statement cache.
    """
    runs, start = [], 0
    while start < n:
        size = min(_MAX_CHUNK, 1 << ((n - start).bit_length() - 1))
        runs.append((start, size))
        start += size
    return runs


@functools.cache
def _statement(head: str, item: str, size: int, open_: str = "", close: str = "") -> str:
    """``head`` + ``size`` comma-separated ``item``s; built once per shape
    (power-of-two sizes keep the shapes few)."""
    return head + open_ + ", ".join([item] * size) + close


_message = Message._make


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back what is left of a failed transaction (SQLite may have
    rolled it back itself already)."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


class Store(CampaignTables, BaseTables, OneNodeLimits):
    def __init__(self, path: str, synchronous: str = "NORMAL") -> None:
        self.path = path
        self._synchronous = synchronous
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10.0)
        self._db = sqlite_utils.Database(conn)
        self._db.enable_wal()
        self._db.execute(f"PRAGMA synchronous = {synchronous}")
        self._db.execute("PRAGMA busy_timeout = 10000")
        self._create_schema()
        self._checkpointer: sqlite3.Connection | None = None
        #: system_id -> (blacklist version, numbers) as last read here
        self._blacklists: dict[str, tuple[int, frozenset[str]]] = {}

    def take_over_checkpoints(self) -> None:
        """The server's writer stops checkpointing inside its commits; the
        server calls ``checkpoint`` from a thread of its own instead.

        An automatic checkpoint runs inside the commit that crosses 1000 WAL
        pages and fsyncs the database: measured, it doubled the mean commit
        time at 10k msg/s, and every submit_sm_resp waits for a commit."""
        self._db.execute("PRAGMA wal_autocheckpoint = 0")

    def checkpoint(self) -> None:
        """Copy committed WAL frames into the database (PASSIVE: never waits
        for, nor blocks, the writer). Runs on the checkpoint thread, with its
        own connection."""
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
            self._checkpointer.execute(f"PRAGMA synchronous = {self._synchronous}")
        self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def probe_writable(self) -> None:
        """Open a write transaction and roll it back: raises when the file
        can't be written (the health probe; behind any commit in progress
        when run on the store thread)."""
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("ROLLBACK")

    def heartbeat(self, node: str, lease: float, stopped: bool = False) -> list[NodeState]:
        """One process writes a SQLite file: this node is the cluster."""
        return [NodeState(node, time.time(), not stopped)]

    def probe_commit(self) -> None:
        """One real write committed (a row of ``health_probe``): raises when
        the disk is full, which ``probe_writable`` cannot tell."""
        with self._transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO health_probe (id, at) VALUES (1, ?)", [time.time()])

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._db.conn.close()

    def _create_schema(self) -> None:
        db = self._db
        db.table("accounts").create(
            {
                "system_id": str, "password_hash": str, "mode": str,
                "balance_kopecks": int, "created_at": float, "rate": float,
                "max_binds": int, **_RECEIPT_COLUMNS,
            },
            pk="system_id", if_not_exists=True,
        )
        # columns added since the table was first made: nullable, so an
        # older table only needs them added
        have = db.table("accounts").columns_dict
        for name, kind in _RECEIPT_COLUMNS.items():
            if name not in have:
                try:
                    db.table("accounts").add_column(name, kind)
                except sqlite3.OperationalError:  # another process added it first
                    if name not in db.table("accounts").columns_dict:
                        raise
        db.table("usage").create(
            {"system_id": str, "day": int, "messages": int, "segments": int, "kopecks": int},
            pk=("system_id", "day"), if_not_exists=True,
        )
        db.table("alpha_names").create(
            {"system_id": str, "name": str},
            pk=("system_id", "name"), if_not_exists=True,
            foreign_keys=[("system_id", "accounts", "system_id")],
        )
        # Blacklists (SPEC section 4): E.164 digits per account. Each change
        # bumps the account's version in the same transaction, so the server,
        # which reads its accounts back after commits, rereads a blacklist
        # only when its version moved (see ``get_accounts``).
        db.table("blacklist").create(
            {"system_id": str, "msisdn": str},
            pk=("system_id", "msisdn"), if_not_exists=True,
            foreign_keys=[("system_id", "accounts", "system_id")],
        )
        db.table("blacklist_versions").create(
            {"system_id": str, "version": int}, pk="system_id", if_not_exists=True,
            foreign_keys=[("system_id", "accounts", "system_id")],
        )
        # one row rewritten by the health check after a failed commit
        db.table("health_probe").create({"id": int, "at": float}, pk="id", if_not_exists=True)
        # IP allowlists (smsc.accounts.allowlist): CIDR networks in normal
        # form; none for an account = any address. Small, so read with the
        # account every time (as alpha_names are), no version needed.
        db.table("allowlist").create(
            {"system_id": str, "network": str},
            pk=("system_id", "network"), if_not_exists=True,
            foreign_keys=[("system_id", "accounts", "system_id")],
        )
        db.table("messages").create(
            {
                "id": int, "system_id": str, "source_addr_ton": int,
                "source_addr_npi": int, "source_addr": str, "dest_addr_ton": int,
                "dest_addr_npi": int, "destination_addr": str, "esm_class": int,
                "data_coding": int, "registered_delivery": int,
                "short_message": bytes, "submit_time": float, "msisdn": str,
                "operator": str, "segments": int, "cost": int, "expires_at": float,
                "not_before": float, "state": int, "stat": str, "error": int,
                "done_time": float, "receipt": int,
            },
            pk="id", if_not_exists=True, defaults={"receipt": 0},
        )
        # MO messages (``smsc mo inject``, smsc.dlr.mo): delivered 0 until
        # every deliver_sm part is acknowledged
        db.table("mo_queue").create(
            {"id": int, "system_id": str, "source_addr": str, "destination_addr": str,
             "text": str, "created_at": float, "delivered": int},
            pk="id", if_not_exists=True, defaults={"delivered": 0},
        )
        # HTTP API keys (``smsc account apikey``): only the key's SHA-256 is
        # kept; one key per account, a new one replaces the old
        db.table("api_keys").create(
            {"key_sha256": str, "system_id": str, "created_at": float},
            pk="key_sha256", if_not_exists=True,
            foreign_keys=[("system_id", "accounts", "system_id")],
        )
        # dlr_url callbacks of HTTP messages (smsc.dlr.callbacks): written
        # before the 201 answer, so a restart still delivers them; state
        # CALLBACK_PENDING until delivered or given up
        db.table("dlr_callbacks").create(
            {"message_id": int, "public_id": str, "url": str, "created_at": float, "state": int},
            pk="message_id", if_not_exists=True, defaults={"state": CALLBACK_PENDING},
        )
        # faults on demand (smsc.faults): written by the CLI and the admin
        # API, read by the server once a second; removed ones are kept
        db.table("faults").create(
            {"id": int, "kind": str, "scope": str, "target": str, "params": str,
             "starts_at": float, "ends_at": float, "removed": int},
            pk="id", if_not_exists=True, defaults={"removed": 0},
        )
        # conformance reports of the last binds (smsc.server.conformance)
        db.table("client_reports").create(
            {"id": int, "system_id": str, "bound_at": float, "ended_at": float, "body": str},
            pk="id", if_not_exists=True,
        )
        # Upstream legs (router mode, smsc.operators.upstream): one row per
        # segment sent to an upstream SMSC, keyed by our message id, so a
        # restart knows which parts are upstream already (and waits for
        # their receipts) and which to send again
        db.table("upstream_legs").create(
            {"message_id": int, "part": int, "upstream_id": str, "stat": str, "error": int,
             "done_time": float, "udh": bytes},
            pk=("message_id", "part"), if_not_exists=True,
        )
        self._create_campaign_tables()
        self._create_base_tables()
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version and version != SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path}: store schema version {version}, this smsc needs {SCHEMA_VERSION}"
            )
        # No index serves the two recovery queries (unfinished messages,
        # owed receipts): they run once per start as a table scan, while an
        # index would cost every final state and every acknowledgement.
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # --- whole tables (smsc store copy) --------------------------------------

    def table_columns(self) -> dict[str, list[str]]:
        """Every table of the file with its columns."""
        return {name: list(self._db.table(name).columns_dict) for name in self._db.table_names()}

    def rows(self, table: str, columns: Iterable[str]) -> Iterator[tuple[Any, ...]]:
        """Every row of ``table`` (one of ``table_columns``), in rowid order."""
        cols = ", ".join(f'"{c}"' for c in columns)
        yield from self._db.execute(f'SELECT {cols} FROM "{table}" ORDER BY rowid')

    def count_rows(self, table: str) -> int:
        return int(self._db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])

    # --- accounts ---------------------------------------------------------

    def add_account(self, account: Account) -> None:
        with self._db.conn:
            try:
                self._db.table("accounts").insert(
                    {
                        "system_id": account.system_id,
                        "password_hash": account.password_hash,
                        "mode": account.mode,
                        "balance_kopecks": account.balance_kopecks,
                        "created_at": time.time(),
                        "rate": account.rate,
                        "max_binds": account.max_binds,
                        "id_format": account.id_format,
                        "id_width": account.id_width,
                        "receipt_seconds": account.receipt_seconds,
                        "receipt_tz": account.receipt_tz,
                    }
                )
            except sqlite3.IntegrityError:
                raise AccountExists(account.system_id) from None
            self._db.table("alpha_names").insert_all(
                [{"system_id": account.system_id, "name": n} for n in account.alpha_names],
                ignore=True,
            )

    def get_account(self, system_id: str, blacklist: bool = False) -> Account | None:
        """One account; with ``blacklist`` its blacklist too (the server's
        bind), else an empty one (the CLI has no use for it)."""
        if blacklist:
            return self.get_accounts([system_id]).get(system_id)
        rows = list(self._db.query(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE system_id = ?", [system_id]
        ))
        if not rows:
            return None
        names = tuple(r["name"] for r in self._db.query(
            "SELECT name FROM alpha_names WHERE system_id = ? ORDER BY name", [system_id]
        ))
        row = rows[0]
        seconds = row.pop("receipt_seconds")
        return Account(alpha_names=names, receipt_seconds=None if seconds is None else bool(seconds),
                       allowlist=tuple(self.allowlist(system_id)), **row)

    def get_accounts(self, system_ids: Iterable[str]) -> dict[str, Account]:
        """Several accounts with their blacklists (the server reads back the
        ones it serves after commits, every second or more often).

        Two queries, plus one per account whose blacklist changed since this
        ``Store`` last read it: the numbers are cached here with their
        version, so an unchanged blacklist costs a LEFT JOIN, not a reread.
        """
        ids = list(system_ids)
        marks = ", ".join("?" * len(ids))
        names: dict[str, list[str]] = {}
        for sid, name in self._db.execute(
            f"SELECT system_id, name FROM alpha_names WHERE system_id IN ({marks}) ORDER BY name", ids
        ):
            names.setdefault(sid, []).append(name)
        networks: dict[str, list[str]] = {}
        for sid, network in self._db.execute(
            f"SELECT system_id, network FROM allowlist WHERE system_id IN ({marks}) ORDER BY network", ids
        ):
            networks.setdefault(sid, []).append(network)
        rows = self._db.execute(f"{_ACCOUNTS_WITH_VERSION}({marks})", ids).fetchall()
        return {
            r[0]: Account(
                r[0], r[1], r[2], r[3], alpha_names=tuple(names.get(r[0], ())), rate=r[4], max_binds=r[5],
                blacklist=self._blacklist(r[0], r[10]),
                id_format=r[6], id_width=r[7], receipt_seconds=None if r[8] is None else bool(r[8]),
                receipt_tz=r[9], allowlist=tuple(networks.get(r[0], ())),
            )
            for r in rows
        }

    def _blacklist(self, system_id: str, version: int) -> frozenset[str]:
        cached = self._blacklists.get(system_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        # Read after the version: a change committed in between makes the
        # numbers newer than the version, and only costs one more reread.
        numbers = frozenset(self.blacklist(system_id)) if version else frozenset()
        self._blacklists[system_id] = (version, numbers)
        return numbers

    def list_accounts(self) -> list[Account]:
        ids = [r["system_id"] for r in self._db.query("SELECT system_id FROM accounts ORDER BY system_id")]
        return [a for a in (self.get_account(i) for i in ids) if a is not None]

    def accounts_usage(self, day: int) -> list[AccountUsage]:
        """Every account with the messages it was charged for on UTC ``day``."""
        used = dict(self._db.execute("SELECT system_id, messages FROM usage WHERE day = ?", [day]).fetchall())
        return [AccountUsage(a, used.get(a.system_id, 0)) for a in self.list_accounts()]

    def count_accounts(self) -> int:
        return self._db.table("accounts").count

    def _update_account(self, sql: str, params: list[Any]) -> None:
        with self._db.conn:
            cur = self._db.execute(sql, params)
            if cur.rowcount == 0:
                raise NoSuchAccount(params[-1])

    def add_balance(self, system_id: str, kopecks: int) -> None:
        self._update_account(
            "UPDATE accounts SET balance_kopecks = balance_kopecks + ? WHERE system_id = ?",
            [kopecks, system_id],
        )

    def set_password_hash(self, system_id: str, password_hash: str) -> None:
        self._update_account(
            "UPDATE accounts SET password_hash = ? WHERE system_id = ?", [password_hash, system_id]
        )

    def set_mode(self, system_id: str, mode: str) -> None:
        self._update_account("UPDATE accounts SET mode = ? WHERE system_id = ?", [mode, system_id])

    def set_limits(self, system_id: str, rate: float | None, max_binds: int | None) -> None:
        """Per-account limits; None returns a limit to its mode's default."""
        self._update_account(
            "UPDATE accounts SET rate = ?, max_binds = ? WHERE system_id = ?",
            [rate, max_binds, system_id],
        )

    def set_receipt_options(
        self, system_id: str, id_format: str | None, id_width: int | None,
        receipt_seconds: bool | None, receipt_tz: str | None,
    ) -> None:
        """Per-account receipt options (README "Receipts"); None: the default."""
        self._update_account(
            "UPDATE accounts SET id_format = ?, id_width = ?, receipt_seconds = ?, receipt_tz = ? "
            "WHERE system_id = ?",
            [id_format, id_width, receipt_seconds, receipt_tz, system_id],
        )

    def bind_account(self, system_id: str, day: int) -> tuple[Account | None, int]:
        """What a bind (or ``Engine.account``) reads: the account with its
        blacklist, and the messages it was charged for on UTC ``day``
        (0 when there is no such account)."""
        account = self.get_account(system_id, blacklist=True)
        return account, (self.usage_today(system_id, day) if account else 0)

    def usage_today(self, system_id: str, day: int) -> int:
        row = self._db.execute(
            "SELECT messages FROM usage WHERE system_id = ? AND day = ?", [system_id, day]
        ).fetchone()
        return row[0] if row else 0

    def add_alpha(self, system_id: str, name: str) -> None:
        if self.get_account(system_id) is None:
            raise NoSuchAccount(system_id)
        with self._db.conn:
            self._db.table("alpha_names").insert({"system_id": system_id, "name": name}, ignore=True)

    def remove_alpha(self, system_id: str, name: str) -> bool:
        if self.get_account(system_id) is None:
            raise NoSuchAccount(system_id)
        with self._db.conn:
            cur = self._db.execute(
                "DELETE FROM alpha_names WHERE system_id = ? AND name = ?", [system_id, name]
            )
        return cur.rowcount > 0

    # --- blacklists -------------------------------------------------------

    def blacklist(self, system_id: str) -> list[str]:
        """The account's blacklisted numbers (E.164 digits), sorted."""
        return [r[0] for r in self._db.execute(
            "SELECT msisdn FROM blacklist WHERE system_id = ? ORDER BY msisdn", [system_id]
        )]

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """An explicit write transaction (the connection is in autocommit
        mode, where ``with conn:`` does not open one)."""
        conn = self._db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise

    def _bump_blacklist(self, system_id: str) -> None:
        self._db.execute(
            "INSERT INTO blacklist_versions (system_id, version) VALUES (?, 1) "
            "ON CONFLICT (system_id) DO UPDATE SET version = version + 1", [system_id]
        )

    def add_blacklist(self, system_id: str, numbers: Iterable[str]) -> int:
        """Blacklist ``numbers`` (E.164 digits, already normalised); returns
        how many were not on the list yet."""
        if self.get_account(system_id) is None:
            raise NoSuchAccount(system_id)
        with self._transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO blacklist (system_id, msisdn) VALUES (?, ?)",
                [(system_id, n) for n in dict.fromkeys(numbers)],
            )
            added = conn.total_changes - before
            if added:
                self._bump_blacklist(system_id)
        return added

    def remove_blacklist(self, system_id: str, numbers: Iterable[str]) -> int:
        """Take ``numbers`` off the blacklist, all or none: ``NotBlacklisted``
        (and nothing removed) when one of them is not on it."""
        if self.get_account(system_id) is None:
            raise NoSuchAccount(system_id)
        wanted = list(dict.fromkeys(numbers))
        with self._transaction() as conn:
            listed = set(self.blacklist(system_id))
            missing = [n for n in wanted if n not in listed]
            if missing:
                raise NotBlacklisted(system_id, missing)
            conn.executemany(
                "DELETE FROM blacklist WHERE system_id = ? AND msisdn = ?", [(system_id, n) for n in wanted]
            )
            if wanted:
                self._bump_blacklist(system_id)
        return len(wanted)

    # --- IP allowlists ----------------------------------------------------

    def allowlist(self, system_id: str) -> list[str]:
        """The networks the account may log in from (normal-form CIDRs,
        sorted as text); empty: any address."""
        return [r[0] for r in self._db.execute(
            "SELECT network FROM allowlist WHERE system_id = ? ORDER BY network", [system_id]
        )]

    def add_allowlist(self, system_id: str, networks: Iterable[str]) -> int:
        """Allow ``networks`` (already normalised); how many were new."""
        if self.get_account(system_id) is None:
            raise NoSuchAccount(system_id)
        with self._transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO allowlist (system_id, network) VALUES (?, ?)",
                [(system_id, n) for n in dict.fromkeys(networks)],
            )
            return conn.total_changes - before

    def remove_allowlist(self, system_id: str, networks: Iterable[str]) -> int:
        """Take ``networks`` off the allowlist, all or none (``NotAllowlisted``)."""
        if self.get_account(system_id) is None:
            raise NoSuchAccount(system_id)
        wanted = list(dict.fromkeys(networks))
        with self._transaction() as conn:
            listed = set(self.allowlist(system_id))
            missing = [n for n in wanted if n not in listed]
            if missing:
                raise NotAllowlisted(system_id, missing)
            conn.executemany(
                "DELETE FROM allowlist WHERE system_id = ? AND network = ?", [(system_id, n) for n in wanted]
            )
        return len(wanted)

    # --- messages ---------------------------------------------------------

    def write_batch(self, batch: Batch) -> BatchResult:
        """Commit one group of hot writes in a single transaction, then read
        back ``batch.read_accounts`` as they stand after it. An account whose
        balance does not cover its submits is refused (``BatchResult``)."""
        conn = self._db.conn
        conn.execute("BEGIN")
        try:
            refused: frozenset[str] = frozenset()
            if batch.charges:
                due = debit_due(batch)
                short = set()
                for sid, k in batch.charges.items():
                    if sid in due:
                        if conn.execute(_DEBIT, (k, sid, k)).rowcount == 0 and conn.execute(
                            "SELECT 1 FROM accounts WHERE system_id = ?", (sid,)
                        ).fetchone():
                            short.add(sid)
                    elif k:
                        conn.execute(_CHARGE, (k, sid))
                if short:
                    refused = frozenset(short)
                    batch = without(batch, refused)
                    for sid in refused:
                        if batch.charges.get(sid):
                            conn.execute(_CHARGE, (batch.charges[sid], sid))
            if batch.usage:
                conn.executemany(_USAGE, [(sid, day, *v) for (sid, day), v in batch.usage.items()])
            rows = batch.inserts
            for start, size in _chunks(len(rows)):
                params = list(chain.from_iterable(rows[start:start + size]))
                conn.execute(_statement(_INSERT_HEAD, _ROW, size), params)
            for values, ids in batch.finishes.items():
                self._update_in(_FINISH_HEAD, list(values), ids)
            self._update_in(_ACK_HEAD, [], batch.acks)
            self._update_in(_REFUND_HEAD, [], batch.refunds)
            if batch.replaces:
                conn.executemany(_REPLACE, batch.replaces)
            conn.execute("COMMIT")
        except BaseException:
            # a COMMIT that fails (a full disk: SQLITE_FULL) may leave the
            # transaction open; every later BEGIN would fail with it
            _rollback(conn)
            raise
        return BatchResult(self.get_accounts(batch.read_accounts) if batch.read_accounts else {}, refused)

    def _update_in(self, head: str, params: list[Any], ids: list[int]) -> None:
        for start, size in _chunks(len(ids)):
            self._db.conn.execute(_statement(head, "?", size, "(", ")"), params + ids[start:start + size])

    def message_ids(self, now: float) -> range:
        """Every id past both the largest stored id and a time-based floor
        (so a purged table never brings old ids back): one process writes."""
        return range(max(self.max_message_id() + 1, int(now) << 20), ID_LIMIT)

    def max_message_id(self) -> int:
        row = self._db.execute("SELECT max(id) FROM messages").fetchone()
        return row[0] or 0

    def unfinished_messages(self) -> list[Message]:
        """Accepted messages with no final state yet (e.g. after a crash)."""
        cols = ", ".join(MESSAGE_COLUMNS)
        rows = self._db.execute(
            f"SELECT {cols} FROM messages WHERE done_time IS NULL ORDER BY id"
        ).fetchall()
        return [_message(r) for r in rows]

    def owed_receipts(self) -> list[OwedReceipt]:
        """Final messages whose receipt was never acknowledged, oldest first."""
        cols = ", ".join(MESSAGE_COLUMNS)
        rows = self._db.execute(
            f"SELECT {cols}, stat, state, error, done_time FROM messages "
            f"WHERE receipt = 1 ORDER BY system_id, id"
        ).fetchall()
        n = len(MESSAGE_COLUMNS)
        return [OwedReceipt(_message(r[:n]), *r[n:]) for r in rows]

    def expire_owed(self, before: float) -> int:
        """Give up receipts owed for messages final before ``before`` (the
        retention): they are no longer offered. Returns how many."""
        with self._db.conn:
            cur = self._db.execute(
                "UPDATE messages SET receipt = ? WHERE receipt = 1 AND done_time < ?",
                [RECEIPT_EXPIRED, before],
            )
        return cur.rowcount

    def get_message(self, message_id: int) -> StoredMessage | None:
        """A message with its (state, stat, error, done_time); the last
        three are None while it is not final. None if there is no such id."""
        cols = ", ".join(MESSAGE_COLUMNS)
        row = self._db.execute(
            f"SELECT {cols}, state, stat, error, done_time FROM messages WHERE id = ?", [message_id]
        ).fetchone()
        if row is None:
            return None
        n = len(MESSAGE_COLUMNS)
        return StoredMessage(_message(row[:n]), *row[n:])

    def messages_to(self, msisdn: str, limit: int) -> list[StoredMessage]:
        """The newest ``limit`` messages to ``msisdn`` (E.164 digits), newest first.

        A full scan of ``messages``: it has no index on msisdn on purpose, since
        every accepted message would pay for one on the hot path, while this
        search is a person waiting a moment on a report page.
        """
        cols = ", ".join(MESSAGE_COLUMNS)
        rows = self._db.execute(
            f"SELECT {cols}, state, stat, error, done_time FROM messages WHERE msisdn = ? "
            f"ORDER BY id DESC LIMIT ?", [msisdn, limit],
        ).fetchall()
        n = len(MESSAGE_COLUMNS)
        return [StoredMessage(_message(r[:n]), *r[n:]) for r in rows]

    # --- upstream legs (router mode) -----------------------------------------

    def record_legs(self, legs: Iterable[UpstreamLeg]) -> None:
        """Insert legs or complete stored ones, in one transaction; a None
        field keeps what is stored."""
        with self._transaction() as conn:
            conn.executemany(_LEG_UPSERT, [tuple(leg) for leg in legs])

    def unfinished_legs(self, operator: str) -> list[UpstreamLeg]:
        """The legs of ``operator``'s messages that have no final state
        (what a restart hands back to the upstream connector)."""
        return [UpstreamLeg(*r) for r in self._db.execute(
            "SELECT l.message_id, l.part, l.upstream_id, l.stat, l.error, l.done_time, l.udh "
            "FROM upstream_legs l JOIN messages m ON m.id = l.message_id "
            "WHERE m.done_time IS NULL AND m.operator = ? ORDER BY l.message_id, l.part", [operator],
        )]

    # --- MO -----------------------------------------------------------------

    def add_mo(self, system_id: str, source_addr: str, destination_addr: str, text: str) -> int:
        """Queue an MO message for ``system_id``'s receivers; its id."""
        with self._db.conn:
            cur = self._db.execute(
                "INSERT INTO mo_queue (system_id, source_addr, destination_addr, text, created_at, "
                "delivered) VALUES (?, ?, ?, ?, ?, 0)",
                [system_id, source_addr, destination_addr, text, time.time()],
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def pending_mo(self, after: int) -> list[MoRow]:
        """Undelivered MO rows with an id above ``after``, oldest first."""
        return [MoRow(*r) for r in self._db.execute(
            "SELECT id, system_id, source_addr, destination_addr, text FROM mo_queue "
            "WHERE delivered = 0 AND id > ? ORDER BY id", [after],
        )]

    def mo_delivered(self, mo_id: int) -> None:
        with self._db.conn:
            self._db.execute("UPDATE mo_queue SET delivered = 1 WHERE id = ?", [mo_id])

    # --- HTTP API keys and dlr_url callbacks ---------------------------------

    def set_api_key(self, system_id: str, key_sha256: str) -> None:
        """The account's API key (its SHA-256), replacing any older one."""
        if self.get_account(system_id) is None:
            raise NoSuchAccount(system_id)
        with self._transaction() as conn:
            conn.execute("DELETE FROM api_keys WHERE system_id = ?", [system_id])
            conn.execute(
                "INSERT INTO api_keys (key_sha256, system_id, created_at) VALUES (?, ?, ?)",
                [key_sha256, system_id, time.time()],
            )

    def api_key_owner(self, key_sha256: str) -> str | None:
        """The system_id whose API key hashes to ``key_sha256``, if any."""
        row = self._db.execute("SELECT system_id FROM api_keys WHERE key_sha256 = ?", [key_sha256]).fetchone()
        return row[0] if row else None

    def add_callback(self, message_id: int, public_id: str, url: str, node: str = "") -> None:
        """``node`` is not kept: the one process posts every callback."""
        with self._db.conn:
            self._db.execute(
                "INSERT OR REPLACE INTO dlr_callbacks (message_id, public_id, url, created_at, state) "
                "VALUES (?, ?, ?, ?, ?)", [message_id, public_id, url, time.time(), CALLBACK_PENDING],
            )

    def pending_callbacks(self, node: str = "") -> list[PendingCallback]:
        """Callbacks not yet delivered nor given up, oldest first (all of
        them: one node)."""
        return [PendingCallback(*r) for r in self._db.execute(
            "SELECT message_id, public_id, url FROM dlr_callbacks WHERE state = ? ORDER BY message_id",
            [CALLBACK_PENDING],
        )]

    def end_callback(self, message_id: int, state: int) -> None:
        """A callback is delivered (CALLBACK_DONE) or given up."""
        with self._db.conn:
            self._db.execute("UPDATE dlr_callbacks SET state = ? WHERE message_id = ?", [state, message_id])


    # --- faults on demand and conformance reports ------------------------------

    def add_fault(self, fault: Fault) -> int:
        """Store a fault (its ``id`` is ignored); the new id."""
        with self._db.conn:
            cur = self._db.execute(
                "INSERT INTO faults (kind, scope, target, params, starts_at, ends_at, removed) "
                "VALUES (?, ?, ?, ?, ?, ?, 0)",
                [fault.kind, fault.scope, fault.target, fault.params_json(), fault.starts_at, fault.ends_at],
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def active_faults(self, now: float) -> list[Fault]:
        """Faults not removed and not ended at ``now``, oldest first."""
        return [
            Fault(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6]) for r in self._db.execute(
                "SELECT id, kind, scope, target, params, starts_at, ends_at FROM faults "
                "WHERE removed = 0 AND (ends_at IS NULL OR ends_at > ?) ORDER BY id", [now],
            )
        ]

    def remove_fault(self, fault_id: int, now: float) -> bool:
        """End a fault now; False when there is no such active fault."""
        with self._db.conn:
            cur = self._db.execute(
                "UPDATE faults SET removed = 1, ends_at = min(coalesce(ends_at, ?), ?) "
                "WHERE id = ? AND removed = 0 AND (ends_at IS NULL OR ends_at > ?)",
                [now, now, fault_id, now],
            )
        return cur.rowcount > 0

    def save_client_reports(self, reports: Iterable[ClientReport], keep: int) -> None:
        """Write (or rewrite, by id) binds' reports; keep the last ``keep``."""
        with self._db.conn:
            for r in reports:
                self._db.execute(
                    "INSERT INTO client_reports (id, system_id, bound_at, ended_at, body) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET ended_at = excluded.ended_at, body = excluded.body",
                    [r.id, r.system_id, r.bound_at, r.ended_at, r.body],
                )
            self._db.execute(
                "DELETE FROM client_reports WHERE id NOT IN "
                "(SELECT id FROM client_reports ORDER BY bound_at DESC, id DESC LIMIT ?)", [keep],
            )

    def client_reports(self, system_id: str, since: float = 0.0) -> list[ClientReport]:
        """The stored reports of ``system_id``'s binds that ended after ``since``, oldest first."""
        return [ClientReport(*r) for r in self._db.execute(
            "SELECT id, system_id, bound_at, ended_at, body FROM client_reports "
            "WHERE system_id = ? AND (ended_at IS NULL OR ended_at >= ?) ORDER BY bound_at, id",
            [system_id, since],
        )]


if TYPE_CHECKING:  # the type checker holds Store to the port
    def _implements(store: Store) -> MessageStore:
        return store
