"""Cut an SMPP byte stream into whole PDUs.

SMPP frames itself with ``command_length``, a 4-octet big-endian count that
includes its own four octets (SMPP 3.4 section 3.2), so Twisted's
``Int32StringReceiver`` (which excludes them) does not fit. A
``command_length`` below the 16-octet header or above our cap means framing
is lost for good: nothing after it can be trusted, so the caller answers
``generic_nack(ESME_RINVCMDLEN)`` and closes (STYLE B2).

Under load one TCP read carries many PDUs, so the common case walks the
received ``bytes`` with an offset and slices each frame out exactly once;
only a frame split across reads is parked in a ``bytearray``.
"""
from __future__ import annotations

import struct

from .constants import CommandStatus
from .errors import FramingError

#: The largest PDU we accept, header included. A data_sm can carry a 64 KiB
#: message_payload in principle; anything past this is a broken or hostile
#: peer, and buffering it would only cost memory.
MAX_PDU_LENGTH = 65536

HEADER_LENGTH = 16

_LENGTH = struct.Struct(">I")


class Framer:
    """Incremental PDU framer: ``feed(bytes) -> list of whole frames``.

    Each returned frame is the complete PDU (header included) as ``bytes``,
    ready for ``codec.decode``. The framer never looks past
    ``command_length``; what the PDU means is the codec's business.

    Once a ``FramingError`` is raised the framer stays broken and raises it
    again on every later ``feed``: the stream cannot be resynchronised.
    Frames that preceded the bad header in the same ``feed`` are dropped
    with it; they were never acknowledged, so the peer resends them.
    """

    __slots__ = ("_max", "_pending", "_need", "_error")

    def __init__(self, max_pdu_length: int = MAX_PDU_LENGTH) -> None:
        if max_pdu_length < HEADER_LENGTH:
            raise ValueError(f"max_pdu_length must be >= {HEADER_LENGTH}")
        self._max = max_pdu_length
        #: bytes of a frame split across reads (empty: nothing pending)
        self._pending = bytearray()
        #: how many bytes ``_pending`` must hold before cutting is worth
        #: trying: the frame's command_length once known, else 4
        self._need = 4
        self._error: FramingError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a frame."""
        return len(self._pending)

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every frame they complete, in order."""
        if self._error is not None:
            raise self._error
        if type(data) is not bytes:
            data = bytes(data)
        pending = self._pending
        if pending:
            pending += data
            if len(pending) < self._need:
                # A frame trickling in: appending is amortised O(1), and we
                # do not re-scan until it can be complete.
                return []
            data = bytes(pending)
            self._pending = bytearray()
        return self._cut(data)

    def _cut(self, data: bytes) -> list[bytes]:
        """Slice whole frames off ``data``; park the incomplete tail."""
        frames: list[bytes] = []
        append = frames.append
        unpack = _LENGTH.unpack_from
        limit = self._max
        pos = 0
        end = len(data)
        need = 4
        while end - pos >= 4:
            (length,) = unpack(data, pos)
            if length < HEADER_LENGTH or length > limit:
                self._error = FramingError(
                    CommandStatus.ESME_RINVCMDLEN,
                    f"command_length {length} outside {HEADER_LENGTH}..{limit} "
                    f"at stream offset +{pos} of this read",
                )
                raise self._error
            if end - pos < length:
                need = length
                break
            append(data[pos:pos + length])
            pos += length
        if pos < end:
            self._pending = bytearray(data[pos:] if pos else data)
        self._need = need
        return frames
