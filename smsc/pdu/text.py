"""Message text: decoding by data_coding, GSM 7-bit or UCS-2, segments, UDH.

The one place for SPEC section 3's rules. Pure: no Twisted, no I/O.

The engine calls :func:`analyse` once per submit and, for the operator leg,
:func:`split`::

    a = analyse(pdu.short_message, pdu.data_coding, pdu.esm_class, pdu.tlvs,
                max_segments=4, default_alphabet="gsm")
    a.segments            # what the message is billed as
    parts = split(a, ref) # operator-leg short_messages; UDHI when a.udhi

Decoding (the client's data_coding):

====  ==========================================================================
0     SMSC default alphabet: GSM 03.38 *unpacked* septets (one octet each),
      0x1B + code = extension table. ``default_alphabet="latin1"`` reads it as
      Latin-1 instead (clients that send plain 8-bit text as data_coding 0).
1     IA5 / ASCII (7-bit)
3     Latin-1 (ISO-8859-1)
8     UCS-2 big-endian; we accept UTF-16BE, i.e. surrogate pairs too
2, 4  8-bit binary: kept as bytes, counted in octets
====  ==========================================================================

Anything else is refused. The network encoding is then chosen from the
*characters* alone, whatever the client's data_coding was: GSM 7-bit when each
one is in the default alphabet or its extension table (``^{}\\[~]|€`` and form
feed take two septets), otherwise UCS-2 (UTF-16 code units; a non-BMP character
takes two). So a UCS-2 submit of "hello" is billed and sent as GSM.

Statuses (SMPP 3.4 has no "invalid data_coding" status; ESME_RINVDCS is 5.0):

* ``UNDECODABLE_STATUS`` = ESME_RSUBMITFAIL: the body is not valid in its
  data_coding (odd-length or lone-surrogate UCS-2, a GSM octet > 0x7F, a
  0x1B at the end or 0x1B 0x1B, a non-ASCII octet in IA5). ESME_RINVPARLEN
  was the alternative, but 3.4 defines it for an optional parameter's length;
  it would send a client looking at its TLVs.
* ``UNKNOWN_DCS_STATUS`` = ESME_RSUBMITFAIL: a data_coding we don't decode.
* ``TOO_LONG_STATUS`` = ESME_RINVMSGLEN *(SPEC)*: more segments than allowed,
  or a client segment whose text does not fit one segment.
* ``BAD_UDH_STATUS`` = ESME_RINVESMCLASS: esm_class says UDHI but the UDH is
  broken (no UDHL, UDHL past the end, an IE past the UDH, a concatenation IE
  of the wrong length, total 0, seq 0 or > total, two concatenation IEs).
  The esm_class claims something the message does not carry.
* sar_* TLVs, by 3.4's own optional-parameter statuses:
  ``SAR_MISSING_STATUS`` = ESME_RMISSINGOPTPARAM (only some of the three),
  ``SAR_LENGTH_STATUS`` = ESME_RINVPARLEN (a value of the wrong length),
  ``SAR_VALUE_STATUS`` = ESME_RINVOPTPARAMVAL (total 0, seq 0 or > total),
  ``SAR_CONFLICT_STATUS`` = ESME_ROPTPARNOTALLWD (sar_* next to a UDH that
  already has a concatenation IE).

Decisions:

* GSM decoding follows 23.038 for ``0x1B`` + a code outside the extension
  table: the default-table character (so ``1B 41`` is "A", one septet once
  re-encoded). ``1B 1B`` (reserved for a further extension table) and a
  trailing ``1B`` are refused.
* Segments are cut greedily at 153 septets / 67 UTF-16 units / 134 octets,
  one unit earlier when the cut would fall inside an escape pair or a
  surrogate pair, so with such pairs a text can need one segment more than
  the table's formula; the count always equals the number of parts
  :func:`split` makes.
* A client's own segment (UDHI with a concatenation IE, or the sar_* TLVs)
  is billed as one segment; ``max_segments`` caps our splitting, not the
  client's total. Its text must fit in one segment beside its UDH. A client
  UDH without a concatenation IE (e.g. port addressing) makes the message
  client-formatted too: one segment, UDH kept. sar_* values become an 8-bit
  concatenation IE (``ref & 0xFF``) appended to the UDH on the operator leg,
  so a part cut at the usual 153 septets fits, and the operator leg only ever
  sees UDHs; ``ClientSegment.ref`` keeps the client's full 16-bit reference.
  Each part's encoding follows its own characters, like any message, so a
  UCS-2 part of plain Latin text goes as GSM (each SM has its own DCS).
* An empty body is one segment.
* On the operator leg GSM goes as data_coding 0 in unpacked septets (we
  don't pack on our SMPP leg), UCS-2 as data_coding 8 in UTF-16BE, binary
  with the client's data_coding. :func:`pack_septets` exists to prove each
  part fits 140 octets once packed.

Cost: the common submit, up to 160 octets of data_coding 0, 1 or 3 whose
octets mean the same in GSM, ASCII and Latin-1 (letters, digits, most
punctuation, LF/CR), takes a fast path: one ``bytes.translate`` and no
re-encoding, ~1.5 µs for 20 characters on the 2-core test machine. Other
short texts cost ~3.5-5 µs, a 600-character one ~15 µs. A body longer than any allowed message could be (2 octets
per unit) is refused before it is decoded.
"""
from __future__ import annotations

import codecs
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, NamedTuple

from .constants import ESM_CLASS_UDHI, CommandStatus, Tag
from .errors import SmppError

__all__ = [
    "Analysis", "ClientSegment", "TextError", "analyse", "split", "decode", "encode",
    "pack_septets", "packed_octets", "room",
    "GSM7", "UCS2", "BINARY", "GSM_CHARACTERS", "SEGMENT_OCTETS", "CONCAT_UDH_OCTETS",
    "UNDECODABLE_STATUS", "UNKNOWN_DCS_STATUS", "TOO_LONG_STATUS", "BAD_UDH_STATUS",
    "SAR_MISSING_STATUS", "SAR_LENGTH_STATUS", "SAR_VALUE_STATUS", "SAR_CONFLICT_STATUS",
]

UNDECODABLE_STATUS: Final = CommandStatus.ESME_RSUBMITFAIL
UNKNOWN_DCS_STATUS: Final = CommandStatus.ESME_RSUBMITFAIL
TOO_LONG_STATUS: Final = CommandStatus.ESME_RINVMSGLEN
BAD_UDH_STATUS: Final = CommandStatus.ESME_RINVESMCLASS
SAR_MISSING_STATUS: Final = CommandStatus.ESME_RMISSINGOPTPARAM
SAR_LENGTH_STATUS: Final = CommandStatus.ESME_RINVPARLEN
SAR_VALUE_STATUS: Final = CommandStatus.ESME_RINVOPTPARAMVAL
SAR_CONFLICT_STATUS: Final = CommandStatus.ESME_ROPTPARNOTALLWD

GSM7: Final = "gsm7"
UCS2: Final = "ucs2"
BINARY: Final = "binary"

#: one SM's user data: 140 octets = 1120 bits = 160 septets (23.040)
SEGMENT_OCTETS: Final = 140
#: 05 00 03 ref total seq: UDHL + IEI 0x00 + IEDL 3 + 3 octets
CONCAT_UDH_OCTETS: Final = 6
#: a UDH count can't say more than this (one octet)
_MAX_TOTAL: Final = 255
#: septets in one unconcatenated SM
_GSM_SINGLE: Final = SEGMENT_OCTETS * 8 // 7

_ESC: Final = 0x1B

# GSM 03.38 default alphabet (3GPP TS 23.038 6.2.1), indexed by septet;
# 0x1B is the escape, never a character.
_GSM_DEFAULT: Final = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# the extension table (6.2.1.1): septet after 0x1B -> character
_GSM_EXTENSION: Final = {
    0x0A: "\x0c", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\",
    0x3C: "[", 0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€",
}
# bytes -> str for escape-free septets; octets >= 0x80 fall outside the table
# and 0x1B maps to U+FFFE, both "undefined" to charmap_decode
_GSM_DECODING: Final = _GSM_DEFAULT.replace("\x1b", "\ufffe")

# str.translate table: character -> its septet(s), as code points < 0x80
_GSM_ENCODING: Final[dict[int, str]] = {
    ord(ch): chr(code) for code, ch in enumerate(_GSM_DEFAULT) if code != _ESC
}
_GSM_ENCODING.update((ord(ch), "\x1b" + chr(code)) for code, ch in _GSM_EXTENSION.items())
#: every character GSM 7-bit can carry (default alphabet and extension table)
GSM_CHARACTERS: Final = frozenset(map(chr, _GSM_ENCODING))

#: octets that mean the same character in GSM (unpacked), ASCII, Latin-1 and
#: as a GSM septet: such a body is its own GSM payload, whatever of 0, 1, 3
_SAME_EVERYWHERE: Final = bytes(
    b for b in range(0x80) if b != _ESC and _GSM_DEFAULT[b] == chr(b)
)

_FAST_CODINGS: Final = frozenset({0, 1, 3})
_BINARY_CODINGS: Final = frozenset({2, 4})
_ALPHABETS: Final = frozenset({"gsm", "latin1"})
_SAR_TAGS: Final = (Tag.SAR_MSG_REF_NUM, Tag.SAR_TOTAL_SEGMENTS, Tag.SAR_SEGMENT_SEQNUM)
_SAR_LENGTHS: Final = {Tag.SAR_MSG_REF_NUM: 2, Tag.SAR_TOTAL_SEGMENTS: 1, Tag.SAR_SEGMENT_SEQNUM: 1}
_CONCAT_IE_LENGTHS: Final = {0x00: 3, 0x08: 4}  # IEI -> IEDL (8-bit, 16-bit reference)


class TextError(SmppError):
    """The message body can't be taken as it is; ``status`` is the answer."""


@dataclass(frozen=True, slots=True)
class ClientSegment:
    """One part of a message the client concatenated itself."""

    ref: int    # 8- or 16-bit reference, as the client sent it
    total: int  # 1..255
    seq: int    # 1..total


class Analysis(NamedTuple):
    """What a submit's body is, once decoded and measured.

    A NamedTuple rather than a frozen dataclass: it is built once per submit,
    and a frozen dataclass of this size costs ~3 µs here, this ~0.4 µs
    (built with ``tuple.__new__``) to ~0.8 µs (through its constructor).
    """

    #: the decoded text; None for binary
    text: str | None
    #: GSM7, UCS2 or BINARY: how it goes to the network
    encoding: str
    #: septets (escape pairs count two), UTF-16 units, or octets
    units: int
    #: what it is billed as
    segments: int
    client_segment: ClientSegment | None
    #: the UDH a client-formatted message carries on the operator leg (the
    #: client's, plus a concatenation IE made from sar_* TLVs); b"" otherwise
    udh: bytes
    #: the body in the network encoding, without UDH: unpacked septets,
    #: UTF-16BE or octets
    payload: bytes
    #: the operator leg's data_coding: 0 (GSM), 8 (UCS-2) or the client's binary one
    data_coding: int

    @property
    def udhi(self) -> bool:
        """Whether the operator-leg parts carry a UDH (esm_class 0x40)."""
        return self.segments > 1 or bool(self.udh)


_new_tuple: Final = tuple.__new__
# the codec functions themselves: 3-6x faster than bytes.decode("utf-16-be")
_utf16_decode: Final = codecs.utf_16_be_decode
_utf16_encode: Final = codecs.utf_16_be_encode


# --------------------------------------------------------------------- decode


def decode(body: bytes, data_coding: int, default_alphabet: str = "gsm") -> str | bytes:
    """The body as text (bytes for the binary codings 2 and 4).

    Raises TextError: UNKNOWN_DCS_STATUS for a coding we don't take,
    UNDECODABLE_STATUS for a body that is not valid in its coding.
    """
    if data_coding == 0:
        if default_alphabet == "gsm":
            return _decode_gsm(body)
        if default_alphabet == "latin1":
            return body.decode("latin-1")
        raise ValueError(f"default_alphabet {default_alphabet!r}: expected one of {sorted(_ALPHABETS)}")
    if data_coding == 1:
        if not body.isascii():
            raise TextError(UNDECODABLE_STATUS, "data_coding 1 (IA5): octet above 0x7F")
        return body.decode("ascii")
    if data_coding == 3:
        return body.decode("latin-1")
    if data_coding == 8:
        try:
            return _utf16_decode(body, "strict", True)[0]
        except UnicodeDecodeError as e:
            raise TextError(UNDECODABLE_STATUS, f"data_coding 8 (UCS-2): {e.reason}") from None
    if data_coding in _BINARY_CODINGS:
        return body
    raise TextError(UNKNOWN_DCS_STATUS, f"data_coding 0x{data_coding:02X} not supported")


def stored_text(payload: bytes, data_coding: int) -> str | bytes:
    """The text of a stored message (bytes for a binary coding): what the
    HTTP API, its callbacks and the reports page show.

    The engine stores :attr:`Analysis.payload` with the operator leg's
    :attr:`Analysis.data_coding`: unpacked GSM septets (0), UTF-16BE (8) or
    the client's binary octets. The client's UDH is not in it (it goes to
    the operator leg in :attr:`Analysis.udh`), nor is the client's own
    coding, so neither the message's esm_class nor ``[messages]
    default_alphabet`` plays a part: taking off a UDH again cuts into the
    text (one octet off in UCS-2), and reading septets as Latin-1 turns
    ``@`` into NUL. Raises TextError for a body not valid in its coding
    (only a damaged row would be).
    """
    return decode(payload, data_coding, "gsm")


def _decode_gsm(body: bytes) -> str:
    chunks = body.split(b"\x1b")
    out = [_gsm_chunk(chunks[0])]
    for i in range(1, len(chunks)):
        chunk = chunks[i]
        if not chunk:
            where = "at the end" if i == len(chunks) - 1 else "followed by 0x1B"
            raise TextError(UNDECODABLE_STATUS, f"data_coding 0 (GSM): escape {where}")
        code = chunk[0]
        if code > 0x7F:
            raise TextError(UNDECODABLE_STATUS, f"data_coding 0 (GSM): octet 0x{code:02X}")
        out.append(_GSM_EXTENSION.get(code) or _GSM_DEFAULT[code])  # 23.038 fallback
        out.append(_gsm_chunk(chunk[1:]))
    return "".join(out)


def _gsm_chunk(septets: bytes) -> str:
    try:
        return codecs.charmap_decode(septets, "strict", _GSM_DECODING)[0]
    except UnicodeDecodeError as e:
        raise TextError(
            UNDECODABLE_STATUS, f"data_coding 0 (GSM): octet 0x{septets[e.start]:02X} is not a septet"
        ) from None


# --------------------------------------------------------------------- encode


def encode(text: str | bytes, data_coding: int, default_alphabet: str = "gsm") -> bytes:
    """The inverse of :func:`decode`, for our own side (MO, tests, tools).

    Raises ValueError when the text has no form in that coding.
    """
    if data_coding in _BINARY_CODINGS:
        if not isinstance(text, bytes):
            raise ValueError(f"data_coding {data_coding} carries bytes")
        return text
    if not isinstance(text, str):
        raise ValueError(f"data_coding {data_coding} carries text")
    if data_coding == 0 and default_alphabet == "gsm":
        septets = _gsm_septets(text)
        if septets is None:
            raise ValueError("text outside the GSM 03.38 alphabet")
        return septets
    codec = {0: "latin-1", 1: "ascii", 3: "latin-1", 8: "utf-16-be"}.get(data_coding)
    if codec is None:
        raise ValueError(f"data_coding 0x{data_coding:02X} not supported")
    if data_coding == 0 and default_alphabet not in _ALPHABETS:
        raise ValueError(f"default_alphabet {default_alphabet!r}")
    return text.encode(codec)


def text_coding(text: str) -> tuple[bytes, int]:
    """(body, data_coding) a text goes as when we choose: GSM 7-bit (0) if
    it can, else UCS-2 (8). Campaign estimates use it."""
    try:
        return encode(text, 0), 0
    except ValueError:
        return encode(text, 8), 8


def _gsm_septets(text: str) -> bytes | None:
    """Unpacked septets for ``text``, or None if a character isn't GSM."""
    if not GSM_CHARACTERS.issuperset(text):  # stops at the first non-GSM one
        return None
    return text.translate(_GSM_ENCODING).encode("ascii")


# ----------------------------------------------------------------- arithmetic


def room(encoding: str, udh_octets: int) -> int:
    """Units of ``encoding`` that fit one SM beside a UDH of ``udh_octets``.

    GSM: the UDH is padded with fill bits to a septet boundary, so it takes
    ceil(8·n / 7) of the 160 septets: 160 - 7 = 153 for the 6-octet
    concatenation UDH. UCS-2: (140 - n) // 2 = 67. Binary: 140 - n = 134.
    """
    if encoding == GSM7:
        return _GSM_SINGLE - _ceil_div(udh_octets * 8, 7)
    if encoding == UCS2:
        return (SEGMENT_OCTETS - udh_octets) // 2
    return SEGMENT_OCTETS - udh_octets


def packed_octets(udh_octets: int, septets: int) -> int:
    """Octets of a GSM SM's user data: UDH, fill bits, then packed septets."""
    return _ceil_div((_ceil_div(udh_octets * 8, 7) + septets) * 7, 8)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def pack_septets(septets: bytes, udh: bytes = b"") -> bytes:
    """GSM 7-bit packing (23.038 6.1.2.1), after ``udh`` and its fill bits.

    We don't pack on our SMPP leg; this proves what a part costs on the air.
    """
    fill = -len(udh) * 8 % 7
    acc, bits, out = 0, fill, bytearray(udh)
    for s in septets:
        if s > 0x7F:
            raise ValueError(f"0x{s:02X} is not a septet")
        acc |= s << bits
        bits += 7
        while bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits:
        out.append(acc & 0xFF)
    return bytes(out)


def _cuts(payload: bytes, encoding: str, per_segment: int) -> list[tuple[int, int]]:
    """(start, end) of each part: greedy, never inside an escape or surrogate pair."""
    width = 2 if encoding == UCS2 else 1
    step = per_segment * width
    n = len(payload)
    cuts = []
    start = 0
    while start < n:
        end = start + step
        if end >= n:
            end = n
        elif encoding == GSM7:
            if payload[end - 1] == _ESC:  # 0x1B only ever opens a pair
                end -= 1
        elif encoding == UCS2 and 0xD8 <= payload[end - 2] <= 0xDB:  # high surrogate
            end -= 2
        cuts.append((start, end))
        start = end
    return cuts


# -------------------------------------------------------------------- analyse


def analyse(
    short_message: bytes,
    data_coding: int,
    esm_class: int = 0,
    tlvs: Iterable[tuple[int, bytes]] = (),
    *,
    max_segments: int = 4,
    default_alphabet: str = "gsm",
) -> Analysis:
    """Decode, choose the network encoding, count segments; raise TextError.

    message_payload (0x0424), when present, is the body instead of
    short_message. esm_class 0x40 or the sar_* TLVs mark a client's own
    segment.
    """
    body = short_message
    sar = None
    if tlvs:
        body, sar = scan_tlvs(tlvs, body)
    return analyse_body(body, data_coding, esm_class, sar, max_segments=max_segments,
                        default_alphabet=default_alphabet)


def analyse_body(
    body: bytes,
    data_coding: int,
    esm_class: int = 0,
    sar: dict[int, bytes] | None = None,
    *,
    max_segments: int = 4,
    default_alphabet: str = "gsm",
) -> Analysis:
    """``analyse`` of a body whose TLVs were already read (``scan_tlvs``):
    what the engine calls with a ``Submission``."""
    if not esm_class & ESM_CLASS_UDHI and sar is None:
        # fast path: short text whose octets mean the same in 0, 1 and 3
        if (
            data_coding in _FAST_CODINGS
            and len(body) <= _GSM_SINGLE
            and not body.translate(None, _SAME_EVERYWHERE)
        ):
            # tuple.__new__ skips NamedTuple's Python-level __new__: 0.4 µs of ~1
            return _new_tuple(Analysis, (body.decode("ascii"), GSM7, len(body), 1, None, b"", body, 0))
        return _analyse_whole(body, data_coding, max_segments, default_alphabet)
    return _analyse_client_segment(body, data_coding, esm_class, sar, default_alphabet)


def scan_tlvs(tlvs: Iterable[tuple[int, bytes]], body: bytes) -> tuple[bytes, dict[int, bytes] | None]:
    """The body (message_payload when present, else ``body``) and the
    sar_* TLVs of a client's own segment (None when there are none)."""
    sar: dict[int, bytes] = {}
    for tag, value in tlvs:
        if tag == Tag.MESSAGE_PAYLOAD:
            body = value
        elif tag in _SAR_LENGTHS:
            sar.setdefault(tag, value)
    return body, (sar or None)


def _network(decoded: str | bytes) -> tuple[str, bytes, int]:
    """(encoding, payload, units) the network gets."""
    if isinstance(decoded, bytes):
        return BINARY, decoded, len(decoded)
    septets = _gsm_septets(decoded)
    if septets is not None:
        return GSM7, septets, len(septets)
    payload = _utf16_encode(decoded)[0]
    return UCS2, payload, len(payload) // 2


def _analyse_whole(body: bytes, data_coding: int, max_segments: int, default_alphabet: str) -> Analysis:
    # no coding takes more than 2 octets per septet/unit: a cheap early no
    if len(body) > 2 * _GSM_SINGLE * max_segments:
        raise TextError(TOO_LONG_STATUS, f"{len(body)} octets is over {max_segments} segments")
    decoded = decode(body, data_coding, default_alphabet)
    encoding, payload, units = _network(decoded)
    if units <= room(encoding, 0):
        segments = 1
    else:
        segments = len(_cuts(payload, encoding, room(encoding, CONCAT_UDH_OCTETS)))
        if segments > max_segments:
            raise TextError(
                TOO_LONG_STATUS, f"{units} {encoding} units need {segments} segments, at most {max_segments}"
            )
    text = None if encoding == BINARY else decoded
    leg_coding = _leg_coding(encoding, data_coding)
    return _new_tuple(Analysis, (text, encoding, units, segments, None, b"", payload, leg_coding))


def _leg_coding(encoding: str, data_coding: int) -> int:
    return 0 if encoding == GSM7 else 8 if encoding == UCS2 else data_coding


def _analyse_client_segment(
    body: bytes, data_coding: int, esm_class: int, sar: dict[int, bytes] | None, default_alphabet: str
) -> Analysis:
    udh, segment = b"", None
    if esm_class & ESM_CLASS_UDHI:
        udh, segment = _parse_udh(body)
        body = body[len(udh):]
    if sar is not None:
        if segment is not None:
            raise TextError(SAR_CONFLICT_STATUS, "sar_* TLVs and a concatenation UDH in one message")
        segment = _parse_sar(sar)
        ie = bytes((0x00, 3, segment.ref & 0xFF, segment.total, segment.seq))
        udhl = (len(udh) - 1 if udh else 0) + len(ie)
        if 1 + udhl > SEGMENT_OCTETS:
            raise TextError(TOO_LONG_STATUS, f"client segment: a {1 + udhl}-octet UDH leaves no room")
        udh = bytes((udhl,)) + udh[1:] + ie
    decoded = decode(body, data_coding, default_alphabet)
    encoding, payload, units = _network(decoded)
    fits = room(encoding, len(udh))
    if units > fits:
        raise TextError(
            TOO_LONG_STATUS, f"client segment: {units} {encoding} units, {fits} fit beside its UDH"
        )
    text = decoded if isinstance(decoded, str) else None  # None for BINARY
    return Analysis(text, encoding, units, 1, segment, udh, payload, _leg_coding(encoding, data_coding))


def _parse_udh(body: bytes) -> tuple[bytes, ClientSegment | None]:
    """The UDH (UDHL octet included) and its concatenation IE, if any."""
    if not body:
        raise TextError(BAD_UDH_STATUS, "UDHI set but the message is empty")
    end = 1 + body[0]
    if end > len(body):
        raise TextError(BAD_UDH_STATUS, f"UDHL {body[0]} runs past the {len(body)}-octet message")
    segment = None
    pos = 1
    while pos < end:
        if pos + 2 > end:
            raise TextError(BAD_UDH_STATUS, f"UDH: IE at offset {pos} has no length octet")
        iei, iedl = body[pos], body[pos + 1]
        if pos + 2 + iedl > end:
            raise TextError(BAD_UDH_STATUS, f"UDH: IE 0x{iei:02X} length {iedl} runs past the UDH")
        data = body[pos + 2:pos + 2 + iedl]
        if iei in _CONCAT_IE_LENGTHS:
            if iedl != _CONCAT_IE_LENGTHS[iei]:
                raise TextError(BAD_UDH_STATUS, f"UDH: concatenation IE 0x{iei:02X} length {iedl}")
            if segment is not None:
                raise TextError(BAD_UDH_STATUS, "UDH: two concatenation IEs")
            ref = data[0] if iei == 0x00 else int.from_bytes(data[:2], "big")
            total, seq = data[-2], data[-1]
            if total < 1 or not 1 <= seq <= total:
                raise TextError(BAD_UDH_STATUS, f"UDH: segment {seq} of {total}")
            segment = ClientSegment(ref, total, seq)
        pos += 2 + iedl
    return body[:end], segment


def _parse_sar(sar: dict[int, bytes]) -> ClientSegment:
    missing = [t.name.lower() for t in _SAR_TAGS if t not in sar]
    if missing:
        raise TextError(SAR_MISSING_STATUS, f"sar_* TLVs come as three; missing {', '.join(missing)}")
    for tag, length in _SAR_LENGTHS.items():
        if len(sar[tag]) != length:
            raise TextError(SAR_LENGTH_STATUS, f"{tag.name.lower()} is {len(sar[tag])} octets, not {length}")
    ref = int.from_bytes(sar[Tag.SAR_MSG_REF_NUM], "big")
    total, seq = sar[Tag.SAR_TOTAL_SEGMENTS][0], sar[Tag.SAR_SEGMENT_SEQNUM][0]
    if total < 1 or not 1 <= seq <= total:
        raise TextError(SAR_VALUE_STATUS, f"sar segment {seq} of {total}")
    return ClientSegment(ref, total, seq)


# ---------------------------------------------------------------------- split


def split(analysis: Analysis, ref: int) -> list[bytes]:
    """The operator leg's short_messages, each with its UDH when concatenated.

    ``ref`` (0..255) is the 8-bit concatenation reference; the caller keeps
    the counter (one per destination). A client-formatted message is one part:
    its UDH, then the payload. Our parts carry ``05 00 03 ref total seq``.
    """
    a = analysis
    if a.udh:
        return [a.udh + a.payload]
    if a.segments == 1:
        return [a.payload]
    if not 0 <= ref <= 0xFF:
        raise ValueError(f"ref {ref}: the concatenation reference is one octet")
    cuts = _cuts(a.payload, a.encoding, room(a.encoding, CONCAT_UDH_OCTETS))
    total = len(cuts)
    if total > _MAX_TOTAL:
        raise ValueError(f"{total} segments: a UDH counts at most {_MAX_TOTAL}")
    head = bytes((5, 0x00, 3, ref, total))
    return [head + bytes((seq,)) + a.payload[s:e] for seq, (s, e) in enumerate(cuts, 1)]
