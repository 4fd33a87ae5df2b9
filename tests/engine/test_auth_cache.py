"""A verified (system_id, password) is remembered for binds too, and a storm
of binds with the same credentials runs scrypt once (issue 14: 1,000 binds
took ~37 s of scrypt on the reactor's thread pool)."""
from __future__ import annotations

import pytest
from twisted.internet.defer import Deferred

from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.errors import SmppError
from smsc.records import BindInfo

from .rig import PASSWORDS


def test_binds_pay_the_password_check_once_per_credentials(make_rig):
    rig = make_rig(limits={"user_max_binds": 0}, accounts={"max_bind_failures": 100})
    rig.add()
    checks: list[str] = []

    def slow_verify(password: str, password_hash: str) -> "Deferred[bool]":
        """As scrypt on a pool thread: the answer comes 30 ms later."""
        checks.append(password)
        d: Deferred[bool] = Deferred()
        rig.clock.callLater(0.03, d.callback, PASSWORDS.get(password_hash) == password)
        return d

    rig.engine.authenticate.__self__._verify = slow_verify  # type: ignore[attr-defined]
    storm = [rig.engine.authenticate(BindInfo("shop", "pw", "transceiver", "10.0.0.1")) for _ in range(20)]
    got: list[object] = []
    for d in storm:
        d.addBoth(got.append)
    rig.run(0.1)
    assert len(got) == 20 and all(getattr(g, "system_id", None) == "shop" for g in got), got
    assert checks == ["pw"]  # one check for the whole storm
    rig.bind()
    assert checks == ["pw"]  # and none for a later bind with them

    for _ in range(2):  # a wrong password is never remembered
        with pytest.raises(SmppError) as exc:
            rig.bind(password="nope")
        assert exc.value.status == S.ESME_RINVPASWD
    assert checks == ["pw", "nope", "nope"]

    rig.store.set_password_hash("shop", "hash-of-other")  # smsc account passwd
    with pytest.raises(SmppError) as exc:
        rig.bind(password="pw")  # the old password no longer matches the new hash
    assert exc.value.status == S.ESME_RINVPASWD
    assert rig.bind(password="other").system_id == "shop"
    rig.bind(password="other")
    assert checks == ["pw", "nope", "nope", "pw", "other"]
