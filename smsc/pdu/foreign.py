"""The PDUs off the hot path, read and written by smpp.pdu.

Binds, outbind, query_sm, cancel_sm and the commands we do not implement are
rare, so they can afford smpp.pdu's ~40 us a PDU and we need not own their
codecs.
This module is the one place that knows smpp.pdu's ways and keeps them out
of the rest of smsc (DESIGN "smpp.pdu quirks"):

* its enums' ``.value`` is not the wire value: every conversion goes through
  its ``constants`` name maps;
* it raises ``KeyError`` (submit_multi, submit_multi_resp and replace_sm have
  no encoder for number_of_dests / no_unsuccess / sm_length, so even a
  well-formed one fails; ``codec`` reads submit_multi itself) and may raise other plain exceptions: every
  exception becomes ``PduDecodeError``;
* it prints to stdout while parsing time strings: silenced;
* it reads padding after the last field without complaint: we check that
  the body was consumed exactly;
* it takes a file-like object.

Statuses: a ``PDUParseError`` keeps its status (mapped by name; one we do not
know becomes ESME_RUNKNOWNERR). A ``PDUCorruptError`` (a read ran out of
body, which smpp.pdu calls ESME_RINVMSGLEN, or ESME_RINVOPTPARAMVAL inside a
TLV) becomes ESME_RINVCMDLEN, or ESME_RINVOPTPARSTREAM inside a TLV, so the
same fault gets the same status whichever codec reads it. ``KeyError`` means
smpp.pdu cannot parse that command at all: ESME_RINVCMDID, "not supported".
Any other exception: ESME_RUNKNOWNERR. A non-ASCII C-Octet String gets its
field's status (system_id ESME_RINVSYSID, password ESME_RINVPASWD,
system_type ESME_RINVSYSTYP, address_range ESME_RBINDFAIL, message_id
ESME_RINVMSGID, service_type ESME_RINVSERTYP, source_addr ESME_RINVSRCADR,
destination_addr ESME_RINVDSTADR, else ESME_RINVPARLEN).

The header is always ours: decode is handed the values ``codec`` read, and
encode writes it with struct, so smpp.pdu's header rules (sequence_number
>= 1, named statuses only) never apply.

Not thread-safe: one shared smpp.pdu encoder (building one costs ~140 us;
its only state, OptionEncoder.length, is scratch within one call) and
``redirect_stdout``, which swaps the process-wide ``sys.stdout``. Call it
from the reactor thread.
"""
from __future__ import annotations

import contextlib
import io
import struct
from collections.abc import Callable
from typing import Any

from smpp.pdu import constants as smpp_constants
from smpp.pdu import operations, pdu_types, smpp_time
from smpp.pdu.error import PDUCorruptError, PDUParseError
from smpp.pdu.pdu_encoding import PDUEncoder

from .constants import CommandId, CommandStatus
from .errors import LocalProtocolError, PduDecodeError
from .pdus import (
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    CancelSm,
    CancelSmResp,
    Outbind,
    Pdu,
    QuerySm,
    QuerySmResp,
    UnsupportedPdu,
)

C = CommandId
S = CommandStatus

#: command_ids this module decodes; ``codec`` owns the rest of the known ones
COMMANDS: frozenset[CommandId] = frozenset({
    C.BIND_RECEIVER, C.BIND_RECEIVER_RESP,
    C.BIND_TRANSMITTER, C.BIND_TRANSMITTER_RESP,
    C.BIND_TRANSCEIVER, C.BIND_TRANSCEIVER_RESP,
    C.OUTBIND,
    C.QUERY_SM, C.QUERY_SM_RESP,
    C.CANCEL_SM, C.CANCEL_SM_RESP,
    C.ALERT_NOTIFICATION,
})

#: commands whose PDU is only its header; UnsupportedPdu of these may be encoded
_BODYLESS: frozenset[CommandId] = frozenset({
    C.GENERIC_NACK, C.UNBIND, C.UNBIND_RESP, C.ENQUIRE_LINK, C.ENQUIRE_LINK_RESP,
    C.REPLACE_SM_RESP, C.CANCEL_SM_RESP,
})

_FIELD_STATUS: dict[str, CommandStatus] = {
    "system_id": S.ESME_RINVSYSID,
    "password": S.ESME_RINVPASWD,
    "system_type": S.ESME_RINVSYSTYP,
    "address_range": S.ESME_RBINDFAIL,
    "message_id": S.ESME_RINVMSGID,
    "service_type": S.ESME_RINVSERTYP,
    "source_addr": S.ESME_RINVSRCADR,
    "destination_addr": S.ESME_RINVDSTADR,
}

_HEADER = struct.Struct(">IIII")
_ENCODER = PDUEncoder()
_SMPP_OK = pdu_types.CommandStatus.ESME_ROK
#: any non-OK status: it only tells smpp.pdu to drop an error response's body
_SMPP_NOT_OK = pdu_types.CommandStatus.ESME_RSYSERR


class _Fault(Exception):
    """A body fault; ``decode`` adds the header and raises PduDecodeError."""

    def __init__(self, status: CommandStatus, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


# --- decoding ------------------------------------------------------------------


def _smpp_class(command_id: int) -> Any:
    name = smpp_constants.command_id_value_map[command_id]
    return operations.getPDUClass(getattr(pdu_types.CommandId, name))


def _status_from_smpp(smpp_status: Any) -> CommandStatus:
    return S.__members__.get(getattr(smpp_status, "name", ""), S.ESME_RUNKNOWNERR)


def _text(params: dict[str, Any], field: str) -> str:
    value = params.get(field)
    if not value:
        return ""
    try:
        text: str = value.decode("ascii")
    except UnicodeDecodeError:
        raise _Fault(_FIELD_STATUS.get(field, S.ESME_RINVPARLEN), f"{field} is not ASCII") from None
    return text


def _wire(value: Any, name_map: dict[str, int]) -> int:
    """The wire integer of a smpp.pdu enum member (its .value is not it)."""
    return name_map[value.name]


def _ton(value: Any) -> int:
    return _wire(value, smpp_constants.addr_ton_name_map)


def _npi(value: Any) -> int:
    return _wire(value, smpp_constants.addr_npi_name_map)


def _raw_cstring_after_message_id(frame: bytes) -> str:
    """query_sm_resp final_date as sent: smpp.pdu only hands back a datetime."""
    start = frame.index(0, 16) + 1
    value = frame[start:frame.index(0, start)]
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        raise _Fault(S.ESME_RINVPARLEN, "final_date is not ASCII") from None


def _bind(cls: Callable[..., Pdu]) -> Callable[..., Pdu]:
    def convert(p: dict[str, Any], frame: bytes, status: int, seq: int) -> Pdu:
        return cls(
            sequence_number=seq,
            command_status=status,
            system_id=_text(p, "system_id"),
            password=_text(p, "password"),
            system_type=_text(p, "system_type"),
            interface_version=p["interface_version"],
            addr_ton=_ton(p["addr_ton"]),
            addr_npi=_npi(p["addr_npi"]),
            address_range=_text(p, "address_range"),
        )

    return convert


def _bind_resp(cls: Callable[..., Pdu]) -> Callable[..., Pdu]:
    def convert(p: dict[str, Any], frame: bytes, status: int, seq: int) -> Pdu:
        return cls(
            sequence_number=seq,
            command_status=status,
            system_id=_text(p, "system_id"),
            sc_interface_version=p.get("sc_interface_version"),
        )

    return convert


def _outbind(p: dict[str, Any], frame: bytes, status: int, seq: int) -> Pdu:
    return Outbind(
        sequence_number=seq,
        command_status=status,
        system_id=_text(p, "system_id"),
        password=_text(p, "password"),
    )


def _query_sm(p: dict[str, Any], frame: bytes, status: int, seq: int) -> Pdu:
    return QuerySm(
        sequence_number=seq,
        command_status=status,
        message_id=_text(p, "message_id"),
        source_addr_ton=_ton(p["source_addr_ton"]),
        source_addr_npi=_npi(p["source_addr_npi"]),
        source_addr=_text(p, "source_addr"),
    )


def _query_sm_resp(p: dict[str, Any], frame: bytes, status: int, seq: int) -> Pdu:
    return QuerySmResp(
        sequence_number=seq,
        command_status=status,
        message_id=_text(p, "message_id"),
        final_date=_raw_cstring_after_message_id(frame),
        message_state=_wire(p["message_state"], smpp_constants.message_state_name_map),
        error_code=p["error_code"] or 0,
    )


def _cancel_sm(p: dict[str, Any], frame: bytes, status: int, seq: int) -> Pdu:
    return CancelSm(
        sequence_number=seq,
        command_status=status,
        service_type=_text(p, "service_type"),
        message_id=_text(p, "message_id"),
        source_addr_ton=_ton(p["source_addr_ton"]),
        source_addr_npi=_npi(p["source_addr_npi"]),
        source_addr=_text(p, "source_addr"),
        dest_addr_ton=_ton(p["dest_addr_ton"]),
        dest_addr_npi=_npi(p["dest_addr_npi"]),
        destination_addr=_text(p, "destination_addr"),
    )


def _cancel_sm_resp(p: dict[str, Any], frame: bytes, status: int, seq: int) -> Pdu:
    return CancelSmResp(sequence_number=seq, command_status=status)


def _unsupported(command_id: CommandId) -> Callable[..., Pdu]:
    def convert(p: dict[str, Any], frame: bytes, status: int, seq: int) -> Pdu:
        return UnsupportedPdu(command_id=command_id, sequence_number=seq, command_status=status)

    return convert


_FROM_SMPP: dict[int, Callable[[dict[str, Any], bytes, int, int], Pdu]] = {
    C.BIND_TRANSMITTER: _bind(BindTransmitter),
    C.BIND_RECEIVER: _bind(BindReceiver),
    C.BIND_TRANSCEIVER: _bind(BindTransceiver),
    C.BIND_TRANSMITTER_RESP: _bind_resp(BindTransmitterResp),
    C.BIND_RECEIVER_RESP: _bind_resp(BindReceiverResp),
    C.BIND_TRANSCEIVER_RESP: _bind_resp(BindTransceiverResp),
    C.OUTBIND: _outbind,
    C.QUERY_SM: _query_sm,
    C.QUERY_SM_RESP: _query_sm_resp,
    C.CANCEL_SM: _cancel_sm,
    C.CANCEL_SM_RESP: _cancel_sm_resp,
}
for _command_id in COMMANDS - _FROM_SMPP.keys():
    _FROM_SMPP[_command_id] = _unsupported(_command_id)
del _command_id


def _parse_body(frame: bytes, command_id: int, status: int, seq: int) -> Pdu:
    klass = _smpp_class(command_id)
    pdu = klass(seq, _SMPP_OK if status == 0 else _SMPP_NOT_OK)
    stream = io.BytesIO(frame)
    stream.seek(16)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            _ENCODER.decodeBody(stream, pdu, len(frame) - 16)
    except PDUCorruptError as exc:
        # a read ran out of body; smpp.pdu relabels it inside a TLV
        inside_tlv = _status_from_smpp(exc.status) == S.ESME_RINVOPTPARAMVAL
        raise _Fault(
            S.ESME_RINVOPTPARSTREAM if inside_tlv else S.ESME_RINVCMDLEN, f"smpp.pdu: {exc}"
        ) from exc
    except PDUParseError as exc:
        raise _Fault(_status_from_smpp(exc.status), f"smpp.pdu: {exc}") from exc
    except KeyError as exc:
        raise _Fault(
            S.ESME_RINVCMDID, f"smpp.pdu cannot decode {klass.__name__} (no encoder for {exc})"
        ) from exc
    except Exception as exc:
        raise _Fault(S.ESME_RUNKNOWNERR, f"smpp.pdu: {exc!r}") from exc
    body_skipped = getattr(klass, "noBodyOnError", False) and status != 0
    if not body_skipped and stream.tell() != len(frame):
        raise _Fault(S.ESME_RINVCMDLEN, f"{len(frame) - stream.tell()} octets after the last field")
    return _FROM_SMPP[command_id](pdu.params, frame, status, seq)


def decode(frame: bytes, command_id: int, command_status: int, sequence_number: int) -> Pdu:
    """The record for a frame whose header ``codec`` already read.

    Raises ``PduDecodeError`` and nothing else.
    """
    try:
        return _parse_body(frame, command_id, command_status, sequence_number)
    except _Fault as fault:
        raise PduDecodeError(
            fault.status, fault.detail, command_id=command_id, sequence_number=sequence_number
        ) from fault.__cause__
    except Exception as exc:  # a conversion bug must not kill the connection
        raise PduDecodeError(
            S.ESME_RSYSERR,
            f"internal error converting smpp.pdu's result: {exc!r}",
            command_id=command_id,
            sequence_number=sequence_number,
        ) from exc


# --- encoding ------------------------------------------------------------------


def _ascii(value: str, field: str) -> bytes:
    octets = value.encode("ascii")
    if 0 in octets:
        raise LocalProtocolError(f"{field} contains NUL")
    return octets


def _smpp_enum(enum_cls: Any, value_map: dict[int, str], value: int, field: str) -> Any:
    try:
        return getattr(enum_cls, value_map[value])
    except KeyError:
        raise LocalProtocolError(f"{field} {value} is not a value smpp.pdu can encode") from None


def _ton_enum(value: int, field: str) -> Any:
    return _smpp_enum(pdu_types.AddrTon, smpp_constants.addr_ton_value_map, value, field)


def _npi_enum(value: int, field: str) -> Any:
    return _smpp_enum(pdu_types.AddrNpi, smpp_constants.addr_npi_value_map, value, field)


def _smpp_body(pdu: Any, **params: Any) -> bytes:
    """The body smpp.pdu writes for ``pdu``'s command with these params."""
    klass = _smpp_class(int(pdu.command_id))
    smpp_pdu = klass(1, _SMPP_OK if pdu.command_status == 0 else _SMPP_NOT_OK, **params)
    with contextlib.redirect_stdout(io.StringIO()):
        body: bytes = _ENCODER.encodeBody(smpp_pdu)
    return body


def _bind_body(pdu: Any) -> bytes:
    return _smpp_body(
        pdu,
        system_id=_ascii(pdu.system_id, "system_id"),
        password=_ascii(pdu.password, "password"),
        system_type=_ascii(pdu.system_type, "system_type"),
        interface_version=pdu.interface_version,
        addr_ton=_ton_enum(pdu.addr_ton, "addr_ton"),
        addr_npi=_npi_enum(pdu.addr_npi, "addr_npi"),
        address_range=_ascii(pdu.address_range, "address_range"),
    )


def _bind_resp_body(pdu: Any) -> bytes:
    params: dict[str, Any] = {"system_id": _ascii(pdu.system_id, "system_id")}
    if pdu.sc_interface_version is not None:
        params["sc_interface_version"] = pdu.sc_interface_version
    return _smpp_body(pdu, **params)


def _outbind_body(pdu: Outbind) -> bytes:
    return _smpp_body(
        pdu, system_id=_ascii(pdu.system_id, "system_id"), password=_ascii(pdu.password, "password")
    )


def _query_sm_body(pdu: QuerySm) -> bytes:
    return _smpp_body(
        pdu,
        message_id=_ascii(pdu.message_id, "message_id"),
        source_addr_ton=_ton_enum(pdu.source_addr_ton, "source_addr_ton"),
        source_addr_npi=_npi_enum(pdu.source_addr_npi, "source_addr_npi"),
        source_addr=_ascii(pdu.source_addr, "source_addr"),
    )


def _query_sm_resp_body(pdu: QuerySmResp) -> bytes:
    """final_date must be an SMPP time string or empty; message_state a real state."""
    with contextlib.redirect_stdout(io.StringIO()):
        final_date = smpp_time.parse(pdu.final_date) if pdu.final_date else None
    return _smpp_body(
        pdu,
        message_id=_ascii(pdu.message_id, "message_id"),
        final_date=final_date,
        message_state=_smpp_enum(
            pdu_types.MessageState, smpp_constants.message_state_value_map,
            pdu.message_state, "message_state",
        ),
        error_code=pdu.error_code,
    )


def _cancel_sm_body(pdu: CancelSm) -> bytes:
    return _smpp_body(
        pdu,
        service_type=_ascii(pdu.service_type, "service_type"),
        message_id=_ascii(pdu.message_id, "message_id"),
        source_addr_ton=_ton_enum(pdu.source_addr_ton, "source_addr_ton"),
        source_addr_npi=_npi_enum(pdu.source_addr_npi, "source_addr_npi"),
        source_addr=_ascii(pdu.source_addr, "source_addr"),
        dest_addr_ton=_ton_enum(pdu.dest_addr_ton, "dest_addr_ton"),
        dest_addr_npi=_npi_enum(pdu.dest_addr_npi, "dest_addr_npi"),
        destination_addr=_ascii(pdu.destination_addr, "destination_addr"),
    )


def _cancel_sm_resp_body(pdu: CancelSmResp) -> bytes:
    return _smpp_body(pdu)


def _unsupported_body(pdu: UnsupportedPdu) -> bytes:
    """Header only: right for body-less commands and for error responses."""
    command_id = CommandId(pdu.command_id)
    if command_id in _BODYLESS or (command_id.is_response and pdu.command_status != 0):
        return b""
    raise LocalProtocolError(
        f"UnsupportedPdu {command_id.name} needs a body; only body-less commands "
        "and error responses can be sent this way"
    )


_TO_SMPP: dict[type, Callable[[Any], bytes]] = {
    BindTransmitter: _bind_body,
    BindReceiver: _bind_body,
    BindTransceiver: _bind_body,
    BindTransmitterResp: _bind_resp_body,
    BindReceiverResp: _bind_resp_body,
    BindTransceiverResp: _bind_resp_body,
    Outbind: _outbind_body,
    QuerySm: _query_sm_body,
    QuerySmResp: _query_sm_resp_body,
    CancelSm: _cancel_sm_body,
    CancelSmResp: _cancel_sm_resp_body,
    UnsupportedPdu: _unsupported_body,
}


def encode(pdu: Pdu) -> bytes:
    """Wire bytes of a record ``codec`` does not encode itself.

    Raises ``LocalProtocolError`` if the record cannot be sent (a value
    smpp.pdu refuses, non-ASCII text, an unknown record type).
    """
    body_of = _TO_SMPP.get(type(pdu))
    if body_of is None:
        raise LocalProtocolError(f"no encoder for {type(pdu).__name__}")
    try:
        body = body_of(pdu)
        return _HEADER.pack(
            16 + len(body), int(pdu.command_id), pdu.command_status, pdu.sequence_number
        ) + body
    except LocalProtocolError:
        raise
    except Exception as exc:
        raise LocalProtocolError(
            f"cannot encode {type(pdu).__name__} #{getattr(pdu, 'sequence_number', '?')}: {exc!r}"
        ) from exc
