"""The engine's pieces for data_sm and submit_multi, without a store."""
from __future__ import annotations

from smsc.engine import _MultiSubmit, relative_validity, submission_of_data_sm
from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.constants import Tag
from smsc.pdu.pdus import DataSm, DestAddress, SubmitMulti, UnsuccessSme
from smsc.pdu.smpp_time import parse_smpp_time


def test_relative_validity():
    assert relative_validity(0) == ""
    assert relative_validity(90061) == "000001010101000R"  # 1 d 1 h 1 min 1 s
    assert parse_smpp_time(relative_validity(3600), 1000.0, S.ESME_RINVEXPIRY) == 4600.0
    assert relative_validity(10**9) == "000099235959000R"  # capped at what the format holds


def test_data_sm_submission_keeps_the_payload_and_has_no_short_message():
    tlvs = ((Tag.MESSAGE_PAYLOAD, b"x" * 300),)
    sm = submission_of_data_sm(DataSm(sequence_number=9, source_addr="A", destination_addr="1",
                                      esm_class=0x40, registered_delivery=2, data_coding=8, tlvs=tlvs))
    assert (sm.sequence_number, sm.short_message, sm.tlvs) == (9, b"", tlvs)
    assert (sm.esm_class, sm.registered_delivery, sm.data_coding) == (0x40, 2, 8)
    assert sm.validity_period == sm.schedule_delivery_time == ""


def _multi(n: int) -> SubmitMulti:
    return SubmitMulti(sequence_number=1, dest_addresses=tuple(
        DestAddress(1, 1, 1, f"38067000000{i}") for i in range(n)))


def test_multi_answers_once_all_are_in_with_the_first_accepted_id():
    replies = []
    c = _MultiSubmit(_multi(3), lambda *a: replies.append(a))
    c.answered(1, S.ESME_RINVDSTADR, "")
    c.answered(2, S.ESME_ROK, "b")
    assert not replies
    c.answered(0, S.ESME_ROK, "a")  # committed last, but first in the request
    [(_, status, message_id, failed)] = replies
    assert (status, message_id) == (S.ESME_ROK, "a")
    assert failed == (UnsuccessSme(1, 1, "380670000001", S.ESME_RINVDSTADR),)


def test_multi_all_refused_is_the_first_refusal_in_request_order():
    replies = []
    c = _MultiSubmit(_multi(2), lambda *a: replies.append(a))
    c.answered(1, S.ESME_RTHROTTLED, "")
    c.answered(0, S.ESME_RINVSRCADR, "")
    [(_, status, message_id, failed)] = replies
    assert (status, message_id) == (S.ESME_RINVSRCADR, "")
    assert [f.error_status_code for f in failed] == [S.ESME_RINVSRCADR, S.ESME_RTHROTTLED]
