"""Errors of the SMPP layer.

h11's split: ``SmppError`` means the peer sent something wrong and carries
the status that tells it so; ``LocalProtocolError`` means our own code tried
something the protocol forbids, and never goes on the wire.
"""
from __future__ import annotations

from .constants import CommandStatus


class SmppError(Exception):
    """The peer is at fault; ``status`` is what we answer."""

    def __init__(self, status: CommandStatus | int, detail: str = "") -> None:
        """``status`` an int only for a vendor code outside SMPP 3.4's table
        (``[billing] insufficient_funds_status`` may be 0x400-0x4FF)."""
        detail = detail or status_name(status)
        super().__init__(detail)
        self.status = status
        self.detail = detail


def status_name(status: int) -> str:
    """``ESME_…`` for a status of the table, else ``0x%08x`` (a vendor code)."""
    try:
        return CommandStatus(status).name
    except ValueError:
        return f"0x{status:08x}"


class PduDecodeError(SmppError):
    """A frame could not be decoded into a PDU.

    ``command_id`` and ``sequence_number`` are what the header said (the
    header is always readable once a frame exists), so the session can answer
    a broken request with its own ``*_resp`` rather than a generic_nack.
    """

    def __init__(
        self,
        status: CommandStatus,
        detail: str,
        *,
        command_id: int,
        sequence_number: int,
    ) -> None:
        super().__init__(status, detail)
        self.command_id = command_id
        self.sequence_number = sequence_number


class FramingError(SmppError):
    """The byte stream can no longer be cut into PDUs: the link must close."""


class LocalProtocolError(Exception):
    """Our side tried to do something the SMPP state machine forbids."""
