"""Per-account receipt options over TCP: one id string everywhere, in the
account's format; receipt dates of 12 digits in its time zone."""
from __future__ import annotations

import itertools
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from clients import RawConn, parse_deliver_sm, parse_query_resp, query_body
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.constants import MessageState as MS
from smsc.pdu.constants import Tag
from smsc.pdu.receipt import parse_receipt_text

PW = "pw123"
DELIVRD = "380671231001"
KYIV = ZoneInfo("Europe/Kyiv")
_seq = itertools.count(2)


def _kyiv_seconds(date: str) -> float:
    """A receipt date YYMMDDhhmmss read as Kyiv time."""
    return datetime.strptime(date, "%y%m%d%H%M%S").replace(tzinfo=KYIV).timestamp()


def test_decimal_ids_and_kyiv_dates(server_factory):
    srv = server_factory(rules=[{"suffix": "1001", "outcome": "DELIVRD", "delay": 0.0}])
    srv.cli("account", "add", "picky", "--password", PW, "--mode", "user",
            "--balance", "100", "--alpha", "SMSClub")
    srv.cli("account", "receipts", "picky", "--id-format", "decimal", "--id-width", "20",
            "--seconds", "--tz", "Europe/Kyiv")
    c = RawConn(srv.connect_raw())
    assert c.bind(C.BIND_TRANSCEIVER, "picky", PW).status == S.ESME_ROK
    before = time.time()
    status, mid = c.submit(next(_seq), dst=DELIVRD, rd=1, text=b"hello picky client")
    assert status == S.ESME_ROK
    assert len(mid) == 20 and mid.isdigit(), mid

    delivered = c.wait_delivered(lambda ds: len(ds) >= 1)
    after = time.time()
    r = parse_deliver_sm(delivered[0].body)
    assert r.esm_class == 0x04
    assert r.tlvs[Tag.RECEIPTED_MESSAGE_ID] == mid.encode() + b"\0"
    f = parse_receipt_text(r.short_message)
    assert f is not None, r.short_message
    assert (f["id"], f["stat"]) == (mid, "DELIVRD")
    assert len(f["submit_date"]) == len(f["done_date"]) == 12
    # Kyiv wall time (UTC+2 or +3): read as Kyiv time, the dates are now
    for date in (f["submit_date"], f["done_date"]):
        assert before - 2 <= _kyiv_seconds(date) <= after + 2, (date, before, after)

    # query_sm takes the decimal id; the same message's hex id is no id of this account
    q = c.call(C.QUERY_SM, next(_seq), query_body(mid))
    assert q.status == S.ESME_ROK
    got_id, final_date, state, error = parse_query_resp(q.body)
    assert (got_id, state, error) == (mid, MS.DELIVERED, 0)
    assert c.call(C.QUERY_SM, next(_seq), query_body(format(int(mid), "x"))).status == S.ESME_RQUERYFAIL
    assert c.call(C.QUERY_SM, next(_seq), query_body(str(int(mid)))).status == S.ESME_RQUERYFAIL
