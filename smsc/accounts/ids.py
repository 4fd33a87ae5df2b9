"""Message id text: how an account sees the counter behind its message ids.

The same string is the message_id of submit_sm_resp (and data_sm_resp,
submit_multi_resp), the receipt's ``receipted_message_id`` TLV and its
``id:`` field; query_sm and cancel_sm read it back with the same format.

``hex`` (the default): lower-case hex; ``decimal``; ``uuid``: the counter as
the 128-bit value of a UUID (``00000000-0000-0000-0001-b9f0e5a00001``).
``width`` zero-pads hex and decimal ids to a fixed length; it must hold the
largest id (63 bits: 16 hex or 19 decimal digits), so every id has it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

#: ids are stored as 63-bit INTEGERs; the store allocates below it too
from ..records import ID_LIMIT

FORMATS = ("hex", "decimal", "uuid")
#: digits of the largest id, per padded format
_DIGITS = {"hex": len(format(ID_LIMIT - 1, "x")), "decimal": len(str(ID_LIMIT - 1))}
#: a message_id is a C-Octet String of 65 octets: 64 characters
MAX_WIDTH = 64
_SPEC = {"hex": "x", "decimal": "d"}


@dataclass(frozen=True, slots=True)
class MessageIdFormat:
    kind: str = "hex"
    width: int = 0
    #: format() spec for hex and decimal ("x", "020d"); "" for uuid
    _spec: str = field(init=False, repr=False, compare=False, default="")

    def __post_init__(self) -> None:
        if self.kind not in FORMATS:
            raise ValueError(f"message id format {self.kind!r}: one of {', '.join(FORMATS)}")
        w = self.width
        if not isinstance(w, int) or w < 0:
            raise ValueError(f"message id width {w!r}: a whole number, 0 or more")
        if self.kind == "uuid":
            if w:
                raise ValueError("message id width: uuid ids have a fixed width (36); use 0")
        elif w:
            if w > MAX_WIDTH:
                raise ValueError(f"message id width {w}: at most {MAX_WIDTH} (the message_id limit)")
            if w < _DIGITS[self.kind]:
                raise ValueError(
                    f"message id width {w}: {self.kind} ids take up to {_DIGITS[self.kind]} digits; "
                    f"use 0 (no padding) or {_DIGITS[self.kind]}..{MAX_WIDTH}"
                )
        spec = _SPEC.get(self.kind, "")
        if spec and w:
            spec = f"0{w}{spec}"
        object.__setattr__(self, "_spec", spec)

    @classmethod
    def of(cls, kind: str | None, width: int | None) -> "MessageIdFormat":
        """The format of an account's (nullable) settings: None is the default."""
        if kind is None and not width:
            return DEFAULT_ID_FORMAT
        return cls(kind or "hex", width or 0)

    def format(self, n: int) -> str:
        spec = self._spec
        if spec:
            return format(n, spec)
        return str(UUID(int=n))

    def parse(self, s: str) -> int | None:
        """The counter behind ``s``, or None when ``s`` is not an id of this
        format (hex and uuid ids are taken in upper case too: some clients
        normalise them). Only the exact form ``format`` gives is taken."""
        try:
            if self._spec:
                if not s.isascii():
                    return None
                n = int(s, 16 if self.kind == "hex" else 10)
            else:
                n = UUID(s).int
        except ValueError:
            return None
        if not 0 <= n < ID_LIMIT or self.format(n) != s.lower():
            return None
        return n


DEFAULT_ID_FORMAT = MessageIdFormat()
