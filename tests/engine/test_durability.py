"""Receipts are never lost nor repeated: the rule in engine.lifecycle, and
recovery after a restart (a new engine on the same store), on a Clock."""
from __future__ import annotations

from smsc.pdu.constants import CommandStatus as S
from smsc.submission import of_submit_multi
from smsc.pdu.pdus import DestAddress, SubmitMulti

from .rig import KYIVSTAR, sms

ONE_SECOND = {"operators": {"kyivstar": {"delay_min": 1.0, "delay_max": 1.0}}}


def test_a_bound_receiver_gets_the_receipt_and_its_ack_writes_the_final_state(make_rig):
    rig = make_rig(**ONE_SECOND)
    rig.add()
    live = rig.bind()
    receiver = rig.receiver(live, ack=False)
    mid = rig.accept(live, sms(registered_delivery=1))
    rig.run(1.5)
    [r] = receiver.got
    assert (r.stat, r.durable) == ("DELIVRD", False)
    assert rig.store.get_message(int(mid, 16)).done_time is None  # written with the ack
    rig.engine.receipts.answered(r, True)
    rig.run(0.01)
    assert rig.store.get_message(int(mid, 16)).stat == "DELIVRD"
    assert rig.store.owed_receipts() == []


def test_a_receiver_that_leaves_before_the_ack_leaves_the_receipt_owed(make_rig):
    rig = make_rig(**ONE_SECOND)
    rig.add()
    live = rig.bind()
    receiver = rig.receiver(live, ack=False)
    mid = rig.accept(live, sms(registered_delivery=1))
    rig.run(1.5)
    rig.engine.receipts.detach("shop", receiver, receiver.unanswered)
    rig.run(0.01)
    [owed] = rig.store.owed_receipts()
    assert (owed.message.id, owed.stat) == (int(mid, 16), "DELIVRD")
    again = rig.receiver(live)  # the client binds again: offered once more, and acked
    rig.run(0.01)
    assert [r.message.id for r in again.got] == [int(mid, 16)]
    assert rig.store.owed_receipts() == []


def test_a_restart_resumes_unfinished_messages_and_queues_owed_receipts(make_rig):
    rig = make_rig(**ONE_SECOND)
    rig.add()
    live = rig.bind(kind="transmitter")
    owed = rig.accept(live, sms(registered_delivery=1))
    rig.run(1.5)  # final, receipt owed (no receiver)
    unfinished = rig.accept(live, sms(registered_delivery=1))
    # "kill -9": a new engine on the same store; the old one is never heard of again
    again = make_rig(**ONE_SECOND)
    assert again.engine.recover(again.store) == (1, 1)
    receiver = again.receiver(again.bind())
    again.run(1.5)
    assert sorted(r.message.id for r in receiver.got) == sorted([int(owed, 16), int(unfinished, 16)])
    assert again.store.owed_receipts() == [] and again.store.unfinished_messages() == []
    # ids only grow across the restart
    assert int(again.accept(again.bind(), sms()), 16) > int(unfinished, 16)


def test_receipt_not_asked_for_is_not_sent_and_failure_only_skips_delivered(make_rig):
    rig = make_rig(operators={"kyivstar": {"delay_min": 1.0, "delay_max": 1.0}},
                   rules=[{"suffix": "0001", "outcome": "UNDELIV"}])
    rig.add()
    live = rig.bind()
    receiver = rig.receiver(live)
    rig.accept(live, sms(registered_delivery=0))
    rig.accept(live, sms(registered_delivery=2))
    failing = rig.accept(live, sms(to="380670000001", registered_delivery=2))
    rig.run(1.5)
    assert [(r.message.id, r.stat) for r in receiver.got] == [(int(failing, 16), "UNDELIV")]


def test_submit_multi_is_one_message_per_destination_with_its_own_refusals(make_rig):
    rig = make_rig(**ONE_SECOND)
    rig.add(balance=1000)
    live = rig.bind()
    multi = SubmitMulti(sequence_number=1, source_addr="Shop", source_addr_ton=5, short_message=b"hi",
                        dest_addresses=(DestAddress(1, 1, 1, KYIVSTAR), DestAddress(1, 1, 1, "12"),
                                        DestAddress(2, 0, 0, "friends"), DestAddress(1, 1, 1, "380501234567")))
    answers = []
    rig.engine.submit_multi(live, of_submit_multi(multi), lambda *a: answers.append(a), "token")
    rig.run(0.01)
    [(token, status, mid, refused)] = answers
    assert (token, status) == ("token", S.ESME_ROK)
    assert refused == ((1, S.ESME_RINVDSTADR), (2, S.ESME_RINVDLNAME))
    assert rig.store.get_message(int(mid, 16)).message.msisdn == KYIVSTAR
    assert rig.store.max_message_id() == int(mid, 16) + 1  # the vodafone one
    assert rig.balance() == 1000 - 42 - 40
