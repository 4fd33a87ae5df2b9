"""Faults map to named statuses; nothing but PduDecodeError escapes decode;
encode refuses what cannot be sent; smpp.pdu prints nothing."""
from __future__ import annotations

import struct

import pytest

from smsc.pdu.codec import TLV_LENGTHS, decode, encode, encode_generic_nack, peek_header
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.constants import MessageState, Tag
from smsc.pdu.errors import LocalProtocolError, PduDecodeError
from smsc.pdu.pdus import (
    BindTransmitter,
    BindTransmitterResp,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    DestAddress,
    EnquireLink,
    GenericNack,
    QuerySmResp,
    ReplaceSm,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    UnsuccessSme,
    UnsupportedPdu,
)


def wire(command_id: int, seq: int, body: bytes = b"", status: int = 0) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, seq) + body


def submit_body(
    service_type: bytes = b"",
    source_addr: bytes = b"Shop",
    destination_addr: bytes = b"79001234567",
    schedule: bytes = b"",
    validity: bytes = b"",
    sm_length: int | None = None,
    short_message: bytes = b"Hello",
    tlvs: bytes = b"",
) -> bytes:
    """A submit_sm/deliver_sm body with the given raw fields (no checks)."""
    length = len(short_message) if sm_length is None else sm_length
    return (
        service_type + b"\0\x05\x00" + source_addr + b"\0\x01\x01" + destination_addr + b"\0"
        + b"\x00\x00\x00" + schedule + b"\0" + validity + b"\0" + b"\x01\x00\x00\x00"
        + bytes([length]) + short_message + tlvs
    )


def tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


def status_of(frame: bytes) -> S:
    with pytest.raises(PduDecodeError) as info:
        decode(frame)
    return info.value.status


# --- header ----------------------------------------------------------------


def test_unknown_command_id_keeps_the_header() -> None:
    with pytest.raises(PduDecodeError) as info:
        decode(wire(0x00000099, 42))
    assert info.value.status == S.ESME_RINVCMDID
    assert info.value.command_id == 0x99
    assert info.value.sequence_number == 42


def test_error_carries_header_of_a_known_command() -> None:
    with pytest.raises(PduDecodeError) as info:
        decode(wire(C.SUBMIT_SM, 77, submit_body(source_addr=b"x" * 21)))
    assert (info.value.command_id, info.value.sequence_number) == (C.SUBMIT_SM, 77)


@pytest.mark.parametrize("frame", [b"", b"\x00\x00\x00\x10", b"\x00" * 15])
def test_frame_shorter_than_a_header(frame: bytes) -> None:
    assert status_of(frame) == S.ESME_RINVCMDLEN
    with pytest.raises(PduDecodeError):
        peek_header(frame)


def test_command_length_must_match_the_frame() -> None:
    frame = wire(C.ENQUIRE_LINK, 1)
    assert status_of(frame + b"\0") == S.ESME_RINVCMDLEN
    assert status_of(struct.pack(">I", 17) + frame[4:]) == S.ESME_RINVCMDLEN


def test_peek_header() -> None:
    assert peek_header(wire(C.SUBMIT_SM_RESP, 9, b"a\0", status=S.ESME_RTHROTTLED)) == (
        18, C.SUBMIT_SM_RESP, S.ESME_RTHROTTLED, 9,
    )


def test_encode_generic_nack() -> None:
    assert encode_generic_nack(5, S.ESME_RINVCMDLEN) == encode(
        GenericNack(sequence_number=5, command_status=S.ESME_RINVCMDLEN)
    )
    assert decode(encode_generic_nack(5, S.ESME_RINVCMDID)).command_status == S.ESME_RINVCMDID


# --- lengths ---------------------------------------------------------------


@pytest.mark.parametrize(
    "command_id", [C.ENQUIRE_LINK, C.ENQUIRE_LINK_RESP, C.UNBIND, C.UNBIND_RESP, C.GENERIC_NACK]
)
def test_header_only_pdu_with_a_body(command_id: int) -> None:
    assert status_of(wire(command_id, 1, b"\0")) == S.ESME_RINVCMDLEN


def test_every_truncation_of_the_mandatory_fields_is_rinvcmdlen() -> None:
    body = submit_body(service_type=b"CMT", schedule=b"260101120000000+", short_message=b"")
    for cut in range(len(body)):
        assert status_of(wire(C.SUBMIT_SM, 1, body[:cut])) == S.ESME_RINVCMDLEN, cut


def test_short_message_cut_short_is_rinvmsglen() -> None:
    body = submit_body(short_message=b"Hello")
    assert status_of(wire(C.SUBMIT_SM, 1, body[:-1])) == S.ESME_RINVMSGLEN


def test_sm_length_255_is_rinvmsglen() -> None:
    frame = wire(C.SUBMIT_SM, 1, submit_body(sm_length=255, short_message=b"x" * 255))
    assert status_of(frame) == S.ESME_RINVMSGLEN


def test_trailing_octets_in_a_pdu_without_tlvs() -> None:
    assert status_of(wire(C.SUBMIT_SM_RESP, 1, b"id\0x")) == S.ESME_RINVCMDLEN
    assert status_of(wire(C.DELIVER_SM_RESP, 1, b"\0\0")) == S.ESME_RINVCMDLEN
    bind = b"esme\0pw\0\0\x34\x00\x00\0"
    assert decode(wire(C.BIND_TRANSMITTER, 1, bind)).system_id == "esme"
    assert status_of(wire(C.BIND_TRANSMITTER, 1, bind + b"x")) == S.ESME_RINVCMDLEN


def test_trailing_octets_in_a_pdu_with_tlvs_are_a_broken_tlv_stream() -> None:
    """After the mandatory fields of submit_sm only TLVs may follow."""
    assert status_of(wire(C.SUBMIT_SM, 1, submit_body() + b"\x02\x0c")) == S.ESME_RINVOPTPARSTREAM


def test_submit_sm_resp_ok_needs_its_message_id() -> None:
    assert status_of(wire(C.SUBMIT_SM_RESP, 1)) == S.ESME_RINVCMDLEN


# --- C-Octet Strings ---------------------------------------------------------


@pytest.mark.parametrize(
    "fields, status",
    [
        ({"service_type": b"CMTxyz"}, S.ESME_RINVSERTYP),
        ({"service_type": b"C\xc3\xa9"}, S.ESME_RINVSERTYP),
        ({"source_addr": b"1" * 21}, S.ESME_RINVSRCADR),
        ({"source_addr": b"\xd0\x9c\xd0\xb0\xd0\xb3"}, S.ESME_RINVSRCADR),
        ({"destination_addr": b"7" * 21}, S.ESME_RINVDSTADR),
        ({"destination_addr": b"7900\xff"}, S.ESME_RINVDSTADR),
        ({"schedule": b"26010112000000+"}, S.ESME_RINVSCHED),
        ({"schedule": b"2601011200000000+"}, S.ESME_RINVSCHED),
        ({"schedule": b"2601011200000X0+"}, S.ESME_RINVSCHED),
        ({"validity": b"000001000000000X"}, S.ESME_RINVEXPIRY),
        ({"validity": b"00000100000000\xb00R"}, S.ESME_RINVEXPIRY),
    ],
)
def test_field_faults_name_the_field(fields: dict[str, bytes], status: S) -> None:
    assert status_of(wire(C.SUBMIT_SM, 1, submit_body(**fields))) == status  # type: ignore[arg-type]


def test_longest_legal_fields_pass() -> None:
    body = submit_body(
        service_type=b"CMTxy", source_addr=b"1" * 20, destination_addr=b"7" * 20,
        schedule=b"260101120000000-", validity=b"000001000000000R", short_message=b"x" * 254,
    )
    record = decode(wire(C.SUBMIT_SM, 1, body))
    assert (len(record.source_addr), len(record.short_message)) == (20, 254)


def test_data_sm_addresses_may_reach_64_but_not_65() -> None:
    def data_sm(addr: bytes) -> bytes:
        return wire(C.DATA_SM, 1, b"\0\x01\x01" + addr + b"\0\x01\x01" + b"7\0" + b"\0\0\0")

    assert decode(data_sm(b"a" * 64)).source_addr == "a" * 64
    assert status_of(data_sm(b"a" * 65)) == S.ESME_RINVSRCADR


def test_deliver_sm_times_must_be_null() -> None:
    assert status_of(wire(C.DELIVER_SM, 1, submit_body(schedule=b"260101120000000+"))) == S.ESME_RINVSCHED
    assert status_of(wire(C.DELIVER_SM, 1, submit_body(validity=b"000001000000000R"))) == S.ESME_RINVEXPIRY


def test_message_id_faults() -> None:
    assert status_of(wire(C.SUBMIT_SM_RESP, 1, b"x" * 65 + b"\0")) == S.ESME_RINVMSGID
    assert status_of(wire(C.SUBMIT_SM_RESP, 1, b"\xe2\x82\xac\0")) == S.ESME_RINVMSGID
    assert decode(wire(C.SUBMIT_SM_RESP, 1, b"x" * 64 + b"\0")).message_id == "x" * 64


# --- TLVs ------------------------------------------------------------------


def test_truncated_tlv_header() -> None:
    frame = wire(C.DELIVER_SM, 1, submit_body(tlvs=tlv(Tag.MESSAGE_STATE, b"\x02") + b"\x04\x27\x00"))
    assert status_of(frame) == S.ESME_RINVOPTPARSTREAM


def test_tlv_value_running_past_the_end() -> None:
    frame = wire(C.DELIVER_SM, 1, submit_body(tlvs=b"\x00\x1e\x00\x10abc\0"))
    assert status_of(frame) == S.ESME_RINVOPTPARSTREAM
    resp = wire(C.DATA_SM_RESP, 1, b"id\0" + b"\x04\x25\x00\x05\x01")
    assert status_of(resp) == S.ESME_RINVOPTPARSTREAM


@pytest.mark.parametrize(
    "tag, value",
    [
        (Tag.SAR_MSG_REF_NUM, b"\x01"),
        (Tag.SAR_MSG_REF_NUM, b"\x00\x00\x01"),
        (Tag.SAR_TOTAL_SEGMENTS, b"\x00\x02"),
        (Tag.SAR_SEGMENT_SEQNUM, b""),
        (Tag.MESSAGE_STATE, b"\x00\x02"),
        (Tag.USER_MESSAGE_REFERENCE, b"\x01"),
        (Tag.NETWORK_ERROR_CODE, b"\x03\x00"),
        (Tag.SC_INTERFACE_VERSION, b"\x34\x00"),
        (Tag.RECEIPTED_MESSAGE_ID, b"x" * 66),
        (Tag.RECEIPTED_MESSAGE_ID, b""),
    ],
)
def test_known_tlv_with_a_forbidden_length(tag: int, value: bytes) -> None:
    frame = wire(C.DELIVER_SM, 1, submit_body(tlvs=tlv(tag, value)))
    assert status_of(frame) == S.ESME_RINVPARLEN


def test_sc_interface_version_length_in_a_bind_resp() -> None:
    frame = wire(C.BIND_TRANSMITTER_RESP, 1, b"smsc\0" + tlv(Tag.SC_INTERFACE_VERSION, b"\x34\x00"))
    assert status_of(frame) == S.ESME_RINVPARLEN


def test_unknown_and_vendor_tlvs_pass_through_raw() -> None:
    tlvs = tlv(0x1400, b"vendor data") + tlv(0x0000, b"")
    record = decode(wire(C.SUBMIT_SM, 1, submit_body(tlvs=tlvs)))
    assert record.tlvs == ((0x1400, b"vendor data"), (0x0000, b""))


def test_message_payload_with_a_short_message_is_rinvparlen() -> None:
    frame = wire(C.SUBMIT_SM, 1, submit_body(short_message=b"Hi", tlvs=tlv(Tag.MESSAGE_PAYLOAD, b"long")))
    assert status_of(frame) == S.ESME_RINVPARLEN
    alone = decode(wire(C.SUBMIT_SM, 1, submit_body(short_message=b"", tlvs=tlv(Tag.MESSAGE_PAYLOAD, b"long"))))
    assert alone.tlvs == ((Tag.MESSAGE_PAYLOAD, b"long"),)


# --- submit_multi (our own decoder) -------------------------------------------


def multi(dests: bytes, tail: bytes = b"\0\0\0\0\0\x01\0\0\0\x02hi") -> bytes:
    """A submit_multi frame: source "src", ``dests`` (number_of_dests
    included), then ``tail`` (esm_class .. short_message, TLVs)."""
    return wire(C.SUBMIT_MULTI, 3, b"\0\x05\x00src\0" + dests + tail)


ONE_DEST = b"\x01\x01\x01\x01380671234567\0"


@pytest.mark.parametrize(
    "frame, status",
    [
        (multi(b"\x00"), S.ESME_RINVNUMDESTS),
        (multi(b"\xff" + ONE_DEST[1:] * 255), S.ESME_RINVNUMDESTS),
        (multi(b"\x01\x03\x01\x01123\0"), S.ESME_RINVDESTFLAG),
        (multi(b"\x01\x00\x01\x01123\0"), S.ESME_RINVDESTFLAG),
        (multi(b"\x02" + ONE_DEST[1:], b""), S.ESME_RINVCMDLEN),  # says 2, has 1: body ends early
        (multi(b"\x02" + ONE_DEST[1:]), S.ESME_RINVDESTFLAG),  # ... and esm_class 0 is no dest_flag
        (multi(b"\x01\x01\x01\x01" + b"1" * 21 + b"\0"), S.ESME_RINVDSTADR),
        (multi(b"\x01\x01\x01\x01\xd0\xb0\0"), S.ESME_RINVDSTADR),
        (multi(b"\x01\x02" + b"L" * 21 + b"\0"), S.ESME_RINVDLNAME),
        (multi(ONE_DEST, b"\0\0\0tomorrow\0\0\x01\0\0\0\0"), S.ESME_RINVSCHED),
        (multi(ONE_DEST, b"\0\0\0\x8000001000000000R\0\0\x01\0\0\0\0"), S.ESME_RINVSCHED),
        (multi(ONE_DEST, b"\0\0\0\0\x8000001000000000R\0\x01\0\0\0\0"), S.ESME_RINVEXPIRY),
        (multi(ONE_DEST, b"\0\0\0\0\0\x01\0\0\0\xff" + b"x" * 255), S.ESME_RINVMSGLEN),
        (multi(ONE_DEST, b"\0\0\0\0\0\x01\0\0\0\x03hi"), S.ESME_RINVMSGLEN),
        (multi(ONE_DEST, b"\0\0\0\0\0\x01\0\0\0\x02hi" + tlv(Tag.MESSAGE_PAYLOAD, b"x")),
         S.ESME_RINVPARLEN),
        (multi(ONE_DEST, b"\0\0\0\0\0\x01\0\0\0\x02hi\x04"), S.ESME_RINVOPTPARSTREAM),
        (multi(ONE_DEST, b"\0\0"), S.ESME_RINVCMDLEN),
        (wire(C.SUBMIT_MULTI, 3, b"\0\x05\x00src"), S.ESME_RINVCMDLEN),
        (wire(C.SUBMIT_MULTI_RESP, 3), S.ESME_RINVCMDLEN),  # ESME_ROK needs a body
        (wire(C.SUBMIT_MULTI_RESP, 3, b"id\0\x01\x01\x01123\0\0\0"), S.ESME_RINVCMDLEN),
        (wire(C.SUBMIT_MULTI_RESP, 3, b"id\0\x00\x00"), S.ESME_RINVCMDLEN),
    ],
)
def test_submit_multi_faults(frame: bytes, status: S) -> None:
    with pytest.raises(PduDecodeError) as info:
        decode(frame)
    assert info.value.status == status
    assert (info.value.command_id, info.value.sequence_number) == (struct.unpack_from(">I", frame, 4)[0], 3)


def test_submit_multi_takes_254_destinations_and_list_names() -> None:
    record = decode(multi(b"\xfe" + ONE_DEST[1:] * 253 + b"\x02staff\0"))
    assert len(record.dest_addresses) == 254
    assert record.dest_addresses[0] == DestAddress(1, 1, 1, "380671234567")
    assert record.dest_addresses[-1] == DestAddress(2, 0, 0, "staff")
    assert record.short_message == b"hi" and record.registered_delivery == 1


@pytest.mark.parametrize(
    "record",
    [
        SubmitMulti(sequence_number=1),  # no destination
        SubmitMulti(sequence_number=1, dest_addresses=(DestAddress(1, 1, 1, "1"),) * 255),
        SubmitMulti(sequence_number=1, dest_addresses=(DestAddress(3, 1, 1, "1"),)),
        SubmitMulti(sequence_number=1, dest_addresses=(DestAddress(1, 1, 1, "1" * 21),)),
        SubmitMultiResp(sequence_number=1, unsuccess_sme=(UnsuccessSme(1, 1, "1" * 21, 11),)),
        SubmitMultiResp(sequence_number=1, unsuccess_sme=(UnsuccessSme(1, 1, "1", 2**32),)),
    ],
    ids=lambda r: type(r).__name__,
)
def test_submit_multi_encode_refuses(record: object) -> None:
    with pytest.raises(LocalProtocolError):
        encode(record)  # type: ignore[arg-type]


# --- through smpp.pdu --------------------------------------------------------


@pytest.mark.parametrize(
    "body, status",
    [
        (b"id\0\x01\x01src\0\0\0\x00\x00\x02hi", S.ESME_ROK),
        (b"id\0\x01\x01src\0\0\0\x00\x00\x02hi\x02\x04\x00\x02\x00\x01", S.ESME_RINVCMDLEN),  # a TLV: none in 3.4
        (b"id\0\x01\x01src\0\0\0\x00\x00\x05hi", S.ESME_RINVMSGLEN),
        (b"id\0\x01\x01src\0\0\0\x00\x00\xffhi", S.ESME_RINVMSGLEN),
        (b"id\0\x01\x01src\0\0\0\x00\x00", S.ESME_RINVCMDLEN),
        (b"x" * 65 + b"\0\x01\x01src\0\0\0\x00\x00\x00", S.ESME_RINVMSGID),
        (b"id\0\x01\x01" + b"s" * 21 + b"\0\0\0\x00\x00\x00", S.ESME_RINVSRCADR),
        (b"id\0\x01\x01src\0tomorrow\0\0\x00\x00\x00", S.ESME_RINVSCHED),
        (b"id\0\x01\x01src\0\x00000001000000000X\0\x00\x00\x00", S.ESME_RINVEXPIRY),
        (b"i\xffd\0\x01\x01src\0\0\0\x00\x00\x00", S.ESME_RINVMSGID),
    ],
)
def test_replace_sm_faults(body: bytes, status: S) -> None:
    """replace_sm has its own strict decoder (smpp.pdu cannot read it)."""
    frame = wire(C.REPLACE_SM, 3, body)
    if status == S.ESME_ROK:
        assert isinstance(decode(frame), ReplaceSm)
        assert decode(frame).short_message == b"hi"
        return
    assert status_of(frame) == status


@pytest.mark.parametrize(
    "body, status",
    [
        (b"sixteen-chars-id\0pw\0\0\x34\x00\x00\0", S.ESME_RINVSYSID),
        (b"esme\0ninechars\0\0\x34\x00\x00\0", S.ESME_RINVPASWD),
        (b"\xd0\xb8d\0pw\0\0\x34\x00\x00\0", S.ESME_RINVSYSID),
        (b"esme\0p\xffw\0\0\x34\x00\x00\0", S.ESME_RINVPASWD),
        (b"esme\0pw\0\0\x34\x00\x00r\xe9\0", S.ESME_RBINDFAIL),
        (b"esme\0pw\0\0\x34", S.ESME_RINVCMDLEN),
        (b"esme\0pw\0\0\x34\x07\x00\0", S.ESME_RUNKNOWNERR),  # addr_ton 7 unknown to smpp.pdu
    ],
)
def test_bind_faults(body: bytes, status: S) -> None:
    assert status_of(wire(C.BIND_TRANSMITTER, 1, body)) == status


def test_bind_resp_ok_without_body_is_rinvcmdlen() -> None:
    assert status_of(wire(C.BIND_RECEIVER_RESP, 1)) == S.ESME_RINVCMDLEN


def test_bind_resp_tlv_faults() -> None:
    def bind_resp(tail: bytes) -> bytes:
        return wire(C.BIND_TRANSMITTER_RESP, 1, b"smsc\0" + tail)

    assert status_of(bind_resp(b"\x02\x10\x00\x01")) == S.ESME_RINVOPTPARSTREAM  # value missing
    assert status_of(bind_resp(b"\x02\x10\x00\x05\x34")) == S.ESME_RINVPARLEN  # says 5, Int1
    assert status_of(bind_resp(b"\x02\x10\x00")) == S.ESME_RINVCMDLEN  # header cut: smpp.pdu's EOF


def test_smpp_pdu_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """smpp.pdu prints while parsing times; we silence it both ways."""
    record = QuerySmResp(sequence_number=1, message_id="m", final_date="260101120000000+",
                         message_state=MessageState.DELIVERED)
    assert decode(encode(record)) == record
    for body in (b"m\0bad-time\0\x02\x00", b"m\x00260101120000000+\0\x09\x00"):
        with pytest.raises(PduDecodeError):
            decode(wire(C.QUERY_SM_RESP, 1, body))
    assert capsys.readouterr().out == ""


def test_unsupported_commands_decode_to_unsupported_pdu() -> None:
    record = decode(wire(C.ALERT_NOTIFICATION, 4, b"\x01\x01123\0\x00\x00esme\0"))
    assert record == UnsupportedPdu(command_id=C.ALERT_NOTIFICATION, sequence_number=4)


# --- encode refuses what cannot be sent ---------------------------------------

GOOD = SubmitSm(sequence_number=1, source_addr="Shop", destination_addr="79001234567", short_message=b"Hi")


@pytest.mark.parametrize(
    "record",
    [
        SubmitSm(sequence_number=1, source_addr="Магазин"),
        SubmitSm(sequence_number=1, source_addr="1" * 21),
        SubmitSm(sequence_number=1, destination_addr="79\x001"),
        SubmitSm(sequence_number=1, service_type="CMTxyz"),
        SubmitSm(sequence_number=1, short_message=b"x" * 255),
        SubmitSm(sequence_number=1, short_message="text"),  # type: ignore[arg-type]
        SubmitSm(sequence_number=1, esm_class=256),
        SubmitSm(sequence_number=1, source_addr_ton=-1),
        SubmitSm(sequence_number=2**32),
        SubmitSm(sequence_number=1, schedule_delivery_time="tomorrow"),
        SubmitSm(sequence_number=1, validity_period="00000100000000XR"),
        DeliverSm(sequence_number=1, validity_period="000001000000000R"),
        DeliverSm(sequence_number=1, tlvs=((Tag.MESSAGE_STATE, b"\x02\x00"),)),
        DeliverSm(sequence_number=1, short_message=b"x", tlvs=((Tag.MESSAGE_PAYLOAD, b"y"),)),
        DeliverSm(sequence_number=1, tlvs=((Tag.RECEIPTED_MESSAGE_ID, "abc\0"),)),  # type: ignore[arg-type]
        DeliverSm(sequence_number=1, tlvs=((0x1400, b"x" * 65536),)),
        SubmitSmResp(sequence_number=1, message_id="x" * 65),
        SubmitSmResp(sequence_number=1, message_id="é"),
        DeliverSmResp(sequence_number=1, message_id="a\0b"),
        DataSmResp(sequence_number=1, tlvs=((Tag.DELIVERY_FAILURE_REASON, b""),)),
        EnquireLink(sequence_number=-1),
        BindTransmitter(sequence_number=1, system_id="x" * 16, password="pw"),
        BindTransmitter(sequence_number=1, system_id="esme", password="ninechars"),
        BindTransmitter(sequence_number=1, system_id="esme", password="pw", addr_ton=99),
        BindTransmitterResp(sequence_number=1, system_id="smsc", sc_interface_version=256),
        QuerySmResp(sequence_number=1, message_id="m", message_state=0),  # 0 is no state
        QuerySmResp(sequence_number=1, message_id="m", message_state=2, final_date="soon"),
        UnsupportedPdu(command_id=C.SUBMIT_MULTI_RESP, sequence_number=1),
    ],
    ids=lambda r: type(r).__name__,
)
def test_encode_refuses(record: object) -> None:
    with pytest.raises(LocalProtocolError):
        encode(record)  # type: ignore[arg-type]


def test_encode_refuses_a_non_pdu() -> None:
    with pytest.raises(LocalProtocolError):
        encode(object())  # type: ignore[arg-type]


def test_the_refusals_are_not_blanket() -> None:
    """The records above fail for their fault, not for being SubmitSm etc."""
    assert decode(encode(GOOD)) == GOOD
    assert decode(encode(SubmitSmResp(sequence_number=1, message_id="x" * 64))).message_id == "x" * 64
    assert encode(UnsupportedPdu(command_id=C.SUBMIT_MULTI_RESP, sequence_number=1,
                                 command_status=S.ESME_RINVCMDID)) == wire(C.SUBMIT_MULTI_RESP, 1,
                                                                           status=S.ESME_RINVCMDID)


def test_tlv_length_table_matches_the_spec_for_the_fixed_ones() -> None:
    """Spot-check the table against SMPP 3.4 section 5.3.2."""
    assert TLV_LENGTHS[Tag.SAR_MSG_REF_NUM] == (2, 2)
    assert TLV_LENGTHS[Tag.SAR_TOTAL_SEGMENTS] == (1, 1)
    assert TLV_LENGTHS[Tag.NETWORK_ERROR_CODE] == (3, 3)
    assert TLV_LENGTHS[Tag.QOS_TIME_TO_LIVE] == (4, 4)
    assert Tag.MESSAGE_PAYLOAD not in TLV_LENGTHS
