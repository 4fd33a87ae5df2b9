"""Every PDU type as a (record, wire bytes) pair, checked both ways.

The bytes are spelled out here, not produced by our encoder, so a change in
the codec that shifts a single octet fails a case. h11's SIMPLE_CASES shape
(STYLE B10): each case is also re-read one byte at a time through Framer.
"""
from __future__ import annotations

import struct

import pytest

from smsc.pdu.codec import decode, encode
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.constants import MessageState, Tag
from smsc.pdu.framer import Framer
from smsc.pdu.pdus import (
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    CancelSm,
    CancelSmResp,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    DestAddress,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    QuerySm,
    QuerySmResp,
    ReplaceSm,
    ReplaceSmResp,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    UnsuccessSme,
    UnsupportedPdu,
)


def wire(command_id: int, seq: int, body: bytes = b"", status: int = 0) -> bytes:
    """A PDU's bytes: a header written independently of the codec, then body."""
    return struct.pack(">IIII", 16 + len(body), command_id, status, seq) + body


RECEIPT_TEXT = (
    b"id:0a1b2c sub:001 dlvrd:001 submit date:2601011200 "
    b"done date:2601011201 stat:DELIVRD err:000 text:Hello"
)

# (record, bytes): encode(record) == bytes and decode(bytes) == record
CASES: list[tuple[object, bytes]] = [
    (
        SubmitSm(
            sequence_number=7, source_addr_ton=5, source_addr="Shop",
            dest_addr_ton=1, dest_addr_npi=1, destination_addr="79001234567",
            registered_delivery=1, short_message=b"Hello",
        ),
        wire(C.SUBMIT_SM, 7,
             b"\0" b"\x05\x00Shop\0" b"\x01\x0179001234567\0" b"\x00\x00\x00"
             b"\0" b"\0" b"\x01\x00\x00\x00" b"\x05Hello"),
    ),
    (
        SubmitSm(
            sequence_number=0x7FFFFFFF, service_type="CMT", source_addr_ton=1, source_addr_npi=1,
            source_addr="12345", dest_addr_ton=1, dest_addr_npi=1, destination_addr="79990001122",
            esm_class=0x40, protocol_id=0, priority_flag=3,
            schedule_delivery_time="260101120000004+", validity_period="000001000000000R",
            registered_delivery=0x11, replace_if_present_flag=1, data_coding=8, sm_default_msg_id=0,
            short_message=b"\x05\x00\x03\x2a\x02\x01\x04\x1f",
            tlvs=((Tag.SAR_MSG_REF_NUM, b"\x00\x2a"), (Tag.SAR_TOTAL_SEGMENTS, b"\x02"),
                  (Tag.SAR_SEGMENT_SEQNUM, b"\x01")),
        ),
        wire(C.SUBMIT_SM, 0x7FFFFFFF,
             b"CMT\0" b"\x01\x0112345\0" b"\x01\x0179990001122\0" b"\x40\x00\x03"
             b"260101120000004+\0" b"000001000000000R\0" b"\x11\x01\x08\x00"
             b"\x08\x05\x00\x03\x2a\x02\x01\x04\x1f"
             b"\x02\x0c\x00\x02\x00\x2a" b"\x02\x0e\x00\x01\x02" b"\x02\x0f\x00\x01\x01"),
    ),
    (
        SubmitSm(
            sequence_number=2, source_addr="a", destination_addr="b",
            tlvs=((Tag.MESSAGE_PAYLOAD, b"x" * 300),),
        ),
        wire(C.SUBMIT_SM, 2,
             b"\0\0\0a\0\0\0b\0\0\0\0\0\0\0\0\0\0\0"
             b"\x04\x24\x01\x2c" + b"x" * 300),
    ),
    (
        SubmitSmResp(sequence_number=7, message_id="0a1b2c"),
        wire(C.SUBMIT_SM_RESP, 7, b"0a1b2c\0"),
    ),
    (
        SubmitSmResp(sequence_number=8, command_status=S.ESME_RTHROTTLED),
        wire(C.SUBMIT_SM_RESP, 8, status=S.ESME_RTHROTTLED),
    ),
    (
        DeliverSm(
            sequence_number=9, source_addr_ton=1, source_addr_npi=1, source_addr="79001234567",
            dest_addr_ton=5, destination_addr="Shop", esm_class=4, short_message=RECEIPT_TEXT,
            tlvs=((Tag.RECEIPTED_MESSAGE_ID, b"0a1b2c\0"), (Tag.MESSAGE_STATE, b"\x02"),
                  (Tag.NETWORK_ERROR_CODE, b"\x03\x00\x00")),
        ),
        wire(C.DELIVER_SM, 9,
             b"\0" b"\x01\x0179001234567\0" b"\x05\x00Shop\0" b"\x04\x00\x00" b"\0\0"
             b"\x00\x00\x00\x00" + bytes([len(RECEIPT_TEXT)]) + RECEIPT_TEXT
             + b"\x00\x1e\x00\x070a1b2c\0" b"\x04\x27\x00\x01\x02" b"\x04\x23\x00\x03\x03\x00\x00"),
    ),
    (DeliverSmResp(sequence_number=9), wire(C.DELIVER_SM_RESP, 9, b"\0")),
    (
        DeliverSmResp(sequence_number=10, command_status=S.ESME_RX_T_APPN),
        wire(C.DELIVER_SM_RESP, 10, b"\0", status=S.ESME_RX_T_APPN),
    ),
    (
        DataSm(
            sequence_number=11, source_addr_ton=1, source_addr_npi=1, source_addr="a" * 64,
            destination_addr="79001234567", registered_delivery=1, data_coding=8,
            tlvs=((Tag.MESSAGE_PAYLOAD, b"\x04\x1f"), (Tag.SOURCE_PORT, b"\x0b\x84")),
        ),
        wire(C.DATA_SM, 11,
             b"\0\x01\x01" + b"a" * 64 + b"\0\x00\x0079001234567\0\x00\x01\x08"
             b"\x04\x24\x00\x02\x04\x1f" b"\x02\x0a\x00\x02\x0b\x84"),
    ),
    (
        DataSmResp(sequence_number=11, message_id="m1",
                   tlvs=((Tag.DELIVERY_FAILURE_REASON, b"\x01"),)),
        wire(C.DATA_SM_RESP, 11, b"m1\0\x04\x25\x00\x01\x01"),
    ),
    (EnquireLink(sequence_number=12), wire(C.ENQUIRE_LINK, 12)),
    (EnquireLinkResp(sequence_number=12), wire(C.ENQUIRE_LINK_RESP, 12)),
    (
        GenericNack(sequence_number=13, command_status=S.ESME_RINVCMDID),
        wire(C.GENERIC_NACK, 13, status=S.ESME_RINVCMDID),
    ),
    (Unbind(sequence_number=14), wire(C.UNBIND, 14)),
    (UnbindResp(sequence_number=14), wire(C.UNBIND_RESP, 14)),
    # --- through smpp.pdu --------------------------------------------------
    (
        BindTransmitter(sequence_number=1, system_id="esme", password="secret", system_type="VMA",
                        addr_ton=1, addr_npi=1, address_range="^7900"),
        wire(C.BIND_TRANSMITTER, 1, b"esme\0secret\0VMA\0\x34\x01\x01^7900\0"),
    ),
    (
        BindReceiver(sequence_number=2, system_id="esme", password="12345678"),
        wire(C.BIND_RECEIVER, 2, b"esme\x0012345678\0\0\x34\x00\x00\0"),
    ),
    (
        BindTransceiver(sequence_number=3, system_id="abcdefghijklmno", password="", interface_version=0x33),
        wire(C.BIND_TRANSCEIVER, 3, b"abcdefghijklmno\0\0\0\x33\x00\x00\0"),
    ),
    (
        BindTransmitterResp(sequence_number=1, system_id="smsc", sc_interface_version=0x34),
        wire(C.BIND_TRANSMITTER_RESP, 1, b"smsc\0\x02\x10\x00\x01\x34"),
    ),
    (
        BindReceiverResp(sequence_number=2, system_id="smsc"),
        wire(C.BIND_RECEIVER_RESP, 2, b"smsc\0"),
    ),
    (
        BindTransceiverResp(sequence_number=3, command_status=S.ESME_RBINDFAIL),
        wire(C.BIND_TRANSCEIVER_RESP, 3, status=S.ESME_RBINDFAIL),
    ),
    (
        Outbind(sequence_number=4, system_id="smsc", password="pw"),
        wire(C.OUTBIND, 4, b"smsc\0pw\0"),
    ),
    (
        QuerySm(sequence_number=5, message_id="0a1b2c", source_addr_ton=5, source_addr="Shop"),
        wire(C.QUERY_SM, 5, b"0a1b2c\0\x05\x00Shop\0"),
    ),
    (
        QuerySmResp(sequence_number=5, message_id="0a1b2c", final_date="260101120100000+",
                    message_state=MessageState.DELIVERED, error_code=0),
        wire(C.QUERY_SM_RESP, 5, b"0a1b2c\x00260101120100000+\0\x02\x00"),
    ),
    (
        QuerySmResp(sequence_number=6, message_id="x", message_state=MessageState.ENROUTE),
        wire(C.QUERY_SM_RESP, 6, b"x\0\0\x01\x00"),
    ),
    (
        CancelSm(sequence_number=7, message_id="0a1b2c", source_addr_ton=5, source_addr="Shop",
                 dest_addr_ton=1, dest_addr_npi=1, destination_addr="79001234567"),
        wire(C.CANCEL_SM, 7, b"\x000a1b2c\0\x05\x00Shop\0\x01\x0179001234567\0"),
    ),
    (CancelSmResp(sequence_number=7), wire(C.CANCEL_SM_RESP, 7)),
    (
        SubmitMulti(
            sequence_number=9, service_type="CMT", source_addr_ton=5, source_addr="Shop",
            dest_addresses=(DestAddress(1, 1, 1, "380671234567"), DestAddress(2, 0, 0, "staff")),
            esm_class=0, validity_period="000001000000000R", registered_delivery=1,
            data_coding=8, short_message=b"\x04\x10", tlvs=((Tag.USER_MESSAGE_REFERENCE, b"\x00\x07"),),
        ),
        wire(C.SUBMIT_MULTI, 9,
             b"CMT\0\x05\x00Shop\0\x02\x01\x01\x01380671234567\0\x02staff\0"
             b"\x00\x00\x00\x00" b"000001000000000R\0\x01\x00\x08\x00\x02\x04\x10"
             b"\x02\x04\x00\x02\x00\x07"),
    ),
    (
        SubmitMultiResp(sequence_number=9, message_id="1a",
                        unsuccess_sme=(UnsuccessSme(1, 1, "380201234567", S.ESME_RINVDSTADR),)),
        wire(C.SUBMIT_MULTI_RESP, 9, b"1a\0\x01\x01\x01380201234567\0\x00\x00\x00\x0b"),
    ),
    (
        SubmitMultiResp(sequence_number=10, command_status=S.ESME_RINVNUMDESTS),
        wire(C.SUBMIT_MULTI_RESP, 10, b"\0\0", status=S.ESME_RINVNUMDESTS),
    ),
    (
        ReplaceSm(sequence_number=11, message_id="1b9f", source_addr_ton=5, source_addr="Shop",
                  schedule_delivery_time="260101120000000+", validity_period="000001000000000R",
                  registered_delivery=1, short_message=b"New text"),
        wire(C.REPLACE_SM, 11, b"1b9f\0\x05\x00Shop\0" b"260101120000000+\0" b"000001000000000R\0"
             b"\x01\x00\x08New text"),
    ),
    (
        ReplaceSm(sequence_number=12, message_id="7"),
        wire(C.REPLACE_SM, 12, b"7\0\x00\x00\0\0\0\x00\x00\x00"),
    ),
    (ReplaceSmResp(sequence_number=11), wire(C.REPLACE_SM_RESP, 11)),
    (
        ReplaceSmResp(sequence_number=8, command_status=S.ESME_RREPLACEFAIL),
        wire(C.REPLACE_SM_RESP, 8, status=S.ESME_RREPLACEFAIL),
    ),
]

# bytes we must accept though we never write them so: (bytes, record)
DECODE_ONLY: list[tuple[bytes, object]] = [
    # an error submit_sm_resp may still carry a body
    (wire(C.SUBMIT_SM_RESP, 1, b"abc\0", status=S.ESME_RSYSERR),
     SubmitSmResp(sequence_number=1, command_status=S.ESME_RSYSERR, message_id="abc")),
    # some clients ack a receipt with no body at all
    (wire(C.DELIVER_SM_RESP, 2), DeliverSmResp(sequence_number=2)),
    (wire(C.DELIVER_SM_RESP, 3, b"ignored-id\0"), DeliverSmResp(sequence_number=3, message_id="ignored-id")),
    (wire(C.DATA_SM_RESP, 4, status=S.ESME_RSYSERR),
     DataSmResp(sequence_number=4, command_status=S.ESME_RSYSERR)),
    # an error bind_*_resp: body accepted, ignored
    (wire(C.BIND_TRANSMITTER_RESP, 5, b"smsc\0", status=S.ESME_RINVPASWD),
     BindTransmitterResp(sequence_number=5, command_status=S.ESME_RINVPASWD)),
    # sequence_number 0 is readable (smpp.pdu's own header reader refuses it)
    (wire(C.ENQUIRE_LINK, 0), EnquireLink(sequence_number=0)),
    (wire(C.BIND_TRANSMITTER, 0, b"a\0b\0\0\x34\0\0\0"),
     BindTransmitter(sequence_number=0, system_id="a", password="b")),
    # an error submit_multi_resp may come without a body
    (wire(C.SUBMIT_MULTI_RESP, 7, status=S.ESME_RSYSERR),
     SubmitMultiResp(sequence_number=7, command_status=S.ESME_RSYSERR)),
    # alert_notification has no record of its own
    (wire(C.ALERT_NOTIFICATION, 6, b"\x01\x01123\0\x00\x00esme\0"),
     UnsupportedPdu(command_id=C.ALERT_NOTIFICATION, sequence_number=6)),
]


def case_id(case: tuple[object, bytes]) -> str:
    return type(case[0]).__name__


@pytest.mark.parametrize("record, data", CASES, ids=[case_id(c) for c in CASES])
def test_encode_gives_the_bytes(record: object, data: bytes) -> None:
    assert encode(record) == data  # type: ignore[arg-type]


@pytest.mark.parametrize("record, data", CASES, ids=[case_id(c) for c in CASES])
def test_decode_gives_the_record(record: object, data: bytes) -> None:
    decoded = decode(data)
    assert decoded == record
    assert type(decoded) is type(record)


@pytest.mark.parametrize("data, record", DECODE_ONLY, ids=[type(r).__name__ for _, r in DECODE_ONLY])
def test_lenient_decodes(data: bytes, record: object) -> None:
    assert decode(data) == record


def test_every_command_id_has_a_case() -> None:
    """No command the codec owns is left out of the table."""
    covered = {int(r.command_id) for r, _ in CASES} | {int(r.command_id) for _, r in DECODE_ONLY}
    untested = {c for c in C if c not in covered}
    assert not untested


def test_table_fed_byte_by_byte_through_the_framer() -> None:
    stream = b"".join(data for _, data in CASES)
    framer = Framer()
    frames = [frame for i in range(len(stream)) for frame in framer.feed(stream[i:i + 1])]
    assert [decode(f) for f in frames] == [record for record, _ in CASES]
    assert framer.buffered == 0


def test_table_fed_at_once_through_the_framer() -> None:
    stream = b"".join(data for _, data in CASES)
    assert [decode(f) for f in Framer().feed(stream)] == [record for record, _ in CASES]


def test_decoded_fields_have_plain_types() -> None:
    """Strings are str, bodies bytes, TLVs (int, bytes) tuples: nothing from smpp.pdu leaks."""
    for record, data in CASES:
        decoded = decode(data)
        for name in decoded.__dataclass_fields__:
            value = getattr(decoded, name)
            assert type(value) in (int, str, bytes, tuple, type(None), C), (type(record).__name__, name)
            if name == "tlvs":
                assert all(type(tag) is int and type(v) is bytes for tag, v in value)
