"""Test accounts' spam protection over TCP: rate, daily cap, binds, sender."""
from __future__ import annotations

import json
import time

from clients import RawConn
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S


def _bind(srv, system_id, password, kind=C.BIND_TRANSMITTER):
    c = RawConn(srv.connect_raw())
    return c, c.bind(kind, system_id, password).status


def test_test_account_rate_daily_cap_and_binds(server_factory):
    srv = server_factory(limits={"test_rate": 2.0, "test_daily_cap": 5, "test_max_binds": 1},
                         operators_kyivstar={"price": 10})
    system_id, password = srv.first_account
    c, status = _bind(srv, system_id, password)
    assert status == S.ESME_ROK
    # rate 2/s with a burst of 2: the third at once is throttled
    burst = [c.submit(i, rd=0)[0] for i in range(1, 4)]
    assert burst == [S.ESME_ROK, S.ESME_ROK, S.ESME_RTHROTTLED]
    # paced under the rate: accepted until the daily cap of 5
    paced = []
    for i in range(4, 9):
        time.sleep(0.55)
        paced.append(c.submit(i, rd=0)[0])
    assert paced == [S.ESME_ROK] * 3 + [S.ESME_RTHROTTLED] * 2
    shown = json.loads(srv.cli("account", "show", system_id, "--json").stdout)
    assert shown["balance_kopecks"] == 200 - 5 * 10  # only accepted ones cost
    # one bind at a time for a test account
    _, second = _bind(srv, system_id, password)
    assert second == S.ESME_RBINDFAIL
    # the cap survives a restart (counted in the store)
    c.sock.close()
    srv.stop()
    srv2 = server_factory(store=srv.config.parent / "smsc.db",
                          limits={"test_rate": 2.0, "test_daily_cap": 5, "test_max_binds": 1})
    c2, status = _bind(srv2, system_id, password)
    assert status == S.ESME_ROK
    assert c2.submit(1, rd=0)[0] == S.ESME_RTHROTTLED
