"""Billing, the balance, the blacklist and segments: the real engine on a Clock."""
from __future__ import annotations

from smsc.pdu.constants import CommandStatus as S
from .rig import KYIVSTAR, KYIVSTAR_PRICE, sms

ONE_SECOND = {"operators": {"kyivstar": {"delay_min": 1.0, "delay_max": 1.0}}}


def test_a_submit_is_charged_per_segment_in_the_commit_that_stores_it(make_rig):
    rig = make_rig(**ONE_SECOND)
    rig.add(balance=1000)
    live = rig.bind()
    mid = rig.accept(live, sms(text="x" * 200))  # GSM 7-bit, 2 segments
    found = rig.store.get_message(int(mid, 16))
    assert found is not None and (found.message.segments, found.message.cost) == (2, 2 * KYIVSTAR_PRICE)
    assert rig.balance() == 1000 - 2 * KYIVSTAR_PRICE
    assert live.available == 1000 - 2 * KYIVSTAR_PRICE
    assert rig.store.usage_today("shop", int(rig.clock.seconds() // 86400)) == 1


def test_a_short_balance_refuses_with_the_configured_status_and_stores_nothing(make_rig):
    rig = make_rig(billing={"insufficient_funds_status": 0x45})
    rig.add(balance=KYIVSTAR_PRICE - 1)
    live = rig.bind()
    assert rig.submit(live, sms()) == (S.ESME_RSUBMITFAIL, "")
    assert rig.store.max_message_id() == 0
    assert rig.balance() == KYIVSTAR_PRICE - 1 and live.available == KYIVSTAR_PRICE - 1
    assert rig.metrics.balance_refusals == 1


def test_the_balance_is_never_overdrawn_by_submits_in_one_batch(make_rig):
    rig = make_rig()
    rig.add(balance=3 * KYIVSTAR_PRICE)
    live = rig.bind()
    answers = []
    for _ in range(5):  # all in one reactor turn: one group commit
        rig.engine.submit(live, sms(), lambda _, status, mid: answers.append(status), None)
    rig.run(0.01)
    # refusals answer at once, acceptances after the commit
    assert sorted(answers) == [S.ESME_ROK] * 3 + [S.ESME_RSUBMITFAIL] * 2
    assert rig.balance() == 0


def test_a_blacklisted_number_is_accepted_not_charged_and_ends_undeliv_001(make_rig):
    rig = make_rig()
    rig.add(balance=1000)
    rig.store.add_blacklist("shop", [KYIVSTAR])
    live = rig.bind()
    receiver = rig.receiver(live)
    mid = rig.accept(live, sms(registered_delivery=1))
    rig.run(0.1)
    [r] = receiver.got
    assert (r.stat, r.error, r.message.cost) == ("UNDELIV", 1, 0)
    assert rig.balance() == 1000
    assert rig.store.get_message(int(mid, 16)).stat == "UNDELIV"


def test_refusals_name_their_reason_before_any_charge(make_rig):
    rig = make_rig()
    rig.add(balance=1000)
    live = rig.bind()
    assert rig.submit(live, sms(sender="Other"))[0] == S.ESME_RINVSRCADR
    assert rig.submit(live, sms(to="12"))[0] == S.ESME_RINVDSTADR
    assert rig.submit(live, sms(text="x" * 613))[0] == S.ESME_RINVMSGLEN
    assert rig.submit(live, sms(validity_period="garbage"))[0] == S.ESME_RINVEXPIRY
    assert rig.submit(live, sms(registered_delivery=3))[0] == S.ESME_RINVREGDLVFLG
    assert rig.balance() == 1000 and rig.store.max_message_id() == 0


def test_without_a_receiver_the_final_state_is_owed_in_the_store(make_rig):
    rig = make_rig(**ONE_SECOND)
    rig.add()
    live = rig.bind(kind="transmitter")
    mid = rig.accept(live, sms(registered_delivery=1))
    rig.run(1.5)
    found = rig.store.get_message(int(mid, 16))
    assert found is not None and found.stat == "DELIVRD"
    assert [o.message.id for o in rig.store.owed_receipts()] == [int(mid, 16)]


def test_a_balance_spent_behind_the_engines_back_is_refused_at_commit(make_rig):
    """The store's conditional decrement: the engine's view of the balance
    says yes, the stored balance (spent by another node, here by the CLI)
    says no. The submit is answered with the insufficient-funds status and
    nothing is stored or charged; the account's other writes still commit."""
    rig = make_rig(billing={"insufficient_funds_status": 0x45})
    rig.add(balance=2 * KYIVSTAR_PRICE)
    live = rig.bind()
    kept = rig.accept(live, sms())
    rig.store.add_balance("shop", -KYIVSTAR_PRICE)  # left: 0 kopecks; the engine thinks 42
    answers = []
    for _ in range(2):
        rig.engine.submit(live, sms(), lambda _, status, mid: answers.append((status, mid)), None)
    rig.run(0.01)
    # the second is refused at once (the engine counts the first's 42), the first at commit
    assert answers == [(S.ESME_RSUBMITFAIL, ""), (S.ESME_RSUBMITFAIL, "")]
    assert rig.balance() == 0
    assert rig.store.max_message_id() == int(kept, 16)
    assert rig.store.usage_today("shop", int(rig.clock.seconds() // 86400)) == 1
    assert rig.metrics.balance_refusals == 2
    assert live.available == 0  # the commit read the stored balance back
