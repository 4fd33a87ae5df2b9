"""What the nodes of one PostgreSQL store share beyond rows: bind counts,
campaign leases, dlr_url callback owners. A part of
``smsc.store.postgres.PgStore`` (README "Running a cluster").

- ``binds`` (node, system_id, binds): each node's bound sessions per
  account. A bind takes its slot in ``smsc_take_bind``: one statement (one
  round trip) that holds an advisory lock per account for its transaction,
  counts the binds of the live nodes and adds this one only under
  ``max_binds``, so two nodes binding the same account at the same instant
  take turns and never pass the limit together. Rows of a dead node are
  ignored at once (its heartbeat is older than the lease, or it stopped)
  and deleted by the next ``sync_binds`` of any node; each node rewrites
  its own rows there, so a row left wrong (an unbind whose write failed,
  a node back from a partition) is corrected within one sync.
- ``campaigns.node`` / ``lease_until``: the node running a campaign and
  until when (the database's clock, so the boxes' clocks need not agree);
  taken when free, expired or held by a dead node, renewed every runner
  round.
- ``dlr_callbacks.node``: the node that posts a callback, written with
  the callback; a dead node's pending ones are adopted by one live node
  (row locks, ``SKIP LOCKED``).

Liveness is the ``nodes`` heartbeat's (``PgStore.heartbeat``): alive =
not stopped and a heartbeat within the lease the caller passes.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .port import CALLBACK_PENDING, BindSlot, Campaign, PendingCallback
from .postgres_campaigns import _CAMPAIGN_COLUMNS, _campaign

if TYPE_CHECKING:
    import psycopg

#: run with the rest of the schema (PostgreSQL only; SQLite has one node)
SCHEMA = """
CREATE TABLE IF NOT EXISTS binds (
    node text, system_id text, binds integer NOT NULL, PRIMARY KEY (node, system_id));
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS node text;
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS lease_until timestamptz;
ALTER TABLE dlr_callbacks ADD COLUMN IF NOT EXISTS node text;
CREATE INDEX IF NOT EXISTS dlr_callbacks_pending ON dlr_callbacks (node) WHERE state = 0;
CREATE OR REPLACE FUNCTION smsc_live_nodes(lease float8) RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT name FROM nodes WHERE NOT stopped AND heartbeat_at >= now() - make_interval(secs => lease)
$$;
CREATE OR REPLACE FUNCTION smsc_take_bind(me text, sid text, most integer, lease float8,
    OUT o_taken boolean, OUT o_bound integer, OUT o_nodes integer) LANGUAGE plpgsql AS $$
BEGIN
    -- one bind of an account at a time across the cluster, until commit
    PERFORM pg_advisory_xact_lock(1651076708, hashtext(sid));
    SELECT coalesce(sum(b.binds), 0), count(*) FILTER (WHERE b.node <> me) INTO o_bound, o_nodes
    FROM binds b WHERE b.system_id = sid AND b.binds > 0
    AND (b.node = me OR b.node IN (SELECT smsc_live_nodes(lease)));
    o_nodes := o_nodes + 1;
    o_taken := most <= 0 OR o_bound < most;
    IF o_taken THEN
        INSERT INTO binds (node, system_id, binds) VALUES (me, sid, 1)
        ON CONFLICT (node, system_id) DO UPDATE SET binds = binds.binds + 1;
        o_bound := o_bound + 1;
    END IF;
END $$;
"""

#: tables and columns of the cluster's own (who holds what now): not in
#: SQLite, not moved by ``smsc store copy`` (None: the whole table)
CLUSTER_ONLY: dict[str, tuple[str, ...] | None] = {
    "binds": None, "campaigns": ("node", "lease_until"), "dlr_callbacks": ("node",),
}

_LIVE = "(SELECT smsc_live_nodes(%(lease)s))"
class PgLimitTables:
    """The cluster methods of ``MessageStore``, over ``PgStore``'s connection."""

    if TYPE_CHECKING:
        @property
        def _conn(self) -> psycopg.Connection[Any]: ...
        def _transaction(self) -> contextlib.AbstractContextManager[psycopg.Connection[Any]]: ...

    # --- binds ------------------------------------------------------------------

    def take_bind(self, node: str, system_id: str, max_binds: int, lease: float) -> BindSlot:
        row = self._conn.execute(
            "SELECT * FROM smsc_take_bind(%s, %s, %s, %s)", [node, system_id, max_binds, lease]
        ).fetchone()
        assert row is not None
        return BindSlot(*row)

    def drop_bind(self, node: str, system_id: str) -> None:
        self._conn.execute(
            "UPDATE binds SET binds = binds - 1 WHERE node = %s AND system_id = %s AND binds > 0", [node, system_id]
        )

    def sync_binds(
        self, node: str, held: Mapping[str, int], keep: Iterable[str], shares: Iterable[str], lease: float,
    ) -> dict[str, int]:
        """This node's rows become ``held`` (accounts with none are
        deleted, but those in ``keep``: binds in flight, left as they
        are); rows of dead nodes go; then, for each account of ``shares``,
        the live nodes holding a bind of it, this one counted (k >= 1)."""
        bound = {sid: n for sid, n in held.items() if n > 0}
        sids, counts = list(bound), list(bound.values())
        wanted = list(shares)
        p = {"me": node, "lease": lease, "sids": sids, "counts": counts, "keep": sids + list(keep), "wanted": wanted}
        conn = self._conn
        with conn.pipeline(), conn.transaction():
            conn.execute("DELETE FROM binds WHERE node = %(me)s AND system_id <> ALL(%(keep)s::text[])", p)
            if sids:
                conn.execute(
                    "INSERT INTO binds (node, system_id, binds) SELECT %(me)s, s, n "
                    "FROM unnest(%(sids)s::text[], %(counts)s::integer[]) AS u(s, n) "
                    "ON CONFLICT (node, system_id) DO UPDATE SET binds = excluded.binds "
                    "WHERE binds.binds <> excluded.binds", p,
                )
            conn.execute(f"DELETE FROM binds WHERE node <> %(me)s AND node NOT IN {_LIVE}", p)
            cur = conn.execute(
                f"SELECT system_id, count(*) FROM binds WHERE system_id = ANY(%(wanted)s::text[]) "
                f"AND node <> %(me)s AND binds > 0 AND node IN {_LIVE} GROUP BY system_id", p,
            ) if wanted else None
        others = dict(cur.fetchall()) if cur is not None else {}
        return {sid: int(others.get(sid, 0)) + 1 for sid in wanted}

    def forget_node_binds(self, node: str) -> int:
        return self._conn.execute("DELETE FROM binds WHERE node = %s", [node]).rowcount

    # --- campaign leases ---------------------------------------------------------

    def lease_campaigns(self, node: str, lease: float) -> list[Campaign]:
        """The running campaigns this node holds now: its own renewed, free
        ones (never held, lease expired, holder dead or stopped) taken.
        Two nodes asking at once: the row lock makes the second see the
        first's lease and pass."""
        rows = self._conn.execute(
            f"UPDATE campaigns SET node = %(me)s, lease_until = now() + make_interval(secs => %(lease)s) "
            f"WHERE state = 'running' AND (node IS NULL OR node = %(me)s OR lease_until < now() "
            f"OR node NOT IN {_LIVE}) RETURNING {_CAMPAIGN_COLUMNS}", {"me": node, "lease": lease},
        ).fetchall()
        return sorted((_campaign(r) for r in rows), key=lambda c: c.id)

    # --- dlr_url callbacks -------------------------------------------------------

    def adopt_callbacks(self, node: str, lease: float) -> list[PendingCallback]:
        """Pending callbacks of no live node (a dead or stopped one's, or
        none's: copied from SQLite) become this node's; each goes to one
        node (``SKIP LOCKED``)."""
        rows = self._conn.execute(
            f"UPDATE dlr_callbacks SET node = %(me)s WHERE message_id IN (SELECT message_id FROM dlr_callbacks "
            f"WHERE state = %(pending)s AND (node IS NULL OR node <> %(me)s AND node NOT IN {_LIVE}) "
            f"FOR UPDATE SKIP LOCKED) RETURNING message_id, public_id, url",
            {"me": node, "lease": lease, "pending": CALLBACK_PENDING},
        ).fetchall()
        return sorted(PendingCallback(*r) for r in rows)

    def due_callbacks(self, node: str) -> list[int]:
        """Message ids of this node's pending callbacks whose message is final."""
        return [r[0] for r in self._conn.execute(
            "SELECT c.message_id FROM dlr_callbacks c JOIN messages m ON m.id = c.message_id "
            "WHERE c.node = %s AND c.state = %s AND m.done_time IS NOT NULL ORDER BY c.message_id",
            [node, CALLBACK_PENDING],
        )]
