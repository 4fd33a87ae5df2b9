"""Delivery receipt text (SMPP 3.4 Appendix B), both directions.

``id:IIII sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm
stat:DELIVRD err:000 text:first twenty chars``: lower-case names, single
spaces, ``err`` exactly three digits, ``sub``/``dlvrd`` always present —
what Kannel, jsmpp, cloudhopper and php-smpp parse (SPEC.md section 6).
"""
from __future__ import annotations

import re
import struct
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from typing import TYPE_CHECKING

from .constants import (
    ESM_CLASS_DELIVERY_RECEIPT, ESM_CLASS_INTERMEDIATE_NOTIFICATION, STAT_MESSAGE_STATE, Tag,
)

if TYPE_CHECKING:
    from .pdus import DeliverSm


TEXT_SAMPLE_LENGTH = 20
#: network_error_code TLV network type: GSM
NETWORK_TYPE_GSM = 3

_date_cache: dict[int, str] = {}


def format_date(ts: float, seconds: bool = False) -> str:
    """YYMMDDhhmm (or YYMMDDhhmmss) in UTC.

    Cached per minute: strftime costs ~1.6 µs and every receipt needs two.
    """
    if seconds:
        return time.strftime("%y%m%d%H%M%S", time.gmtime(ts))
    key = int(ts // 60)
    s = _date_cache.get(key)
    if s is None:
        if len(_date_cache) > 1024:
            _date_cache.clear()
        s = _date_cache[key] = time.strftime("%y%m%d%H%M", time.gmtime(ts))
    return s


def date_formatter(seconds: bool = False, tz: str | None = None) -> Callable[[float], str]:
    """An account's receipt dates: YYMMDDhhmm, or YYMMDDhhmmss with
    ``seconds``, in the IANA time zone ``tz`` (None: UTC).

    The default is ``format_date`` itself (its shared per-minute cache);
    the others get a cache of their own: per minute, or per second. A zone
    ``zoneinfo`` can't find raises ``ZoneInfoNotFoundError`` naming it.
    """
    if tz is None or tz == "UTC":
        if not seconds:
            return format_date
        zone = None
    else:
        zone = ZoneInfo(tz)
    pattern = "%y%m%d%H%M%S" if seconds else "%y%m%d%H%M"
    step = 1 if seconds else 60
    cache: dict[int, str] = {}

    def fmt(ts: float) -> str:
        # whole-minute offsets (every zone's since the 1970s): a UTC minute
        # is one local minute
        key = int(ts // step)
        s = cache.get(key)
        if s is None:
            if len(cache) > 1024:
                cache.clear()
            t = time.gmtime(ts) if zone is None else datetime.fromtimestamp(ts, zone).timetuple()
            s = cache[key] = time.strftime(pattern, t)
        return s

    return fmt


def text_sample(short_message: bytes, data_coding: int) -> bytes:
    """The first 20 characters of the message, as ASCII for the receipt."""
    if data_coding == 8:
        text = short_message[: 2 * TEXT_SAMPLE_LENGTH].decode("utf-16-be", "replace")
        return text.encode("ascii", "replace")
    sample = short_message[:TEXT_SAMPLE_LENGTH]
    if sample.isascii():
        return sample
    return bytes(b if 32 <= b < 127 else 0x3F for b in sample)


def receipt_text(
    message_id: str,
    stat: str,
    error: int,
    submit_time: float,
    done_time: float,
    sample: bytes,
    seconds: bool = False,
    dates: Callable[[float], str] | None = None,
) -> bytes:
    """``dates``: an account's date formatter (``date_formatter``); without
    it, UTC dates of 10 digits, or 12 with ``seconds``."""
    dlvrd = "001" if stat == "DELIVRD" else "000"
    if dates is None:
        submit_date, done_date = format_date(submit_time, seconds), format_date(done_time, seconds)
    else:
        submit_date, done_date = dates(submit_time), dates(done_time)
    head = (
        f"id:{message_id} sub:001 dlvrd:{dlvrd} submit date:{submit_date} "
        f"done date:{done_date} stat:{stat} err:{error % 1000:03d} text:"
    )
    return head.encode("ascii") + sample


def receipt_pdu(
    sequence_number: int,
    message_id: str,
    stat: str,
    error: int,
    submit_time: float,
    done_time: float,
    source_addr_ton: int,
    source_addr_npi: int,
    source_addr: str,
    dest_addr_ton: int,
    dest_addr_npi: int,
    destination_addr: str,
    sample: bytes,
    esm_class: int = ESM_CLASS_DELIVERY_RECEIPT,
    dates: Callable[[float], str] = format_date,
) -> DeliverSm:
    """The deliver_sm carrying a receipt: the reference that
    ``encode_receipt`` (the server's hot path) is held equal to, and what
    tools and tests decode receipts against.

    Addresses are the original message's, swapped: the receipt comes *from*
    the handset the message went to. ``esm_class``
    ESM_CLASS_INTERMEDIATE_NOTIFICATION (0x20) makes it an intermediate
    notification (stat ENROUTE), in the same format.
    """
    # here, not at the top: the CLI imports this module for the stat words
    # and dates, and the PDU classes would cost every command ~0.1 s
    from .pdus import DeliverSm

    # ``stat`` is the word the text shows (smsc.status.receipt_word)
    tlvs: tuple[tuple[int, bytes], ...] = (
        (Tag.RECEIPTED_MESSAGE_ID, message_id.encode("ascii") + b"\0"),
        (Tag.MESSAGE_STATE, bytes((STAT_MESSAGE_STATE[stat],))),
    )
    if error:
        tlvs += ((Tag.NETWORK_ERROR_CODE, struct.pack(">BH", NETWORK_TYPE_GSM, error & 0xFFFF)),)
    return DeliverSm(
        sequence_number=sequence_number,
        source_addr_ton=dest_addr_ton, source_addr_npi=dest_addr_npi, source_addr=destination_addr,
        dest_addr_ton=source_addr_ton, dest_addr_npi=source_addr_npi, destination_addr=source_addr,
        esm_class=esm_class,
        short_message=receipt_text(message_id, stat, error, submit_time, done_time, sample, False, dates),
        tlvs=tlvs,
    )


_FIELDS = re.compile(
    r"id:(?P<id>\S+) sub:(?P<sub>\d{3}) dlvrd:(?P<dlvrd>\d{3}) "
    r"submit date:(?P<submit_date>\d{10}(?:\d{2})?) done date:(?P<done_date>\d{10}(?:\d{2})?) "
    r"stat:(?P<stat>[A-Z]{6,8}) err:(?P<err>\d{3}) text:(?P<text>.*)\Z",
    re.DOTALL,
)


def parse_receipt_text(text: bytes | str) -> dict[str, str] | None:
    """Fields of an Appendix B receipt text, or None if it is not one."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    m = _FIELDS.match(text)
    return m.groupdict() if m else None


_HEAD = struct.Struct(">IIII")
_DELIVER_SM = 0x00000005
#: state TLV (tag, length 1) + value, per message_state
_STATE_TLV = {
    stat: struct.pack(">HHB", Tag.MESSAGE_STATE, 1, state) for stat, state in STAT_MESSAGE_STATE.items()
}
_ID_TLV = struct.Struct(">HH")
#: esm_class -> the octets between source_addr's NUL and sm_length: esm_class,
#: protocol_id, priority_flag, two empty times, registered_delivery,
#: replace_if_present_flag, data_coding, sm_default_msg_id
_AFTER_SOURCE = {
    esm: b"\0" + bytes((esm,)) + b"\0" * 8
    for esm in (ESM_CLASS_DELIVERY_RECEIPT, ESM_CLASS_INTERMEDIATE_NOTIFICATION)
}
_ERROR_TLV = struct.Struct(">HHBH")


def encode_receipt(
    sequence_number: int,
    message_id: str,
    stat: str,
    error: int,
    submit_time: float,
    done_time: float,
    source_addr_ton: int,
    source_addr_npi: int,
    source_addr: str,
    dest_addr_ton: int,
    dest_addr_npi: int,
    destination_addr: str,
    sample: bytes,
    esm_class: int = ESM_CLASS_DELIVERY_RECEIPT,
    dates: Callable[[float], str] = format_date,
) -> bytes:
    """``encode(receipt_pdu(...))`` in one step, for the hot path.

    The general encoder checks every field of a PDU it is handed; here every
    field is ours or came through the strict decoder already (addresses of
    an accepted submit_sm), so the receipt is written straight to bytes. A
    test holds it equal to the general encoder's output.
    """
    text = receipt_text(message_id, stat, error, submit_time, done_time, sample, False, dates)
    mid = message_id.encode("ascii")
    body = b"".join((
        b"\0", bytes((dest_addr_ton, dest_addr_npi)), destination_addr.encode("ascii"), b"\0",
        bytes((source_addr_ton, source_addr_npi)), source_addr.encode("ascii"),
        _AFTER_SOURCE[esm_class], bytes((len(text),)), text,
        _ID_TLV.pack(Tag.RECEIPTED_MESSAGE_ID, len(mid) + 1), mid, b"\0", _STATE_TLV[stat],
        _ERROR_TLV.pack(Tag.NETWORK_ERROR_CODE, 3, NETWORK_TYPE_GSM, error & 0xFFFF) if error else b"",
    ))
    return _HEAD.pack(16 + len(body), _DELIVER_SM, 0, sequence_number) + body
