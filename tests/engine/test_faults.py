"""Faults on demand in the engine, on a Clock: each acts only in its scope,
ends on time and loses nothing (every accepted message still gets exactly
one receipt)."""
from __future__ import annotations

from collections import Counter

from smsc.fault_model import parse
from smsc.pdu.constants import CommandStatus as S

from .rig import KYIVSTAR, sms

#: a Vodafone number (380 50 ...)
VODAFONE = "380501234567"
ALL_DELIVERED = {
    "operators": {
        key: {"delay_min": 1.0, "delay_max": 1.0, "outcomes": {"DELIVRD": 1}}
        for key in ("kyivstar", "vodafone")
    }
}


def fault(rig, kind, scope, target, duration=None, fault_id=1, **params):
    f = parse(kind, scope, target, params, now=rig.clock.seconds(), duration=duration, fault_id=fault_id)
    rig.engine.faults.start(f)
    return f


def two_accounts(rig):
    rig.add("shop")
    rig.add("other", alpha=("Shop",))
    shop, other = rig.bind("shop"), rig.bind("other")
    return shop, other, rig.receiver(shop), rig.receiver(other)


def test_a_throttle_fault_refuses_only_its_account_and_ends_on_time(make_rig):
    rig = make_rig(**ALL_DELIVERED)
    shop, other, _, _ = two_accounts(rig)
    fault(rig, "throttle", "account", "shop", duration=5)
    assert rig.submit(shop, sms())[0] == S.ESME_RTHROTTLED
    assert rig.submit(other, sms())[0] == S.ESME_ROK
    rig.run(5.0)
    assert rig.engine.faults.active() == []
    assert rig.submit(shop, sms())[0] == S.ESME_ROK


def test_a_throttle_fault_by_destination_with_msgqful(make_rig):
    rig = make_rig(**ALL_DELIVERED)
    shop, _, _, _ = two_accounts(rig)
    fault(rig, "throttle", "destination", "^38050", status="ESME_RMSGQFUL")
    assert rig.submit(shop, sms(to=VODAFONE))[0] == S.ESME_RMSGQFUL
    assert rig.submit(shop, sms(to=KYIVSTAR))[0] == S.ESME_ROK


def test_a_throttle_ratio_refuses_about_that_share(make_rig):
    rig = make_rig(**ALL_DELIVERED)
    shop, _, _, _ = two_accounts(rig)
    fault(rig, "throttle", "account", "shop", ratio=0.5)
    statuses = Counter(rig.submit(shop, sms())[0] for _ in range(100))
    assert 25 < statuses[S.ESME_RTHROTTLED] < 75 and statuses[S.ESME_ROK] + statuses[S.ESME_RTHROTTLED] == 100


def test_an_outage_holds_its_operators_messages_until_it_ends_and_loses_none(make_rig):
    rig = make_rig(**ALL_DELIVERED)
    shop, _, receiver, _ = two_accounts(rig)
    fault(rig, "outage", "operator", "kyivstar", duration=10)
    held = [rig.accept(shop, sms(registered_delivery=1)) for _ in range(3)]
    free = rig.accept(shop, sms(to=VODAFONE, registered_delivery=1))
    rig.run(3.0)
    assert [r.message.id for r in receiver.got] == [int(free, 16)]
    assert rig.engine.operators["kyivstar"].pending() == 3
    rig.run(9.0)  # the outage ends at 10 s, the delay is 1 s
    ids = Counter(r.message.id for r in receiver.got)
    assert ids == Counter(int(m, 16) for m in [*held, free])
    assert {r.stat for r in receiver.got} == {"DELIVRD"}
    assert rig.store.unfinished_messages() == []


def test_a_held_message_can_be_cancelled_and_its_validity_still_ends_it(make_rig):
    rig = make_rig(**ALL_DELIVERED)
    shop, _, receiver, _ = two_accounts(rig)
    fault(rig, "outage", "account", "shop")
    short = rig.accept(shop, sms(registered_delivery=1, validity_period="000000000005000R"))
    cancelled = rig.accept(shop, sms(to="380671111111", registered_delivery=1))
    rig.result(rig.engine.cancel(shop, cancelled))
    rig.run(6.0)
    got = {r.message.id: r.stat for r in receiver.got}
    assert got == {int(short, 16): "EXPIRED", int(cancelled, 16): "DELETED"}


def test_an_outage_in_fail_mode_ends_messages_undeliv_with_its_error(make_rig):
    rig = make_rig(**ALL_DELIVERED)
    shop, other, receiver, other_receiver = two_accounts(rig)
    fault(rig, "outage", "destination", "^38067", mode="fail", stat="REJECTD", error=88)
    rig.accept(shop, sms(registered_delivery=1))
    rig.accept(other, sms(to=VODAFONE, registered_delivery=1))
    rig.run(2.0)
    [r] = receiver.got
    assert (r.stat, r.error) == ("REJECTD", 88)
    assert [r.stat for r in other_receiver.got] == ["DELIVRD"]


def test_a_receipt_delay_holds_receipts_in_scope_only(make_rig):
    rig = make_rig(**ALL_DELIVERED)
    shop, other, receiver, other_receiver = two_accounts(rig)
    fault(rig, "receipts", "account", "shop", delay=5)
    rig.accept(shop, sms(registered_delivery=1))
    rig.accept(other, sms(registered_delivery=1))
    rig.run(2.0)
    assert receiver.got == [] and len(other_receiver.got) == 1
    rig.run(5.0)
    assert [r.stat for r in receiver.got] == ["DELIVRD"]


def test_lost_receipts_come_as_noreport_at_the_end_of_validity_or_not_at_all(make_rig):
    rig = make_rig(**ALL_DELIVERED)
    shop, other, receiver, other_receiver = two_accounts(rig)
    fault(rig, "receipts", "account", "shop", ratio=1.0)
    fault(rig, "receipts", "account", "other", ratio=1.0, lost="nothing", fault_id=2)
    mid = rig.accept(shop, sms(registered_delivery=1, validity_period="000000000010000R"))
    lost = rig.accept(other, sms(registered_delivery=1))
    rig.run(5.0)
    assert receiver.got == [] and other_receiver.got == []
    rig.run(6.0)
    [r] = receiver.got
    assert (r.message.id, r.stat) == (int(mid, 16), "NOREPORT")
    assert other_receiver.got == []
    stored = rig.store.get_message(int(lost, 16))
    assert stored.stat == "DELIVRD" and rig.store.owed_receipts() == []


def test_sync_starts_and_ends_faults_from_the_store_rows(make_rig):
    rig = make_rig(**ALL_DELIVERED)
    shop, _, _, _ = two_accounts(rig)
    now = rig.clock.seconds()
    f = parse("throttle", "account", "shop", {}, now=now, fault_id=7)
    faults = rig.engine.faults
    faults.sync([f])
    assert [a.id for a in faults.active()] == [7] and list(faults.gauge()) == [(("throttle",), 1)]
    assert rig.submit(shop, sms())[0] == S.ESME_RTHROTTLED
    faults.sync([])
    assert faults.active() == [] and faults.throttle == ()
    assert rig.submit(shop, sms())[0] == S.ESME_ROK
