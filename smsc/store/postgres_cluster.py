"""Ownership of work between nodes in PostgreSQL: ``smsc.store.cluster_port.ClusterStore``
as a part of ``smsc.store.postgres.PgStore`` (what the columns mean: that module).

Why it is cheap:

- an insert writes its node as one scalar parameter of the batch's one
  ``INSERT ... SELECT FROM unnest``, not a value per row;
- a takeover and the start of a node read ``messages_open`` (unfinished
  rows by owner), a claim ``messages_owed`` (owed receipts by deliverer
  and account): partial indexes, so a node's look for work reads only
  rows that are work, never the finished history;
- a node with no receiver bound claims nothing (it sends no query).

Locks: ``pg_try_advisory_xact_lock(CLUSTER_LOCK, hashtext(D))`` per dead
node D, so of several live nodes looking at once one takes D's rows and
the others skip it; a node's own start takes the same lock (waiting), so
its restart and a takeover of it never both resume a message. The dead
node's ``nodes`` row is locked (``FOR UPDATE``) when its death is checked,
so its own heartbeat (``beat``) either comes first (and the takeover takes
nothing) or waits and finds the row deleted: a node never believes itself
kept while its messages are another's. Claims use ``FOR UPDATE SKIP LOCKED``.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..records import Message
from .cluster_port import Beat, Work
from .port import MoRow, NodeState, OwedReceipt, UpstreamLeg

if TYPE_CHECKING:
    import psycopg

#: the columns, tables' indexes added to the schema (``PgStore._create_schema``)
SCHEMA = """
ALTER TABLE messages ADD COLUMN IF NOT EXISTS node text;
ALTER TABLE messages ADD COLUMN IF NOT EXISTS receipt_node text;
ALTER TABLE mo_queue ADD COLUMN IF NOT EXISTS node text;
CREATE INDEX IF NOT EXISTS messages_open ON messages (node) WHERE done_time IS NULL;
CREATE INDEX IF NOT EXISTS messages_owed ON messages (receipt_node, system_id, id) WHERE receipt = 1;
CREATE INDEX IF NOT EXISTS mo_queue_open ON mo_queue (node, system_id, id) WHERE delivered = 0;
"""
#: columns only PostgreSQL has (who owns what); ``smsc store copy`` leaves
#: them NULL: a copied unfinished message is taken by the first node to
#: look, a copied owed receipt or MO claimed by a node with a receiver
COLUMNS: dict[str, tuple[str, ...]] = {"messages": ("node", "receipt_node"), "mo_queue": ("node",)}
#: first key of the advisory locks on a node's work ("smc1"; the schema's is another)
CLUSTER_LOCK = 0x736D6331

_MESSAGE_COLUMNS = ", ".join(Message._fields)
_N = len(Message._fields)
_message = Message._make
_DEAD = "(stopped OR heartbeat_at < now() - make_interval(secs => %s))"
_LEGS = (
    "SELECT l.message_id, l.part, l.upstream_id, l.stat, l.error, l.done_time, l.udh FROM upstream_legs l "
    "WHERE l.message_id = ANY(%s::bigint[]) ORDER BY l.message_id, l.part"
)
_FREE_RECEIPTS = "UPDATE messages SET receipt_node = NULL WHERE receipt_node = %s AND receipt = 1"
_FREE_MO = "UPDATE mo_queue SET node = NULL WHERE node = %s AND delivered = 0"
_BEAT = (
    "INSERT INTO nodes (name, heartbeat_at, stopped) VALUES (%s, now(), %s) "
    "ON CONFLICT (name) DO UPDATE SET heartbeat_at = now(), stopped = excluded.stopped"
)
#: a cluster node's heartbeat: ``xmax = 0`` on a row just inserted (not
#: updated): its old row was deleted by a takeover of the node
_KEEP_BEAT = (
    "INSERT INTO nodes (name, heartbeat_at, stopped) VALUES (%s, now(), false) "
    "ON CONFLICT (name) DO UPDATE SET heartbeat_at = now(), stopped = false RETURNING NOT (xmax = 0)"
)
_NODES = (
    "SELECT name, extract(epoch FROM heartbeat_at)::float8, "
    "NOT stopped AND heartbeat_at >= now() - make_interval(secs => %s) FROM nodes ORDER BY name"
)
#: a finish of a node's message: only while the message is still its own
FINISH_OWNED = (
    "UPDATE messages SET state = %s, stat = %s, error = %s, done_time = %s, receipt = %s "
    "WHERE id = ANY(%s::bigint[]) AND node = %s"
)
#: owed receipts the node keeps in memory (``Batch.held``) are its to deliver
HOLD = "UPDATE messages SET receipt_node = %s WHERE id = ANY(%s::bigint[])"


class PgClusterTables:
    """The ``ClusterStore`` methods, over ``PgStore``'s connection."""

    #: this process's node name once ``start_node`` ran (None: a CLI, a test
    #: store: inserts own nothing, finishes are not fenced)
    node: str | None = None

    if TYPE_CHECKING:
        @property
        def _conn(self) -> psycopg.Connection[Any]: ...
        def _transaction(self) -> contextlib.AbstractContextManager[psycopg.Connection[Any]]: ...

    def start_node(self, node: str, lease: float) -> Work:
        self.node = node
        with self._transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [CLUSTER_LOCK, node])
            conn.execute(_BEAT, [node, False])
            conn.execute(_FREE_RECEIPTS, [node])
            conn.execute(_FREE_MO, [node])
            messages = [_message(r) for r in conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE node = %s AND done_time IS NULL ORDER BY id",
                [node])]
            legs = self._legs(conn, messages)
        return Work(node, messages, legs)

    def beat(self, node: str, lease: float) -> Beat:
        conn = self._conn
        with conn.pipeline():
            kept = conn.execute(_KEEP_BEAT, [node])
            nodes = conn.execute(_NODES, [lease])
        row = kept.fetchone()
        return Beat([NodeState(*r) for r in nodes.fetchall()], bool(row and row[0]))

    def take_over(self, node: str, lease: float) -> list[Work]:
        dead = [r[0] for r in self._conn.execute(
            f"SELECT name FROM nodes WHERE name <> %s AND {_DEAD} ORDER BY name", [node, lease])]
        taken = []
        for name in [*dead, None]:
            work = self._take(node, name, lease)
            if work is not None:
                taken.append(work)
        return taken

    def _take(self, node: str, dead: str | None, lease: float) -> Work | None:
        """``dead``'s work (None: rows nobody owns) for ``node``, unless
        another node is taking it now or it came back."""
        with self._transaction() as conn:
            row = conn.execute("SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))",
                               [CLUSTER_LOCK, dead or ""]).fetchone()
            if not (row and row[0]):
                return None
            if dead is None:
                # nobody's: from a copy or an older version, or of a node whose row a
                # takeover deleted and that stored more before it died (every live
                # node has its row from its start on, so none of these is alive)
                rows = conn.execute(
                    f"UPDATE messages m SET node = %s WHERE done_time IS NULL AND (node IS NULL OR "
                    f"NOT EXISTS (SELECT 1 FROM nodes n WHERE n.name = m.node)) "
                    f"RETURNING {_MESSAGE_COLUMNS}", [node]).fetchall()
                if not rows:
                    return None
            else:
                # locked: a heartbeat of ``dead`` now waits for this transaction and
                # then finds its row gone (``beat``); one that came first is seen here
                if conn.execute(f"SELECT 1 FROM nodes WHERE name = %s AND {_DEAD} FOR UPDATE",
                                [dead, lease]).fetchone() is None:
                    return None  # it beat again since we looked (a restart, or back from a fence)
                rows = conn.execute(
                    f"UPDATE messages SET node = %s WHERE node = %s AND done_time IS NULL "
                    f"RETURNING {_MESSAGE_COLUMNS}", [node, dead]).fetchall()
                conn.execute(_FREE_RECEIPTS, [dead])
                conn.execute(_FREE_MO, [dead])
                # (binds rows and dlr_url callbacks of the dead node: [cluster] limits' part)
                conn.execute("DELETE FROM nodes WHERE name = %s", [dead])
            messages = sorted(map(_message, rows))
            return Work(dead or "", messages, self._legs(conn, messages))

    @staticmethod
    def _legs(conn: psycopg.Connection[Any], messages: Sequence[Message]) -> list[UpstreamLeg]:
        if not messages:
            return []
        return [UpstreamLeg(*r) for r in conn.execute(_LEGS, [[m.id for m in messages]])]

    def claim_receipts(self, node: str, system_ids: Iterable[str], limit: int) -> list[OwedReceipt]:
        rows = self._conn.execute(
            f"UPDATE messages SET receipt_node = %s WHERE id IN (SELECT id FROM messages WHERE receipt = 1 "
            f"AND receipt_node IS NULL AND system_id = ANY(%s::text[]) ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) "
            f"RETURNING {_MESSAGE_COLUMNS}, stat, state, error, done_time",
            [node, list(system_ids), limit],
        ).fetchall()
        return sorted(OwedReceipt(_message(r[:_N]), *r[_N:]) for r in rows)

    def release_receipts(self, node: str, message_ids: Iterable[int]) -> int:
        return self._conn.execute(
            "UPDATE messages SET receipt_node = NULL WHERE id = ANY(%s::bigint[]) AND receipt_node = %s "
            "AND receipt = 1", [list(message_ids), node]).rowcount

    def claim_mo(self, node: str, system_ids: Iterable[str], limit: int) -> list[MoRow]:
        rows = self._conn.execute(
            "UPDATE mo_queue SET node = %s WHERE id IN (SELECT id FROM mo_queue WHERE delivered = 0 "
            "AND node IS NULL AND system_id = ANY(%s::text[]) ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) "
            "RETURNING id, system_id, source_addr, destination_addr, text",
            [node, list(system_ids), limit],
        ).fetchall()
        return sorted(MoRow(*r) for r in rows)

    def release_mo(self, node: str, mo_ids: Iterable[int]) -> int:
        return self._conn.execute(
            "UPDATE mo_queue SET node = NULL WHERE id = ANY(%s::bigint[]) AND node = %s AND delivered = 0",
            [list(mo_ids), node]).rowcount

    def free_claims(self, node: str, keep: Iterable[str]) -> None:
        others = " AND NOT (system_id = ANY(%s::text[]))"
        with self._transaction() as conn:
            conn.execute(_FREE_RECEIPTS + others, [node, list(keep)])
            conn.execute(_FREE_MO + others, [node, list(keep)])

    def stop_node(self, node: str) -> None:
        with self._transaction() as conn:
            conn.execute(_FREE_RECEIPTS, [node])
            conn.execute(_FREE_MO, [node])
            conn.execute(_BEAT, [node, True])
