"""The upstream legs table (router mode): upserts that never forget a known
value, and what a restart reads back (legs of unfinished messages only)."""
from __future__ import annotations

from smsc.records import Message
from smsc.store.port import RECEIPT_NONE, Batch, UpstreamLeg
from smsc.store.sqlite import Store


def _message(n: int, operator: str = "kyivstar") -> Message:
    return Message(n, "shop", 5, 0, "Shop", 1, 1, "380671234567", 0, 0, 1, b"hi", 1000.0,
                   "380671234567", operator, 2, 84)


def test_legs_are_completed_in_place_and_read_back_while_the_message_is_unfinished(tmp_path):
    store = Store(str(tmp_path / "s.db"))
    store.write_batch(Batch(inserts=[_message(1), _message(2), _message(3, "vodafone")]))
    store.record_legs([UpstreamLeg(1, 1, udh=b"\x05\x00\x03\x07\x02\x01")])
    store.record_legs([UpstreamLeg(1, 1, "abc"), UpstreamLeg(1, 2, "abd", udh=b"\x05\x00\x03\x07\x02\x02"),
                       UpstreamLeg(2, 1, None, "REJECTD", 0x58, 1001.0), UpstreamLeg(3, 1, "x")])
    store.record_legs([UpstreamLeg(1, 2, None, "DELIVRD", 0, 1002.0)])
    assert store.unfinished_legs("kyivstar") == [
        UpstreamLeg(1, 1, "abc", None, None, None, b"\x05\x00\x03\x07\x02\x01"),
        UpstreamLeg(1, 2, "abd", "DELIVRD", 0, 1002.0, b"\x05\x00\x03\x07\x02\x02"),
        UpstreamLeg(2, 1, None, "REJECTD", 0x58, 1001.0, None),
    ]
    # a final message's legs are no longer handed back
    store.write_batch(Batch(finishes={(2, "DELIVRD", 0, 1003.0, RECEIPT_NONE): [1]}))
    assert [leg.message_id for leg in store.unfinished_legs("kyivstar")] == [2]
    assert [leg.upstream_id for leg in store.unfinished_legs("vodafone")] == ["x"]
    store.close()
