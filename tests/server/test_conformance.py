"""The conformance report's findings, each made by a client misbehaving on
purpose and absent for one that behaves (README "Conformance report"):
the real protocol shell and session on a task.Clock, a fake engine, and
``Reports`` writing each bind's report where the test reads it."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from smsc.config import SmppConfig
from smsc.dlr.deliveries import Deliveries
from smsc.pdu.codec import encode
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.pdus import (
    BindTransceiver, DeliverSmResp, EnquireLink, EnquireLinkResp, SubmitSm, Unbind,
)
from smsc.server import conformance
from smsc.server.conformance import Reports, summary
from smsc.server.protocol import SmppFactory

from test_protocol import FakeEngine, _receipt, received

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clients import raw_pdu, submit_body, tlv  # noqa: E402


class HeldEngine(FakeEngine):
    """Answers submits when told (``answer``), or with ``status`` at once."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.held: list = []
        self.status: int | None = None

    def submit(self, account, sub, reply, token, origin=None):
        self.submitted.append(sub)
        if self.status is None:
            self.held.append((reply, token))
        else:
            reply(token, self.status, "" if self.status else "abc")

    def answer(self) -> None:
        for reply, token in self.held:
            reply(token, S.ESME_ROK, "abc")
        self.held.clear()


class Rig:
    def __init__(self, held: bool = False) -> None:
        self.clock = Clock()
        self.clock.advance(1_000_000)
        self.engine = HeldEngine(self.clock) if held else FakeEngine(self.clock)
        if held:
            self.engine.status = None
        self.saved: list = []
        self.reports = Reports(self.clock.seconds, lambda reports, keep: self.saved.extend(reports))
        self.seq = 1

    def bind(self, **cfg):
        config = SmppConfig(**{"session_init_timeout": 5.0, "enquire_link_interval": 10.0,
                               "response_timeout": 4.0, "window": 2, **cfg})
        deliveries = Deliveries(self.engine.receipts, self.engine.mo)
        proto = SmppFactory(self.engine, config, self.clock, deliveries=deliveries,
                            reports=self.reports).buildProtocol(None)
        t = StringTransport()
        proto.makeConnection(t)
        t.clock = self.clock
        proto.dataReceived(encode(BindTransceiver(sequence_number=1, system_id="acc", password="secretpw")))
        resp, *_ = received(t)
        assert resp.command_status == S.ESME_ROK
        return proto, t

    def submit(self, proto, **kw) -> None:
        self.seq += 1
        pdu = {"source_addr": "SMSClub", "source_addr_ton": 5, "destination_addr": "380671234567",
               "dest_addr_ton": 1, "short_message": f"text {self.seq}".encode()} | kw
        proto.dataReceived(encode(SubmitSm(sequence_number=self.seq, **pdu)))

    def end(self, proto) -> None:
        proto.connectionLost(None)

    def findings(self) -> dict[str, dict]:
        report = summary("acc", [json.loads(r.body) for r in self.saved])
        return {f["kind"]: f for f in report["findings"]}


@pytest.mark.parametrize("bad", [True, False], ids=["misbehaves", "behaves"])
def test_deliver_sm_left_unanswered(bad):
    rig = Rig()
    proto, t = rig.bind()
    rig.engine.receipts.enqueue(_receipt(1))
    [d] = received(t)
    rig.clock.advance(3)
    if not bad:
        proto.dataReceived(encode(DeliverSmResp(sequence_number=d.sequence_number)))
    rig.end(proto)
    found = rig.findings()
    if bad:
        assert set(found) == {"deliver_sm_unanswered"}
        assert found["deliver_sm_unanswered"]["detail"] == "unanswered for 3.0s"
    else:
        assert found == {}


@pytest.mark.parametrize("bad", [True, False], ids=["misbehaves", "behaves"])
def test_deliver_sm_answered_with_an_error(bad):
    rig = Rig()
    proto, t = rig.bind()
    rig.engine.receipts.enqueue(_receipt(1))
    [d] = received(t)
    proto.dataReceived(encode(DeliverSmResp(sequence_number=d.sequence_number,
                                            command_status=S.ESME_RSYSERR if bad else S.ESME_ROK)))
    rig.end(proto)
    found = rig.findings()
    assert set(found) == ({"deliver_sm_error"} if bad else set())
    if bad:
        assert found["deliver_sm_error"]["example"].startswith("0000001180000005")  # the deliver_sm_resp


@pytest.mark.parametrize("bad", [True, False], ids=["misbehaves", "behaves"])
def test_more_submits_outstanding_than_the_window(bad):
    rig = Rig(held=True)
    proto, t = rig.bind(window=2)
    for _ in range(3 if bad else 2):
        rig.submit(proto)
    rig.engine.answer()
    rig.submit(proto)  # room again
    rig.engine.answer()
    rig.end(proto)
    found = rig.findings()
    assert set(found) == ({"window_exceeded"} if bad else set())
    if bad:
        assert found["window_exceeded"]["count"] == 1
        assert found["window_exceeded"]["detail"] == "3 outstanding, window 2"


@pytest.mark.parametrize("bad", [True, False], ids=["misbehaves", "behaves"])
def test_throttling_ignored(bad):
    rig = Rig(held=True)
    rig.engine.status = S.ESME_RTHROTTLED
    proto, t = rig.bind()
    for _ in range(6):
        rig.submit(proto)
        if not bad:
            rig.clock.advance(conformance.BACKOFF + 0.1)  # backs off after each ESME_RTHROTTLED
    rig.end(proto)
    found = rig.findings()
    assert set(found) == ({"throttling_ignored"} if bad else set())
    if bad:
        assert found["throttling_ignored"]["count"] == 3  # the 4th, 5th and 6th within a second


@pytest.mark.parametrize("bad", [True, False], ids=["misbehaves", "behaves"])
def test_enquire_link_unanswered_and_never_sent(bad):
    rig = Rig()
    proto, t = rig.bind()
    if not bad:
        rig.clock.advance(5)
        proto.dataReceived(encode(EnquireLink(sequence_number=2)))
        assert [p.command_id for p in received(t)] == [C.ENQUIRE_LINK_RESP]
    rig.clock.pump([1.0] * 12)  # idle: the server probes
    [probe] = received(t)
    assert probe.command_id == C.ENQUIRE_LINK
    if not bad:
        proto.dataReceived(encode(EnquireLinkResp(sequence_number=probe.sequence_number)))
    rig.clock.pump([1.0] * 5)  # past response_timeout
    assert t.disconnecting == bad
    rig.end(proto)
    found = rig.findings()
    assert set(found) == ({"no_enquire_link", "enquire_link_unanswered"} if bad else set())
    if bad:
        assert found["no_enquire_link"]["detail"] == "idle 10s"


@pytest.mark.parametrize("bad", [True, False], ids=["misbehaves", "behaves"])
def test_unbind_with_requests_outstanding(bad):
    rig = Rig(held=True)
    proto, t = rig.bind()
    rig.submit(proto)
    rig.engine.receipts.enqueue(_receipt(1))
    [d] = [p for p in received(t) if p.command_id == C.DELIVER_SM]
    if not bad:
        rig.engine.answer()
        proto.dataReceived(encode(DeliverSmResp(sequence_number=d.sequence_number)))
        received(t)
    proto.dataReceived(encode(Unbind(sequence_number=9)))
    assert received(t)[-1].command_id == C.UNBIND_RESP
    rig.end(proto)
    found = rig.findings()
    if bad:
        assert {"unbind_outstanding"} <= set(found)
        f = found["unbind_outstanding"]
        assert f["detail"] == "1 of its requests and 1 of ours unanswered"
        assert f["example"] == "0000001000000006" "00000000" "00000009"
    else:
        assert found == {}


@pytest.mark.parametrize("bad", [True, False], ids=["misbehaves", "behaves"])
def test_reconnect_storm(bad):
    rig = Rig()
    for _ in range(conformance.RECONNECTS):
        proto, t = rig.bind()
        rig.end(proto)
        rig.clock.advance(1 if bad else conformance.RECONNECT_WINDOW / (conformance.RECONNECTS - 1) + 1)
    found = rig.findings()
    assert set(found) == ({"reconnect_storm"} if bad else set())
    if bad:
        f = found["reconnect_storm"]
        assert f["detail"] == f"{conformance.RECONNECTS} binds in 4.0s"
        # the example is the 5th bind, its password masked
        assert f["example"][8:16] == "00000009" and b"secretpw".hex() not in f["example"]
        assert b"acc\0********\0".hex() in f["example"]


@pytest.mark.parametrize("bad", [True, False], ids=["misbehaves", "behaves"])
def test_data_coding_that_does_not_match_the_bytes(bad):
    rig = Rig()
    proto, t = rig.bind()
    text = "привіт"
    rig.submit(proto, short_message=text.encode("utf-8") if bad else text.encode("utf-16-be"),
               data_coding=0 if bad else 8)
    rig.end(proto)
    assert set(rig.findings()) == ({"data_coding_mismatch"} if bad else set())


@pytest.mark.parametrize(("source", "ton", "dest", "dest_ton", "kinds"), [
    ("SMSClub", 1, "380671234567", 1, {"wrong_source_ton"}),  # an alpha-name as international
    ("380671234567", 5, "380671234567", 1, {"wrong_source_ton"}),  # digits as alphanumeric
    ("SMSClub", 5, "0671234567", 1, {"wrong_dest_ton"}),  # a national number as international
    ("SMSClub", 5, "+380671234567", 1, {"wrong_dest_ton"}),
    ("SMSClub", 5, "380671234567", 1, set()),
    ("380501112233", 1, "0671234567", 2, set()),  # national with TON 2 is fine
])
def test_ton_npi_mistakes(source, ton, dest, dest_ton, kinds):
    rig = Rig()
    proto, t = rig.bind()
    rig.submit(proto, source_addr=source, source_addr_ton=ton, destination_addr=dest, dest_addr_ton=dest_ton)
    rig.end(proto)
    assert set(rig.findings()) == kinds


@pytest.mark.parametrize("bad", [True, False], ids=["misbehaves", "behaves"])
def test_resubmit_of_the_same_text_to_the_same_number(bad):
    rig = Rig()
    proto, t = rig.bind(enquire_link_interval=60.0)  # the pause is no idle link
    rig.submit(proto, short_message=b"your code 1234")
    rig.clock.advance(3 if bad else conformance.RESUBMIT_WINDOW + 1)
    rig.submit(proto, short_message=b"your code 1234")
    rig.submit(proto, short_message=b"your code 1234", destination_addr="380671234568")  # another number
    rig.end(proto)
    found = rig.findings()
    assert set(found) == ({"resubmit"} if bad else set())
    if bad:
        assert found["resubmit"]["count"] == 1
        assert found["resubmit"]["detail"] == "same text to 380671234567 after 3.0s"


@pytest.mark.parametrize(("body", "status"), [
    ({"tlvs": b"\x04\x24\x00\x10ab"}, S.ESME_RINVOPTPARSTREAM),  # a TLV longer than what is left
    ({"tlvs": tlv(0x0204, b"\x01")}, S.ESME_RINVPARLEN),  # user_message_reference of one octet
    ({"validity": "tomorrow"}, S.ESME_RINVEXPIRY),  # not an SMPP time
])
def test_a_submit_the_decoder_refuses_is_a_refused_submit(body, status):
    rig = Rig()
    proto, t = rig.bind()
    frame = raw_pdu(0x00000004, 7, submit_body(**body))
    proto.dataReceived(frame)
    [resp] = received(t)
    assert (resp.command_id, resp.sequence_number, resp.command_status) == (C.SUBMIT_SM_RESP, 7, status)
    rig.submit(proto)  # a good one after it
    rig.end(proto)
    found = rig.findings()
    assert set(found) == {f"refused_{status.name}"}
    f = found[f"refused_{status.name}"]
    assert f["count"] == 1 and f["example"] == frame.hex() and f["detail"].startswith("submit_sm: ")
    assert f["advice"] == conformance._REFUSED_ADVICE[status]
    assert json.loads(rig.saved[0].body)["submits"] == 2  # the refused one is a submit too


def test_a_polite_client_over_many_submits_has_no_findings_and_the_counts_stay_exact():
    """Past FULL_CHECKS the content checks are sampled; the window count is not."""
    rig = Rig(held=True)
    proto, t = rig.bind(window=10)
    for i in range(conformance.FULL_CHECKS + 40):
        rig.submit(proto, short_message=f"n{i}".encode())
        if i % 10 == 9:
            rig.engine.answer()
    rig.submit(proto)  # 1 outstanding after a full round: fine
    for _ in range(10):
        rig.submit(proto)  # 11 outstanding
    rig.end(proto)
    found = rig.findings()
    assert set(found) == {"window_exceeded"} and found["window_exceeded"]["count"] == 1


@pytest.mark.parametrize("status", [S.ESME_RINVESMCLASS, S.ESME_RINVSRCADR, S.ESME_RINVMSGLEN])
def test_a_submit_the_engine_refuses_is_a_finding_with_that_submit_and_advice(status):
    rig = Rig(held=True)
    rig.engine.status = status
    proto, t = rig.bind()
    rig.submit(proto, esm_class=0x40, short_message=b"\x05\x00\x03\x01")  # UDHI with a cut UDH
    [resp] = received(t)
    assert resp.command_status == status
    rig.end(proto)
    found = rig.findings()
    assert set(found) == {f"refused_{status.name}"}
    f = found[f"refused_{status.name}"]
    assert f["advice"] == conformance._REFUSED_ADVICE[status] and f["example"][8:16] == "00000004"
