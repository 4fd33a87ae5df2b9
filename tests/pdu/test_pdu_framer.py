"""Framer: the same frames however the stream is chunked; bad lengths end it."""
from __future__ import annotations

import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsc.pdu.constants import CommandStatus
from smsc.pdu.errors import FramingError
from smsc.pdu.framer import MAX_PDU_LENGTH, Framer


def pdu(command_id: int, seq: int, body: bytes = b"") -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, 0, seq) + body


FRAMES = [
    pdu(0x15, 1),
    pdu(0x04, 2, b"\0\x05\x00Shop\0\x01\x0179001234567\0\0\0\0\0\0\x01\0\0\0\x05Hello"),
    pdu(0x80000004, 2, b"0a1b2c\0"),
    pdu(0x103, 3, b"x" * 300),
    pdu(0x80000015, 1),
    pdu(0x06, 4),
]
STREAM = b"".join(FRAMES)


def feed_in_chunks(framer: Framer, data: bytes, sizes: list[int]) -> list[bytes]:
    out: list[bytes] = []
    pos = 0
    for size in sizes:
        out += framer.feed(data[pos:pos + size])
        pos += size
    out += framer.feed(data[pos:])
    return out


def test_all_at_once() -> None:
    framer = Framer()
    assert framer.feed(STREAM) == FRAMES
    assert framer.buffered == 0


def test_one_byte_at_a_time() -> None:
    framer = Framer()
    out = feed_in_chunks(framer, STREAM, [1] * len(STREAM))
    assert out == FRAMES
    assert all(type(f) is bytes for f in out)
    assert framer.buffered == 0


def test_seeded_random_chunks() -> None:
    rng = random.Random(20240101)
    for _ in range(200):
        sizes = [rng.randint(0, 40) for _ in range(rng.randint(0, 60))]
        assert feed_in_chunks(Framer(), STREAM, sizes) == FRAMES


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=30))
@settings(max_examples=200, deadline=None)
def test_any_chunking_gives_the_same_frames(cuts: list[int]) -> None:
    points = sorted(cuts)
    sizes = [b - a for a, b in zip([0] + points, points, strict=False)]
    assert feed_in_chunks(Framer(), STREAM, sizes) == FRAMES


def test_partial_frame_is_held_until_complete() -> None:
    framer = Framer()
    head, tail = FRAMES[1][:20], FRAMES[1][20:]
    assert framer.feed(FRAMES[0] + head) == [FRAMES[0]]
    assert framer.buffered == 20
    assert framer.feed(tail[:-1]) == []
    assert framer.feed(tail[-1:] + FRAMES[2][:3]) == [FRAMES[1]]
    assert framer.buffered == 3


def test_accepts_bytearray_and_memoryview_but_returns_bytes() -> None:
    framer = Framer()
    out = framer.feed(bytearray(FRAMES[0])) + framer.feed(memoryview(FRAMES[2]))
    assert out == [FRAMES[0], FRAMES[2]]
    assert all(type(f) is bytes for f in out)


@pytest.mark.parametrize("length", [0, 1, 15])
def test_command_length_below_the_header_is_fatal(length: int) -> None:
    framer = Framer()
    with pytest.raises(FramingError) as info:
        framer.feed(FRAMES[0] + struct.pack(">I", length) + b"\0" * 12)
    assert info.value.status == CommandStatus.ESME_RINVCMDLEN


def test_oversize_is_fatal_as_soon_as_the_length_arrives() -> None:
    framer = Framer(max_pdu_length=1024)
    assert framer.feed(b"\x00\x00") == []
    with pytest.raises(FramingError) as info:
        framer.feed(struct.pack(">H", 1025))  # completes command_length only
    assert info.value.status == CommandStatus.ESME_RINVCMDLEN


def test_default_cap_is_max_pdu_length() -> None:
    with pytest.raises(FramingError):
        Framer().feed(struct.pack(">I", MAX_PDU_LENGTH + 1))
    at_cap = pdu(0x103, 1, b"\0" * (MAX_PDU_LENGTH - 16))
    assert Framer().feed(at_cap) == [at_cap]


def test_framer_stays_broken() -> None:
    framer = Framer()
    with pytest.raises(FramingError):
        framer.feed(b"\xff\xff\xff\xff")
    with pytest.raises(FramingError) as info:
        framer.feed(FRAMES[0])
    assert info.value.status == CommandStatus.ESME_RINVCMDLEN


def test_a_cap_below_the_header_is_refused() -> None:
    with pytest.raises(ValueError):
        Framer(max_pdu_length=15)
