"""The load client's session without sockets: StringTransport + Clock.

What goes on the wire (bind, windowed submit_sm, deliver_sm_resp,
enquire_link_resp) and how answers land in the run's counters and ledger.
"""
from __future__ import annotations

from dataclasses import replace

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from smsc.load.client import EsmeSession
from smsc.load.messages import destinations, submit_templates
from smsc.load.run_state import LoadRun, RunSettings, Signal
from smsc.pdu.codec import decode, encode
from smsc.pdu.constants import ESM_CLASS_DELIVERY_RECEIPT, CommandStatus, Tag
from smsc.pdu.framer import Framer
from smsc.pdu.pdus import (
    BindTransceiver,
    BindTransceiverResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    SubmitSm,
    SubmitSmResp,
)
from smsc.pdu.receipt import receipt_pdu


class TcpStringTransport(StringTransport):
    """StringTransport with the TCP_NODELAY knob a TCP transport has."""

    nodelay = False

    def setTcpNoDelay(self, enabled: bool) -> None:
        self.nodelay = enabled


def _sent(t: StringTransport) -> list[object]:
    frames = Framer().feed(t.value())
    t.clear()
    return [decode(f) for f in frames]


def _receipt(seq: int, message_id: str, stat: str = "DELIVRD", **over: object) -> bytes:
    pdu = receipt_pdu(
        sequence_number=seq, message_id=message_id, stat=stat, error=0,
        submit_time=0.0, done_time=60.0, source_addr_ton=5, source_addr_npi=0,
        source_addr="SMSClub", dest_addr_ton=1, dest_addr_npi=1,
        destination_addr="380670000000", sample=b"hello",
    )
    return encode(replace(pdu, **over))


def _session(total: int = 5, window: int = 3, rd: bool = True):
    clock = Clock()
    settings = RunSettings(system_id="u", password="p", window=window, registered_delivery=rd,
                           enquire_link_s=30.0, resp_timeout_s=10.0)
    templates = submit_templates(source="SMSClub", dest_numbers=destinations("380670000000", 2),
                                 text="hello", registered_delivery=rd)
    run = LoadRun(settings, templates, total, now=clock.seconds)
    session = EsmeSession(run, "trx")
    run.sessions = [session]
    transport = TcpStringTransport()
    session.makeConnection(transport)
    return clock, run, session, transport


def _bound(total: int = 5, window: int = 3, rd: bool = True):
    clock, run, s, t = _session(total, window, rd)
    d = s.bind()
    (bind,) = _sent(t)
    s.dataReceived(encode(BindTransceiverResp(sequence_number=bind.sequence_number)))
    assert d.called
    s.bound = True
    run.submitting = True
    return clock, run, s, t


def test_bind_sends_credentials_and_sets_nodelay() -> None:
    _, _, s, t = _session()
    assert t.nodelay
    d = s.bind()
    (bind,) = _sent(t)
    assert isinstance(bind, BindTransceiver)
    assert (bind.system_id, bind.password) == ("u", "p")
    results: list[object] = []
    d.addCallback(results.append)
    s.dataReceived(encode(BindTransceiverResp(sequence_number=bind.sequence_number,
                                              command_status=CommandStatus.ESME_RINVPASWD)))
    assert results[0].command_status == CommandStatus.ESME_RINVPASWD


def test_submits_a_full_window_then_one_per_response() -> None:
    clock, run, s, t = _bound(total=5, window=3)
    s.start_submitting()
    first = _sent(t)
    assert [type(p) for p in first] == [SubmitSm] * 3
    assert [p.destination_addr for p in first] == ["380670000000", "380670000001", "380670000000"]
    assert len({p.sequence_number for p in first}) == 3
    assert all(p.registered_delivery == 1 and p.source_addr_ton == 5 for p in first)

    clock.advance(0.004)
    s.dataReceived(encode(SubmitSmResp(sequence_number=first[0].sequence_number, message_id="a")))
    assert [type(p) for p in _sent(t)] == [SubmitSm]
    assert (run.submitted, run.accepted, run.remaining) == (4, 1, 1)
    assert run.resp_latencies == [0.004]


def test_run_ends_when_every_submit_is_answered() -> None:
    _, run, s, t = _bound(total=3, window=3, rd=False)
    s.start_submitting()
    subs = _sent(t)
    s.dataReceived(b"".join(
        encode(SubmitSmResp(sequence_number=p.sequence_number, message_id=f"m{i}"))
        for i, p in enumerate(subs[:2])
    ))
    assert not run.submit_done.is_set
    s.dataReceived(encode(SubmitSmResp(sequence_number=subs[2].sequence_number,
                                       command_status=CommandStatus.ESME_RTHROTTLED)))
    assert run.submit_done.is_set
    assert (run.accepted, dict(run.refused)) == (2, {"ESME_RTHROTTLED": 1})


def test_receipts_are_answered_and_matched() -> None:
    clock, run, s, t = _bound(total=2, window=2)
    s.start_submitting()
    subs = _sent(t)
    s.dataReceived(b"".join(
        encode(SubmitSmResp(sequence_number=p.sequence_number, message_id=f"id{i}"))
        for i, p in enumerate(subs)
    ))
    assert run.submit_done.is_set and not run.receipts_done.is_set
    clock.advance(1.0)
    # one PDU split across two reads, then a second receipt
    frame = _receipt(70, "id0")
    s.dataReceived(frame[:10])
    s.dataReceived(frame[10:] + _receipt(71, "id1", stat="UNDELIV"))
    resps = _sent(t)
    assert [(type(p), p.sequence_number) for p in resps] == [
        (DeliverSmResp, 70), (DeliverSmResp, 71)]
    assert run.receipts_done.is_set
    tally = run.ledger.tally()
    assert tally.by_stat == {"DELIVRD": 1, "UNDELIV": 1}
    assert tally.exactly_once
    assert tally.latencies_s == (1.0, 1.0)
    assert not run.errors


def test_receipt_id_falls_back_to_the_text() -> None:
    _, run, s, t = _bound(total=1, window=1)
    s.start_submitting()
    (sub,) = _sent(t)
    s.dataReceived(encode(SubmitSmResp(sequence_number=sub.sequence_number, message_id="abc")))
    s.dataReceived(_receipt(9, "abc", tlvs=()))
    assert run.ledger.tally().exactly_once
    assert not run.errors


def test_receipt_whose_tlv_and_text_disagree_is_an_error() -> None:
    _, run, s, t = _bound(total=1, window=1)
    s.start_submitting()
    (sub,) = _sent(t)
    s.dataReceived(encode(SubmitSmResp(sequence_number=sub.sequence_number, message_id="abc")))
    s.dataReceived(_receipt(9, "zzz", tlvs=((Tag.RECEIPTED_MESSAGE_ID, b"abc\0"),)))
    assert run.ledger.tally().exactly_once      # the TLV wins
    assert run.errors == {"receipt_id_mismatch": 1}


def test_non_canonical_receipt_text_is_reported_but_still_matched() -> None:
    _, run, s, t = _bound(total=1, window=1)
    s.dataReceived(encode(DeliverSm(sequence_number=4, esm_class=ESM_CLASS_DELIVERY_RECEIPT,
                                    short_message=b"id:q stat:DELIVRD")))
    s.start_submitting()
    (sub,) = [p for p in _sent(t) if isinstance(p, SubmitSm)]
    s.dataReceived(encode(SubmitSmResp(sequence_number=sub.sequence_number, message_id="q")))
    tally = run.ledger.tally()
    assert (tally.early, tally.unknown, tally.missing) == (1, 0, 0)
    assert run.errors == {"receipt_text_not_canonical": 1}


def test_enquire_link_is_answered() -> None:
    _, run, s, t = _bound()
    run.submitting = False
    s.dataReceived(encode(EnquireLink(sequence_number=42)))
    (resp,) = _sent(t)
    assert isinstance(resp, EnquireLinkResp) and resp.sequence_number == 42
    assert not run.errors


def test_idle_session_sends_enquire_link_from_the_run_ticker() -> None:
    clock, run, s, t = _bound()
    run.submitting = False
    clock.advance(31.0)
    run.tick()
    (probe,) = _sent(t)
    assert isinstance(probe, EnquireLink)
    s.dataReceived(encode(EnquireLinkResp(sequence_number=probe.sequence_number)))
    assert (run.enquire_links_sent, run.enquire_links_answered) == (1, 1)


def test_stalled_server_ends_the_submit_phase() -> None:
    clock, run, s, t = _bound(total=5, window=2)
    s.start_submitting()
    _sent(t)
    clock.advance(11.0)
    run.tick()
    assert run.submit_done.is_set
    assert run.no_response == 2 and "resp_timeout" in run.errors


def test_generic_nack_for_a_submit_is_a_refusal() -> None:
    _, run, s, t = _bound(total=1, window=1, rd=False)
    s.start_submitting()
    (sub,) = _sent(t)
    s.dataReceived(encode(GenericNack(sequence_number=sub.sequence_number,
                                      command_status=CommandStatus.ESME_RINVCMDLEN)))
    assert run.submit_done.is_set
    assert dict(run.refused) == {"generic_nack:ESME_RINVCMDLEN": 1}
    assert run.responses == 1 and run.no_response == 0


def test_lost_connection_counts_unanswered_submits() -> None:
    _, run, s, t = _bound(total=5, window=3)
    s.start_submitting()
    _sent(t)
    s.connectionLost(None)
    assert run.no_response == 3
    assert run.submit_done.is_set          # nobody left to send the other two
    assert "connection_lost" in run.errors
    assert s.closed.called


def test_broken_framing_aborts_with_generic_nack() -> None:
    _, run, s, t = _bound()
    s.dataReceived(b"\x00\x00\x00\x05" + b"\x00" * 12)
    (nack,) = _sent(t)
    assert isinstance(nack, GenericNack)
    assert nack.command_status == CommandStatus.ESME_RINVCMDLEN
    assert t.disconnecting and "framing" in run.errors


def test_signal_wait_times_out_or_fires() -> None:
    clock = Clock()
    sig = Signal()
    late: list[bool] = []
    sig.wait(clock, 5.0).addCallback(late.append)
    clock.advance(5.0)
    assert late == [False]
    early: list[bool] = []
    sig.wait(clock, 5.0).addCallback(early.append)
    sig.set()
    assert early == [True] and not clock.getDelayedCalls()   # its timer is gone
    done: list[bool] = []
    sig.wait(clock).addCallback(done.append)
    assert done == [True]
