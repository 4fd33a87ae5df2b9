"""max_binds and the per-account rate across the nodes of one PostgreSQL
store (README "Running a cluster"); SQLite's one node keeps both in memory
(``Accounts``) and never builds this.

- A bind takes its slot in the store (``StorePort.take_bind``: the live
  nodes' binds of the account counted under a per-account lock), so
  ``max_binds`` holds cluster-wide: two binds at the same instant on two
  nodes take turns. An unbind gives the slot back (``drop_bind``). A
  dead node's binds stop counting once its heartbeat is older than the
  lease (a client rebinding elsewhere after its node died may be refused
  until then).
- The rate: each node gives an account ``rate / k``, k = this node and the
  other live nodes holding a bind of it. A bind reads k as it takes its
  slot; ``sync`` (every ``SYNC`` seconds) reads it again for every account
  this node serves and rewrites this node's bind rows from its sessions,
  so a row left wrong (an unbind whose write failed) heals within one sync.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from ..accounts.live import LiveAccount
from ..pdu.constants import CommandStatus
from ..pdu.errors import SmppError
from ..store.port import BindSlot, StorePort

log = logging.getLogger(__name__)

#: seconds between syncs of the bind rows and reads of the rate shares: the
#: most a share lags a bind that came or went on another node
SYNC = 1.0


class ClusterLimits:
    def __init__(
        self, *, store: StorePort, clock: IReactorTime, node: str, lease: float, lives: Mapping[str, LiveAccount],
    ) -> None:
        self._store = store
        self._clock = clock
        self.node = node
        self._lease = lease
        self._lives = lives
        #: system_id -> sessions bound here whose slot is taken
        self._held: dict[str, int] = {}
        #: system_id -> takes sent to the store, not answered yet
        self._taking: dict[str, int] = {}
        self._syncing = False

    def take(self, live: LiveAccount) -> "Deferred[LiveAccount]":
        """A bind slot of ``live`` cluster-wide, or a failure with
        ESME_RBINDFAIL when the live nodes hold ``max_binds`` already."""
        sid = live.system_id
        most = live.max_binds
        self._taking[sid] = self._taking.get(sid, 0) + 1

        def answered(result: Any) -> Any:
            left = self._taking[sid] - 1
            if left:
                self._taking[sid] = left
            else:
                del self._taking[sid]
            if not isinstance(result, BindSlot):
                return result  # the store failed: the bind is refused with it
            if not result.taken:
                raise SmppError(CommandStatus.ESME_RBINDFAIL,
                                f"at most {most} binds (the cluster holds {result.binds})")
            self._held[sid] = self._held.get(sid, 0) + 1
            live.share(result.nodes, self._clock.seconds())
            return live

        return self._store.take_bind(self.node, sid, most, self._lease).addBoth(answered)

    def give_back(self, live: LiveAccount) -> None:
        """A session of ``live`` holding a slot is gone."""
        sid = live.system_id
        left = self._held.get(sid, 0) - 1
        if left > 0:
            self._held[sid] = left
        else:
            self._held.pop(sid, None)
        self._store.drop_bind(self.node, sid).addErrback(
            lambda f: log.warning("unbind of %s not written (the next sync mends it): %s", sid, f.getErrorMessage()))

    def sync(self) -> None:
        """This node's bind rows rewritten from its sessions, and the rate
        share of every account it serves read again (a LoopingCall; never
        fails, one at a time)."""
        if self._syncing:
            return
        self._syncing = True
        shares = [sid for sid in self._store.tracked if sid in self._lives]
        held = {sid: n for sid, n in self._held.items() if sid not in self._taking}

        def read(nodes: dict[str, int]) -> None:
            now = self._clock.seconds()
            for sid, k in nodes.items():
                live = self._lives.get(sid)
                if live is not None:
                    live.share(k, now)

        def done(result: Any) -> None:
            self._syncing = False
            if result is not None:
                log.warning("bind sync of node %s failed: %s", self.node, result.getErrorMessage())

        d = self._store.sync_binds(self.node, held, list(self._taking), shares, self._lease)
        d.addCallback(read).addBoth(done)
