"""The one adapter from each front door's request to a ``Submission``.

SMPP's submit_sm, data_sm and every submit_multi destination, an HTTP
request and a campaign row all become the same protocol-neutral record,
so the engine's rules, billing and receipts see one shape (aiosmtpd's
Envelope). Nothing here decides anything: a field is moved, a TLV read, a
duration written as the SMPP relative time validity always is.
"""
from __future__ import annotations

from .pdu.constants import Tag
from .pdu.pdus import DEST_FLAG_SME, DataSm, ReplaceSm, SubmitMulti, SubmitSm, tlv_value
from .pdu.smpp_time import format_relative
from .pdu.text import encode, scan_tlvs
from .records import Replacement, Submission

_QOS_TIME_TO_LIVE = int(Tag.QOS_TIME_TO_LIVE)
UCS2 = 8

#: builds a Submission without NamedTuple.__new__'s argument handling (one per message)
_new = tuple.__new__


def of_submit_sm(pdu: SubmitSm) -> Submission:
    """submit_sm: the hot path (one per message; no keyword arguments)."""
    body, sar = (pdu.short_message, None) if not pdu.tlvs else scan_tlvs(pdu.tlvs, pdu.short_message)
    return _new(Submission, (
        pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr,
        pdu.dest_addr_ton, pdu.dest_addr_npi, pdu.destination_addr,
        pdu.esm_class, pdu.data_coding, body, sar, pdu.registered_delivery,
        pdu.validity_period, pdu.schedule_delivery_time, bool(pdu.replace_if_present_flag),
    ))


def of_data_sm(pdu: DataSm) -> Submission:
    """data_sm (SMPP 3.4 4.7.1) is a submit_sm in another envelope: the body
    in message_payload, qos_time_to_live (seconds) as a relative validity."""
    ttl = tlv_value(pdu.tlvs, _QOS_TIME_TO_LIVE) if pdu.tlvs else None
    body, sar = scan_tlvs(pdu.tlvs, b"")
    return Submission(
        pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr,
        pdu.dest_addr_ton, pdu.dest_addr_npi, pdu.destination_addr,
        pdu.esm_class, pdu.data_coding, body, sar, pdu.registered_delivery,
        validity_period=format_relative(int.from_bytes(ttl, "big")) if ttl else "",
    )


def of_submit_multi(pdu: SubmitMulti) -> tuple[Submission | None, ...]:
    """One Submission per destination, in order; None for a distribution
    list name (we have none: the engine answers ESME_RINVDLNAME)."""
    body, sar = (pdu.short_message, None) if not pdu.tlvs else scan_tlvs(pdu.tlvs, pdu.short_message)
    return tuple(
        Submission(
            pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr, ton, npi, address,
            pdu.esm_class, pdu.data_coding, body, sar, pdu.registered_delivery,
            pdu.validity_period, pdu.schedule_delivery_time, bool(pdu.replace_if_present_flag),
        ) if flag == DEST_FLAG_SME else None
        for flag, ton, npi, address in pdu.dest_addresses
    )


def of_replace_sm(pdu: ReplaceSm) -> Replacement:
    return Replacement(
        pdu.message_id, pdu.source_addr, pdu.short_message, pdu.registered_delivery,
        pdu.validity_period, pdu.schedule_delivery_time,
    )


def of_text(
    sender: str, to: str, text: str, *, registered_delivery: int = 0, validity_seconds: int = 0
) -> Submission:
    """An HTTP request's or a campaign row's message: ``text`` from
    ``sender`` (an alpha-name, or a number with or without ``+``) to ``to``
    (``+380…``, ``380…``, ``0XX…``: the engine normalises and routes it).

    The text goes as UCS-2 octets whatever it holds: the engine takes the
    network encoding from the characters (a UCS-2 "hello" is sent and
    billed as GSM 7-bit), while data_coding 0 would depend on ``[messages]
    default_alphabet``. No TON: the sender's kind gives it. Raises
    ValueError for a character no encoding has (a lone surrogate)."""
    numeric = sender.lstrip("+").isdigit()
    return Submission(
        None, 1 if numeric else 0, sender.lstrip("+") if numeric else sender, 0, 1, to, 0, UCS2, encode(text, UCS2),
        registered_delivery=registered_delivery, validity_period=format_relative(validity_seconds),
    )
