"""``Deliveries``: the Deliveries port (``smsc.dlr.port``) over the two hubs.

Receipts and MO parts wait in hubs of their own (``DeliveryHub[Receipt]``,
``DeliveryHub[MoPart]``); a session sees one port and this class routes by
the item's type. A receiver attaches to both hubs, so its window is shared
by receipts and MO.
"""
from __future__ import annotations

from collections.abc import Iterable

from ..records import Receipt
from .hub import DeliveryHub
from .mo import MoPart
from .port import Delivery, Receiver


class Deliveries:
    __slots__ = ("_receipts", "_mo")

    def __init__(self, receipts: DeliveryHub[Receipt], mo: DeliveryHub[MoPart]) -> None:
        self._receipts = receipts
        self._mo = mo

    def attach(self, system_id: str, receiver: Receiver) -> None:
        self._receipts.attach(system_id, receiver)
        self._mo.attach(system_id, receiver)

    def detach(self, system_id: str, receiver: Receiver, unanswered: Iterable[Delivery]) -> None:
        receipts: list[Receipt] = []
        mo: list[MoPart] = []
        for item in unanswered:
            if type(item) is MoPart:
                mo.append(item)
            else:
                receipts.append(item)  # type: ignore[arg-type]
        self._receipts.detach(system_id, receiver, receipts)
        self._mo.detach(system_id, receiver, mo)

    def answered(self, item: Delivery, ok: bool) -> None:
        if type(item) is MoPart:
            self._mo.answered(item, ok)
        else:
            self._receipts.answered(item, ok)  # type: ignore[arg-type]

    def pump(self, system_id: str) -> None:
        # both: an answer frees room for either kind, so an MO part waiting
        # behind a window full of receipts goes out as soon as they are done
        self._receipts.pump(system_id)
        self._mo.pump(system_id)
