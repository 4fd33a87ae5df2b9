"""Our hot-path codec against smpp.pdu, the reference it replaces.

For random valid PDUs that smpp.pdu can represent, both encoders must give
the same bytes, our decoder must read those bytes back to the same record,
and smpp.pdu must read our bytes to the parameters it started from. The
record is turned into smpp.pdu's typed values with smpp.pdu's own field
decoders, so the oracle knows nothing of our codec.

A second property covers what smpp.pdu cannot represent (any octet in the
integer fields, any TLV): decode(encode(record)) == record.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smpp.pdu import constants as smpp_constants
from smpp.pdu import operations, pdu_types, smpp_time
from smpp.pdu.pdu_encoding import OptionEncoder, PDUEncoder

from smsc.pdu.codec import decode, encode, fast_constructor
from smsc.pdu.constants import CommandStatus
from smsc.pdu.pdus import (
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)

EXAMPLES = settings(max_examples=150, deadline=None)

# --- the oracle: our record -> smpp.pdu PDU, using smpp.pdu's own decoders ----


def smpp_class(record: Any) -> Any:
    name = smpp_constants.command_id_value_map[int(record.command_id)]
    return operations.getPDUClass(getattr(pdu_types.CommandId, name))


def smpp_value(encoder: Any, name: str, value: Any, klass: Any) -> Any:
    if name in ("schedule_delivery_time", "validity_period"):
        return smpp_time.parse(value) if value else None
    if name == "message_id" and klass is operations.DeliverSMResp:
        return None  # smpp.pdu insists it be NULL
    if isinstance(value, str):
        return value.encode("ascii")
    if isinstance(value, bytes):
        return value
    return encoder.decode(io.BytesIO(bytes([value])))  # an int field, typed by smpp.pdu


def to_smpp(record: Any) -> Any:
    klass = smpp_class(record)
    status = getattr(pdu_types.CommandStatus, CommandStatus(record.command_status).name)
    encoders = PDUEncoder().getRequiredParamEncoders(klass())
    params = {
        name: smpp_value(encoders[name], name, getattr(record, name), klass)
        for name in klass.mandatoryParams
    }
    for tag, value in getattr(record, "tlvs", ()):
        option = OptionEncoder().decode(io.BytesIO(struct.pack(">HH", tag, len(value)) + value))
        params[option.tag.name] = option.value
    return klass(record.sequence_number, status, **params)


def check_against_smpp_pdu(record: Any) -> None:
    with contextlib.redirect_stdout(io.StringIO()):  # smpp.pdu prints parsed times
        reference = to_smpp(record)
        theirs = PDUEncoder().encode(reference)
        ours = encode(record)
        assert ours == theirs
        assert decode(theirs) == record
        read_back = PDUEncoder().decode(io.BytesIO(ours))
        assert read_back.params == reference.params
        assert read_back.seqNum == record.sequence_number


# --- strategies: values smpp.pdu represents exactly ---------------------------

ascii_text = st.characters(min_codepoint=1, max_codepoint=127)


def c_text(max_len: int) -> st.SearchStrategy[str]:
    return st.text(ascii_text, max_size=max_len)


seqs = st.integers(min_value=1, max_value=0x7FFFFFFF)
statuses = st.sampled_from(list(CommandStatus))
tons = st.sampled_from(sorted(smpp_constants.addr_ton_value_map))
npis = st.sampled_from(sorted(smpp_constants.addr_npi_value_map))
esm_classes = st.builds(
    lambda mode, kind, features: mode | kind | features,
    st.integers(0, 3), st.sampled_from([0, 4, 8, 0x10, 0x18, 0x20]), st.sampled_from([0, 0x40, 0x80, 0xC0]),
)
registered = st.builds(
    lambda receipt, acks, inter: receipt | acks | inter,
    st.integers(0, 2), st.sampled_from([0, 4, 8, 12]), st.sampled_from([0, 0x10]),
)
# 0xF8-0xFF: smpp.pdu drops bit 3 of a GSM message-class coding
data_codings = st.integers(0, 255).filter(lambda v: v & 0xF8 != 0xF8)


@st.composite
def smpp_times(draw: Any) -> str:
    if draw(st.booleans()):
        digits = draw(st.text("0123456789", min_size=12, max_size=12))
        return digits + "000R"
    yy, mo, dd = draw(st.integers(0, 99)), draw(st.integers(1, 12)), draw(st.integers(1, 28))
    hh, mi, ss = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
    tenths, quarters = draw(st.integers(0, 9)), draw(st.integers(0, 48))
    sign = draw(st.sampled_from("+-")) if quarters else "+"
    return f"{yy:02d}{mo:02d}{dd:02d}{hh:02d}{mi:02d}{ss:02d}{tenths}{quarters:02d}{sign}"


def one_of_bytes(values: range | list[int]) -> st.SearchStrategy[bytes]:
    return st.sampled_from(list(values)).map(lambda v: bytes([v]))


INT1 = st.integers(0, 255).map(lambda v: bytes([v]))
INT2 = st.integers(0, 0xFFFF).map(lambda v: v.to_bytes(2, "big"))
INT4 = st.integers(0, 0xFFFFFFFF).map(lambda v: v.to_bytes(4, "big"))

#: TLV value strategies, by smpp.pdu name, for values smpp.pdu round-trips
TLV_VALUES: dict[str, st.SearchStrategy[bytes]] = {
    "user_message_reference": INT2,
    "source_port": INT2,
    "destination_port": INT2,
    "sar_msg_ref_num": INT2,
    "sar_total_segments": INT1,
    "sar_segment_seqnum": INT1,
    "user_response_code": INT1,
    "source_telematics_id": INT2,
    "dest_telematics_id": INT2,
    "qos_time_to_live": INT4,
    "more_messages_to_send": one_of_bytes([0, 1]),
    "payload_type": one_of_bytes([0, 1]),
    "privacy_indicator": one_of_bytes(range(4)),
    "language_indicator": one_of_bytes(range(6)),
    "source_addr_subunit": one_of_bytes(range(5)),
    "dest_addr_subunit": one_of_bytes(range(5)),
    "source_network_type": one_of_bytes(range(9)),
    "dest_network_type": one_of_bytes(range(9)),
    "source_bearer_type": one_of_bytes(range(9)),
    "dest_bearer_type": one_of_bytes(range(9)),
    "display_time": one_of_bytes(range(3)),
    "number_of_messages": one_of_bytes(range(100)),
    "message_state": one_of_bytes(range(1, 9)),
    "delivery_failure_reason": one_of_bytes(range(4)),
    "network_error_code": st.binary(min_size=3, max_size=3),
    "receipted_message_id": c_text(64).map(lambda s: s.encode() + b"\0"),
    "additional_status_info_text": c_text(255).map(lambda s: s.encode() + b"\0"),
    "message_payload": st.binary(max_size=400),
}


@st.composite
def smpp_tlvs(draw: Any, klass: Any, allow_payload: bool = True) -> tuple[tuple[int, bytes], ...]:
    """Distinct TLVs the command allows, in the order smpp.pdu writes them."""
    names = [n for n in klass.optionalParams if n in TLV_VALUES and (allow_payload or n != "message_payload")]
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=4)) if names else []
    chosen.sort(key=klass.optionalParams.index)
    return tuple((smpp_constants.tag_name_map[n], draw(TLV_VALUES[n])) for n in chosen)


@st.composite
def short_messages(draw: Any, cls: type, klass: Any) -> Any:
    deliver = cls is DeliverSm
    tlvs = draw(smpp_tlvs(klass))
    has_payload = any(tag == 0x0424 for tag, _ in tlvs)
    return cls(
        sequence_number=draw(seqs),
        service_type=draw(c_text(5)),
        source_addr_ton=draw(tons), source_addr_npi=draw(npis), source_addr=draw(c_text(20)),
        dest_addr_ton=draw(tons), dest_addr_npi=draw(npis), destination_addr=draw(c_text(20)),
        esm_class=draw(esm_classes), protocol_id=draw(st.integers(0, 255)),
        priority_flag=draw(st.integers(0, 3)),
        schedule_delivery_time="" if deliver else draw(st.one_of(st.just(""), smpp_times())),
        validity_period="" if deliver else draw(st.one_of(st.just(""), smpp_times())),
        registered_delivery=draw(registered), replace_if_present_flag=draw(st.integers(0, 1)),
        data_coding=draw(data_codings), sm_default_msg_id=draw(st.integers(0, 254)),
        short_message=b"" if has_payload else draw(st.binary(max_size=254)),
        tlvs=tlvs,
    )


@given(short_messages(SubmitSm, operations.SubmitSM))
@EXAMPLES
def test_submit_sm(record: SubmitSm) -> None:
    check_against_smpp_pdu(record)


@given(short_messages(DeliverSm, operations.DeliverSM))
@EXAMPLES
def test_deliver_sm(record: DeliverSm) -> None:
    check_against_smpp_pdu(record)


@given(st.builds(
    DataSm,
    sequence_number=seqs, service_type=c_text(5),
    source_addr_ton=tons, source_addr_npi=npis, source_addr=c_text(64),
    dest_addr_ton=tons, dest_addr_npi=npis, destination_addr=c_text(64),
    esm_class=esm_classes, registered_delivery=registered, data_coding=data_codings,
    tlvs=smpp_tlvs(operations.DataSM),
))
@EXAMPLES
def test_data_sm(record: DataSm) -> None:
    check_against_smpp_pdu(record)


@st.composite
def submit_sm_resps(draw: Any) -> SubmitSmResp:
    status = draw(st.one_of(st.just(CommandStatus.ESME_ROK), statuses))
    message_id = draw(c_text(64)) if status == 0 else ""  # no body on error
    return SubmitSmResp(sequence_number=draw(seqs), command_status=status, message_id=message_id)


@given(submit_sm_resps())
@EXAMPLES
def test_submit_sm_resp(record: SubmitSmResp) -> None:
    check_against_smpp_pdu(record)


@given(st.builds(DeliverSmResp, sequence_number=seqs, command_status=statuses))
@EXAMPLES
def test_deliver_sm_resp(record: DeliverSmResp) -> None:
    check_against_smpp_pdu(record)


@given(st.builds(
    DataSmResp, sequence_number=seqs, command_status=statuses, message_id=c_text(64),
    tlvs=smpp_tlvs(operations.DataSMResp),
))
@EXAMPLES
def test_data_sm_resp(record: DataSmResp) -> None:
    check_against_smpp_pdu(record)


@given(
    st.sampled_from([EnquireLink, EnquireLinkResp, GenericNack, Unbind, UnbindResp]),
    seqs,
    statuses,
)
@EXAMPLES
def test_header_only(cls: type, seq: int, status: int) -> None:
    request = cls in (EnquireLink, Unbind)
    check_against_smpp_pdu(cls(sequence_number=seq, command_status=0 if request else status))


# --- beyond smpp.pdu: any octet, any TLV --------------------------------------

octets = st.integers(0, 255)
raw_tlvs = st.lists(
    st.tuples(st.integers(0x1400, 0x3FFF), st.binary(max_size=30)), max_size=3
).map(tuple)


@given(st.one_of(
    st.builds(
        SubmitSm, sequence_number=st.integers(0, 2**32 - 1), command_status=st.integers(0, 2**32 - 1),
        service_type=c_text(5), source_addr_ton=octets, source_addr_npi=octets, source_addr=c_text(20),
        dest_addr_ton=octets, dest_addr_npi=octets, destination_addr=c_text(20),
        esm_class=octets, protocol_id=octets, priority_flag=octets,
        schedule_delivery_time=st.one_of(st.just(""), smpp_times()),
        validity_period=st.one_of(st.just(""), smpp_times()),
        registered_delivery=octets, replace_if_present_flag=octets, data_coding=octets,
        sm_default_msg_id=octets, short_message=st.binary(max_size=254), tlvs=raw_tlvs,
    ),
    st.builds(
        DeliverSm, sequence_number=st.integers(0, 2**32 - 1), source_addr_ton=octets,
        source_addr_npi=octets, source_addr=c_text(20), dest_addr_ton=octets, dest_addr_npi=octets,
        destination_addr=c_text(20), esm_class=octets, data_coding=octets,
        short_message=st.binary(max_size=254), tlvs=raw_tlvs,
    ),
    st.builds(
        DataSm, sequence_number=st.integers(0, 2**32 - 1), source_addr_ton=octets,
        source_addr=c_text(64), dest_addr_npi=octets, destination_addr=c_text(64),
        esm_class=octets, registered_delivery=octets, data_coding=octets, tlvs=raw_tlvs,
    ),
    st.builds(DataSmResp, sequence_number=st.integers(0, 2**32 - 1), message_id=c_text(64), tlvs=raw_tlvs),
    st.builds(DeliverSmResp, sequence_number=st.integers(0, 2**32 - 1), message_id=c_text(64)),
))
@settings(max_examples=300, deadline=None)
def test_round_trip_of_anything_sendable(record: Any) -> None:
    assert decode(encode(record)) == record


# --- fast_constructor builds real, frozen instances ---------------------------


@pytest.mark.parametrize("cls", [SubmitSm, DeliverSm, DataSm, SubmitSmResp, DeliverSmResp, DataSmResp, EnquireLink])
def test_fast_constructor_matches_the_real_one(cls: type) -> None:
    values = {f.name: getattr(cls(sequence_number=3), f.name) for f in dataclasses.fields(cls)}
    values["sequence_number"] = 99
    real = cls(**values)
    fast = fast_constructor(cls)(**values)
    positional = fast_constructor(cls, tuple(reversed(list(values))))(*reversed(list(values.values())))
    for made in (fast, positional):
        assert type(made) is cls
        assert made == real and hash(made) == hash(real)
        assert repr(made) == repr(real)
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.sequence_number = 1  # type: ignore[misc]
    assert fast_constructor(cls)(sequence_number=5) == cls(sequence_number=5)  # defaults kept


def test_fast_constructor_refuses_what_it_cannot_honour() -> None:
    with pytest.raises(TypeError):
        fast_constructor(SubmitSmResp, ("sequence_number", "command_status"))  # message_id missing

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        x: int

        def __post_init__(self) -> None:
            raise ValueError

    with pytest.raises(TypeError):
        fast_constructor(Checked)
