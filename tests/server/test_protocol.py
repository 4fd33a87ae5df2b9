"""The Twisted shell with StringTransport, a Clock and a fake engine."""
from __future__ import annotations

import struct

from twisted.internet.defer import fail, succeed
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from smsc.accounts.live import LiveAccount
from smsc.config import LimitsConfig, SmppConfig
from smsc.dlr.deliveries import Deliveries
from smsc.dlr.hub import DeliveryHub
from smsc.dlr.mo import MoPart, mo_parts
from smsc.pdu.codec import decode, encode
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.errors import SmppError
from smsc.pdu.framer import Framer
from smsc.engine import QueryAnswer
from smsc.pdu.constants import Tag
from smsc.pdu.pdus import (
    BindTransceiver, CancelSm, DataSm, DataSmResp, DeliverSmResp, DestAddress, EnquireLinkResp,
    QuerySm, SubmitMulti, SubmitMultiResp, SubmitSm, UnsuccessSme,
)
from smsc.records import Account, Message, Receipt, Submission
from smsc.metrics import Metrics
from smsc.server.protocol import SmppFactory

#: what the engine's authenticate gives a session: the live account
ACCOUNT = LiveAccount(Account("acc", "hash", "user", 1000), LimitsConfig(), 0, 0, 0.0)


class FakeEngine:
    faq_words = False

    def __init__(self, clock: Clock, password_ok: bool = True) -> None:
        self.password_ok = password_ok
        self.acked: list[Receipt] = []
        self.receipts = DeliveryHub[Receipt](self.acked.append, call_soon=lambda fn: clock.callLater(0, fn))
        self.mo_acked: list[MoPart] = []
        self.mo = DeliveryHub[MoPart](self.mo_acked.append, call_soon=lambda fn: clock.callLater(0, fn))
        self.submitted: list = []
        self.released = 0

    def authenticate(self, bind):
        if self.password_ok:
            return succeed(ACCOUNT)
        return fail(SmppError(S.ESME_RINVPASWD))

    def submit(self, account, sub, reply, token, origin=None):
        self.submitted.append(sub)
        reply(token, S.ESME_ROK, "abc")

    def submit_multi(self, account, destinations, reply, token, origin=None):
        self.submitted.append(destinations)
        reply(token, S.ESME_ROK, "m1", ((1, S.ESME_RINVDSTADR),))  # the second destination

    def release(self, account):
        self.released += 1

    #: message id -> what query_sm answers; cancel_sm succeeds for "c1" only
    answers = {"q1": QueryAnswer(2, "260101120000000+", 13)}

    def query(self, account, message_id, source_addr=""):
        if message_id in self.answers:
            return succeed(self.answers[message_id])
        if message_id == "boom":
            return fail(RuntimeError("bug"))
        return fail(SmppError(S.ESME_RQUERYFAIL, "no such message"))

    def cancel(self, account, message_id, source_addr="", destination_addr=""):
        self.cancelled = (message_id, source_addr, destination_addr)
        if message_id == "c1":
            return succeed(None)
        return fail(SmppError(S.ESME_RCANCELFAIL, "too late"))

    # no attach_receiver / detach_receiver / receipts / mo calls: the
    # protocol reaches the hubs through the Deliveries port only


def connect(engine=None, clock=None, password_ok=True, **cfg):
    clock = clock or Clock()
    engine = engine or FakeEngine(clock, password_ok)
    config = SmppConfig(**{"session_init_timeout": 5.0, "enquire_link_interval": 10.0,
                           "response_timeout": 4.0, "window": 2, **cfg})
    deliveries = Deliveries(engine.receipts, engine.mo)
    proto = SmppFactory(engine, config, clock, deliveries=deliveries).buildProtocol(None)
    transport = StringTransport()
    proto.makeConnection(transport)
    transport.clock = clock
    return proto, transport, clock, engine


def received(transport: StringTransport) -> list:
    """What the protocol wrote by the end of this reactor turn."""
    transport.clock.advance(0)
    data = transport.value()
    transport.clear()
    return [decode(f) for f in Framer().feed(data)]


def bind(proto, transport) -> list:
    """Bind; returns what followed the bind_resp (held receipts)."""
    proto.dataReceived(encode(BindTransceiver(sequence_number=1, system_id="acc", password="pw")))
    resp, *rest = received(transport)
    assert resp.command_id == C.BIND_TRANSCEIVER_RESP
    assert resp.command_status == S.ESME_ROK and resp.sc_interface_version == 0x34
    return rest


def test_submit_gets_message_id():
    proto, t, clock, engine = connect()
    bind(proto, t)
    proto.dataReceived(encode(SubmitSm(sequence_number=2, destination_addr="1", short_message=b"x")))
    [resp] = received(t)
    assert (resp.command_id, resp.message_id, resp.sequence_number) == (C.SUBMIT_SM_RESP, "abc", 2)


def test_data_sm_goes_to_submit_as_a_submission_and_gets_data_sm_resp():
    proto, t, clock, engine = connect()
    bind(proto, t)
    tlvs = ((Tag.MESSAGE_PAYLOAD, b"body"), (Tag.QOS_TIME_TO_LIVE, b"\0\0\x0e\x10"))
    proto.dataReceived(encode(DataSm(sequence_number=3, source_addr="SMSClub", source_addr_ton=5,
                                     destination_addr="380671234567", registered_delivery=1, tlvs=tlvs)))
    assert received(t) == [DataSmResp(sequence_number=3, message_id="abc")]
    [sm] = engine.submitted
    assert type(sm) is Submission
    assert (sm.source_addr, sm.source_addr_ton, sm.destination_addr) == ("SMSClub", 5, "380671234567")
    assert (sm.body, sm.registered_delivery) == (dict(tlvs)[Tag.MESSAGE_PAYLOAD], 1)
    assert sm.validity_period == "000000010000000R"  # qos_time_to_live 3600 s


def test_submit_multi_gets_submit_multi_resp_with_unsuccess_sme():
    proto, t, clock, engine = connect()
    bind(proto, t)
    proto.dataReceived(encode(SubmitMulti(
        sequence_number=4, source_addr="SMSClub",
        dest_addresses=(DestAddress(1, 1, 1, "380671234567"), DestAddress(1, 1, 1, "380201234567")),
        short_message=b"hi")))
    assert received(t) == [SubmitMultiResp(
        sequence_number=4, message_id="m1",
        unsuccess_sme=(UnsuccessSme(1, 1, "380201234567", S.ESME_RINVDSTADR),))]


def test_broken_submit_multi_is_answered_with_submit_multi_resp():
    proto, t, clock, engine = connect()
    bind(proto, t)
    body = b"\0\x05\x00src\0\x00"  # number_of_dests 0
    proto.dataReceived(struct.pack(">IIII", 16 + len(body), C.SUBMIT_MULTI, 0, 5) + body)
    assert received(t) == [SubmitMultiResp(sequence_number=5, command_status=S.ESME_RINVNUMDESTS)]
    assert not engine.submitted and not t.disconnecting


def test_refused_bind_answers_its_status():
    proto, t, clock, engine = connect(password_ok=False)
    proto.dataReceived(encode(BindTransceiver(sequence_number=1, system_id="acc", password="pw")))
    [resp] = received(t)
    assert resp.command_status == S.ESME_RINVPASWD


def test_unbound_connection_closes_after_session_init_timeout():
    proto, t, clock, engine = connect()
    clock.advance(4.9)
    assert not t.disconnecting
    clock.advance(0.2)
    assert t.disconnecting


def test_idle_session_is_probed_then_dropped():
    proto, t, clock, engine = connect()
    bind(proto, t)
    clock.pump([2.0] * 6)  # 12 s of silence
    [probe] = received(t)
    assert probe.command_id == C.ENQUIRE_LINK
    proto.dataReceived(encode(EnquireLinkResp(sequence_number=probe.sequence_number)))
    assert not t.disconnecting
    clock.pump([2.0] * 6)
    [probe2] = received(t)
    clock.pump([2.0] * 3)  # no answer past response_timeout
    assert t.disconnected or t.disconnecting


def _receipt(n: int) -> Receipt:
    m = Message(n, "acc", 5, 0, "SMSClub", 1, 1, "380671234567", 0, 0, 1, b"text", 0.0)
    return Receipt(m, "DELIVRD", 2, 0, 60.0)


def test_receipts_respect_window_and_return_on_disconnect():
    proto, t, clock, engine = connect()
    bind(proto, t)
    for n in (1, 2, 3):
        engine.receipts.enqueue(_receipt(n))
    assert t.value() == b""  # sent together at the end of the turn
    sent = received(t)
    assert [p.command_id for p in sent] == [C.DELIVER_SM, C.DELIVER_SM]  # window 2
    proto.dataReceived(encode(DeliverSmResp(sequence_number=sent[0].sequence_number)))
    [third] = received(t)
    assert third.command_id == C.DELIVER_SM
    assert [r.message.id for r in engine.acked] == [1]
    proto.connectionLost(None)
    assert engine.receipts.backlog("acc") == 2  # 2 and 3 wait for the next bind
    assert engine.released == 1  # the bind slot is given back


def test_refused_receipt_is_held_for_next_bind():
    proto, t, clock, engine = connect()
    bind(proto, t)
    engine.receipts.enqueue(_receipt(7))
    [d] = received(t)
    proto.dataReceived(encode(DeliverSmResp(sequence_number=d.sequence_number, command_status=S.ESME_RSYSERR)))
    assert received(t) == [] and engine.acked == []
    assert engine.receipts.backlog("acc") == 1
    proto.connectionLost(None)
    proto2, t2, _, _ = connect(engine, clock)
    [redelivered] = bind(proto2, t2)
    assert redelivered.command_id == C.DELIVER_SM and b"id:7 " in redelivered.short_message


def test_query_sm_answers_the_engine_s_state():
    proto, t, clock, engine = connect()
    bind(proto, t)
    proto.dataReceived(encode(QuerySm(sequence_number=5, message_id="q1")))
    [resp] = received(t)
    assert (resp.command_id, resp.sequence_number, resp.command_status) == (C.QUERY_SM_RESP, 5, S.ESME_ROK)
    assert (resp.message_id, resp.final_date, resp.message_state, resp.error_code) == (
        "q1", "260101120000000+", 2, 13)
    proto.dataReceived(encode(QuerySm(sequence_number=6, message_id="nope")))
    proto.dataReceived(encode(QuerySm(sequence_number=7, message_id="boom")))
    refused, failed = received(t)
    assert (refused.sequence_number, refused.command_status) == (6, S.ESME_RQUERYFAIL)
    assert (failed.sequence_number, failed.command_status) == (7, S.ESME_RSYSERR)


def test_cancel_sm_answers_ok_or_the_refusal():
    proto, t, clock, engine = connect()
    bind(proto, t)
    proto.dataReceived(encode(CancelSm(
        sequence_number=5, message_id="c1", source_addr="SMSClub", destination_addr="380671234567")))
    [ok] = received(t)
    assert (ok.command_id, ok.sequence_number, ok.command_status) == (C.CANCEL_SM_RESP, 5, S.ESME_ROK)
    assert engine.cancelled == ("c1", "SMSClub", "380671234567")
    proto.dataReceived(encode(CancelSm(sequence_number=6, message_id="c2")))
    [refused] = received(t)
    assert (refused.command_id, refused.command_status) == (C.CANCEL_SM_RESP, S.ESME_RCANCELFAIL)


def test_late_answer_after_the_connection_is_gone_is_dropped():
    from twisted.internet.defer import Deferred

    proto, t, clock, engine = connect()
    bind(proto, t)
    pending = Deferred()
    engine.query = lambda *a: pending
    proto.dataReceived(encode(QuerySm(sequence_number=5, message_id="q1")))
    proto.connectionLost(None)
    pending.callback(QueryAnswer(1, "", 0))  # no error, nothing written
    assert received(t) == []


def test_intermediate_notification_goes_out_with_esm_class_0x20():
    proto, t, clock, engine = connect()
    bind(proto, t)
    engine.receipts.enqueue(_receipt(3)._replace(stat="ENROUTE", state=1, intermediate=True))
    engine.receipts.enqueue(_receipt(3))
    enroute, final = received(t)
    assert (enroute.esm_class, final.esm_class) == (0x20, 0x04)
    assert b"stat:ENROUTE" in enroute.short_message and b"stat:DELIVRD" in final.short_message


def test_bind_answered_after_the_framing_was_lost_gives_the_slot_back():
    from twisted.internet.defer import Deferred

    proto, t, clock, engine = connect()
    pending = Deferred()
    engine.authenticate = lambda bind: pending
    proto.dataReceived(encode(BindTransceiver(sequence_number=1, system_id="acc", password="pw")))
    proto.dataReceived(b"\x00\x00\x00\x05" + bytes(12))  # bad command_length: the session closes
    [nack] = received(t)
    assert nack.command_status == S.ESME_RINVCMDLEN and t.disconnecting
    pending.callback(ACCOUNT)  # the password check ends after that
    assert engine.released == 1 and received(t) == []
    assert proto.account is None


def test_mo_parts_go_out_as_plain_deliver_sm_beside_receipts():
    proto, t, clock, engine = connect(window=10)
    bind(proto, t)
    parts = mo_parts(5, "acc", "380671234567", "7090", "z" * 200)  # two parts, UDH
    for part in parts:
        engine.mo.enqueue(part)
    engine.receipts.enqueue(_receipt(8))
    sent = received(t)
    mo = [p for p in sent if p.esm_class != 0x04]
    [receipt] = [p for p in sent if p.esm_class == 0x04]
    assert [(p.source_addr, p.destination_addr, p.esm_class) for p in mo] == [("380671234567", "7090", 0x40)] * 2
    assert [p.short_message for p in mo] == [part.short_message for part in parts]
    assert b"id:8 " in receipt.short_message
    by_seq = {p.sequence_number: p for p in sent}
    for seq, pdu in by_seq.items():
        status = S.ESME_RSYSERR if pdu is mo[1] else S.ESME_ROK
        proto.dataReceived(encode(DeliverSmResp(sequence_number=seq, command_status=status)))
    assert engine.mo_acked == [parts[0]] and [r.message.id for r in engine.acked] == [8]
    assert engine.mo.backlog("acc") == 1  # the refused part, held for the next bind


def test_an_mo_part_waiting_behind_a_full_window_goes_out_when_a_receipt_is_answered():
    proto, t, clock, engine = connect(window=1)
    bind(proto, t)
    engine.receipts.enqueue(_receipt(1))
    [receipt] = received(t)
    [part] = mo_parts(6, "acc", "380671234567", "7090", "hi")
    engine.mo.enqueue(part)  # the window is full: it waits
    assert received(t) == []
    proto.dataReceived(encode(DeliverSmResp(sequence_number=receipt.sequence_number)))
    [mo] = received(t)  # the room the receipt's answer freed
    assert (mo.destination_addr, mo.esm_class) == ("7090", 0)


def test_what_was_in_flight_goes_back_to_its_own_hub_on_disconnect():
    proto, t, clock, engine = connect(window=10)
    bind(proto, t)
    parts = mo_parts(7, "acc", "380671234567", "7090", "z" * 200)
    for part in parts:
        engine.mo.enqueue(part)
    engine.receipts.enqueue(_receipt(9))
    assert len(received(t)) == 3
    proto.connectionLost(None)
    assert (engine.receipts.backlog("acc"), engine.mo.backlog("acc")) == (1, 2)
    proto2, t2, _, _ = connect(engine, clock, window=10)
    again = bind(proto2, t2)
    assert sorted(p.destination_addr for p in again) == ["7090", "7090", "SMSClub"]  # a receipt goes to the sender


def test_a_draining_session_refuses_binds_and_writes_offers_nothing_and_takes_answers():
    """Server.stop's first step (issue 14 defect 1): binds and writes get
    ESME_RSYSERR, no new deliver_sm goes out, answers to those sent count."""
    proto, t, clock, engine = connect(window=5)
    bind(proto, t)
    engine.receipts.enqueue(_receipt(1))
    [sent] = received(t)
    proto.factory.drain()
    engine.receipts.enqueue(_receipt(2))
    assert received(t) == []  # not offered while draining
    assert proto.awaiting_answers == 1
    proto.dataReceived(encode(SubmitSm(sequence_number=7, destination_addr="1", short_message=b"x")))
    proto.dataReceived(encode(CancelSm(sequence_number=8, message_id="c1")))
    proto.dataReceived(encode(QuerySm(sequence_number=9, message_id="q1")))  # reads still work
    out = received(t)
    assert [(p.command_id, p.command_status) for p in out] == [
        (C.SUBMIT_SM_RESP, S.ESME_RSYSERR), (C.CANCEL_SM_RESP, S.ESME_RSYSERR), (C.QUERY_SM_RESP, S.ESME_ROK)]
    assert engine.submitted == []
    proto.dataReceived(encode(DeliverSmResp(sequence_number=sent.sequence_number)))
    assert [r.message.id for r in engine.acked] == [1] and proto.awaiting_answers == 0
    assert received(t) == []
    late = proto.factory.buildProtocol(None)  # a connection accepted just before the stop
    lt = StringTransport()
    late.makeConnection(lt)
    lt.clock = clock
    late.dataReceived(encode(BindTransceiver(sequence_number=1, system_id="acc", password="pw")))
    [resp] = received(lt)
    assert (resp.command_id, resp.command_status) == (C.BIND_TRANSCEIVER_RESP, S.ESME_RSYSERR)


class SocketLikeTransport(StringTransport):
    """A StringTransport with a FileDescriptor's output buffer, so the
    protocol finds it (``protocol.unsent``): written bytes stay unsent."""

    dataBuffer = b""
    offset = 0

    @property
    def _tempDataLen(self) -> int:
        return len(self.value())


def test_a_client_that_does_not_read_is_paused_then_dropped():
    """Issue 14 defect 4: unsent output is bounded. Past output_pause the
    transport pauses the protocol (it stops reading and offering
    receipts); past max_output a paused session is dropped."""
    clock = Clock()
    engine = FakeEngine(clock)
    config = SmppConfig(window=10, output_pause=100, max_output=400)
    proto = SmppFactory(engine, config, clock, deliveries=Deliveries(engine.receipts, engine.mo)).buildProtocol(None)
    t = SocketLikeTransport()
    proto.makeConnection(t)
    assert t.producer is proto and t.streaming and proto._fd is t and t.bufferSize == 100
    proto.dataReceived(encode(BindTransceiver(sequence_number=1, system_id="acc", password="pw")))
    clock.advance(0)
    proto.pauseProducing()  # what the transport calls once 100 bytes are unsent
    assert proto.backed_up and t.producerState == "paused"  # reading stopped
    engine.receipts.enqueue(_receipt(1))
    clock.advance(0)
    assert proto.session.outstanding == 0  # no deliver_sm offered while backed up
    proto.resumeProducing()
    clock.advance(0)
    assert not proto.backed_up and t.producerState == "producing"
    assert proto.session.outstanding == 1  # offered once it caught up
    proto.pauseProducing()
    for seq in range(2, 40):  # the client goes on asking and never reads
        proto.dataReceived(struct.pack(">IIII", 16, C.ENQUIRE_LINK, 0, seq))
    assert t.disconnecting or t.disconnected  # 38 x 16 bytes unsent: over 400, dropped


def test_connection_limits_in_total_and_per_address():
    from twisted.internet.address import IPv4Address

    clock = Clock()
    engine = FakeEngine(clock)
    metrics = Metrics()
    factory = SmppFactory(engine, SmppConfig(max_connections=3, max_connections_per_address=2), clock, metrics,
                          deliveries=Deliveries(engine.receipts, engine.mo))

    def addr(host: str) -> IPv4Address:
        return IPv4Address("TCP", host, 40000)

    a1, a2 = factory.buildProtocol(addr("10.0.0.1")), factory.buildProtocol(addr("10.0.0.1"))
    assert a1 is not None and a2 is not None
    assert factory.buildProtocol(addr("10.0.0.1")) is None  # a third from one address
    b1 = factory.buildProtocol(addr("10.0.0.2"))
    assert b1 is not None
    assert factory.buildProtocol(addr("10.0.0.3")) is None  # a fourth in all
    assert metrics.refused_connections == {"address": 1, "total": 1}
    factory.forget(a1)
    factory.forget(a1)  # twice is once
    assert factory.per_address == {"10.0.0.1": 1, "10.0.0.2": 1}
    assert factory.buildProtocol(addr("10.0.0.1")) is not None


def test_requests_read_with_an_unbind_in_one_chunk_are_not_handled_after_it():
    """Found by scripts/fuzz_session: [unbind, unbind] (or unbind then a
    submit) in one read raised LocalProtocolError (a *_resp on a closed
    session) out of dataReceived."""
    proto, t, clock, engine = connect()
    bind(proto, t)
    proto.dataReceived(struct.pack(">IIII", 16, C.UNBIND, 0, 2) + struct.pack(">IIII", 16, C.UNBIND, 0, 3)
                       + encode(SubmitSm(sequence_number=4, destination_addr="1", short_message=b"x")))
    [resp] = received(t)
    assert (resp.command_id, resp.sequence_number) == (C.UNBIND_RESP, 2)
    assert t.disconnecting and engine.submitted == []
