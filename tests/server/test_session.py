"""The sans-IO session: bytes in, events and bytes out, no sockets."""
from __future__ import annotations

import pytest

from smsc.pdu.codec import decode, encode
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.errors import LocalProtocolError
from smsc.pdu.framer import Framer
from smsc.pdu.pdus import (
    BindTransceiver, BindTransceiverResp, BindTransmitter, BindTransmitterResp,
    DeliverSm, DeliverSmResp, EnquireLink, GenericNack, SubmitSm, SubmitSmResp,
    Unbind, UnbindResp,
)
from smsc.server.session import RequestReceived, ResponseReceived, Session, SessionClosed
from smsc.server.states import State


def out(session: Session) -> list:
    data = session.data_to_send()
    return [decode(f) for f in Framer().feed(data)]


def bound(kind=BindTransceiver, resp=BindTransceiverResp) -> Session:
    s = Session(now=lambda: 0.0, window=2)
    [ev] = s.receive_data(encode(kind(sequence_number=1, system_id="a", password="b")))
    s.send(resp(sequence_number=1, system_id="smsc"))
    s.data_to_send()
    return s


SUBMIT = SubmitSm(sequence_number=5, source_addr="SMSClub", destination_addr="380671234567", short_message=b"hi")


def test_bind_changes_state_only_when_ok_response_is_sent():
    s = Session(now=lambda: 0.0)
    [ev] = s.receive_data(encode(BindTransceiver(sequence_number=1, system_id="a", password="b")))
    assert isinstance(ev, RequestReceived) and isinstance(ev.pdu, BindTransceiver)
    assert s.state is State.OPEN and s.pending_bind is ev.pdu
    s.send(BindTransceiverResp(sequence_number=1, system_id="smsc"))
    assert s.state is State.BOUND_TRX and s.pending_bind is None
    assert out(s) == [BindTransceiverResp(sequence_number=1, system_id="smsc")]


def test_refused_bind_stays_open():
    s = Session(now=lambda: 0.0)
    s.receive_data(encode(BindTransmitter(sequence_number=1, system_id="a", password="b")))
    s.send(BindTransmitterResp(sequence_number=1, command_status=S.ESME_RINVPASWD))
    assert s.state is State.OPEN and s.pending_bind is None


def test_second_bind_while_pending_is_refused():
    s = Session(now=lambda: 0.0)
    s.receive_data(encode(BindTransmitter(sequence_number=1, system_id="a", password="b")))
    assert s.receive_data(encode(BindTransmitter(sequence_number=2, system_id="a", password="b"))) == []
    [resp] = out(s)
    assert (resp.command_id, resp.command_status, resp.sequence_number) == (
        C.BIND_TRANSMITTER_RESP, S.ESME_RALYBND, 2)


def test_submit_before_bind_is_refused_without_an_event():
    s = Session(now=lambda: 0.0)
    assert s.receive_data(encode(SUBMIT)) == []
    assert out(s) == [SubmitSmResp(sequence_number=5, command_status=S.ESME_RINVBNDSTS)]


def test_bind_when_bound_is_already_bound():
    s = bound()
    assert s.receive_data(encode(BindTransceiver(sequence_number=9, system_id="a", password="b"))) == []
    assert out(s)[0].command_status == S.ESME_RALYBND


def test_receiver_may_not_submit_and_transmitter_gets_no_deliver():
    rx = Session(now=lambda: 0.0)
    from smsc.pdu.pdus import BindReceiver, BindReceiverResp
    rx.receive_data(encode(BindReceiver(sequence_number=1, system_id="a", password="b")))
    rx.send(BindReceiverResp(sequence_number=1))
    rx.data_to_send()
    assert rx.receive_data(encode(SUBMIT)) == []
    assert out(rx)[0].command_status == S.ESME_RINVBNDSTS
    tx = bound(BindTransmitter, BindTransmitterResp)
    with pytest.raises(LocalProtocolError):
        tx.send(DeliverSm(sequence_number=tx.next_sequence()))


def test_enquire_link_is_answered_by_the_session():
    s = Session(now=lambda: 0.0)
    assert s.receive_data(encode(EnquireLink(sequence_number=3))) == []
    [resp] = out(s)
    assert (resp.command_id, resp.sequence_number) == (C.ENQUIRE_LINK_RESP, 3)


def test_unknown_command_gets_generic_nack_and_session_goes_on():
    s = bound()
    junk = (16 + 2).to_bytes(4, "big") + (0x777).to_bytes(4, "big") + bytes(4) + (8).to_bytes(4, "big") + b"xx"
    assert s.receive_data(junk + encode(SUBMIT)) == [RequestReceived(SUBMIT)]
    assert out(s) == [GenericNack(sequence_number=8, command_status=S.ESME_RINVCMDID)]


def test_framing_error_closes():
    s = bound()
    [ev] = s.receive_data(b"\x00\x00\x00\x05" + bytes(12))
    assert isinstance(ev, SessionClosed) and s.state is State.CLOSED
    [nack] = out(s)
    assert (nack.command_id, nack.command_status) == (C.GENERIC_NACK, S.ESME_RINVCMDLEN)
    assert s.receive_data(encode(SUBMIT)) == []


def test_byte_at_a_time_gives_the_same_events():
    s = bound()
    data = encode(SUBMIT) + encode(EnquireLink(sequence_number=6)) + encode(SUBMIT)
    events = []
    for i in range(len(data)):
        events += s.receive_data(data[i:i + 1])
    assert events == [RequestReceived(SUBMIT), RequestReceived(SUBMIT)]


def test_window_and_response_context():
    s = bound()
    assert s.free_slots == 2
    seq1, seq2 = s.next_sequence(), s.next_sequence()
    s.send(DeliverSm(sequence_number=seq1), context="r1")
    s.send(DeliverSm(sequence_number=seq2), context="r2")
    assert s.free_slots == 0 and s.oldest_outstanding() == 0.0
    [ev] = s.receive_data(encode(DeliverSmResp(sequence_number=seq2)))
    assert isinstance(ev, ResponseReceived) and ev.context == "r2"
    [ev] = s.receive_data(encode(GenericNack(sequence_number=seq1, command_status=S.ESME_RSYSERR)))
    assert ev.context == "r1" and ev.pdu.command_status == S.ESME_RSYSERR
    assert s.free_slots == 2
    # a response to nothing we sent is dropped
    assert s.receive_data(encode(DeliverSmResp(sequence_number=999))) == []


def test_take_outstanding_returns_unanswered():
    s = bound()
    s.send(DeliverSm(sequence_number=s.next_sequence()), context="x")
    assert [e.context for e in s.take_outstanding()] == ["x"]
    assert s.outstanding == 0


def test_peer_unbind_then_closed():
    s = bound()
    [ev] = s.receive_data(encode(Unbind(sequence_number=4)))
    assert ev == RequestReceived(Unbind(sequence_number=4))
    s.send(UnbindResp(sequence_number=4))
    assert s.state is State.CLOSED


def test_our_unbind_closes_on_its_response():
    s = bound()
    seq = s.next_sequence()
    s.send(Unbind(sequence_number=seq))
    events = s.receive_data(encode(UnbindResp(sequence_number=seq)))
    assert isinstance(events[-1], SessionClosed) and s.state is State.CLOSED


def test_sequence_numbers_wrap():
    s = Session(now=lambda: 0.0)
    s._sequence = 0x7FFFFFFF
    assert s.next_sequence() == 1


def test_every_pdu_in_and_out_is_counted():
    counted = []
    s = Session(now=lambda: 0.0, count=lambda d, c, st: counted.append((d, c, st)))
    s.receive_data(encode(SUBMIT))  # before bind: refused by the session itself
    s.receive_data(b"\x00\x00\x00\x10\x00\x00\x07\x77\x00\x00\x00\x00\x00\x00\x00\x09")  # unknown id
    assert counted == [
        ("in", C.SUBMIT_SM, 0), ("out", C.SUBMIT_SM_RESP, S.ESME_RINVBNDSTS),
        ("in", 0x777, S.ESME_RINVCMDID), ("out", C.GENERIC_NACK, S.ESME_RINVCMDID),
    ]


def test_a_bind_ok_on_a_bound_session_is_our_bug_and_queues_nothing():
    s = bound()
    with pytest.raises(LocalProtocolError):
        s.send(BindTransceiverResp(sequence_number=9, system_id="smsc"))
    assert s.state is State.BOUND_TRX and out(s) == []


def test_a_peer_unbind_resp_closes_even_before_bind():
    # it answers our enquire_link: the peer says it is done, whatever it answered
    s = Session(now=lambda: 0.0)
    seq = s.next_sequence()
    s.send(EnquireLink(sequence_number=seq))
    [resp, closed] = s.receive_data(encode(UnbindResp(sequence_number=seq)))
    assert isinstance(closed, SessionClosed) and s.state is State.CLOSED


def test_close_after_close_is_fine():
    s = bound()
    s.close()
    s.close()
    assert s.state is State.CLOSED
