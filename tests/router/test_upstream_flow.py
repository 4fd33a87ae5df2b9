"""Router mode on a task.Clock: the real engine, an upstream operator, and
a fake upstream SMSC on in-memory links (tests/router/rig.py)."""
from __future__ import annotations

from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.pdus import BindTransceiver, DeliverSmResp
from smsc.pdu.text import encode as encode_text

from engine.rig import KYIVSTAR, sms


def _bound(rig):
    rig.add()
    live = rig.bind()
    return live, rig.receiver(live)


def test_a_message_goes_upstream_and_its_receipt_comes_back_in_our_id_format(make_router):
    rig = make_router()
    live, receiver = _bound(rig)
    [link] = rig.peer.open_links()
    assert link.bound_as is BindTransceiver and rig.upstream.bound_sessions == 1
    mid = rig.accept(live, sms(registered_delivery=1))
    [(_, pdu)] = rig.peer.submits
    assert (pdu.destination_addr, pdu.dest_addr_ton, pdu.dest_addr_npi) == (KYIVSTAR, 1, 1)
    assert (pdu.source_addr, pdu.source_addr_ton) == ("Shop", 5)
    assert (pdu.registered_delivery, pdu.esm_class, pdu.data_coding, pdu.short_message) == (1, 0, 0, b"hello")
    assert pdu.validity_period.endswith("R")  # what is left of the TTL, relative
    assert rig.upstream.holds(int(mid, 16)) is False and rig.upstream.in_network() == 1
    rig.peer.answer(ids=lambda p: "ABC01")
    rig.run(0.01)
    [leg] = rig.store.unfinished_legs("kyivstar")
    assert (leg.message_id, leg.part, leg.upstream_id) == (int(mid, 16), 1, "ABC01")
    rig.peer.receipt("abc01", "UNDELIV", 5)  # ids are matched whatever their case
    rig.run(0.05)
    [r] = receiver.got
    assert (r.message.id, r.stat, r.error) == (int(mid, 16), "UNDELIV", 5)
    # the upstream's receipt was answered once its part's state was committed
    assert [type(p) for _, p in rig.peer.responses] == [DeliverSmResp]
    assert rig.store.get_message(int(mid, 16)).stat == "UNDELIV"
    assert rig.upstream.in_network() == 0 and rig.upstream.submits == {"ESME_ROK": 1}
    # nothing keeps the finished message for its TTL (no per-message deadline)
    assert len(rig.upstream._scheduler) == 0 and rig.upstream._tracks == {}


def test_an_id_in_hex_in_the_resp_matches_a_receipt_that_writes_it_in_decimal(make_router):
    """Kannel's msg-id-type: submit_sm_resp ids in hex, receipt ids in decimal."""
    rig = make_router()
    live, receiver = _bound(rig)
    rig.accept(live, sms(registered_delivery=1))
    rig.peer.answer(ids=lambda p: "1F")
    rig.run(0.01)
    rig.peer.receipt("31", tlv=False)  # no receipted_message_id: the text's id:31
    rig.run(0.05)
    assert [(r.stat, r.error) for r in receiver.got] == [("DELIVRD", 0)]
    assert rig.upstream.unmatched == 0


def test_a_decimal_resp_id_matches_a_zero_padded_decimal_receipt_text(make_router):
    rig = make_router()
    live, receiver = _bound(rig)
    rig.accept(live, sms(registered_delivery=1))
    rig.peer.answer(ids=lambda p: "1234567")
    rig.run(0.01)
    rig.peer.receipt("0001234567", "EXPIRED", 27, tlv=False)
    rig.run(0.05)
    assert [(r.stat, r.error) for r in receiver.got] == [("EXPIRED", 27)]


def test_a_long_cyrillic_text_is_one_submit_sm_per_segment_and_one_receipt_with_the_worst(make_router):
    rig = make_router()
    live, receiver = _bound(rig)
    text = "Привіт, це довге повідомлення кирилицею. " * 4  # 168 UCS-2 units: 3 segments
    mid = rig.accept(live, sms(text=text, registered_delivery=1))
    pdus = [p for _, p in rig.peer.submits]
    assert len(pdus) == 3
    ref = int(mid, 16) & 0xFF
    for seq, p in enumerate(pdus, 1):
        assert (p.esm_class, p.data_coding) == (0x40, 8)
        assert p.short_message[:6] == bytes((5, 0, 3, ref, 3, seq))
    assert b"".join(p.short_message[6:] for p in pdus) == encode_text(text, 8)
    rig.peer.answer(ids=lambda p: f"p{p.short_message[5]}")
    rig.run(0.01)
    rig.peer.receipt("p1", "DELIVRD")
    rig.peer.receipt("p3", "DELIVRD")
    rig.run(0.05)
    assert receiver.got == []  # one part still out
    rig.peer.receipt("p2", "UNDELIV", 1)
    rig.run(0.05)
    [r] = receiver.got
    assert (r.message.id, r.stat, r.error) == (int(mid, 16), "UNDELIV", 1)


def test_a_client_segment_goes_with_its_own_udh(make_router):
    rig = make_router()
    live, receiver = _bound(rig)
    udh = bytes((5, 0, 3, 0x42, 2, 1))
    rig.accept(live, sms(text="", esm_class=0x40, data_coding=0, body=udh + b"part one"))
    [(_, pdu)] = rig.peer.submits
    assert (pdu.esm_class, pdu.short_message) == (0x40, udh + b"part one")
    # the UDH is stored before the message: a restart sends it with it
    assert rig.store.unfinished_legs("kyivstar")[0].udh == udh


def test_sar_tlvs_become_a_udh_upstream(make_router):
    rig = make_router()
    live, receiver = _bound(rig)
    sar = {0x020C: b"\x01\x02", 0x020E: b"\x02", 0x020F: b"\x02"}
    rig.accept(live, sms(text="", data_coding=0, body=b"part two", sar=sar))
    [(_, pdu)] = rig.peer.submits
    assert (pdu.esm_class, pdu.short_message) == (0x40, bytes((5, 0, 3, 0x02, 2, 2)) + b"part two")


def test_refusals_end_the_message_rejectd_or_undeliv_with_the_status_as_err(make_router):
    rig = make_router()
    live, receiver = _bound(rig)
    rig.accept(live, sms(registered_delivery=1))
    rig.peer.answer(S.ESME_RINVDSTADR)
    rig.run(0.05)
    rig.accept(live, sms(registered_delivery=1))
    rig.peer.answer(S.ESME_RSYSERR)
    rig.run(0.05)
    assert [(r.stat, r.error) for r in receiver.got] == [("REJECTD", 0x0B), ("UNDELIV", 0x08)]
    assert rig.upstream.submits == {"ESME_RINVDSTADR": 1, "ESME_RSYSERR": 1}


def test_throttled_and_queue_full_answers_are_retried_with_backoff_and_never_failed(make_router):
    rig = make_router()
    live, receiver = _bound(rig)
    rig.accept(live, sms(registered_delivery=1))
    for status in (S.ESME_RTHROTTLED, S.ESME_RMSGQFUL, S.ESME_RTHROTTLED):
        rig.peer.answer(status)
        rig.run(0.01)
        assert rig.peer.submits == []  # paused
        rig.run(1.0)
        assert len(rig.peer.submits) == 1  # sent again after the backoff
    rig.peer.answer(ids=lambda p: "ok1")
    rig.run(0.01)
    rig.peer.receipt("ok1")
    rig.run(0.05)
    assert [r.stat for r in receiver.got] == ["DELIVRD"] and len(rig.peer.received) == 4
    assert rig.upstream.submits == {"ESME_RTHROTTLED": 2, "ESME_RMSGQFUL": 1, "ESME_ROK": 1}


def test_backoff_doubles_while_the_upstream_keeps_throttling(make_router):
    rig = make_router()
    live, _ = _bound(rig)
    rig.accept(live, sms())
    waits = []
    for _ in range(4):
        rig.peer.answer(S.ESME_RTHROTTLED)
        start = rig.clock.seconds()
        while not rig.peer.submits:
            rig.run(0.01)
        waits.append(round(rig.clock.seconds() - start, 1))
    assert waits == [0.1, 0.2, 0.4, 0.8]


def test_a_submit_sm_not_answered_in_time_is_sent_again_after_the_reconnect(make_router):
    rig = make_router(upstream={"response_timeout": 2.0, "reconnect": 0.5})
    live, receiver = _bound(rig)
    rig.accept(live, sms(registered_delivery=1))
    [(first, pdu)] = rig.peer.submits
    rig.peer.submits.clear()  # never answered
    rig.run(3.2)  # dropped at the first tick past 2 s, dialled again 0.5 s later
    assert not first.open
    [second] = rig.peer.open_links()
    assert [p.short_message for _, p in rig.peer.submits] == [pdu.short_message]
    rig.peer.answer(ids=lambda p: "again")
    rig.run(0.01)
    rig.peer.receipt("again")
    rig.run(0.05)
    assert [r.stat for r in receiver.got] == ["DELIVRD"]


def test_with_two_sessions_an_unanswered_submit_goes_out_on_the_other(make_router):
    rig = make_router(upstream={"binds": 2, "response_timeout": 2.0, "reconnect": 30.0})
    live, receiver = _bound(rig)
    assert rig.upstream.bound_sessions == 2
    rig.accept(live, sms(registered_delivery=1))
    [(first, _)] = rig.peer.submits
    rig.peer.submits.clear()
    rig.run(2.6)
    [(second, _)] = rig.peer.submits
    assert second is not first and second.open and not first.open


def test_a_sent_twice_leg_gives_our_client_one_receipt(make_router):
    rig = make_router(upstream={"response_timeout": 2.0, "reconnect": 0.5})
    live, receiver = _bound(rig)
    rig.accept(live, sms(registered_delivery=1))
    rig.peer.submits.clear()  # the upstream took it (id "first"), the answer was lost
    rig.run(3.2)
    rig.peer.answer(ids=lambda p: "second")
    rig.run(0.01)
    rig.peer.receipt("second", "DELIVRD")
    rig.peer.receipt("first", "DELIVRD", seq=2)  # the first leg's receipt, after a restart of the upstream
    rig.peer.receipt("second", "DELIVRD", seq=3)  # and a repeat
    rig.run(6.0)
    assert [r.stat for r in receiver.got] == ["DELIVRD"]
    assert len([p for _, p in rig.peer.responses if isinstance(p, DeliverSmResp)]) == 3  # all answered
    assert rig.upstream.unmatched == 2


def test_a_receipt_that_overtakes_its_submit_sm_resp_waits_for_it(make_router):
    rig = make_router(upstream={"bind": "tx+rx"})
    live, receiver = _bound(rig)
    tx, rx = rig.peer.open_links()
    rig.accept(live, sms(registered_delivery=1))
    [(link, pdu)] = rig.peer.submits
    assert link is tx
    rig.peer.receipt("early", link=rx)
    rig.run(0.5)
    assert receiver.got == [] and rig.peer.responses == []
    rig.peer.answer(ids=lambda p: "early")
    rig.run(0.05)
    assert [r.stat for r in receiver.got] == ["DELIVRD"]
    assert [(link, type(p)) for link, p in rig.peer.responses] == [(rx, DeliverSmResp)]


def test_upstream_down_messages_wait_and_end_expired_when_their_validity_ends(make_router):
    rig = make_router(start=False)
    rig.peer.refuse_connect = True
    rig.start()
    live, receiver = _bound(rig)
    mid = rig.accept(live, sms(registered_delivery=1, validity_period="000000000010000R"))
    assert rig.upstream.holds(int(mid, 16)) and rig.upstream.pending() == 1
    rig.run(9.0)
    assert receiver.got == []
    rig.run(1.5)
    [r] = receiver.got
    assert (r.stat, r.error, r.done_time) == ("EXPIRED", 27, float(int(r.message.submit_time + 10)))
    assert rig.peer.received == [] and rig.upstream.pending() == 0


def test_messages_wait_while_the_bind_is_refused_and_go_out_once_it_is_accepted(make_router):
    rig = make_router(start=False, upstream={"reconnect": 1.0})
    rig.peer.bind_status = S.ESME_RINVPASWD
    rig.start()
    live, receiver = _bound(rig)
    rig.accept(live, sms(registered_delivery=1))
    rig.accept(live, sms(registered_delivery=1))
    connects = []
    for _ in range(5):
        before = rig.peer.connects
        start = rig.clock.seconds()
        while rig.peer.connects == before:
            rig.run(0.1, step=0.1)
        connects.append(round(rig.clock.seconds() - start))
    assert connects == [1, 2, 4, 8, 16]  # backing off: the upstream's login throttle stays calm
    assert rig.peer.received == [] and rig.upstream.pending() == 2
    rig.peer.bind_status = S.ESME_ROK
    rig.run(33.0, step=0.5)
    assert len(rig.peer.submits) == 2
    rig.peer.answer(ids=lambda p: f"id{p.sequence_number}")
    rig.run(0.01)
    for _, mid in [(None, "id2"), (None, "id3")]:
        rig.peer.receipt(mid)
    rig.run(0.05)
    assert [r.stat for r in receiver.got] == ["DELIVRD", "DELIVRD"]


def test_past_the_queue_limit_clients_get_msgqful_and_are_not_charged(make_router):
    rig = make_router(start=False, upstream={"queue_limit": 2})
    rig.peer.refuse_connect = True
    rig.start()
    rig.add(balance=1000)
    live = rig.bind()
    rig.accept(live, sms())
    rig.accept(live, sms())
    assert rig.submit(live, sms()) == (S.ESME_RMSGQFUL, "")
    assert rig.balance() == 1000 - 2 * 42
    # another operator's numbers are not held back by it
    assert rig.submit(live, sms(to="380501234567"))[0] == S.ESME_ROK


def test_cancel_sm_withdraws_a_waiting_message_which_then_never_goes_upstream(make_router):
    rig = make_router(start=False)
    rig.peer.refuse_connect = True
    rig.start()
    live, receiver = _bound(rig)
    mid = rig.accept(live, sms(registered_delivery=1))
    rig.result(rig.engine.cancel(live, mid))
    rig.peer.refuse_connect = False
    rig.run(10.0, step=0.5)
    assert rig.peer.open_links() and rig.peer.received == []
    assert [r.stat for r in receiver.got] == ["DELETED"]


def test_a_scheduled_message_goes_upstream_at_its_time(make_router):
    rig = make_router()
    live, receiver = _bound(rig)
    mid = rig.accept(live, sms(schedule_delivery_time="000000000005000R"))
    rig.run(4.5)
    assert rig.peer.submits == [] and rig.upstream.holds(int(mid, 16))
    rig.run(1.0)
    assert len(rig.peer.submits) == 1 and not rig.upstream.holds(int(mid, 16))


def test_enroute_notifications_are_asked_for_and_passed_on(make_router):
    rig = make_router()
    live, receiver = _bound(rig)
    rig.accept(live, sms(registered_delivery=0x11))
    [(_, pdu)] = rig.peer.submits
    assert pdu.registered_delivery == 0x11
    rig.peer.answer(ids=lambda p: "n1")
    rig.run(0.01)
    rig.peer.receipt("n1", "ENROUTE", esm_class=0x20)
    rig.run(0.05)
    rig.peer.receipt("n1", "DELIVRD", seq=2)
    rig.run(0.05)
    assert [(r.stat, r.intermediate) for r in receiver.got] == [("ENROUTE", True), ("DELIVRD", False)]


def test_the_window_and_the_throughput_are_honoured(make_router):
    rig = make_router(upstream={"window": 3, "throughput": 10})
    live, _ = _bound(rig)
    for _ in range(8):
        rig.accept(live, sms())
    assert len(rig.peer.submits) == 1  # a burst of one (0.1 s of 10/s), then 10/s
    rig.run(0.5)
    assert len(rig.peer.submits) == 3  # the window is full
    rig.peer.answer()
    rig.run(0.5)
    assert len(rig.peer.received) == 6
    rig.peer.answer()
    rig.run(1.0)
    assert len(rig.peer.received) == 8


def test_enquire_link_unanswered_drops_the_session_and_it_is_dialled_again(make_router):
    rig = make_router(upstream={"enquire_link": 2.0, "response_timeout": 1.0, "reconnect": 0.5})
    _bound(rig)
    rig.peer.answer_enquire_link = False
    rig.run(4.5)  # probed after 2 s of silence, dropped 1 s later, dialled 0.5 s after
    assert len(rig.peer.links) == 2 and rig.upstream.bound_sessions == 1


def test_an_unbind_from_the_upstream_is_answered_and_the_link_dialled_again(make_router):
    from smsc.pdu.pdus import Unbind, UnbindResp

    rig = make_router(upstream={"reconnect": 0.5})
    _bound(rig)
    [link] = rig.peer.open_links()
    link.send(Unbind(sequence_number=9))
    assert any(isinstance(p, UnbindResp) for p in link.read())
    rig.run(1.0)
    assert not link.open and len(rig.peer.open_links()) == 1 and rig.upstream.bound_sessions == 1


def test_mo_from_the_upstream_goes_to_the_account_owning_the_number(make_router):
    from smsc.pdu.pdus import DeliverSm

    rig = make_router(mo={"numbers": {"7090": "shop"}})
    _bound(rig)
    [link] = rig.peer.open_links()
    link.send(DeliverSm(sequence_number=5, source_addr="380671112233", destination_addr="7090",
                        short_message=b"STOP"))
    udh = lambda seq: bytes((5, 0, 3, 9, 2, seq))  # noqa: E731
    link.send(DeliverSm(sequence_number=6, source_addr="380671112233", destination_addr="7090", esm_class=0x40,
                        data_coding=8, short_message=udh(2) + "світ".encode("utf-16-be")))
    link.send(DeliverSm(sequence_number=7, source_addr="380671112233", destination_addr="7090", esm_class=0x40,
                        data_coding=8, short_message=udh(1) + "привіт ".encode("utf-16-be")))
    link.send(DeliverSm(sequence_number=8, source_addr="380671112233", destination_addr="9999",
                        short_message=b"nobody's"))
    rig.run(0.05)
    rows = rig.store.pending_mo(0)
    assert [(r.system_id, r.source_addr, r.destination_addr, r.text) for r in rows] == [
        ("shop", "380671112233", "7090", "STOP"), ("shop", "380671112233", "7090", "привіт світ")]
    answers = {p.sequence_number: p.command_status for _, p in rig.peer.responses}
    assert answers == {5: S.ESME_ROK, 6: S.ESME_ROK, 7: S.ESME_ROK, 8: S.ESME_RINVDSTADR}


def test_a_restart_waits_for_receipts_of_parts_upstream_and_sends_the_others_again(make_router):
    rig = make_router()
    live, receiver = _bound(rig)
    rig.accept(live, sms(registered_delivery=1))  # goes out, answered: upstream
    rig.peer.answer(ids=lambda p: "kept")
    rig.run(0.01)
    rig.accept(live, sms(registered_delivery=1))  # goes out, never answered
    rig.run(0.01)
    # "kill -9": a new engine on the same store
    again = make_router(start=False)
    assert again.engine.recover(again.store) == (2, 0)
    again.start()
    live2 = again.bind()
    receiver2 = again.receiver(live2)
    again.run(0.05)
    assert len(again.peer.submits) == 1  # only the one the upstream never acknowledged
    again.peer.answer(ids=lambda p: "resent")
    again.run(0.01)
    again.peer.receipt("kept")
    again.peer.receipt("resent", "UNDELIV", 1, seq=2)
    again.run(0.05)
    assert sorted((r.stat, r.error) for r in receiver2.got) == [("DELIVRD", 0), ("UNDELIV", 1)]


def test_a_restart_finishes_at_once_a_message_whose_parts_were_all_final(make_router):
    """The part's receipt was committed (and answered upstream), our own
    final write was not: the restart ends the message from the stored part."""
    from smsc.store.port import UpstreamLeg

    rig = make_router()
    rig.add()
    live = rig.bind(kind="transmitter")
    mid = rig.accept(live, sms(registered_delivery=1))
    rig.peer.answer(ids=lambda p: "done")
    rig.run(0.01)
    rig.store.record_legs([UpstreamLeg(int(mid, 16), 1, None, "REJECTD", 13, rig.clock.seconds())])
    again = make_router(start=False)
    assert again.engine.recover(again.store) == (1, 0)
    again.start()
    receiver = again.receiver(again.bind())
    again.run(0.05)
    assert [(r.message.id, r.stat, r.error) for r in receiver.got] == [(int(mid, 16), "REJECTD", 13)]
    assert again.peer.received == []


def test_replace_sm_reaches_a_waiting_message_and_the_new_text_goes_upstream(make_router):
    from smsc.records import Replacement

    rig = make_router(start=False)
    rig.peer.refuse_connect = True
    rig.start()
    live, _ = _bound(rig)
    mid = rig.accept(live, sms(text="old text"))
    rig.result(rig.engine.replace(live, Replacement(mid, "", b"new text")))
    rig.peer.refuse_connect = False
    rig.run(3.0, step=0.5)  # dialled again after 1 s
    assert [p.short_message for p in rig.peer.received] == [b"new text"]


def test_a_campaign_waits_and_retries_when_the_upstream_queue_is_full():
    from smsc.campaigns import store as campaigns
    from smsc.campaigns.runner import THROTTLE_WAIT, CampaignRunner
    from smsc.pdu.errors import SmppError

    runner = CampaignRunner(None, None, 0x45, lambda: 100.0, lambda: 100.0)  # type: ignore[arg-type]
    claimed = campaigns.Claimed(7, 1, KYIVSTAR, "hi")

    class C:
        id = 7

    outcome = runner._refused(C, None, claimed, SmppError(S.ESME_RMSGQFUL), {})  # type: ignore[arg-type]
    assert outcome.status == campaigns.PENDING and runner._waiting[7] == 100.0 + THROTTLE_WAIT


def test_a_link_that_closes_before_its_bind_backs_off_too(make_router):
    rig = make_router(start=False, upstream={"reconnect": 1.0})
    rig.peer.hang_up = True
    rig.start()
    waits = []
    for _ in range(4):
        before, start = rig.peer.connects, rig.clock.seconds()
        while rig.peer.connects == before:
            rig.run(0.1, step=0.1)
        waits.append(round(rig.clock.seconds() - start))
    assert waits == [1, 2, 4, 8]


def test_the_fast_submit_sm_encoder_writes_what_the_general_one_does(make_router):
    from smsc.pdu.codec import encode

    for overrides in ({}, {"source_ton": 0, "source_npi": 9, "destination_ton": 2, "destination_npi": 3}):
        rig = make_router(start=False, upstream=overrides)
        rig.peer.refuse_connect = True
        rig.start()
        if not overrides:
            rig.add()
        live = rig.bind()
        rig.accept(live, sms(registered_delivery=0x11))
        rig.accept(live, sms(text="Привіт, це довге повідомлення кирилицею. " * 4, registered_delivery=2))
        rig.accept(live, sms(text="", esm_class=0x40, data_coding=0, body=bytes((5, 0, 3, 1, 2, 2)) + b"tail"))
        rig.accept(live, sms(to="0671234567", validity_period="000000001000000R"))
        legs = list(rig.upstream._queue)
        assert len(legs) == 6
        now = rig.engine.sim.now()
        for seq, leg in enumerate(legs, 1):
            assert rig.upstream._submit_sm_bytes(leg, seq, now) == encode(rig.upstream._submit_sm(leg, seq, now))


def test_a_message_upstream_whose_receipt_never_comes_ends_expired_once_when_its_validity_ends(make_router):
    """The upstream accepted it and then never said more: like a simulated
    operator's unreachable phone it ends EXPIRED (err 027, done at the end
    of its validity), once the upstream's own EXPIRED receipt had
    ``response_timeout`` to come; a receipt after that changes nothing."""
    rig = make_router(upstream={"response_timeout": 5.0})
    live, receiver = _bound(rig)
    mid = rig.accept(live, sms(registered_delivery=1, validity_period="000000000010000R"))
    rig.peer.answer(ids=lambda p: "silent")
    rig.run(14.0)  # validity ends at 10 s; the upstream's own receipt may take 5 s more
    assert receiver.got == [] and rig.upstream.in_network() == 1
    rig.run(2.5)
    [r] = receiver.got
    assert (r.message.id, r.stat, r.error) == (int(mid, 16), "EXPIRED", 27)
    assert r.done_time == float(int(r.message.submit_time + 10))
    assert rig.store.get_message(int(mid, 16)).stat == "EXPIRED"
    assert rig.upstream.in_network() == 0 and rig.upstream._tracks == {} and rig.upstream._deadlines == {}
    rig.peer.receipt("silent", "DELIVRD")  # too late: acknowledged, dropped
    rig.run(0.05)
    assert len(receiver.got) == 1 and rig.upstream.unmatched == 1
    assert [type(p) for _, p in rig.peer.responses] == [DeliverSmResp]


def test_a_restart_ends_expired_a_message_upstream_whose_validity_ended_meanwhile(make_router):
    rig = make_router()
    live, _ = _bound(rig)
    mid = rig.accept(live, sms(registered_delivery=1, validity_period="000000000010000R"))
    rig.peer.answer(ids=lambda p: "gone")
    rig.run(0.01)
    again = make_router(start=False)
    again.clock.advance(rig.clock.seconds() - again.clock.seconds() + 60.0)  # back a minute later
    assert again.engine.recover(again.store) == (1, 0)
    again.start()
    receiver = again.receiver(again.bind())
    again.run(2.5)
    assert [(r.message.id, r.stat, r.error) for r in receiver.got] == [(int(mid, 16), "EXPIRED", 27)]
    assert again.peer.received == []


def test_a_data_sm_receipt_is_matched_and_answered_with_data_sm_resp(make_router):
    import struct

    from smsc.pdu.constants import MessageState, Tag
    from smsc.pdu.pdus import DataSm, DataSmResp

    rig = make_router()
    live, receiver = _bound(rig)
    mid = rig.accept(live, sms(registered_delivery=1))
    rig.peer.answer(ids=lambda p: "d1")
    rig.run(0.01)
    [link] = rig.peer.open_links()
    tlvs = ((Tag.RECEIPTED_MESSAGE_ID, b"d1\0"), (Tag.MESSAGE_STATE, bytes([MessageState.UNDELIVERABLE])),
            (Tag.NETWORK_ERROR_CODE, b"\x03" + struct.pack(">H", 11)))
    link.send(DataSm(sequence_number=9, esm_class=0x04, source_addr="380671234567", destination_addr="Shop",
                     tlvs=tlvs))
    rig.run(0.05)
    assert [(r.message.id, r.stat, r.error) for r in receiver.got] == [(int(mid, 16), "UNDELIV", 11)]
    assert [(type(p), p.sequence_number, p.command_status) for _, p in rig.peer.responses] == [(DataSmResp, 9, 0)]
