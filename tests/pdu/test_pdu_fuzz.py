"""decode never raises anything but PduDecodeError, whatever follows a header."""
from __future__ import annotations

import contextlib
import io
import struct
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsc.pdu.codec import decode, encode
from smsc.pdu.constants import CommandId, CommandStatus, Tag
from smsc.pdu.errors import PduDecodeError
from smsc.pdu.pdus import (
    BindTransceiver,
    BindTransmitterResp,
    CancelSm,
    DataSm,
    DeliverSm,
    DestAddress,
    QuerySm,
    QuerySmResp,
    ReplaceSm,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    UnsuccessSme,
)

FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

command_ids = st.one_of(st.sampled_from([int(c) for c in CommandId]), st.integers(0, 2**32 - 1))

SEEDS = [
    encode(SubmitSm(sequence_number=1, service_type="CMT", source_addr="Shop", destination_addr="79001234567",
                    schedule_delivery_time="260101120000000+", short_message=b"Hello",
                    tlvs=((Tag.SAR_MSG_REF_NUM, b"\0\1"), (Tag.SAR_TOTAL_SEGMENTS, b"\2")))),
    encode(DeliverSm(sequence_number=2, source_addr="1", destination_addr="2", esm_class=4,
                     tlvs=((Tag.RECEIPTED_MESSAGE_ID, b"abc\0"), (Tag.MESSAGE_STATE, b"\2")))),
    encode(DataSm(sequence_number=3, source_addr="a", destination_addr="b",
                  tlvs=((Tag.MESSAGE_PAYLOAD, b"payload"),))),
    encode(BindTransceiver(sequence_number=4, system_id="esme", password="pw")),
    encode(BindTransmitterResp(sequence_number=5, system_id="smsc", sc_interface_version=0x34)),
    encode(QuerySm(sequence_number=6, message_id="m", source_addr="1")),
    encode(QuerySmResp(sequence_number=6, message_id="m", final_date="260101120000000+", message_state=2)),
    encode(CancelSm(sequence_number=7, message_id="m")),
    encode(SubmitMulti(sequence_number=8, source_addr="Shop", short_message=b"Hi",
                       validity_period="000001000000000R",
                       dest_addresses=(DestAddress(1, 1, 1, "380671234567"), DestAddress(2, 0, 0, "dl")),
                       tlvs=((Tag.USER_MESSAGE_REFERENCE, b"\0\1"),))),
    encode(ReplaceSm(sequence_number=10, message_id="1a", source_addr="Shop", registered_delivery=1,
                     validity_period="000001000000000R", short_message=b"New text")),
    encode(SubmitMultiResp(sequence_number=9, message_id="m",
                           unsuccess_sme=(UnsuccessSme(1, 1, "380", 11), UnsuccessSme(0, 0, "dl", 0x34)))),
]


def with_length(frame: bytes) -> bytes:
    return struct.pack(">I", len(frame)) + frame[4:]


@st.composite
def mutated(draw: Any) -> bytes:
    """A valid PDU with a few octets replaced, inserted or deleted."""
    frame = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(16, len(frame)))
        action = draw(st.sampled_from(["set", "insert", "delete", "cut"]))
        if action == "set" and pos < len(frame):
            frame[pos] = draw(st.integers(0, 255))
        elif action == "insert":
            frame[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif action == "delete":
            del frame[pos:pos + draw(st.integers(1, 4))]
        else:
            del frame[pos:]
    return with_length(bytes(frame))


@st.composite
def random_bodies(draw: Any) -> bytes:
    header = struct.pack(">III", draw(command_ids), draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**32 - 1)))
    return with_length(b"\0\0\0\0" + header + draw(st.binary(max_size=200)))


def assert_only_pdu_decode_error(frame: bytes) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            decode(frame)
        except PduDecodeError as exc:
            _, command_id, _, seq = struct.unpack_from(">IIII", frame)
            assert (exc.command_id, exc.sequence_number) == (command_id, seq)
            assert isinstance(exc.status, CommandStatus)
            # ESME_RSYSERR is the safety net for a decoder bug: it must never fire
            assert exc.status != CommandStatus.ESME_RSYSERR, exc.detail
    assert out.getvalue() == ""


@given(random_bodies())
@FUZZ
def test_random_bodies(frame: bytes) -> None:
    assert_only_pdu_decode_error(frame)


@given(mutated())
@FUZZ
def test_mutated_valid_pdus(frame: bytes) -> None:
    assert_only_pdu_decode_error(frame)


@given(st.binary(max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_bytes_at_all(frame: bytes) -> None:
    """Not even a header, or a command_length that lies: still PduDecodeError."""
    try:
        decode(frame)
    except PduDecodeError:
        pass
