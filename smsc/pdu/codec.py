"""Frames <-> PDU records: ``decode(frame) -> Pdu`` and ``encode(pdu) -> bytes``.

Two codecs behind one door. The per-message PDUs (submit_sm, deliver_sm,
data_sm, submit_multi, replace_sm, their responses, enquire_link, unbind,
generic_nack) are read and
written here with ``struct`` and ``bytes`` methods, because smpp.pdu costs
~27 us to decode a submit_sm and ~36 us to build a receipt on this machine
(DESIGN "Measured facts"), which alone would eat the per-message budget.
Everything else (binds, query_sm, cancel_sm, outbind, ...) is rare and goes
through ``foreign``, a wrapper around smpp.pdu.

The hot-path decoder is strict: it checks every length the spec fixes and
reports the status that names the fault, so a session can answer a broken
request with its own ``*_resp`` (the header is always readable):

=========================================================  =====================
fault                                                      command_status
=========================================================  =====================
frame shorter than 16 octets, or command_length != frame   ESME_RINVCMDLEN
unknown command_id                                         ESME_RINVCMDID
body ends inside the mandatory fields; octets left after   ESME_RINVCMDLEN
the last field of a PDU that takes no TLVs; a header-only
PDU with a body
C-Octet String without its NUL within the spec maximum,    the field's own:
or with a non-ASCII octet                                  RINVSERTYP, RINVSRCADR,
                                                           RINVDSTADR, RINVSCHED,
                                                           RINVEXPIRY, RINVMSGID
schedule_delivery_time / validity_period not 0 or 16       ESME_RINVSCHED /
characters, or not ``YYMMDDhhmmsstnn`` + ``+``/``-``/``R``;  ESME_RINVEXPIRY
either one non-empty in a deliver_sm
sm_length 255, or running past the end of the PDU          ESME_RINVMSGLEN
a TLV header or value cut short by the end of the PDU      ESME_RINVOPTPARSTREAM
(after the mandatory fields of a PDU that takes TLVs,
stray octets are a broken TLV stream)
a known TLV with a length the spec forbids                 ESME_RINVPARLEN
message_payload TLV together with sm_length > 0            ESME_RINVPARLEN
submit_multi: number_of_dests 0 or over 254                ESME_RINVNUMDESTS
submit_multi: a dest_flag other than 1 (SME) or 2 (list)   ESME_RINVDESTFLAG
submit_multi: a dl_name without its NUL within 21 octets   ESME_RINVDLNAME
replace_sm: octets after short_message (3.4 has no TLVs)   ESME_RINVCMDLEN
=========================================================  =====================

The last row: SMPP 3.4 section 5.3.2.32 requires sm_length 0 when
message_payload is used, so the non-zero sm_length is the invalid parameter
length. The codec checks structure, not meaning: ton/npi, esm_class,
priority_flag, registered_delivery, data_coding and the calendar sense of a
time string come through as given, for the engine to judge and name
(ESME_RINVSRCTON, ...). TLVs are kept raw, in wire order, whatever their tag
(SMPP 3.4 asks receivers to ignore unknown optional parameters).

Lenient where the wild needs it: a response with a non-zero command_status
may come without a body; a deliver_sm_resp may always come without one (its
message_id is unused, and some clients send 16 octets).

``decode`` raises ``PduDecodeError`` and nothing else, for any input.
``encode`` raises ``LocalProtocolError`` for a PDU that could not go on the
wire (non-ASCII or over-long strings, a NUL inside a string, an out-of-range
integer): that is our bug, never the peer's.
"""
from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import MISSING, fields
from typing import TYPE_CHECKING, Any, TypeVar

from . import foreign
from .constants import CommandId, CommandStatus, Tag
from .errors import LocalProtocolError, PduDecodeError
from .framer import HEADER_LENGTH, MAX_PDU_LENGTH
from .pdus import (
    DataSm,
    DataSmResp,
    DestAddress,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    ReplaceSm,
    ReplaceSmResp,
    SubmitSm,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSmResp,
    Tlvs,
    UnsuccessSme,
    Unbind,
    UnbindResp,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "MAX_PDU_LENGTH",
    "decode",
    "encode",
    "encode_generic_nack",
    "fast_constructor",
    "peek_header",
]

_HEADER = struct.Struct(">IIII")
_TAG_LENGTH = struct.Struct(">HH")
#: esm_class .. sm_length of a submit_sm/deliver_sm whose times are both NULL
_USUAL_TAIL = struct.Struct(">10B")

S = CommandStatus
_MESSAGE_PAYLOAD = int(Tag.MESSAGE_PAYLOAD)

#: The status that names a fault in each C-Octet String field.
_FIELD_STATUS: dict[str, CommandStatus] = {
    "service_type": S.ESME_RINVSERTYP,
    "source_addr": S.ESME_RINVSRCADR,
    "destination_addr": S.ESME_RINVDSTADR,
    "schedule_delivery_time": S.ESME_RINVSCHED,
    "validity_period": S.ESME_RINVEXPIRY,
    "message_id": S.ESME_RINVMSGID,
    "dl_name": S.ESME_RINVDLNAME,
}

#: Allowed value lengths (min, max) of the TLVs whose size SMPP 3.4 section
#: 5.3.2 fixes or bounds. Tags not listed (vendor ones, message_payload, the
#: telematics ids whose size the spec contradicts itself on) may be any size.
TLV_LENGTHS: dict[int, tuple[int, int]] = {
    Tag.DEST_ADDR_SUBUNIT: (1, 1),
    Tag.SOURCE_ADDR_SUBUNIT: (1, 1),
    Tag.DEST_NETWORK_TYPE: (1, 1),
    Tag.SOURCE_NETWORK_TYPE: (1, 1),
    Tag.DEST_BEARER_TYPE: (1, 1),
    Tag.SOURCE_BEARER_TYPE: (1, 1),
    Tag.QOS_TIME_TO_LIVE: (4, 4),
    Tag.PAYLOAD_TYPE: (1, 1),
    Tag.ADDITIONAL_STATUS_INFO_TEXT: (1, 256),
    Tag.RECEIPTED_MESSAGE_ID: (1, 65),
    Tag.MS_MSG_WAIT_FACILITIES: (1, 1),
    Tag.PRIVACY_INDICATOR: (1, 1),
    Tag.SOURCE_SUBADDRESS: (2, 23),
    Tag.DEST_SUBADDRESS: (2, 23),
    Tag.USER_MESSAGE_REFERENCE: (2, 2),
    Tag.USER_RESPONSE_CODE: (1, 1),
    Tag.SOURCE_PORT: (2, 2),
    Tag.DESTINATION_PORT: (2, 2),
    Tag.SAR_MSG_REF_NUM: (2, 2),
    Tag.LANGUAGE_INDICATOR: (1, 1),
    Tag.SAR_TOTAL_SEGMENTS: (1, 1),
    Tag.SAR_SEGMENT_SEQNUM: (1, 1),
    Tag.SC_INTERFACE_VERSION: (1, 1),
    Tag.CALLBACK_NUM_PRES_IND: (1, 1),
    Tag.CALLBACK_NUM_ATAG: (1, 65),
    Tag.NUMBER_OF_MESSAGES: (1, 1),
    Tag.CALLBACK_NUM: (4, 19),
    Tag.DPF_RESULT: (1, 1),
    Tag.SET_DPF: (1, 1),
    Tag.MS_AVAILABILITY_STATUS: (1, 1),
    Tag.NETWORK_ERROR_CODE: (3, 3),
    Tag.DELIVERY_FAILURE_REASON: (1, 1),
    Tag.MORE_MESSAGES_TO_SEND: (1, 1),
    Tag.MESSAGE_STATE: (1, 1),
    Tag.USSD_SERVICE_OP: (1, 1),
    Tag.DISPLAY_TIME: (1, 1),
    Tag.SMS_SIGNAL: (2, 2),
    Tag.MS_VALIDITY: (1, 1),
    Tag.ALERT_ON_MESSAGE_DELIVERY: (0, 0),
    Tag.ITS_REPLY_TYPE: (1, 1),
    Tag.ITS_SESSION_INFO: (2, 2),
}
_TLV_BOUNDS = {int(tag): bounds for tag, bounds in TLV_LENGTHS.items()}


# --- fast record construction ----------------------------------------------

T = TypeVar("T", bound="DataclassInstance")


def fast_constructor(cls: type[T], positional: tuple[str, ...] | None = None) -> Callable[..., T]:
    """A constructor for a frozen slotted dataclass that is 3-10x faster.

    A frozen dataclass's ``__init__`` stores each field through
    ``object.__setattr__``: 6.6 us for a SubmitSm on this machine, more than
    the whole decode budget. The function returned here creates the instance
    as a twin subclass that shares the slot layout but not the frozen
    ``__setattr__``, so each store is a plain slot write, then moves it to
    ``cls`` (legal: same layout). The result is an ordinary ``cls``
    instance, equal, hashable and frozen like one made by ``cls(...)``.

    Without ``positional`` it takes the same keywords and defaults as
    ``cls``. With ``positional`` (every field name, in the caller's chosen
    order) it takes exactly those positional arguments: CPython 3.11 passes
    16 or more keywords ~5x slower than positionals, and naming the order
    here keeps a field reordering in pdus.py harmless. A missing, extra or
    ``__post_init__``-validated field fails loudly at import.
    """
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has __post_init__; fast_constructor would skip it")
    names = [field.name for field in fields(cls)]
    namespace: dict[str, Any] = {"_cls": cls, "_new": object.__new__}
    if positional is not None:
        if sorted(positional) != sorted(names):
            raise TypeError(f"{cls.__name__} fields are {names}, not {list(positional)}")
        params = list(positional)
    else:
        params = ["*"]
        for field in fields(cls):
            if field.default is not MISSING:
                namespace[f"_default_{field.name}"] = field.default
                params.append(f"{field.name}=_default_{field.name}")
            elif field.default_factory is not MISSING:
                raise TypeError(f"{cls.__name__}.{field.name} uses default_factory")
            else:
                params.append(field.name)
    namespace["_twin"] = type(
        f"_Fast{cls.__name__}",
        (cls,),
        {
            "__slots__": (),
            # both must be the plain ones, or CPython keeps the slow slot
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
            "__module__": __name__,
        },
    )
    source = (
        f"def new_{cls.__name__}({', '.join(params)}):\n"
        "    self = _new(_twin)\n"
        + "".join(f"    self.{name} = {name}\n" for name in names)
        + "    self.__class__ = _cls\n"
        "    return self\n"
    )
    exec(source, namespace)  # the technique dataclasses itself uses
    return namespace[f"new_{cls.__name__}"]  # type: ignore[no-any-return]


_SHORT_MESSAGE_ORDER = (
    "sequence_number", "command_status", "service_type",
    "source_addr_ton", "source_addr_npi", "source_addr",
    "dest_addr_ton", "dest_addr_npi", "destination_addr",
    "esm_class", "protocol_id", "priority_flag",
    "schedule_delivery_time", "validity_period",
    "registered_delivery", "replace_if_present_flag", "data_coding",
    "sm_default_msg_id", "short_message", "tlvs",
)
_DATA_SM_ORDER = (
    "sequence_number", "command_status", "service_type",
    "source_addr_ton", "source_addr_npi", "source_addr",
    "dest_addr_ton", "dest_addr_npi", "destination_addr",
    "esm_class", "registered_delivery", "data_coding", "tlvs",
)
_new_submit_sm = fast_constructor(SubmitSm, _SHORT_MESSAGE_ORDER)
_new_deliver_sm = fast_constructor(DeliverSm, _SHORT_MESSAGE_ORDER)
_new_data_sm = fast_constructor(DataSm, _DATA_SM_ORDER)
_MESSAGE_ID_ORDER = ("sequence_number", "command_status", "message_id")
_new_submit_sm_resp = fast_constructor(SubmitSmResp, _MESSAGE_ID_ORDER)
_new_deliver_sm_resp = fast_constructor(DeliverSmResp, _MESSAGE_ID_ORDER)
_new_data_sm_resp = fast_constructor(
    DataSmResp, ("sequence_number", "command_status", "message_id", "tlvs")
)


# --- decoding ----------------------------------------------------------------


class _Invalid(Exception):
    """A body fault; ``decode`` adds the header and re-raises PduDecodeError."""

    def __init__(self, status: CommandStatus, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _missing_nul(frame: bytes, pos: int, size: int, field: str) -> _Invalid:
    """Why no NUL was found in ``frame[pos:pos+size]``: cut short or too long."""
    if pos + size > len(frame):
        return _Invalid(S.ESME_RINVCMDLEN, f"body ends inside {field}")
    return _Invalid(
        _FIELD_STATUS[field], f"{field} has no NUL within {size} octets"
    )


def _time_ok(value: str) -> bool:
    """SMPP 3.4 section 7.1.1 syntax: YYMMDDhhmmss t nn p, p in + - R."""
    return value[:15].isdigit() and value[15] in "+-R"


def _decode_time(frame: bytes, pos: int, field: str, must_be_null: bool) -> tuple[str, int]:
    """(value, position after the NUL) of schedule_delivery_time / validity_period."""
    end = frame.find(0, pos, pos + 17)
    if end < 0:
        raise _missing_nul(frame, pos, 17, field)
    if end == pos:
        return "", end + 1
    if must_be_null:
        raise _Invalid(_FIELD_STATUS[field], f"{field} must be NULL in deliver_sm")
    if end - pos != 16:
        raise _Invalid(_FIELD_STATUS[field], f"{field} is {end - pos} characters, not 16")
    value = frame[pos:end].decode("ascii")
    if not _time_ok(value):
        raise _Invalid(_FIELD_STATUS[field], f"{field} {value!r} is not an SMPP time")
    return value, end + 1


def _decode_times(frame: bytes, pos: int) -> tuple[str, str, int]:
    """schedule_delivery_time and validity_period of submit_multi and
    replace_sm, and the position after them."""
    field = "schedule_delivery_time"
    try:
        schedule_delivery_time, pos = _decode_time(frame, pos, field, False)
        field = "validity_period"
        validity_period, pos = _decode_time(frame, pos, field, False)
    except UnicodeDecodeError:
        raise _Invalid(_FIELD_STATUS[field], f"{field} is not ASCII") from None
    return schedule_delivery_time, validity_period, pos


def _decode_tlvs(frame: bytes, pos: int, end: int) -> Tlvs:
    """The TLVs in ``frame[pos:end]``, checked to the exact end."""
    out = []
    unpack = _TAG_LENGTH.unpack_from
    bounds_of = _TLV_BOUNDS.get
    while pos < end:
        if end - pos < 4:
            raise _Invalid(S.ESME_RINVOPTPARSTREAM, f"{end - pos} stray octets where a TLV header was due")
        tag, length = unpack(frame, pos)
        pos += 4
        stop = pos + length
        if stop > end:
            raise _Invalid(
                S.ESME_RINVOPTPARSTREAM,
                f"TLV 0x{tag:04x} claims {length} octets, {end - pos} remain",
            )
        bounds = bounds_of(tag)
        if bounds is not None and not bounds[0] <= length <= bounds[1]:
            raise _Invalid(
                S.ESME_RINVPARLEN, f"TLV 0x{tag:04x} has length {length}, allowed {bounds[0]}..{bounds[1]}"
            )
        out.append((tag, frame[pos:stop]))
        pos = stop
    return tuple(out)


def _has_payload(tlvs: Tlvs) -> bool:
    for tag, _ in tlvs:
        if tag == _MESSAGE_PAYLOAD:
            return True
    return False


def _short_message_decoder(build: Callable[..., Any], deliver: bool) -> Callable[..., Any]:
    """A decoder for the submit_sm / deliver_sm body (SMPP 3.4 4.4.1, 4.6.1).

    Two paths. ``decode_usual`` handles the shape nearly every message has
    (no service_type, no schedule/validity times) with the fewest calls; at
    the first sign of anything else it hands the frame to ``decode_any``,
    which reads field by field, accepts every valid PDU and names the fault
    of every invalid one. Both are written out, not table-driven: a generic
    loop costs more per field than the field itself.
    """

    def decode_usual(frame: bytes, n: int, status: int, seq: int) -> Any:
        if frame[16] == 0:
            e1 = frame.find(0, 19, 40)
            if e1 >= 0:
                e2 = frame.find(0, e1 + 3, e1 + 24)
                if e2 >= 0 and e2 + 11 <= n:
                    (
                        esm_class, protocol_id, priority_flag, schedule_nul, validity_nul,
                        registered_delivery, replace_if_present_flag, data_coding,
                        sm_default_msg_id, sm_length,
                    ) = _USUAL_TAIL.unpack_from(frame, e2 + 1)
                    p = e2 + 11
                    stop = p + sm_length
                    if not (schedule_nul or validity_nul) and sm_length <= 254 and stop <= n:
                        try:
                            # one decode for both addresses and the ton/npi
                            # between them (never >= 0x80 when valid)
                            addresses = frame[19:e2].decode("ascii")
                        except UnicodeDecodeError:
                            return decode_any(frame, n, status, seq)
                        if stop < n:
                            tlvs = _decode_tlvs(frame, stop, n)
                            if sm_length and _has_payload(tlvs):
                                return decode_any(frame, n, status, seq)
                        else:
                            tlvs = ()
                        return build(
                            seq, status, "",
                            frame[17], frame[18], addresses[:e1 - 19],
                            frame[e1 + 1], frame[e1 + 2], addresses[e1 - 16:],
                            esm_class, protocol_id, priority_flag,
                            "", "",
                            registered_delivery, replace_if_present_flag, data_coding,
                            sm_default_msg_id, frame[p:stop], tlvs,
                        )
        return decode_any(frame, n, status, seq)

    def decode_any(frame: bytes, n: int, status: int, seq: int) -> Any:
        (service_type, source_addr_ton, source_addr_npi, source_addr,
         dest_addr_ton, dest_addr_npi, destination_addr, p) = _addresses(frame, 21)
        esm_class = frame[p]
        protocol_id = frame[p + 1]
        priority_flag = frame[p + 2]
        p += 3
        field = "schedule_delivery_time"
        try:
            if frame[p] == 0:
                schedule_delivery_time = ""
                p += 1
            else:
                schedule_delivery_time, p = _decode_time(frame, p, field, deliver)
            field = "validity_period"
            if frame[p] == 0:
                validity_period = ""
                p += 1
            else:
                validity_period, p = _decode_time(frame, p, field, deliver)
        except UnicodeDecodeError:
            raise _Invalid(_FIELD_STATUS[field], f"{field} is not ASCII") from None
        registered_delivery = frame[p]
        replace_if_present_flag = frame[p + 1]
        data_coding = frame[p + 2]
        sm_default_msg_id = frame[p + 3]
        sm_length = frame[p + 4]
        p += 5
        stop = p + sm_length
        if sm_length > 254 or stop > n:
            raise _Invalid(
                S.ESME_RINVMSGLEN, f"sm_length {sm_length} with {n - p} octets left in the PDU"
            )
        if stop < n:
            tlvs = _decode_tlvs(frame, stop, n)
            if sm_length and _has_payload(tlvs):
                raise _Invalid(S.ESME_RINVPARLEN, "message_payload TLV with a non-zero sm_length")
        else:
            tlvs = ()
        return build(
            seq, status, service_type,
            source_addr_ton, source_addr_npi, source_addr,
            dest_addr_ton, dest_addr_npi, destination_addr,
            esm_class, protocol_id, priority_flag,
            schedule_delivery_time, validity_period,
            registered_delivery, replace_if_present_flag, data_coding,
            sm_default_msg_id, frame[p:stop], tlvs,
        )

    return decode_usual


def _decode_data_sm(frame: bytes, n: int, status: int, seq: int) -> DataSm:
    """data_sm (SMPP 3.4 4.7.1): addresses up to 65 octets, the rest in TLVs."""
    (service_type, source_addr_ton, source_addr_npi, source_addr,
     dest_addr_ton, dest_addr_npi, destination_addr, p) = _addresses(frame, 65)
    esm_class = frame[p]
    registered_delivery = frame[p + 1]
    data_coding = frame[p + 2]
    p += 3
    return _new_data_sm(
        seq, status, service_type,
        source_addr_ton, source_addr_npi, source_addr,
        dest_addr_ton, dest_addr_npi, destination_addr,
        esm_class, registered_delivery, data_coding,
        _decode_tlvs(frame, p, n) if p < n else (),
    )


def _addresses(frame: bytes, size: int) -> tuple[str, int, int, str, int, int, str, int]:
    """The head submit_sm, deliver_sm and data_sm share (the field-by-field
    path; the usual submit_sm has its own): service_type, source TON, NPI
    and address, destination TON, NPI and address (addresses of at most
    ``size`` octets with the NUL), and the position after them."""
    service_type, p = _cstring_at(frame, 16, 6, "service_type")
    source_addr_ton, source_addr_npi = frame[p], frame[p + 1]
    source_addr, p = _cstring_at(frame, p + 2, size, "source_addr")
    dest_addr_ton, dest_addr_npi = frame[p], frame[p + 1]
    destination_addr, p = _cstring_at(frame, p + 2, size, "destination_addr")
    return (service_type, source_addr_ton, source_addr_npi, source_addr,
            dest_addr_ton, dest_addr_npi, destination_addr, p)


#: the most destinations a submit_multi may name (SMPP 3.4 5.2.24)
MAX_DESTS = 254


def _cstring_at(frame: bytes, p: int, size: int, field: str) -> tuple[str, int]:
    """(value, position after the NUL) of a C-Octet String of at most
    ``size`` octets with its NUL (the cold paths: submit_multi, ``_addresses``)."""
    e = frame.find(0, p, p + size)
    if e < 0:
        raise _missing_nul(frame, p, size, field)
    try:
        return frame[p:e].decode("ascii"), e + 1
    except UnicodeDecodeError:
        raise _Invalid(_FIELD_STATUS[field], f"{field} is not ASCII") from None


def _decode_submit_multi(frame: bytes, n: int, status: int, seq: int) -> SubmitMulti:
    """submit_multi (SMPP 3.4 4.5.1): submit_sm with 1-254 dest_address
    entries where destination_addr was. Not a hot path: written for clarity.
    A distribution list name decodes (the structure is valid); refusing it
    is the engine's call."""
    service_type, p = _cstring_at(frame, 16, 6, "service_type")
    source_addr_ton, source_addr_npi = frame[p], frame[p + 1]
    source_addr, p = _cstring_at(frame, p + 2, 21, "source_addr")
    count = frame[p]
    p += 1
    if not 1 <= count <= MAX_DESTS:
        raise _Invalid(S.ESME_RINVNUMDESTS, f"number_of_dests {count}, allowed 1..{MAX_DESTS}")
    dests = []
    for _ in range(count):
        flag = frame[p]
        if flag == 1:
            ton, npi = frame[p + 1], frame[p + 2]
            address, p = _cstring_at(frame, p + 3, 21, "destination_addr")
        elif flag == 2:
            ton = npi = 0
            address, p = _cstring_at(frame, p + 1, 21, "dl_name")
        else:
            raise _Invalid(S.ESME_RINVDESTFLAG, f"dest_flag {flag}, not 1 (SME) or 2 (list)")
        dests.append(DestAddress(flag, ton, npi, address))
    esm_class, protocol_id, priority_flag = frame[p], frame[p + 1], frame[p + 2]
    p += 3
    schedule_delivery_time, validity_period, p = _decode_times(frame, p)
    registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id, sm_length = (
        frame[p], frame[p + 1], frame[p + 2], frame[p + 3], frame[p + 4]
    )
    p += 5
    stop = p + sm_length
    if sm_length > 254 or stop > n:
        raise _Invalid(S.ESME_RINVMSGLEN, f"sm_length {sm_length} with {n - p} octets left in the PDU")
    tlvs = _decode_tlvs(frame, stop, n) if stop < n else ()
    if sm_length and _has_payload(tlvs):
        raise _Invalid(S.ESME_RINVPARLEN, "message_payload TLV with a non-zero sm_length")
    return SubmitMulti(
        sequence_number=seq, command_status=status, service_type=service_type,
        source_addr_ton=source_addr_ton, source_addr_npi=source_addr_npi, source_addr=source_addr,
        dest_addresses=tuple(dests), esm_class=esm_class, protocol_id=protocol_id,
        priority_flag=priority_flag, schedule_delivery_time=schedule_delivery_time,
        validity_period=validity_period, registered_delivery=registered_delivery,
        replace_if_present_flag=replace_if_present_flag, data_coding=data_coding,
        sm_default_msg_id=sm_default_msg_id, short_message=frame[p:stop], tlvs=tlvs,
    )


def _decode_replace_sm(frame: bytes, n: int, status: int, seq: int) -> ReplaceSm:
    """replace_sm (SMPP 3.4 4.10.1): message_id, source address, both
    times, registered_delivery, sm_default_msg_id, sm_length, short_message.
    SMPP 3.4 gives it no optional parameters: octets after the body are a
    length fault."""
    message_id, p = _cstring_at(frame, 16, 65, "message_id")
    source_addr_ton, source_addr_npi = frame[p], frame[p + 1]
    source_addr, p = _cstring_at(frame, p + 2, 21, "source_addr")
    schedule_delivery_time, validity_period, p = _decode_times(frame, p)
    registered_delivery, sm_default_msg_id, sm_length = frame[p], frame[p + 1], frame[p + 2]
    p += 3
    stop = p + sm_length
    if sm_length > 254 or stop > n:
        raise _Invalid(S.ESME_RINVMSGLEN, f"sm_length {sm_length} with {n - p} octets left in the PDU")
    if stop != n:
        raise _Invalid(S.ESME_RINVCMDLEN, f"{n - stop} octets after replace_sm short_message")
    return ReplaceSm(
        sequence_number=seq, command_status=status, message_id=message_id,
        source_addr_ton=source_addr_ton, source_addr_npi=source_addr_npi, source_addr=source_addr,
        schedule_delivery_time=schedule_delivery_time, validity_period=validity_period,
        registered_delivery=registered_delivery, sm_default_msg_id=sm_default_msg_id,
        short_message=frame[p:stop],
    )


def _decode_submit_multi_resp(frame: bytes, n: int, status: int, seq: int) -> SubmitMultiResp:
    """SMPP 3.4 4.5.2: message_id, no_unsuccess, unsuccess_sme entries;
    an error status may come without a body."""
    if n == 16 and status:
        return SubmitMultiResp(sequence_number=seq, command_status=status)
    message_id, p = _message_id(frame, "submit_multi_resp")
    count = frame[p]
    p += 1
    failed = []
    for _ in range(count):
        ton, npi = frame[p], frame[p + 1]
        address, p = _cstring_at(frame, p + 2, 21, "destination_addr")
        if p + 4 > n:
            raise _Invalid(S.ESME_RINVCMDLEN, "body ends inside error_status_code")
        failed.append(UnsuccessSme(ton, npi, address, int.from_bytes(frame[p:p + 4], "big")))
        p += 4
    if p != n:
        raise _Invalid(S.ESME_RINVCMDLEN, f"{n - p} octets after the last unsuccess_sme")
    return SubmitMultiResp(
        sequence_number=seq, command_status=status, message_id=message_id, unsuccess_sme=tuple(failed)
    )


def _message_id(frame: bytes, name: str) -> tuple[str, int]:
    """(message_id, position after its NUL) of a response body at offset 16."""
    e = frame.find(0, 16, 16 + 65)
    if e < 0:
        raise _missing_nul(frame, 16, 65, "message_id")
    try:
        return frame[16:e].decode("ascii"), e + 1
    except UnicodeDecodeError:
        raise _Invalid(S.ESME_RINVMSGID, f"{name} message_id is not ASCII") from None


def _decode_submit_sm_resp(frame: bytes, n: int, status: int, seq: int) -> SubmitSmResp:
    """SMPP 3.4 4.4.2: the body is only defined for ESME_ROK; accept it either way."""
    if n == 16:
        if status:
            return _new_submit_sm_resp(seq, status, "")
        raise _Invalid(S.ESME_RINVCMDLEN, "submit_sm_resp with ESME_ROK lacks message_id")
    message_id, p = _message_id(frame, "submit_sm_resp")
    if p != n:
        raise _Invalid(S.ESME_RINVCMDLEN, f"{n - p} octets after submit_sm_resp message_id")
    return _new_submit_sm_resp(seq, status, message_id)


def _decode_deliver_sm_resp(frame: bytes, n: int, status: int, seq: int) -> DeliverSmResp:
    """SMPP 3.4 4.6.2: message_id is unused; an empty body is accepted too."""
    if n == 16 or (n == 17 and frame[16] == 0):
        return _new_deliver_sm_resp(seq, status, "")
    message_id, p = _message_id(frame, "deliver_sm_resp")
    if p != n:
        raise _Invalid(S.ESME_RINVCMDLEN, f"{n - p} octets after deliver_sm_resp message_id")
    return _new_deliver_sm_resp(seq, status, message_id)


def _decode_data_sm_resp(frame: bytes, n: int, status: int, seq: int) -> DataSmResp:
    """SMPP 3.4 4.7.2: message_id, then TLVs; no body accepted on an error."""
    if n == 16 and status:
        return _new_data_sm_resp(seq, status, "", ())
    message_id, p = _message_id(frame, "data_sm_resp")
    return _new_data_sm_resp(seq, status, message_id, _decode_tlvs(frame, p, n) if p < n else ())


def _header_only_decoder(cls: type[DataclassInstance]) -> Callable[..., Any]:
    """A decoder for a PDU that is its header (enquire_link, unbind, ...)."""
    build = fast_constructor(cls, ("sequence_number", "command_status"))
    name = cls.__name__

    def decode_header_only(frame: bytes, n: int, status: int, seq: int) -> Any:
        if n != 16:
            raise _Invalid(S.ESME_RINVCMDLEN, f"{name} takes no body, got {n - 16} octets")
        return build(seq, status)

    return decode_header_only


def _foreign_decoder(command_id: int) -> Callable[..., Any]:
    def decode_foreign(frame: bytes, n: int, status: int, seq: int) -> Any:
        return foreign.decode(frame, command_id, status, seq)

    return decode_foreign


_DECODERS: dict[int, Callable[[bytes, int, int, int], Pdu]] = {
    CommandId.SUBMIT_SM: _short_message_decoder(_new_submit_sm, deliver=False),
    CommandId.DELIVER_SM: _short_message_decoder(_new_deliver_sm, deliver=True),
    CommandId.DATA_SM: _decode_data_sm,
    CommandId.SUBMIT_SM_RESP: _decode_submit_sm_resp,
    CommandId.DELIVER_SM_RESP: _decode_deliver_sm_resp,
    CommandId.DATA_SM_RESP: _decode_data_sm_resp,
    CommandId.SUBMIT_MULTI: _decode_submit_multi,
    CommandId.SUBMIT_MULTI_RESP: _decode_submit_multi_resp,
    CommandId.REPLACE_SM: _decode_replace_sm,
    CommandId.REPLACE_SM_RESP: _header_only_decoder(ReplaceSmResp),
    CommandId.ENQUIRE_LINK: _header_only_decoder(EnquireLink),
    CommandId.ENQUIRE_LINK_RESP: _header_only_decoder(EnquireLinkResp),
    CommandId.UNBIND: _header_only_decoder(Unbind),
    CommandId.UNBIND_RESP: _header_only_decoder(UnbindResp),
    CommandId.GENERIC_NACK: _header_only_decoder(GenericNack),
}
for _command_id in foreign.COMMANDS:
    _DECODERS[_command_id] = _foreign_decoder(_command_id)
# plain-int keys: a dict lookup by int is cheaper than by IntEnum's hash path
_DECODERS = {int(k): v for k, v in _DECODERS.items()}
del _command_id


def _short_frame(n: int) -> PduDecodeError:
    return PduDecodeError(
        S.ESME_RINVCMDLEN,
        f"{n} octets cannot hold the {HEADER_LENGTH}-octet header",
        command_id=0,
        sequence_number=0,
    )


def peek_header(frame: bytes) -> tuple[int, int, int, int]:
    """(command_length, command_id, command_status, sequence_number) of a frame.

    ``PduDecodeError(ESME_RINVCMDLEN)`` (command_id 0) if it is under 16 octets.
    """
    if len(frame) < HEADER_LENGTH:
        raise _short_frame(len(frame))
    return _HEADER.unpack_from(frame)


def decode(frame: bytes) -> Pdu:
    """The PDU record in one whole frame (as cut by ``Framer``).

    Raises ``PduDecodeError`` (and only that) carrying the header's
    command_id and sequence_number, so the caller can answer in kind.
    """
    try:
        length, command_id, status, seq = _HEADER.unpack_from(frame)
    except struct.error:
        raise _short_frame(len(frame)) from None
    n = len(frame)
    decoder = _DECODERS.get(command_id)
    try:
        if length != n:
            raise _Invalid(S.ESME_RINVCMDLEN, f"command_length {length}, frame has {n} octets")
        if decoder is None:
            raise _Invalid(S.ESME_RINVCMDID, f"unknown command_id 0x{command_id:08x}")
        return decoder(frame, n, status, seq)
    except _Invalid as exc:
        raise PduDecodeError(
            exc.status, exc.detail, command_id=command_id, sequence_number=seq
        ) from None
    except IndexError:
        # Fixed-size fields are read by index; frame length == command_length,
        # so running off the frame means the body is too short.
        raise PduDecodeError(
            S.ESME_RINVCMDLEN,
            "body ends inside the mandatory fields",
            command_id=command_id,
            sequence_number=seq,
        ) from None
    except PduDecodeError:
        raise
    except Exception as exc:  # a decoder bug must not kill the connection
        raise PduDecodeError(
            S.ESME_RSYSERR,
            f"internal decoder error: {exc!r}",
            command_id=command_id,
            sequence_number=seq,
        ) from exc


# --- encoding ------------------------------------------------------------------

_SHORT_MESSAGE_BODY = b"%b\0%c%c%b\0%c%c%b\0%c%c%c%b\0%b\0%c%c%c%c%c%b"
_DATA_SM_BODY = b"%b\0%c%c%b\0%c%c%b\0%c%c%c"


def _bad(pdu: Any, why: str) -> LocalProtocolError:
    return LocalProtocolError(f"cannot encode {type(pdu).__name__} #{pdu.sequence_number}: {why}")


def _cstring(pdu: Any, field: str, maximum: int) -> bytes:
    """A C-Octet String field's octets, checked (cold path: for the message)."""
    octets: bytes = getattr(pdu, field).encode("ascii")
    if len(octets) > maximum:
        raise _bad(pdu, f"{field} is {len(octets)} characters, at most {maximum}")
    if 0 in octets:
        raise _bad(pdu, f"{field} contains NUL")
    return octets


def _check_time(pdu: Any, field: str, must_be_null: bool) -> None:
    value = getattr(pdu, field)
    if not value:
        return
    if must_be_null:
        raise _bad(pdu, f"{field} must be empty in deliver_sm")
    if len(value) != 16 or not value.isascii() or not _time_ok(value):
        raise _bad(pdu, f"{field} {value!r} is not an SMPP time")


#: the 4 header octets of every TLV whose length the table allows, so the
#: usual TLV costs one dict lookup instead of a bounds check and a pack
_TLV_HEADS: dict[tuple[int, int], bytes] = {
    (tag, length): _TAG_LENGTH.pack(tag, length)
    for tag, (low, high) in _TLV_BOUNDS.items()
    for length in range(low, high + 1)
}


def _tlv_head(pdu: Any, tag: int, length: int, has_short_message: bool) -> bytes:
    """The TLV header for a tag with no precomputed one: check, then pack."""
    bounds = _TLV_BOUNDS.get(tag)
    if bounds is not None:
        raise _bad(pdu, f"TLV 0x{tag:04x} has length {length}, allowed {bounds[0]}..{bounds[1]}")
    if tag == _MESSAGE_PAYLOAD and has_short_message:
        raise _bad(pdu, "message_payload TLV together with short_message")
    return _TAG_LENGTH.pack(tag, length)


def _with_tlvs(pdu: Any, command_id: int, body: bytes, has_short_message: bool) -> bytes:
    """Header + body + the PDU's TLVs (in their order), joined once."""
    parts = [b"", body]
    append = parts.append
    size = 16 + len(body)
    heads = _TLV_HEADS
    for tag, value in pdu.tlvs:
        length = len(value)
        head = heads.get((tag, length))
        if head is None:
            head = _tlv_head(pdu, tag, length, has_short_message)
        append(head)
        append(value)
        size += 4 + length
    parts[0] = _HEADER.pack(size, command_id, pdu.command_status, pdu.sequence_number)
    return b"".join(parts)


#: submit_sm/deliver_sm body without service_type and times (the usual shape)
_USUAL_BODY = b"\0%c%c%b\0%c%c%b\0%c%c%c\0\0%c%c%c%c%c%b"


def _short_message_encoder(command_id: int, deliver: bool) -> Callable[[Any], bytes]:
    """An encoder for submit_sm / deliver_sm, mirroring the decoder's checks.

    As in decoding, ``encode_usual`` takes the common shape in as few calls
    as it can and passes anything else to ``encode_any``, which checks each
    field and raises for the one that cannot be sent.
    """

    def encode_usual(pdu: Any) -> bytes:
        source_addr = pdu.source_addr.encode("ascii")
        destination_addr = pdu.destination_addr.encode("ascii")
        short_message = pdu.short_message
        if (
            pdu.service_type or pdu.schedule_delivery_time or pdu.validity_period
            or len(source_addr) > 20 or len(destination_addr) > 20 or len(short_message) > 254
            or 0 in source_addr or 0 in destination_addr
        ):
            return encode_any(pdu)
        body = _USUAL_BODY % (
            pdu.source_addr_ton, pdu.source_addr_npi, source_addr,
            pdu.dest_addr_ton, pdu.dest_addr_npi, destination_addr,
            pdu.esm_class, pdu.protocol_id, pdu.priority_flag,
            pdu.registered_delivery, pdu.replace_if_present_flag, pdu.data_coding,
            pdu.sm_default_msg_id, len(short_message), short_message,
        )
        if pdu.tlvs:
            return _with_tlvs(pdu, command_id, body, bool(short_message))
        return _HEADER.pack(16 + len(body), command_id, pdu.command_status, pdu.sequence_number) + body

    def encode_any(pdu: Any) -> bytes:
        service_type = _cstring(pdu, "service_type", 5)
        source_addr = _cstring(pdu, "source_addr", 20)
        destination_addr = _cstring(pdu, "destination_addr", 20)
        short_message = pdu.short_message
        if len(short_message) > 254:
            raise _bad(pdu, f"short_message is {len(short_message)} octets, at most 254")
        _check_time(pdu, "schedule_delivery_time", deliver)
        _check_time(pdu, "validity_period", deliver)
        body = _SHORT_MESSAGE_BODY % (
            service_type, pdu.source_addr_ton, pdu.source_addr_npi, source_addr,
            pdu.dest_addr_ton, pdu.dest_addr_npi, destination_addr,
            pdu.esm_class, pdu.protocol_id, pdu.priority_flag,
            pdu.schedule_delivery_time.encode("ascii"), pdu.validity_period.encode("ascii"),
            pdu.registered_delivery, pdu.replace_if_present_flag, pdu.data_coding,
            pdu.sm_default_msg_id, len(short_message), short_message,
        )
        return _with_tlvs(pdu, command_id, body, bool(short_message))

    return encode_usual


def _encode_data_sm(pdu: DataSm) -> bytes:
    service_type = _cstring(pdu, "service_type", 5)
    source_addr = _cstring(pdu, "source_addr", 64)
    destination_addr = _cstring(pdu, "destination_addr", 64)
    body = _DATA_SM_BODY % (
        service_type, pdu.source_addr_ton, pdu.source_addr_npi, source_addr,
        pdu.dest_addr_ton, pdu.dest_addr_npi, destination_addr,
        pdu.esm_class, pdu.registered_delivery, pdu.data_coding,
    )
    return _with_tlvs(pdu, 0x00000103, body, False)


def _encode_submit_sm_resp(pdu: SubmitSmResp) -> bytes:
    message_id = pdu.message_id.encode("ascii")
    if len(message_id) > 64 or 0 in message_id:
        _cstring(pdu, "message_id", 64)
    return encode_submit_sm_resp(pdu.sequence_number, pdu.command_status, pdu.message_id)


def encode_submit_sm_resp(sequence_number: int, status: int, message_id: str) -> bytes:
    """A submit_sm_resp straight to bytes, for the hot path (one per
    message): ``message_id`` is one of ours, ASCII and short. No body when
    command_status is an error (SMPP 3.4 4.4.2)."""
    if status:
        return _HEADER.pack(16, 0x80000004, status, sequence_number)
    mid = message_id.encode("ascii")
    return _HEADER.pack(17 + len(mid), 0x80000004, 0, sequence_number) + mid + b"\0"


def _encode_deliver_sm_resp(pdu: DeliverSmResp) -> bytes:
    message_id = pdu.message_id.encode("ascii")
    if len(message_id) > 64 or 0 in message_id:
        _cstring(pdu, "message_id", 64)
    return (
        _HEADER.pack(17 + len(message_id), 0x80000005, pdu.command_status, pdu.sequence_number)
        + message_id + b"\0"
    )


def _encode_data_sm_resp(pdu: DataSmResp) -> bytes:
    return _with_tlvs(pdu, 0x80000103, _cstring(pdu, "message_id", 64) + b"\0", False)


def _encode_submit_multi(pdu: SubmitMulti) -> bytes:
    if not 1 <= len(pdu.dest_addresses) <= MAX_DESTS:
        raise _bad(pdu, f"{len(pdu.dest_addresses)} destinations, allowed 1..{MAX_DESTS}")
    parts = [
        _cstring(pdu, "service_type", 5), b"\0",
        bytes([pdu.source_addr_ton, pdu.source_addr_npi]), _cstring(pdu, "source_addr", 20), b"\0",
        bytes([len(pdu.dest_addresses)]),
    ]
    for flag, ton, npi, address in pdu.dest_addresses:
        octets = address.encode("ascii")
        if len(octets) > 20 or 0 in octets:
            raise _bad(pdu, f"dest_address {address!r} is not a C-Octet String of at most 20")
        if flag == 1:
            parts.append(bytes([1, ton, npi]) + octets + b"\0")
        elif flag == 2:
            parts.append(b"\2" + octets + b"\0")
        else:
            raise _bad(pdu, f"dest_flag {flag}")
    short_message = pdu.short_message
    if len(short_message) > 254:
        raise _bad(pdu, f"short_message is {len(short_message)} octets, at most 254")
    _check_time(pdu, "schedule_delivery_time", False)
    _check_time(pdu, "validity_period", False)
    parts.append(
        bytes([pdu.esm_class, pdu.protocol_id, pdu.priority_flag])
        + pdu.schedule_delivery_time.encode("ascii") + b"\0"
        + pdu.validity_period.encode("ascii") + b"\0"
        + bytes([pdu.registered_delivery, pdu.replace_if_present_flag, pdu.data_coding,
                 pdu.sm_default_msg_id, len(short_message)])
        + short_message
    )
    return _with_tlvs(pdu, 0x00000021, b"".join(parts), bool(short_message))


def _encode_submit_multi_resp(pdu: SubmitMultiResp) -> bytes:
    """Always with its body: with an error status the unsuccess_sme list is
    what tells the client which destination failed why."""
    if len(pdu.unsuccess_sme) > MAX_DESTS:
        raise _bad(pdu, f"{len(pdu.unsuccess_sme)} unsuccess_sme, at most {MAX_DESTS}")
    parts = [_cstring(pdu, "message_id", 64), b"\0", bytes([len(pdu.unsuccess_sme)])]
    for ton, npi, address, error in pdu.unsuccess_sme:
        octets = address.encode("ascii")
        if len(octets) > 20 or 0 in octets:
            raise _bad(pdu, f"unsuccess_sme address {address!r} is not a C-Octet String of at most 20")
        parts.append(bytes([ton, npi]) + octets + b"\0" + error.to_bytes(4, "big"))
    body = b"".join(parts)
    return _HEADER.pack(16 + len(body), 0x80000021, pdu.command_status, pdu.sequence_number) + body


def _encode_replace_sm(pdu: ReplaceSm) -> bytes:
    short_message = pdu.short_message
    if len(short_message) > 254:
        raise _bad(pdu, f"short_message is {len(short_message)} octets, at most 254")
    _check_time(pdu, "schedule_delivery_time", False)
    _check_time(pdu, "validity_period", False)
    body = (
        _cstring(pdu, "message_id", 64) + b"\0"
        + bytes([pdu.source_addr_ton, pdu.source_addr_npi]) + _cstring(pdu, "source_addr", 20) + b"\0"
        + pdu.schedule_delivery_time.encode("ascii") + b"\0"
        + pdu.validity_period.encode("ascii") + b"\0"
        + bytes([pdu.registered_delivery, pdu.sm_default_msg_id, len(short_message)])
        + short_message
    )
    return _HEADER.pack(16 + len(body), 0x00000007, pdu.command_status, pdu.sequence_number) + body


def _header_only_encoder(command_id: int) -> Callable[[Any], bytes]:
    pack = _HEADER.pack

    def encode_header_only(pdu: Any) -> bytes:
        return pack(16, command_id, pdu.command_status, pdu.sequence_number)

    return encode_header_only


_ENCODERS: dict[type, Callable[[Any], bytes]] = {
    SubmitSm: _short_message_encoder(0x00000004, deliver=False),
    DeliverSm: _short_message_encoder(0x00000005, deliver=True),
    DataSm: _encode_data_sm,
    SubmitSmResp: _encode_submit_sm_resp,
    DeliverSmResp: _encode_deliver_sm_resp,
    DataSmResp: _encode_data_sm_resp,
    SubmitMulti: _encode_submit_multi,
    SubmitMultiResp: _encode_submit_multi_resp,
    ReplaceSm: _encode_replace_sm,
    ReplaceSmResp: _header_only_encoder(0x80000007),
    EnquireLink: _header_only_encoder(0x00000015),
    EnquireLinkResp: _header_only_encoder(0x80000015),
    Unbind: _header_only_encoder(0x00000006),
    UnbindResp: _header_only_encoder(0x80000006),
    GenericNack: _header_only_encoder(0x80000000),
}


def encode(pdu: Pdu) -> bytes:
    """The wire bytes of a PDU record; ``LocalProtocolError`` if it cannot be sent."""
    encoder = _ENCODERS.get(type(pdu))
    if encoder is None:
        return foreign.encode(pdu)
    try:
        return encoder(pdu)
    except LocalProtocolError:
        raise
    except (ValueError, TypeError, OverflowError, AttributeError, struct.error) as exc:
        # UnicodeEncodeError (a ValueError): non-ASCII text; OverflowError /
        # struct.error: an integer field outside its octets; TypeError: str
        # where bytes belong or the reverse.
        raise _bad(pdu, repr(exc)) from exc


def encode_generic_nack(sequence_number: int, status: int) -> bytes:
    """generic_nack bytes, for answers to frames that never became a PDU."""
    return _HEADER.pack(16, 0x80000000, status, sequence_number)
