"""Messages that do not arrive as submit_sm: the HTTP API and campaigns.

They carry a sender, a destination and a Python text; ``submit_sm_of``
turns them into the SubmitSm an ESME would have sent, so they pass through
``Engine.submit`` and its rules, billing and receipts exactly like SMPP
traffic (one code path). ``submit`` wraps the engine's callback in a
Deferred: these front doors are not the hot path.
"""
from __future__ import annotations

from twisted.internet.defer import Deferred

from .accounts.live import LiveAccount
from .engine import Engine, relative_validity
from .pdu.constants import CommandStatus, Tag
from .pdu.errors import SmppError
from .pdu.pdus import SubmitSm
from .pdu.text import encode

#: short_message holds at most 254 octets; a longer body goes in message_payload
_SHORT_MESSAGE_MAX = 254
#: TON/NPI of a sender: alphanumeric (5/0) or international number (1/1)
_ALPHA = (5, 0)
_NUMERIC = (1, 1)
UCS2 = 8


def submit_sm_of(
    sender: str, to: str, text: str, *, registered_delivery: int = 0, validity_seconds: int = 0
) -> SubmitSm:
    """The submit_sm an ESME would send for ``text`` from ``sender`` to ``to``
    (``+380…``, ``380…``, ``0XX…`` as in submit_sm with dest_addr_ton 0:
    the engine normalises and routes it). A numeric sender is an international number,
    anything else an alpha-name. ``validity_seconds`` > 0 becomes a relative
    validity_period.

    The text goes as UCS-2 (data_coding 8), whatever it holds: what
    data_coding 0 means depends on ``[messages] default_alphabet``, and the
    engine takes the network encoding from the characters anyway (a UCS-2
    "hello" is sent and billed as GSM 7-bit)."""
    body, data_coding = encode(text, UCS2), UCS2
    ton, npi = _NUMERIC if sender.lstrip("+").isdigit() else _ALPHA
    long_body = len(body) > _SHORT_MESSAGE_MAX
    return SubmitSm(
        sequence_number=0, source_addr_ton=ton, source_addr_npi=npi,
        source_addr=sender.lstrip("+") if ton == 1 else sender,
        dest_addr_ton=0, dest_addr_npi=1, destination_addr=to,
        registered_delivery=registered_delivery, data_coding=data_coding,
        validity_period=relative_validity(validity_seconds),
        short_message=b"" if long_body else body,
        tlvs=((int(Tag.MESSAGE_PAYLOAD), body),) if long_body else (),
    )


def submit(engine: Engine, live: LiveAccount, pdu: SubmitSm) -> "Deferred[str]":
    """``engine.submit`` as a Deferred: fires with the message id once the
    message and its charge are committed, or fails with the SmppError whose
    status names the refusal."""
    d: Deferred = Deferred()

    def reply(_: SubmitSm, status: int, message_id: str) -> None:
        if status == CommandStatus.ESME_ROK:
            d.callback(message_id)
        else:
            d.errback(SmppError(status, _reason(status)))

    engine.submit(live, pdu, reply)
    return d


def _reason(status: int) -> str:
    try:
        return CommandStatus(status).name
    except ValueError:
        return f"status 0x{status:08x}"
