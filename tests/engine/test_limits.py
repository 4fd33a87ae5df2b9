"""Rate, daily cap, max binds and the bind checks, on a Clock."""
from __future__ import annotations

import pytest

from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.errors import SmppError

from .rig import sms


def test_a_test_account_gets_one_submit_a_second_and_the_rest_throttled(make_rig):
    rig = make_rig(limits={"test_rate": 1.0, "test_daily_cap": 100})
    rig.add(mode="test", alpha=())
    live = rig.bind()
    universal = rig.config.accounts.universal_alpha
    assert rig.submit(live, sms(sender=universal))[0] == S.ESME_ROK
    assert rig.submit(live, sms(sender=universal))[0] == S.ESME_RTHROTTLED
    rig.run(1.0)
    assert rig.submit(live, sms(sender=universal))[0] == S.ESME_ROK


def test_the_daily_cap_counts_what_was_sent_today_before_a_restart(make_rig):
    limits = {"test_rate": 0.0, "test_daily_cap": 3}
    rig = make_rig(limits=limits)
    rig.add(mode="test", alpha=())
    universal = rig.config.accounts.universal_alpha
    live = rig.bind()
    assert [rig.submit(live, sms(sender=universal))[0] for _ in range(2)] == [S.ESME_ROK] * 2
    again = make_rig(limits=limits)  # a new process on the same store
    live = again.bind()
    assert again.submit(live, sms(sender=universal))[0] == S.ESME_ROK
    assert again.submit(live, sms(sender=universal))[0] == S.ESME_RTHROTTLED
    # a throttled submit is not charged
    assert again.balance() == 10_000 - 3 * 42


def test_a_throttled_submit_gives_its_rate_token_back_when_the_balance_refuses(make_rig):
    rig = make_rig()
    rig.add(balance=0, rate=1.0)
    live = rig.bind()
    assert rig.submit(live, sms())[0] == S.ESME_RSUBMITFAIL
    rig.store.add_balance("shop", 1000)  # the CLI's top-up
    assert rig.result(rig.engine.account("shop", fresh=True)).available == 1000
    # within the same second: passes only if the refusal gave its token back
    assert rig.submit(live, sms())[0] == S.ESME_ROK
    assert rig.submit(live, sms())[0] == S.ESME_RTHROTTLED


def test_max_binds_and_wrong_credentials(make_rig):
    rig = make_rig()
    rig.add(max_binds=1)
    live = rig.bind()
    with pytest.raises(SmppError) as exc:
        rig.bind()
    assert exc.value.status == S.ESME_RBINDFAIL
    rig.engine.release(live)
    rig.bind()
    with pytest.raises(SmppError) as exc:
        rig.bind(password="nope")
    assert exc.value.status == S.ESME_RINVPASWD
    with pytest.raises(SmppError) as exc:
        rig.bind("ghost")
    assert exc.value.status == S.ESME_RINVSYSID


def test_failed_logins_throttle_the_address_for_binds_and_http_alike(make_rig):
    rig = make_rig(accounts={"max_bind_failures": 2, "bind_failure_window": 60})
    rig.add()
    for _ in range(2):
        with pytest.raises(SmppError):
            rig.bind(password="nope", host="10.0.0.9")
    with pytest.raises(SmppError) as exc:  # even the right password, from that address
        rig.result(rig.engine.login("shop", "pw", "10.0.0.9"))
    assert exc.value.status == S.ESME_RBINDFAIL
    assert rig.result(rig.engine.login("shop", "pw", "10.0.0.8")).system_id == "shop"
    rig.run(61)
    assert rig.bind(host="10.0.0.9").system_id == "shop"
