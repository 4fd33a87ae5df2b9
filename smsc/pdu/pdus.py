"""SMPP 3.4 PDUs as frozen, slotted, keyword-only records.

One class per command; field names are the spec's. Strings are ``str``
(C-Octet Strings are ASCII on the wire), message bodies ``bytes``. Optional
parameters travel as ``tlvs``: ``(tag, value)`` pairs in wire order, values as
raw bytes, so nothing a client sent is lost or reinterpreted on the way.
``command_status`` is 0 on requests and the answer on responses.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from .constants import CommandId, MessageState

Tlvs = tuple[tuple[int, bytes], ...]


def tlv_value(tlvs: Tlvs, tag: int) -> bytes | None:
    """The value of the first TLV with ``tag``, or None."""
    for t, v in tlvs:
        if t == tag:
            return v
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericNack:
    command_id: ClassVar[CommandId] = CommandId.GENERIC_NACK
    sequence_number: int
    command_status: int = 0


# --- binds -----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Bind:
    sequence_number: int
    system_id: str
    password: str
    system_type: str = ""
    interface_version: int = 0x34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""
    command_status: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitter(_Bind):
    command_id: ClassVar[CommandId] = CommandId.BIND_TRANSMITTER


@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiver(_Bind):
    command_id: ClassVar[CommandId] = CommandId.BIND_RECEIVER


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiver(_Bind):
    command_id: ClassVar[CommandId] = CommandId.BIND_TRANSCEIVER


@dataclass(frozen=True, slots=True, kw_only=True)
class _BindResp:
    sequence_number: int
    command_status: int = 0
    system_id: str = ""
    #: None: no sc_interface_version TLV
    sc_interface_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitterResp(_BindResp):
    command_id: ClassVar[CommandId] = CommandId.BIND_TRANSMITTER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiverResp(_BindResp):
    command_id: ClassVar[CommandId] = CommandId.BIND_RECEIVER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiverResp(_BindResp):
    command_id: ClassVar[CommandId] = CommandId.BIND_TRANSCEIVER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class Outbind:
    command_id: ClassVar[CommandId] = CommandId.OUTBIND
    sequence_number: int
    system_id: str
    password: str
    command_status: int = 0


# --- session ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Unbind:
    command_id: ClassVar[CommandId] = CommandId.UNBIND
    sequence_number: int
    command_status: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class UnbindResp:
    command_id: ClassVar[CommandId] = CommandId.UNBIND_RESP
    sequence_number: int
    command_status: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLink:
    command_id: ClassVar[CommandId] = CommandId.ENQUIRE_LINK
    sequence_number: int
    command_status: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLinkResp:
    command_id: ClassVar[CommandId] = CommandId.ENQUIRE_LINK_RESP
    sequence_number: int
    command_status: int = 0


# --- messages --------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _ShortMessage:
    """The body shared by submit_sm and deliver_sm (SMPP 3.4 4.4.1 / 4.6.1)."""

    sequence_number: int
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: Tlvs = ()
    command_status: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSm(_ShortMessage):
    command_id: ClassVar[CommandId] = CommandId.SUBMIT_SM


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSm(_ShortMessage):
    command_id: ClassVar[CommandId] = CommandId.DELIVER_SM


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSmResp:
    """Body (message_id) only when command_status is ESME_ROK (4.4.2)."""

    command_id: ClassVar[CommandId] = CommandId.SUBMIT_SM_RESP
    sequence_number: int
    command_status: int = 0
    message_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSmResp:
    """message_id is unused and always empty (4.6.2)."""

    command_id: ClassVar[CommandId] = CommandId.DELIVER_SM_RESP
    sequence_number: int
    command_status: int = 0
    message_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSm:
    command_id: ClassVar[CommandId] = CommandId.DATA_SM
    sequence_number: int
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0
    tlvs: Tlvs = ()
    command_status: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSmResp:
    command_id: ClassVar[CommandId] = CommandId.DATA_SM_RESP
    sequence_number: int
    command_status: int = 0
    message_id: str = ""
    tlvs: Tlvs = ()


#: dest_flag values of a submit_multi dest_address (SMPP 3.4 5.2.25)
DEST_FLAG_SME = 1
DEST_FLAG_DL = 2


class DestAddress(NamedTuple):
    """One dest_address of a submit_multi (SMPP 3.4 4.5.1.1): an SME
    address (dest_flag 1) or a distribution list name (dest_flag 2, ton and
    npi 0: a list name has none)."""

    dest_flag: int
    dest_addr_ton: int
    dest_addr_npi: int
    #: destination_addr, or dl_name for dest_flag 2
    address: str


class UnsuccessSme(NamedTuple):
    """One unsuccess_sme of a submit_multi_resp (SMPP 3.4 4.5.2.1)."""

    dest_addr_ton: int
    dest_addr_npi: int
    destination_addr: str
    error_status_code: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitMulti:
    """submit_multi (SMPP 3.4 4.5.1): submit_sm's fields with 1-254
    destinations instead of one."""

    command_id: ClassVar[CommandId] = CommandId.SUBMIT_MULTI
    sequence_number: int
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addresses: tuple[DestAddress, ...] = ()
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: Tlvs = ()
    command_status: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitMultiResp:
    """message_id, then the destinations that were refused (4.5.2). The body
    is always sent, also with an error status: it says which failed why."""

    command_id: ClassVar[CommandId] = CommandId.SUBMIT_MULTI_RESP
    sequence_number: int
    command_status: int = 0
    message_id: str = ""
    unsuccess_sme: tuple[UnsuccessSme, ...] = ()


# --- ancillary operations (decoded through smpp.pdu) ------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySm:
    command_id: ClassVar[CommandId] = CommandId.QUERY_SM
    sequence_number: int
    message_id: str
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    command_status: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySmResp:
    command_id: ClassVar[CommandId] = CommandId.QUERY_SM_RESP
    sequence_number: int
    command_status: int = 0
    message_id: str = ""
    final_date: str = ""
    #: 0 is no state at all; an error response still needs one on the wire
    message_state: int = MessageState.UNKNOWN
    error_code: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelSm:
    command_id: ClassVar[CommandId] = CommandId.CANCEL_SM
    sequence_number: int
    service_type: str = ""
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    command_status: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelSmResp:
    command_id: ClassVar[CommandId] = CommandId.CANCEL_SM_RESP
    sequence_number: int
    command_status: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceSm:
    """replace_sm (SMPP 3.4 4.10.1): new text, times and registered_delivery
    for a message not yet delivered. No TLVs in 3.4; no data_coding (the
    message keeps its own)."""

    command_id: ClassVar[CommandId] = CommandId.REPLACE_SM
    sequence_number: int
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    command_status: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceSmResp:
    """Header only (4.10.2)."""

    command_id: ClassVar[CommandId] = CommandId.REPLACE_SM_RESP
    sequence_number: int
    command_status: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class UnsupportedPdu:
    """A well-formed PDU of a known command this server does not implement yet
    (alert_notification, and the responses to
    requests we never send). The session answers it, it never reaches the
    engine."""

    command_id: CommandId
    sequence_number: int
    command_status: int = 0


Pdu = (
    GenericNack
    | BindTransmitter | BindReceiver | BindTransceiver
    | BindTransmitterResp | BindReceiverResp | BindTransceiverResp
    | Outbind | Unbind | UnbindResp | EnquireLink | EnquireLinkResp
    | SubmitSm | SubmitSmResp | DeliverSm | DeliverSmResp | DataSm | DataSmResp
    | SubmitMulti | SubmitMultiResp | QuerySm | QuerySmResp | CancelSm | CancelSmResp
    | ReplaceSm | ReplaceSmResp | UnsupportedPdu
)

BIND_REQUESTS = (BindTransmitter, BindReceiver, BindTransceiver)
