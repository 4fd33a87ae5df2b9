"""``smsc store copy``: an embedded SQLite store moved into PostgreSQL, every row.

For a user who outgrows the default: stop the server, copy, point
``[store] url`` at the database, start. Every table is copied as it is
(accounts with their password hashes and balances, alpha names,
blacklists and their versions, API keys, messages with their states and
owed receipts, the MO queue, dlr_url callbacks, campaigns and recipients,
usage), in one PostgreSQL transaction: a copy that fails leaves nothing
behind. The destination must hold no rows (its schema is made if missing);
the id sequences are moved past the copied ids, so nothing copied is ever
handed out again. Afterwards the rows of each table are counted on both
sides and must agree.
"""
from __future__ import annotations

import time

from .open import display_target, is_url
from .postgres import PgStore
from .sqlite import Store

#: every table of the store and its columns, in copy order (parents first)
TABLES: dict[str, tuple[str, ...]] = {
    "accounts": (
        "system_id", "password_hash", "mode", "balance_kopecks", "created_at", "rate", "max_binds",
        "id_format", "id_width", "receipt_seconds", "receipt_tz",
    ),
    "usage": ("system_id", "day", "messages", "segments", "kopecks"),
    "alpha_names": ("system_id", "name"),
    "blacklist": ("system_id", "msisdn"),
    "blacklist_versions": ("system_id", "version"),
    "messages": (
        "id", "system_id", "source_addr_ton", "source_addr_npi", "source_addr", "dest_addr_ton",
        "dest_addr_npi", "destination_addr", "esm_class", "data_coding", "registered_delivery",
        "short_message", "submit_time", "msisdn", "operator", "segments", "cost", "expires_at",
        "not_before", "state", "stat", "error", "done_time", "receipt",
    ),
    "mo_queue": ("id", "system_id", "source_addr", "destination_addr", "text", "created_at", "delivered"),
    "api_keys": ("key_sha256", "system_id", "created_at"),
    "dlr_callbacks": ("message_id", "public_id", "url", "created_at", "state"),
    "campaigns": (
        "id", "name", "system_id", "sender", "template", "rate", "state", "detail", "created_at",
        "started_at", "finished_at", "phone_column", "columns", "rows_in", "kept", "invalid",
        "duplicates", "blacklisted", "estimate_segments", "estimate_kopecks",
    ),
    "campaign_recipients": (
        "campaign_id", "seq", "msisdn", "fields", "line", "text", "status", "message_int",
        "message_id", "detail", "claimed_at", "decided_at", "removed_at",
    ),
    "allowlist": ("system_id", "network"),
    "health_probe": ("id", "at"),
    "upstream_legs": ("message_id", "part", "upstream_id", "stat", "error", "done_time", "udh"),
    "bases": ("id", "system_id", "name", "phone_column", "columns", "rows_in", "invalid", "duplicates",
              "created_at"),
    "base_numbers": ("base_id", "msisdn", "seq", "fields", "line"),
    "alpha_applications": ("system_id", "name", "state", "reason", "applied_at", "decided_at"),
    "faults": ("id", "kind", "scope", "target", "params", "starts_at", "ends_at", "removed"),
    "client_reports": ("id", "system_id", "bound_at", "ended_at", "body"),
}


class CopyError(ValueError):
    pass


def copy_store(source: str, dest: str, now: float | None = None) -> dict[str, int]:
    """Copy the SQLite store at ``source`` into the PostgreSQL database at
    ``dest``; the rows copied per table."""
    if is_url(source) or not is_url(dest):
        raise CopyError("store copy: --from a SQLite file --to a postgresql:// URL")
    now = time.time() if now is None else now
    src = Store(source)
    try:
        found = src.table_columns()
        for table, columns in found.items():
            missing = set(columns) - set(TABLES.get(table, ()))
            if missing:  # a table or column this version does not know of: it would be lost
                raise CopyError(f"store copy: {source}: {table}: unknown columns {', '.join(sorted(missing))}")
        dst = PgStore(dest, now=now)
        try:
            counts = dst.load_tables(
                {t: (cols, src.rows(t, cols) if t in found else iter(())) for t, cols in TABLES.items()},
                id_floor=int(now) << 20,
            )
            theirs = dst.count_rows(list(TABLES))
        finally:
            dst.close()
        ours = {t: src.count_rows(t) if t in found else 0 for t in TABLES}
    finally:
        src.close()
    if theirs != ours or counts != ours:
        raise CopyError(f"store copy: rows differ after the copy to {display_target(dest)}: {ours} != {theirs}")
    return counts
