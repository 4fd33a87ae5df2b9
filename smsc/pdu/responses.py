"""The response PDU that answers a request with a given status.

Used wherever a request is refused before it reaches its handler (bad
body, wrong bind state): one place maps a request to its ``*_resp``.
"""
from __future__ import annotations

from collections.abc import Callable

from .constants import CommandId as C
from .pdus import (
    BindReceiverResp, BindTransceiverResp, BindTransmitterResp, CancelSmResp,
    DataSmResp, DeliverSmResp, EnquireLinkResp, GenericNack, Pdu, QuerySmResp, ReplaceSmResp,
    SubmitMultiResp, SubmitSmResp, UnbindResp,
)

_RESPONSE_CLASS: dict[int, Callable[..., Pdu]] = {
    C.BIND_TRANSMITTER: BindTransmitterResp,
    C.BIND_RECEIVER: BindReceiverResp,
    C.BIND_TRANSCEIVER: BindTransceiverResp,
    C.SUBMIT_SM: SubmitSmResp,
    C.DELIVER_SM: DeliverSmResp,
    C.DATA_SM: DataSmResp,
    C.SUBMIT_MULTI: SubmitMultiResp,
    C.QUERY_SM: QuerySmResp,
    C.CANCEL_SM: CancelSmResp,
    C.REPLACE_SM: ReplaceSmResp,
    C.UNBIND: UnbindResp,
    C.ENQUIRE_LINK: EnquireLinkResp,
}


def error_response(command_id: int, sequence_number: int, status: int) -> Pdu:
    """``command_id``'s response with ``status``; generic_nack when it has
    none we model or it is no request at all."""
    cls = _RESPONSE_CLASS.get(command_id)
    if cls is None:
        return GenericNack(sequence_number=sequence_number, command_status=status)
    return cls(sequence_number=sequence_number, command_status=status)
