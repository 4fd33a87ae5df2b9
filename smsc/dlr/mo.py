"""MO (mobile originated) messages: a handset writes to one of our short codes.

``smsc mo inject`` writes a row into the store's ``mo_queue`` (it works
while the server runs); the server picks new rows up every second and
delivers each as deliver_sm (esm_class 0) to a bound receiver or
transceiver of the account that owns the short code (``[mo] numbers``).

The delivery machinery is the receipts' own: a second ``DeliveryHub``
(``smsc.dlr.hub``), a ``DeliveryHub[MoPart]``, queues the parts per
account, and the sessions encode them as plain deliver_sm (``encode_mo``)
instead of receipts. A part is of an ``MoMessage`` (the row: its id orders
parts handed back, its system_id is the account owed it), which is all the
hub reads, with ``done_time`` (never: receipts' retention does not apply
to MO) and ``intermediate`` (False: an MO is never best-effort). So parts
wait while no receiver is bound, go out in order when one binds, come back
to the queue when a session drops, and a refused one is offered again on
the next bind. A row is marked delivered once every part has its ESME_ROK
deliver_sm_resp; rows not yet marked are sent again after a restart (a
part acknowledged just before a kill -9 may then come twice; none is lost).

The text goes out as GSM 7-bit (data_coding 0, unpacked septets) when all
its characters are in the GSM alphabet, else UCS-2 (data_coding 8); longer
than one segment, it is split into UDH-concatenated parts (esm_class 0x40,
``05 00 03 ref total seq``, the reference from the row id) by the same
``pdu.text`` rules as the operator leg of a submit.
"""
from __future__ import annotations

from typing import NamedTuple

from ..pdu.codec import encode
from ..pdu.constants import ESM_CLASS_UDHI
from ..pdu.pdus import DeliverSm
from ..pdu.text import analyse, split

#: the longest MO we split: a UDH counts at most 255 parts
MAX_MO_SEGMENTS = 255

_NEVER = float("inf")


class MoMessage(NamedTuple):
    """One MO message (the ``mo_queue`` row), shared by its parts."""

    #: the mo_queue row id
    id: int
    #: the account that owns the number written to
    system_id: str
    #: the handset (E.164 digits, TON 1 NPI 1)
    source_addr: str
    #: the short code / number written to
    destination_addr: str


class MoPart(NamedTuple):
    """Part ``seq`` of ``total`` of an MO message: one deliver_sm body."""

    message: MoMessage
    data_coding: int
    esm_class: int
    short_message: bytes
    seq: int
    total: int

    # what the hub reads besides ``message`` (``hub.Deliverable``): the same
    # for every part, so not fields (read only on the hub's rare paths)
    @property
    def done_time(self) -> float:
        """Never: the receipts' retention does not apply, an MO waits until delivered."""
        return _NEVER

    @property
    def intermediate(self) -> bool:
        """Never best-effort: a refused part is offered again."""
        return False

    @property
    def id(self) -> int:
        """The mo_queue row id (what smsc/engine.py's ``_mo_acked`` reads)."""
        return self.message.id


def mo_parts(mo_id: int, system_id: str, source: str, destination: str, text: str) -> list[MoPart]:
    """The deliver_sm bodies of one MO text (ValueError if it is too long)."""
    a = analyse(text.encode("utf-16-be"), 8, max_segments=MAX_MO_SEGMENTS)
    bodies = split(a, mo_id & 0xFF)
    esm = ESM_CLASS_UDHI if len(bodies) > 1 else 0
    mo = MoMessage(mo_id, system_id, source, destination)
    return [MoPart(mo, a.data_coding, esm, body, seq, len(bodies)) for seq, body in enumerate(bodies, 1)]


def encode_mo(part: MoPart, seq: int) -> bytes:
    """The deliver_sm of one part: from the handset (TON 1, NPI 1) to the
    short code, esm_class 0 (0x40 with a UDH)."""
    mo = part.message
    return encode(DeliverSm(
        sequence_number=seq, source_addr_ton=1, source_addr_npi=1, source_addr=mo.source_addr,
        destination_addr=mo.destination_addr, esm_class=part.esm_class,
        data_coding=part.data_coding, short_message=part.short_message,
    ))
