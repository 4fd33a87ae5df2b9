"""MO (mobile originated) messages: a handset writes to one of our short codes.

``smsc mo inject`` writes a row into the store's ``mo_queue`` (it works
while the server runs); the server picks new rows up every second and
delivers each as deliver_sm (esm_class 0) to a bound receiver or
transceiver of the account that owns the short code (``[mo] numbers``).

The delivery machinery is the receipts' own: a second ``ReceiptHub``
queues ``MoPart`` records per account, and the sessions' ``take`` encodes
them as plain deliver_sm instead of receipts. A ``MoPart`` answers the
fields the hub reads (``message.system_id``, ``message.id``,
``done_time``, ``intermediate``), so the hub needs no change: parts wait
while no receiver is bound, go out in order when one binds, come back to
the queue when a session drops, and a refused one is offered again on the
next bind. A row is marked delivered once every part has its ESME_ROK
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


class MoPart(NamedTuple):
    #: the mo_queue row id
    id: int
    system_id: str
    #: the handset (E.164 digits, TON 1 NPI 1)
    source_addr: str
    #: the short code / number written to
    destination_addr: str
    data_coding: int
    esm_class: int
    short_message: bytes
    seq: int
    total: int
    #: receipts' retention never applies: MO waits until delivered
    done_time: float = float("inf")
    intermediate: bool = False

    @property
    def message(self) -> "MoPart":
        """What ReceiptHub reads as a receipt's message (system_id, id)."""
        return self


def mo_parts(mo_id: int, system_id: str, source: str, destination: str, text: str) -> list[MoPart]:
    """The deliver_sm bodies of one MO text (ValueError if it is too long)."""
    a = analyse(text.encode("utf-16-be"), 8, max_segments=MAX_MO_SEGMENTS)
    bodies = split(a, mo_id & 0xFF)
    esm = ESM_CLASS_UDHI if len(bodies) > 1 else 0
    return [
        MoPart(mo_id, system_id, source, destination, a.data_coding, esm, body, seq, len(bodies))
        for seq, body in enumerate(bodies, 1)
    ]


def encode_mo(part: MoPart, seq: int) -> bytes:
    """The deliver_sm of one part: from the handset (TON 1, NPI 1) to the
    short code, esm_class 0 (0x40 with a UDH)."""
    return encode(DeliverSm(
        sequence_number=seq, source_addr_ton=1, source_addr_npi=1, source_addr=part.source_addr,
        destination_addr=part.destination_addr, esm_class=part.esm_class,
        data_coding=part.data_coding, short_message=part.short_message,
    ))
