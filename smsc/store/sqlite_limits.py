"""What nodes would share, on SQLite: a part of ``smsc.store.sqlite.Store``.

One server process writes a SQLite file (``smsc.startup.lock_store``), so
it is the only node: its bind counts and rate stay in memory (the engine's
``Accounts``), it runs every campaign and posts every callback. These
methods answer as that one node and keep nothing; the server calls them
only on PostgreSQL (``smsc.store.postgres_limits``).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from .port import BindSlot, Campaign, PendingCallback


class OneNodeLimits:
    if TYPE_CHECKING:
        def running_campaigns(self) -> list[Campaign]: ...  # CampaignTables'

    def take_bind(self, node: str, system_id: str, max_binds: int, lease: float) -> BindSlot:
        return BindSlot(True, 0, 1)

    def drop_bind(self, node: str, system_id: str) -> None:
        return None

    def sync_binds(
        self, node: str, held: Mapping[str, int], keep: Iterable[str], shares: Iterable[str], lease: float,
    ) -> dict[str, int]:
        return dict.fromkeys(shares, 1)

    def forget_node_binds(self, node: str) -> int:
        return 0

    def lease_campaigns(self, node: str, lease: float) -> list[Campaign]:
        return self.running_campaigns()

    def adopt_callbacks(self, node: str, lease: float) -> list[PendingCallback]:
        return []

    def due_callbacks(self, node: str) -> list[int]:
        return []
