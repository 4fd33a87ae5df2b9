"""The malformed-PDU corpus (tests/pdu/malformed_corpus.txt, written by
scripts/fuzz_session --corpus: up to 8 frames for each distinct answer the
fuzzer saw) replayed on every run: each frame decodes or fails with a
PduDecodeError naming a real status, and fed to a session bound as a
transceiver and to one not bound yet it is answered exactly once (or the
link closes), with nothing raised or logged as an error and everything the
server writes decodable (tests/session_harness.py's invariants)."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest

from session_harness import PASSWORD, SYSTEM_ID, Harness
from smsc.pdu.codec import decode, encode
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus
from smsc.pdu.errors import PduDecodeError
from smsc.pdu.pdus import BindTransceiver

CORPUS = Path(__file__).with_name("malformed_corpus.txt")


def frames() -> list[tuple[str, bytes]]:
    out = []
    for n, line in enumerate(CORPUS.read_text().splitlines()):
        if line.strip() and not line.startswith("#"):
            key, hexframe = line.split(" ", 1)
            out.append((f"{n}:{key}", bytes.fromhex(hexframe)))
    return out


FRAMES = frames()


def test_the_corpus_is_there_and_varied():
    assert len(FRAMES) >= 300
    assert len({key.split(":", 1)[1] for key, _ in FRAMES}) >= 50  # distinct answers


@pytest.fixture(scope="module")
def harness():
    h = Harness()
    yield h
    h.close()


@pytest.mark.parametrize("bound", [True, False], ids=["bound", "unbound"])
def test_each_frame_is_answered_once_and_breaks_nothing(harness, bound):
    for key, frame in FRAMES:
        try:
            decode(frame)
        except PduDecodeError as exc:
            assert isinstance(exc.status, CommandStatus) and exc.status != CommandStatus.ESME_RSYSERR, key
        c = harness.connect()
        if bound:
            c.send(encode(BindTransceiver(sequence_number=1, system_id=SYSTEM_ID, password=PASSWORD)),
                   (1, C.BIND_TRANSCEIVER))  # the corpus's own sequence numbers start at 0x10001
        _, cid, _, seq = struct.unpack_from(">IIII", frame)
        c.send(frame, None if cid & 0x80000000 else (seq, cid))
        c.answer_server()
        c.settle()
        c.check_answered()
        harness.check()
        c.lose()
        harness.conns.remove(c)
