"""The adapters and the engine's pieces for data_sm and submit_multi, without a store."""
from __future__ import annotations

from smsc.engine.submit import _MultiSubmit
from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.constants import Tag
from smsc.pdu.pdus import DataSm, DestAddress, SubmitMulti, SubmitSm
from smsc.pdu.smpp_time import format_relative, parse_smpp_time
from smsc.records import Submission
from smsc.submission import of_data_sm, of_submit_multi, of_submit_sm, of_text


def test_relative_validity():
    assert format_relative(0) == ""
    assert format_relative(90061) == "000001010101000R"  # 1 d 1 h 1 min 1 s
    assert parse_smpp_time(format_relative(3600), 1000.0, S.ESME_RINVEXPIRY) == 4600.0
    assert format_relative(10**9) == "000099235959000R"  # capped at what the format holds


def test_data_sm_submission_takes_the_payload_as_its_body():
    tlvs = ((Tag.MESSAGE_PAYLOAD, b"x" * 300), (Tag.QOS_TIME_TO_LIVE, (90).to_bytes(4, "big")))
    sub = of_data_sm(DataSm(sequence_number=9, source_addr="A", destination_addr="1",
                            esm_class=0x40, registered_delivery=2, data_coding=8, tlvs=tlvs))
    assert (sub.body, sub.sar) == (b"x" * 300, None)
    assert (sub.esm_class, sub.registered_delivery, sub.data_coding) == (0x40, 2, 8)
    assert (sub.validity_period, sub.schedule_delivery_time) == ("000000000130000R", "")


def test_submit_sm_submission_reads_payload_and_sar_tlvs():
    plain = of_submit_sm(SubmitSm(sequence_number=1, source_addr="Shop", source_addr_ton=5,
                                  destination_addr="380671234567", short_message=b"hi",
                                  replace_if_present_flag=1, validity_period="000001000000000R"))
    assert isinstance(plain, Submission)
    assert (plain.body, plain.sar, plain.replace_if_present, plain.source_addr_ton) == (b"hi", None, True, 5)
    assert plain.validity_period == "000001000000000R"
    sar = of_submit_sm(SubmitSm(sequence_number=1, short_message=b"ab", tlvs=(
        (Tag.SAR_MSG_REF_NUM, b"\x00\x07"), (Tag.SAR_TOTAL_SEGMENTS, b"\x02"), (Tag.SAR_SEGMENT_SEQNUM, b"\x01"))))
    assert sar.sar == {Tag.SAR_MSG_REF_NUM: b"\x00\x07", Tag.SAR_TOTAL_SEGMENTS: b"\x02",
                       Tag.SAR_SEGMENT_SEQNUM: b"\x01"}


def test_submit_multi_gives_one_submission_per_sme_destination_and_none_for_a_list():
    multi = SubmitMulti(sequence_number=1, source_addr="Shop", short_message=b"hi", dest_addresses=(
        DestAddress(1, 1, 1, "380670000001"), DestAddress(2, 0, 0, "friends")))
    first, second = of_submit_multi(multi)
    assert second is None
    assert first is not None and (first.destination_addr, first.body) == ("380670000001", b"hi")


def test_text_submission_has_no_ton_and_a_ucs2_body():
    sub = of_text("+380501234567", "0671234567", "Привіт", validity_seconds=60)
    assert (sub.source_addr, sub.source_addr_ton, sub.data_coding) == ("380501234567", None, 8)
    assert sub.body == "Привіт".encode("utf-16-be")
    assert sub.validity_period == "000000000100000R"
    assert of_text("MyShop", "1", "x").source_addr == "MyShop"


def test_multi_answers_once_all_are_in_with_the_first_accepted_id():
    replies = []
    c = _MultiSubmit("token", 3, lambda *a: replies.append(a))
    c.answered(1, S.ESME_RINVDSTADR, "")
    c.answered(2, S.ESME_ROK, "b")
    assert not replies
    c.answered(0, S.ESME_ROK, "a")  # committed last, but first in the request
    [(token, status, message_id, failed)] = replies
    assert (token, status, message_id) == ("token", S.ESME_ROK, "a")
    assert failed == ((1, S.ESME_RINVDSTADR),)


def test_multi_all_refused_is_the_first_refusal_in_request_order():
    replies = []
    c = _MultiSubmit(None, 2, lambda *a: replies.append(a))
    c.answered(1, S.ESME_RTHROTTLED, "")
    c.answered(0, S.ESME_RINVSRCADR, "")
    [(_, status, message_id, failed)] = replies
    assert (status, message_id) == (S.ESME_RINVSRCADR, "")
    assert [status for _, status in failed] == [S.ESME_RINVSRCADR, S.ESME_RTHROTTLED]
