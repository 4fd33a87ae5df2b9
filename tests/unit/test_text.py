"""smsc.pdu.text: decoding, GSM 7-bit vs UCS-2, segments, UDH (SPEC section 3)."""
from __future__ import annotations

import io
import math

import pytest
import smpplib.consts
import smpplib.gsm
from hypothesis import example, given, settings
from hypothesis import strategies as st
from smpp.pdu.gsm_encoding import UserDataHeaderEncoder
from smpp.pdu.gsm_types import IEConcatenatedSM, InformationElement, InformationElementIdentifier

from smsc.pdu.constants import ESM_CLASS_UDHI, CommandStatus, Tag
from smsc.pdu.errors import SmppError
from smsc.pdu.text import (
    BAD_UDH_STATUS,
    BINARY,
    GSM7,
    GSM_CHARACTERS,
    SAR_CONFLICT_STATUS,
    SAR_LENGTH_STATUS,
    SAR_MISSING_STATUS,
    SAR_VALUE_STATUS,
    TOO_LONG_STATUS,
    UCS2,
    UNDECODABLE_STATUS,
    UNKNOWN_DCS_STATUS,
    ClientSegment,
    TextError,
    analyse,
    decode,
    encode,
    pack_septets,
    packed_octets,
    room,
    split,
    stored_text,
)

EXTENSION = "^{}\\[~]|€\x0c"
BASIC = "".join(sorted(GSM_CHARACTERS - set(EXTENSION)))  # one septet each
CYRILLIC = "абвгґдеєжзиіїйклмнопрстуфхцчшщьюяАБВГҐДЕЄЖЗИІЇЙ"
EMOJI = "\U0001F600"

gsm_texts = st.text(alphabet=sorted(GSM_CHARACTERS), max_size=700)
basic_texts = st.text(alphabet=BASIC, max_size=700)


def payload_tlv(body: bytes) -> tuple[tuple[int, bytes], ...]:
    return ((Tag.MESSAGE_PAYLOAD, body),)


def submit(text: str, data_coding: int = 8, **kw):
    """analyse() of ``text`` sent in ``data_coding``, through message_payload."""
    return analyse(b"", data_coding, 0, payload_tlv(encode(text, data_coding)), **kw)


def refused(status: CommandStatus, *args, **kw) -> TextError:
    with pytest.raises(TextError) as info:
        analyse(*args, **kw)
    assert info.value.status == status, info.value.detail
    return info.value


def concat_udh(ref: int, total: int, seq: int) -> bytes:
    return bytes((5, 0x00, 3, ref, total, seq))


def table_segments(units: int, single: int, per: int) -> int:
    return 1 if units <= single else math.ceil(units / per)


def oracle_udh(udh: bytes) -> list:
    """The UDH as python-smpp's (smpp.pdu) decoder reads it."""
    return UserDataHeaderEncoder().decode(io.BytesIO(udh))


def check_parts(a, parts: list[bytes], ref: int) -> bytes:
    """Every part's invariants; returns the joined bodies (UDHs removed)."""
    assert len(parts) == a.segments
    if a.segments == 1:
        assert parts == [a.payload]
        return parts[0]
    bodies = []
    for seq, part in enumerate(parts, 1):
        udh, body = part[:6], part[6:]
        assert udh == concat_udh(ref, a.segments, seq)
        assert oracle_udh(udh) == [InformationElement(
            InformationElementIdentifier.CONCATENATED_SM_8BIT_REF_NUM,
            IEConcatenatedSM(ref, a.segments, seq),
        )]
        if a.encoding == GSM7:
            assert len(body) <= 153
            assert len(pack_septets(body, udh)) <= 140
            decode(body, 0)  # a part alone decodes: no escape pair was cut
        elif a.encoding == UCS2:
            assert len(body) <= 134 and len(body) % 2 == 0
            decode(body, 8)  # no surrogate pair was cut
        else:
            assert len(body) <= 134
        if a.encoding != GSM7:
            assert len(part) <= 140  # GSM parts are unpacked: 140 once packed
        bodies.append(body)
    return b"".join(bodies)


# ------------------------------------------------------------------ decoding


@pytest.mark.parametrize(
    "septet, char",
    [
        (0x00, "@"), (0x01, "£"), (0x02, "$"), (0x09, "Ç"), (0x0A, "\n"), (0x0D, "\r"),
        (0x10, "Δ"), (0x11, "_"), (0x15, "Ω"), (0x1F, "É"), (0x24, "¤"), (0x40, "¡"),
        (0x5B, "Ä"), (0x5F, "§"), (0x60, "¿"), (0x7F, "à"), (0x41, "A"), (0x7A, "z"),
    ],
)
def test_gsm_default_alphabet_values(septet, char):
    assert decode(bytes((septet,)), 0) == char
    assert encode(char, 0) == bytes((septet,))


def test_gsm_tables_match_smpplib_but_for_its_known_errata():
    # smpplib copies a table with "`" at 0x5F (23.038: "§") and no form feed
    theirs = smpplib.gsm.GSM_CHARACTER_TABLE
    for code in range(0x80):
        if code == 0x1B:
            continue
        expected = "§" if code == 0x5F else theirs[code]
        assert decode(bytes((code,)), 0) == expected, hex(code)
    extension = {code - 0x80: ch for code, ch in enumerate(theirs) if code >= 0x80 and ch != "`"}
    extension[0x0A] = "\x0c"
    assert set(extension.values()) == set(EXTENSION)
    for code, ch in extension.items():
        assert decode(bytes((0x1B, code)), 0) == ch
        assert encode(ch, 0) == bytes((0x1B, code))
    assert len(GSM_CHARACTERS) == 127 + 10


def test_unknown_escape_reads_as_the_default_character():
    # 23.038 6.2.1.1: a code missing from the extension table shows the default one
    assert decode(b"\x1bA\x1b\x00", 0) == "A@"
    a = analyse(b"\x1bAB", 0)
    assert (a.text, a.units, a.payload) == ("AB", 2, b"AB")


@pytest.mark.parametrize(
    "body, data_coding",
    [
        pytest.param(b"\x00a\x00", 8, id="ucs2-odd-length"),
        pytest.param(b"\xd8\x3d", 8, id="ucs2-high-surrogate-at-end"),
        pytest.param(b"\xd8\x3d\x00a", 8, id="ucs2-high-surrogate-alone"),
        pytest.param(b"\xde\x00\x00a", 8, id="ucs2-low-surrogate-alone"),
        pytest.param(b"abc\x80", 0, id="gsm-octet-above-0x7f"),
        pytest.param(b"abc\x1b", 0, id="gsm-dangling-escape"),
        pytest.param(b"\x1b\x1bA", 0, id="gsm-double-escape"),
        pytest.param(b"a\x1b\xa8", 0, id="gsm-escaped-octet-above-0x7f"),
        pytest.param(b"caf\xe9", 1, id="ia5-non-ascii"),
    ],
)
def test_undecodable_body_is_refused(body, data_coding):
    with pytest.raises(TextError) as info:
        decode(body, data_coding)
    assert info.value.status == UNDECODABLE_STATUS
    refused(UNDECODABLE_STATUS, body, data_coding)
    refused(UNDECODABLE_STATUS, b"", data_coding, 0, payload_tlv(body))


@pytest.mark.parametrize("data_coding", [5, 6, 7, 9, 0x0A, 0x10, 0x11, 0x18, 0xF0, 0xF4, 0xFF])
def test_unknown_data_coding_is_refused(data_coding):
    err = refused(UNKNOWN_DCS_STATUS, b"hello", data_coding)
    assert f"{data_coding:02X}" in err.detail


def test_statuses_are_the_documented_ones():
    assert UNDECODABLE_STATUS == CommandStatus.ESME_RSUBMITFAIL
    assert UNKNOWN_DCS_STATUS == CommandStatus.ESME_RSUBMITFAIL
    assert TOO_LONG_STATUS == CommandStatus.ESME_RINVMSGLEN
    assert BAD_UDH_STATUS == CommandStatus.ESME_RINVESMCLASS
    assert SAR_MISSING_STATUS == CommandStatus.ESME_RMISSINGOPTPARAM
    assert SAR_LENGTH_STATUS == CommandStatus.ESME_RINVPARLEN
    assert SAR_VALUE_STATUS == CommandStatus.ESME_RINVOPTPARAMVAL
    assert SAR_CONFLICT_STATUS == CommandStatus.ESME_ROPTPARNOTALLWD
    assert issubclass(TextError, SmppError)


def test_default_alphabet_switches_data_coding_0_to_latin1():
    assert analyse(b"a$b@c_", 0).text == "a¤b¡c§"
    a = analyse(b"a$b@c_", 0, default_alphabet="latin1")
    assert (a.text, a.payload) == ("a$b@c_", b"a\x02b\x00c\x11")
    assert analyse(b"caf\xe9", 0, default_alphabet="latin1").text == "café"
    refused(UNDECODABLE_STATUS, b"caf\xe9", 0)
    with pytest.raises(ValueError):
        analyse(b"caf\xe9", 0, default_alphabet="utf8")


@pytest.mark.parametrize("data_coding", [2, 4])
def test_binary_is_kept_as_octets(data_coding):
    body = bytes(range(256))[:140]
    a = analyse(body, data_coding)
    assert (a.text, a.encoding, a.units, a.segments, a.payload, a.data_coding) == (
        None, BINARY, 140, 1, body, data_coding,
    )
    assert decode(body, data_coding) == body


# round trips, per data_coding

@given(gsm_texts)
def test_round_trip_gsm(text):
    assert decode(encode(text, 0), 0) == text


@given(st.text(alphabet=st.characters(max_codepoint=0xFF)))
def test_round_trip_latin1(text):
    assert decode(encode(text, 3), 3) == text
    assert decode(encode(text, 0, "latin1"), 0, "latin1") == text


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)))
def test_round_trip_ia5(text):
    assert decode(encode(text, 1), 1) == text


@given(st.text())
@example(EMOJI + "ж")
def test_round_trip_ucs2(text):
    assert decode(encode(text, 8), 8) == text


@given(st.binary(), st.sampled_from([2, 4]))
def test_round_trip_binary(body, data_coding):
    assert decode(encode(body, data_coding), data_coding) == body


@given(st.binary(max_size=300), st.sampled_from([0, 1, 3, 8]))
def test_any_body_decodes_or_is_refused_with_the_named_status(body, data_coding):
    try:
        text = decode(body, data_coding)
    except TextError as e:
        assert e.status == UNDECODABLE_STATUS
    else:
        assert encode(text, 8).decode("utf-16-be") == text
        if data_coding == 0:
            assert GSM_CHARACTERS.issuperset(text)


def test_encode_refuses_what_the_coding_cannot_carry():
    with pytest.raises(ValueError):
        encode("ї", 0)
    with pytest.raises(ValueError):
        encode("ї", 1)
    with pytest.raises(ValueError):
        encode("x", 5)


# --------------------------------------------------------- encoding choice


@pytest.mark.parametrize(
    "text, encoding, units",
    [
        ("Hello", GSM7, 5),
        ("Hello é Ä ñ Δ £ €", GSM7, 18),  # € is an extension character
        ("Hello ê", UCS2, 7),             # ê is not in the alphabet
        ("Hello `", UCS2, 7),             # nor is the backtick
        ("Hello ї", UCS2, 7),             # one Cyrillic letter: all UCS-2
        ("Привіт", UCS2, 6),
        (EMOJI, UCS2, 2),                 # a non-BMP character is two units
        ("a" * 70 + EMOJI, UCS2, 72),
        ("tab\there", UCS2, 8),
    ],
)
def test_network_encoding_from_the_characters(text, encoding, units):
    for data_coding in (8, 0) if encoding == GSM7 else (8,):
        a = submit(text, data_coding, max_segments=255)
        assert (a.text, a.encoding, a.units) == (text, encoding, units)
        assert a.data_coding == (0 if encoding == GSM7 else 8)


@pytest.mark.parametrize("char", list(EXTENSION))
def test_extension_characters_count_two_septets(char):
    a = submit("a" + char)
    assert (a.encoding, a.units, a.payload[:2]) == (GSM7, 3, b"a\x1b")


def test_ucs2_body_of_gsm_characters_goes_as_gsm():
    a = analyse("hello {x}".encode("utf-16-be"), 8)
    assert (a.encoding, a.units, a.payload, a.data_coding) == (GSM7, 11, b"hello \x1b(x\x1b)", 0)


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=160))
def test_fast_path_agrees_with_the_general_path(text):
    general = submit(text, 8)
    try:
        same_in_gsm = encode(text, 0) == text.encode("ascii")
    except ValueError:  # e.g. a backtick
        same_in_gsm = False
    for data_coding in (0, 1, 3):
        if data_coding == 0 and not same_in_gsm:
            continue  # in GSM some of those octets mean other characters
        assert analyse(text.encode("ascii"), data_coding) == general


# ------------------------------------------------------- the SPEC's table


@pytest.mark.parametrize(
    "units, segments",
    [(0, 1), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4), (612, 4)],
)
def test_gsm_segment_table(units, segments):
    bodies = [  # the same septets in three bodies of 1 or 2 octets per septet
        (0, b"a" * units), (8, "a".encode("utf-16-be") * units), (0, b"\x1bA" * units),
    ]
    for data_coding, body in bodies:
        a = analyse(b"", data_coding, 0, payload_tlv(body))
        assert (a.encoding, a.units, a.segments) == (GSM7, units, segments)
        assert len(split(a, 1)) == segments


@pytest.mark.parametrize(
    "units, segments",
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4), (268, 4)],
)
def test_ucs2_segment_table(units, segments):
    a = submit("ж" * units)
    assert (a.encoding, a.units, a.segments) == (UCS2, units, segments)
    assert len(split(a, 1)) == segments


@pytest.mark.parametrize(
    "octets, segments", [(140, 1), (141, 2), (268, 2), (269, 3), (402, 3), (403, 4), (536, 4)]
)
def test_binary_segment_table(octets, segments):
    a = analyse(b"", 4, 0, payload_tlv(b"\xff" * octets))
    assert (a.units, a.segments, len(split(a, 1))) == (octets, segments, segments)


@pytest.mark.parametrize(
    "body, data_coding",
    [
        pytest.param(b"a" * 613, 0, id="gsm-613"),
        pytest.param(b"{" * 307, 1, id="gsm-307-extension-characters"),
        pytest.param("ж".encode("utf-16-be") * 269, 8, id="ucs2-269"),
        pytest.param(EMOJI.encode("utf-16-be") * 135, 8, id="ucs2-135-emoji"),
        pytest.param(b"\x00" * 537, 2, id="binary-537"),
        pytest.param(b"a" * 65000, 1, id="huge-payload"),
    ],
)
def test_over_four_segments_is_refused(body, data_coding):
    refused(TOO_LONG_STATUS, b"", data_coding, 0, payload_tlv(body))


def test_max_segments_is_configurable():
    refused(TOO_LONG_STATUS, b"a" * 161, 1, max_segments=1)
    assert analyse(b"a" * 160, 1, max_segments=1).segments == 1
    assert submit("a" * 765, 1, max_segments=5).segments == 5
    refused(TOO_LONG_STATUS, b"", 1, 0, payload_tlv(b"a" * 766), max_segments=5)


def test_extension_characters_fill_a_segment_by_septets():
    assert submit("{" * 80).segments == 1    # 160 septets
    assert submit("{" * 80 + "a").segments == 2
    assert submit("a" * 158 + "€").segments == 1  # the pair ends exactly at 160


# ----------------------------------------------- pairs are never cut


def test_escape_pair_is_not_split_at_a_boundary():
    a = submit("a" * 152 + "{" + "b" * 10)
    parts = split(a, 7)
    assert [p[6:] for p in parts] == [b"a" * 152, b"\x1b(" + b"b" * 10]
    # the pair pushes 306 septets to three segments where the table says two
    a = submit("a" * 152 + "{" + "b" * 152)
    assert (a.units, a.segments) == (306, 3)
    assert [len(p) - 6 for p in split(a, 7)] == [152, 153, 1]


def test_surrogate_pair_is_not_split_at_a_boundary():
    a = submit("ж" * 66 + EMOJI + "я" * 10)
    parts = split(a, 7)
    assert [p[6:].decode("utf-16-be") for p in parts] == ["ж" * 66, EMOJI + "я" * 10]


# ------------------------------------------------- the 140-octet arithmetic


def test_room_per_segment():
    assert (room(GSM7, 0), room(UCS2, 0), room(BINARY, 0)) == (160, 70, 140)
    assert (room(GSM7, 6), room(UCS2, 6), room(BINARY, 6)) == (153, 67, 134)
    assert (room(GSM7, 7), room(UCS2, 7), room(BINARY, 7)) == (152, 66, 133)


def test_packed_size_arithmetic():
    # 6 UDH octets = 48 bits + 1 fill bit = 7 septets; 7 + 153 = 160 septets = 1120 bits
    assert packed_octets(6, 153) == 140
    assert packed_octets(6, 154) == 141
    assert packed_octets(0, 160) == 140
    assert packed_octets(0, 161) == 141
    assert packed_octets(7, 152) == 140  # 56 bits + 0 fill = 8 septets
    udh = concat_udh(1, 2, 1)
    assert len(pack_septets(b"a" * 153, udh)) == 140
    assert len(pack_septets(b"a" * 154, udh)) == 141


def test_pack_septets_known_vectors():
    assert pack_septets(encode("hellohello", 0)).hex() == "e8329bfd4697d9ec37"  # 23.038
    # after a 6-octet UDH one fill bit precedes the first septet
    assert pack_septets(b"\x01", concat_udh(1, 2, 1)) == concat_udh(1, 2, 1) + b"\x02"
    with pytest.raises(ValueError):
        pack_septets(b"\x80")


# ----------------------------------------------------------- split, properties


@settings(max_examples=150)
@given(gsm_texts, st.integers(0, 255))
@example("a" * 152 + "{" * 80, 0)
def test_gsm_split_rejoins_and_fits(text, ref):
    a = submit(text, 0, max_segments=255)
    assert a.encoding == GSM7
    joined = check_parts(a, split(a, ref), ref)
    assert decode(joined, 0) == text
    assert table_segments(a.units, 160, 153) <= a.segments <= table_segments(a.units, 160, 152)
    if not set(text) & set(EXTENSION):
        assert a.segments == table_segments(len(text), 160, 153)


@given(basic_texts)
def test_gsm_segments_match_the_table_formula(text):
    a = submit(text, 8, max_segments=255)
    assert a.segments == table_segments(len(text), 160, 153)


@settings(max_examples=150)
@given(st.text(max_size=400), st.integers(0, 255))
@example("ж" * 66 + EMOJI * 40, 3)
def test_any_text_split_rejoins_and_fits(text, ref):
    a = submit(text, 8, max_segments=255)
    joined = check_parts(a, split(a, ref), ref)
    assert decode(joined, a.data_coding) == text
    if a.encoding == UCS2:
        assert a.units == len(text.encode("utf-16-be")) // 2
        assert table_segments(a.units, 70, 67) <= a.segments <= table_segments(a.units, 70, 66)
        if all(ord(c) < 0x10000 for c in text):
            assert a.segments == table_segments(len(text), 70, 67)


@given(st.binary(max_size=1000), st.integers(0, 255))
def test_binary_split_rejoins_and_fits(body, ref):
    a = analyse(b"", 2, 0, payload_tlv(body), max_segments=255)
    assert check_parts(a, split(a, ref), ref) == body
    assert a.segments == table_segments(len(body), 140, 134)


def test_split_output_exactly():
    a = submit("a" * 161, 1)
    assert split(a, 7) == [concat_udh(7, 2, 1) + b"a" * 153, concat_udh(7, 2, 2) + b"a" * 8]
    assert a.udhi
    single = analyse(b"hi", 0)
    assert split(single, 7) == [b"hi"] and not single.udhi
    with pytest.raises(ValueError):
        split(a, 256)


def test_message_payload_replaces_short_message():
    a = analyse(b"ignored", 1, 0, ((Tag.SOURCE_PORT, b"\x00\x01"), (Tag.MESSAGE_PAYLOAD, b"used")))
    assert a.text == "used"


# ----------------------------------------------------- client segments: UDH


def test_client_udh_8bit_concatenation():
    body = concat_udh(0x42, 3, 2) + b"hello"
    a = analyse(body, 0, ESM_CLASS_UDHI)
    assert a.client_segment == ClientSegment(ref=0x42, total=3, seq=2)
    assert (a.text, a.segments, a.udh, a.udhi) == ("hello", 1, body[:6], True)
    assert split(a, 9) == [body]


def test_client_udh_16bit_concatenation_and_other_ies():
    ports = bytes((0x05, 4, 0x0B, 0x84, 0x23, 0xF0))
    udh = bytes((12,)) + ports + bytes((0x08, 4, 0x12, 0x34, 2, 1))
    a = analyse(udh + "Привіт".encode("utf-16-be"), 8, ESM_CLASS_UDHI)
    assert a.client_segment == ClientSegment(0x1234, 2, 1)
    assert (a.text, a.encoding, a.udh) == ("Привіт", UCS2, udh)
    assert split(a, 0) == [udh + "Привіт".encode("utf-16-be")]


def test_client_udh_without_concatenation_is_one_segment():
    udh = bytes((6, 0x05, 4, 0x0B, 0x84, 0x23, 0xF0))
    a = analyse(udh + b"\x00\x01\x02", 4, ESM_CLASS_UDHI)
    assert (a.client_segment, a.segments, a.udh, a.payload) == (None, 1, udh, b"\x00\x01\x02")


@pytest.mark.parametrize(
    "udh, data_coding, unit, fits",
    [
        (concat_udh(1, 2, 1), 0, "a", 153),
        (bytes((6, 0x08, 4, 0, 1, 2, 1)), 0, "a", 152),
        (concat_udh(1, 2, 1), 8, "ж", 67),
        (concat_udh(1, 2, 1), 2, "x", 134),
    ],
)
def test_client_segment_must_fit_one_segment(udh, data_coding, unit, fits):
    def body(n):
        return udh + (encode(unit * n, data_coding) if data_coding != 2 else b"x" * n)
    a = analyse(b"", data_coding, ESM_CLASS_UDHI, payload_tlv(body(fits)))
    assert (a.units, a.segments) == (fits, 1)
    (part,) = split(a, 0)
    if data_coding == 0:
        assert len(pack_septets(part[len(udh):], udh)) == 140
    else:
        assert len(part) == 140
    refused(TOO_LONG_STATUS, b"", data_coding, ESM_CLASS_UDHI, payload_tlv(body(fits + 1)))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="no-udhl"),
        pytest.param(bytes((10, 0, 3, 1, 1)), id="udhl-past-the-end"),
        pytest.param(bytes((1, 0x00)) + b"hi", id="ie-without-length"),
        pytest.param(bytes((3, 0x05, 4, 0x0B)) + b"hi", id="ie-past-the-udh"),
        pytest.param(bytes((6, 0, 4, 1, 2, 1, 0)) + b"hi", id="8bit-concat-length-4"),
        pytest.param(bytes((5, 8, 3, 1, 2, 1)) + b"hi", id="16bit-concat-length-3"),
        pytest.param(concat_udh(1, 0, 0) + b"hi", id="total-0"),
        pytest.param(concat_udh(1, 2, 0) + b"hi", id="seq-0"),
        pytest.param(concat_udh(1, 2, 3) + b"hi", id="seq-over-total"),
        pytest.param(bytes((10, 0, 3, 1, 2, 1, 0, 3, 1, 2, 1)) + b"hi", id="two-concat-ies"),
    ],
)
def test_broken_client_udh_is_refused(body):
    refused(BAD_UDH_STATUS, body, 0, ESM_CLASS_UDHI)


def test_client_segment_text_must_decode():
    refused(UNDECODABLE_STATUS, concat_udh(1, 2, 1) + "ж".encode("utf-16-be")[:1], 8, ESM_CLASS_UDHI)
    refused(UNDECODABLE_STATUS, concat_udh(1, 2, 1) + b"ab\x1b", 0, ESM_CLASS_UDHI)


@given(
    st.integers(0, 0xFFFF), st.integers(1, 255), st.data(), st.booleans(),
    st.text(alphabet=BASIC, max_size=150),
)
def test_valid_client_udh_reads_as_python_smpp_reads_it(ref, total, data, wide, text):
    seq = data.draw(st.integers(1, total))
    if wide:
        udh = bytes((6, 0x08, 4)) + ref.to_bytes(2, "big") + bytes((total, seq))
    else:
        ref &= 0xFF
        udh = concat_udh(ref, total, seq)
    a = analyse(udh + encode(text, 0), 0, ESM_CLASS_UDHI)
    (ie,) = oracle_udh(udh)
    assert a.client_segment == ClientSegment(*ie.data)
    assert (a.client_segment.ref, a.text, a.segments) == (ref, text, 1)


# ---------------------------------------------- client segments: sar_* TLVs


def sar(ref: bytes = b"\x12\x34", total: bytes = b"\x03", seq: bytes = b"\x02", drop=()):
    tlvs = {Tag.SAR_MSG_REF_NUM: ref, Tag.SAR_TOTAL_SEGMENTS: total, Tag.SAR_SEGMENT_SEQNUM: seq}
    return tuple((t, v) for t, v in tlvs.items() if t not in drop)


def test_sar_segment_becomes_a_udh_on_the_operator_leg():
    a = analyse(b"hello", 0, 0, sar())
    assert a.client_segment == ClientSegment(0x1234, 3, 2)
    assert (a.text, a.segments, a.udh, a.udhi) == ("hello", 1, concat_udh(0x34, 3, 2), True)
    assert split(a, 0) == [concat_udh(0x34, 3, 2) + b"hello"]


def test_sar_part_fits_as_clients_cut_it():
    assert analyse(b"", 1, 0, sar() + payload_tlv(b"a" * 153)).units == 153
    refused(TOO_LONG_STATUS, b"", 1, 0, sar() + payload_tlv(b"a" * 154))
    refused(TOO_LONG_STATUS, "ж".encode("utf-16-be") * 68, 8, 0, sar())


def test_sar_with_a_udh_without_concatenation_merges():
    ports = bytes((6, 0x05, 4, 0x0B, 0x84, 0x23, 0xF0))
    a = analyse(ports + b"\x01\x02", 4, ESM_CLASS_UDHI, sar())
    assert a.udh == bytes((11,)) + ports[1:] + bytes((0, 3, 0x34, 3, 2))
    assert split(a, 0) == [a.udh + b"\x01\x02"]


def test_sar_next_to_a_concatenation_udh_is_refused():
    refused(SAR_CONFLICT_STATUS, concat_udh(1, 3, 2) + b"hi", 0, ESM_CLASS_UDHI, sar())


@pytest.mark.parametrize(
    "drop",
    [
        (Tag.SAR_MSG_REF_NUM,),
        (Tag.SAR_TOTAL_SEGMENTS,),
        (Tag.SAR_SEGMENT_SEQNUM,),
        (Tag.SAR_MSG_REF_NUM, Tag.SAR_SEGMENT_SEQNUM),
    ],
)
def test_sar_tlvs_come_as_three(drop):
    refused(SAR_MISSING_STATUS, b"hi", 0, 0, sar(drop=drop))


@pytest.mark.parametrize(
    "kw",
    [
        pytest.param({"ref": b"\x12"}, id="ref-1-octet"),
        pytest.param({"ref": b"\x00\x00\x12"}, id="ref-3-octets"),
        pytest.param({"total": b"\x00\x03"}, id="total-2-octets"),
        pytest.param({"seq": b""}, id="seq-empty"),
    ],
)
def test_sar_tlv_of_the_wrong_length_is_refused(kw):
    refused(SAR_LENGTH_STATUS, b"hi", 0, 0, sar(**kw))


@pytest.mark.parametrize(
    "total, seq", [(b"\x00", b"\x00"), (b"\x00", b"\x01"), (b"\x03", b"\x00"), (b"\x03", b"\x04")]
)
def test_sar_values_out_of_range_are_refused(total, seq):
    refused(SAR_VALUE_STATUS, b"hi", 0, 0, sar(total=total, seq=seq))



UDH = bytes([5, 0, 3, 9, 2, 1])  # concatenation IE: ref 9, part 1 of 2


@pytest.mark.parametrize("part,data_coding,alphabet,text", [
    # python-smpplib's make_parts: UCS-2 parts behind a 6-octet UDH
    *((p, 8, "gsm", p[6:].decode("utf-16-be")) for p in smpplib.gsm.make_parts(
        "Привіт! Ваше замовлення №1234 готове до видачі у відділенні. Дякуємо, що обрали нас!",
        encoding=smpplib.consts.SMPP_ENCODING_ISO10646)[0]),
    (UDH + encode("Hi @ {all}", 0), 0, "gsm", "Hi @ {all}"),
    # the client's Latin-1 "@" goes to the network (and the store) as GSM septet 00
    (UDH + "Hi @ {all}".encode("latin-1"), 0, "latin1", "Hi @ {all}"),
    (UDH + "Hi @ {all}".encode("latin-1"), 3, "gsm", "Hi @ {all}"),
], ids=["smpplib-ucs2-part1", "smpplib-ucs2-part2", "gsm", "latin1-default", "latin1-dc3"])  # make_parts draws
# a random reference: ids fixed, so both xdist workers collect the same tests
def test_what_the_engine_stores_of_a_clients_own_part_reads_back_as_its_text(part, data_coding, alphabet, text):
    """The one rule the HTTP API and the reports page read stored bodies by:
    the stored payload has no UDH and is in the leg's coding."""
    a = analyse(part, data_coding, ESM_CLASS_UDHI, default_alphabet=alphabet)
    assert stored_text(a.payload, a.data_coding) == text
