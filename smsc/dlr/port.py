"""The Deliveries port: what an SMPP session needs of the receipt and MO
deliveries, and nothing more.

A bound receiver or transceiver session attaches as a ``Receiver``; the
port offers it receipts (``smsc.records.Receipt``) and MO parts
(``smsc.dlr.mo.MoPart``) through ``Receiver.take`` as its window allows.
The session tells the port how each deliver_sm was answered, asks it to
offer more once answers freed room, and gives back what was still
unanswered when the link went. Which queue an item belongs to is the
port's business, not the session's (``smsc.dlr.deliveries`` routes by the
item's type).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Protocol

from ..records import Receipt
from .mo import MoPart

#: what a session delivers with deliver_sm: a receipt (or ENROUTE
#: notification) of one of the account's messages, or a part of an MO
Delivery = Receipt | MoPart


class Receiver(Protocol):
    """A session that takes deliveries (bound as receiver or transceiver)."""

    def take(self, queue: deque[Receipt] | deque[MoPart]) -> None:
        """Pop and send as many items from the left of ``queue`` as the
        window allows; a queue holds one kind."""


class DeliveryPort(Protocol):
    def attach(self, system_id: str, receiver: Receiver) -> None:
        """``receiver`` is bound for ``system_id``: offer it what waits."""

    def detach(self, system_id: str, receiver: Receiver, unanswered: Iterable[Delivery]) -> None:
        """``receiver`` is gone; ``unanswered``: what it sent and heard no
        answer to, owed again (oldest first, before what still waits)."""

    def answered(self, item: Delivery, ok: bool) -> None:
        """The client answered ``item``'s deliver_sm (``ok``: ESME_ROK);
        per delivery, on the receipt hot path."""

    def pump(self, system_id: str) -> None:
        """Offer the account's waiting deliveries to its receivers again
        (after answers freed room in their windows)."""
