"""cancel_sm, replace_sm, replace_if_present and their refunds, on a Clock."""
from __future__ import annotations

import pytest

from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.constants import MessageState
from smsc.pdu.errors import SmppError
from smsc.records import Replacement

from .rig import KYIVSTAR, KYIVSTAR_PRICE, sms

#: an hour ahead: the operator holds the message until then
LATER = "000000010000000R"
ONE_SECOND = {"operators": {"kyivstar": {"delay_min": 1.0, "delay_max": 1.0}}}


def test_cancel_of_a_held_message_deletes_and_refunds_it_in_one_commit(make_rig):
    rig = make_rig()
    rig.add(balance=1000)
    live = rig.bind()
    receiver = rig.receiver(live)
    mid = rig.accept(live, sms(schedule_delivery_time=LATER, registered_delivery=1))
    assert rig.balance() == 1000 - KYIVSTAR_PRICE
    assert rig.result(rig.engine.cancel(live, mid)) is None
    assert rig.balance() == 1000 and live.available == 1000
    found = rig.store.get_message(int(mid, 16))
    assert (found.stat, found.state, found.message.cost) == ("DELETED", MessageState.DELETED, 0)
    assert [r.stat for r in receiver.got] == ["DELETED"]
    rig.run(3600 + 10)  # its schedule passes: nothing more happens to it
    assert [r.stat for r in receiver.got] == ["DELETED"]


def test_cancel_fails_once_the_message_is_in_the_network_or_final_or_not_ours(make_rig):
    rig = make_rig(**ONE_SECOND)
    rig.add()
    rig.add("other")
    live, other = rig.bind(), rig.bind("other")
    mid = rig.accept(live, sms())
    rig.run(0.1)
    for account, message_id in ((live, mid), (other, mid), (live, "zz")):
        with pytest.raises(SmppError) as exc:
            rig.result(rig.engine.cancel(account, message_id))
        assert exc.value.status == S.ESME_RCANCELFAIL
    rig.run(2)
    with pytest.raises(SmppError, match="final"):
        rig.result(rig.engine.cancel(live, mid))


def test_cancel_by_destination_withdraws_every_held_message_to_it(make_rig):
    rig = make_rig()
    rig.add(balance=1000)
    live = rig.bind()
    ids = [rig.accept(live, sms(schedule_delivery_time=LATER)) for _ in range(2)]
    kept = rig.accept(live, sms(to="380501234567", schedule_delivery_time=LATER))
    assert rig.result(rig.engine.cancel(live, "", "", "+" + KYIVSTAR)) is None
    assert [rig.store.get_message(int(i, 16)).stat for i in ids] == ["DELETED", "DELETED"]
    assert rig.store.get_message(int(kept, 16)).stat is None
    with pytest.raises(SmppError, match="still held"):
        rig.result(rig.engine.cancel(live, "", "", KYIVSTAR))


def test_replace_if_present_withdraws_the_older_held_message(make_rig):
    rig = make_rig()
    rig.add(balance=1000)
    live = rig.bind()
    old = rig.accept(live, sms(schedule_delivery_time=LATER))
    new = rig.accept(live, sms(schedule_delivery_time=LATER, replace_if_present=True))
    rig.run(0.01)
    assert rig.store.get_message(int(old, 16)).stat == "DELETED"
    assert rig.store.get_message(int(new, 16)).stat is None
    assert rig.balance() == 1000 - KYIVSTAR_PRICE


def test_replace_charges_the_price_difference_and_keeps_it_held(make_rig):
    rig = make_rig()
    rig.add(balance=1000)
    live = rig.bind()
    mid = rig.accept(live, sms(schedule_delivery_time=LATER))
    body = b"y" * 300  # in the stored data_coding (the network's: GSM 7-bit here): 2 parts
    assert rig.result(rig.engine.replace(live, Replacement(mid, "", body, 1, "", LATER))) is None
    found = rig.store.get_message(int(mid, 16))
    assert (found.message.segments, found.message.cost) == (2, 2 * KYIVSTAR_PRICE)
    assert rig.balance() == 1000 - 2 * KYIVSTAR_PRICE
    assert rig.engine.operators["kyivstar"].holds(int(mid, 16))
    poor = Replacement(mid, "", b"y" * 600, 1)
    rig.store.add_balance("shop", -(rig.balance() - 10))
    rig.result(rig.engine.account("shop", fresh=True))
    with pytest.raises(SmppError) as exc:
        rig.result(rig.engine.replace(live, poor))
    assert exc.value.status == rig.config.billing.insufficient_funds_status


def test_query_reads_enroute_until_the_final_state_is_committed(make_rig):
    rig = make_rig(**ONE_SECOND)
    rig.add()
    live = rig.bind()
    receiver = rig.receiver(live, ack=False)
    mid = rig.accept(live, sms(registered_delivery=1))
    assert rig.result(rig.engine.query(live, mid)).message_state == MessageState.ENROUTE
    rig.run(1.5)
    [r] = receiver.got  # offered, not yet acknowledged: the final state is not written
    assert rig.result(rig.engine.query(live, mid)).message_state == MessageState.ENROUTE
    rig.engine.receipts.answered(r, True)
    answer = rig.result(rig.engine.query(live, mid))
    assert (answer.message_state, answer.final_date[:2]) == (MessageState.DELIVERED, "25")
