"""MO pick-up: rows ``smsc mo inject`` wrote go to the MO hub (``smsc.dlr.mo``).

Every second, and once at start for rows a restart left undelivered, new
rows are split into parts and queued for the owning account's receivers;
a row is marked delivered once every part is acknowledged.
"""
from __future__ import annotations

import logging
from typing import Any

from ..dlr.hub import DeliveryHub
from ..dlr.mo import MoPart, mo_parts
from ..pdu.errors import SmppError
from ..store.port import MoRow, StorePort

log = logging.getLogger(__name__)


class MoPickup:
    def __init__(self, *, store: StorePort, hub: DeliveryHub[MoPart]) -> None:
        self._store = store
        self._hub = hub
        #: the highest mo_queue id taken into the hub; parts acknowledged per MO
        self._seen = 0
        self._acks: dict[int, int] = {}
        self._polling = False
        hub.connect(self._acked)

    def poll(self) -> None:
        """Take new mo_queue rows into the MO hub."""
        if self._polling:
            return
        self._polling = True

        def got(rows: list[MoRow]) -> None:
            for row in rows:
                self._seen = max(self._seen, row.id)
                enqueue_row(self._hub, row)

        def done(result: Any) -> None:
            self._polling = False
            if result is not None:
                log.error("reading the MO queue failed: %s", result)

        self._store.pending_mo(self._seen).addCallback(got).addBoth(done)

    def _acked(self, part: MoPart) -> None:
        if all_parts_acked(self._acks, part):
            self._store.mo_delivered(part.id)


def enqueue_row(hub: DeliveryHub[MoPart], row: MoRow) -> None:
    """``row`` split into its parts, queued for the account's receivers;
    a text that cannot be sent is logged and left (it never will be)."""
    try:
        parts = mo_parts(row.id, row.system_id, row.source_addr, row.destination_addr, row.text)
    except SmppError as exc:
        log.error("MO %d cannot be sent: %s", row.id, exc)
        return
    for part in parts:
        hub.enqueue(part)


def all_parts_acked(acks: dict[int, int], part: MoPart) -> bool:
    """Count ``part``'s acknowledgement in ``acks`` (per MO row); True once
    every part of its row is acknowledged (the row is then delivered)."""
    acked = acks.get(part.id, 0) + 1
    if acked < part.total:
        acks[part.id] = acked
        return False
    acks.pop(part.id, None)
    return True
