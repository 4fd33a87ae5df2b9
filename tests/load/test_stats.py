"""The load client's pure parts: percentiles, receipt text, receipt matching.

These decide the load client's exit code, so they are pinned here without
sockets: a ledger that miscounted would make every benchmark lie.
"""
from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsc.load.report import EXIT_FAILED, EXIT_NO_BIND, EXIT_OK, LoadReport, ReceiptSummary
from smsc.load.stats import (
    LatencySummary,
    ReceiptLedger,
    ReceiptText,
    parse_receipt_text,
    percentile,
    rate,
)

# --- percentiles -----------------------------------------------------------


def test_percentile_nearest_rank_on_1_to_100() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 90) == 90.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0


def test_percentile_small_samples() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 0) == 7.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0], 50) == 1.0
    assert percentile([1.0, 2.0], 51) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 99) == 4.0


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1), st.floats(0, 100))
def test_percentile_is_a_sample_and_bounded(values: list[float], p: float) -> None:
    values.sort()
    v = percentile(values, p)
    assert v in values
    assert values[0] <= v <= values[-1]


def test_latency_summary_in_milliseconds() -> None:
    s = LatencySummary.of([0.003, 0.001, 0.002, 0.010])  # unsorted on purpose
    assert s == LatencySummary(count=4, p50=2.0, p90=10.0, p99=10.0, max=10.0)


def test_latency_summary_of_nothing() -> None:
    assert LatencySummary.of([]) == LatencySummary(count=0, p50=None, p90=None, p99=None, max=None)


def test_rate() -> None:
    assert rate(1000, 2.0) == 500.0
    assert rate(10, 0.0) is None
    assert rate(10, None) is None


# --- receipt text --------------------------------------------------------

CANONICAL = ("id:0a1b2c3d4e5f sub:001 dlvrd:001 submit date:2611250542 "
             "done date:2611250542 stat:DELIVRD err:000 text:SMPP load test 0123")


def test_parse_canonical_receipt() -> None:
    assert parse_receipt_text(CANONICAL) == ReceiptText(
        id="0a1b2c3d4e5f", sub="001", dlvrd="001", submit_date="2611250542",
        done_date="2611250542", stat="DELIVRD", err="000", text="SMPP load test 0123",
    )


def test_parse_receipt_text_keeps_colons_and_keywords_inside_text() -> None:
    r = parse_receipt_text(CANONICAL.replace("SMPP load test 0123", "id:x stat:FAKE"))
    assert r is not None
    assert (r.id, r.stat, r.text) == ("0a1b2c3d4e5f", "DELIVRD", "id:x stat:FAKE")


def test_parse_receipt_text_empty_text_field() -> None:
    r = parse_receipt_text(CANONICAL[: CANONICAL.index("text:") + 5])
    assert r is not None and r.text == ""


@pytest.mark.parametrize(
    "text, mid, stat",
    [
        # upper-case names, double spaces, underscores
        ("ID:42  SUB:001 DLVRD:000 SUBMIT_DATE:2611250542 DONE_DATE:2611250542 "
         "STAT:undeliv ERR:001 TEXT:x", "42", "UNDELIV"),
        # sub/dlvrd missing, reordered
        ("stat:EXPIRED id:abc err:000", "abc", "EXPIRED"),
        # no stat at all
        ("id:abc sub:001", "abc", None),
    ],
)
def test_parse_loose_receipts(text: str, mid: str, stat: str | None) -> None:
    r = parse_receipt_text(text)
    assert r is not None
    assert (r.id, r.stat) == (mid, stat)


@pytest.mark.parametrize("text", ["", "hello", "sub:001 dlvrd:001 stat:DELIVRD", "id: stat:DELIVRD",
                                  "valid:1 stat:DELIVRD"])
def test_no_id_is_not_a_receipt(text: str) -> None:
    assert parse_receipt_text(text) is None


# --- receipt matching ------------------------------------------------------


def test_every_receipt_once() -> None:
    led = ReceiptLedger()
    for i in range(3):
        led.accepted(f"m{i}", submitted_at=float(i))
    for i in range(3):
        led.receipt(f"m{i}", "DELIVRD", at=i + 0.5)
    t = led.tally()
    assert (t.received, t.matched, t.missing) == (3, 3, 0)
    assert (t.duplicates, t.unknown, t.early) == (0, 0, 0)
    assert t.exactly_once
    assert t.by_stat == {"DELIVRD": 3}
    assert t.latencies_s == (0.5, 0.5, 0.5)


def test_missing_receipts_are_the_unanswered_ids() -> None:
    led = ReceiptLedger()
    for mid in ("a", "b", "c"):
        led.accepted(mid, 0.0)
    led.receipt("b", "DELIVRD", 1.0)
    assert led.awaiting == 2
    t = led.tally()
    assert t.missing == 2 and not t.exactly_once


def test_second_final_receipt_is_a_duplicate_even_with_another_stat() -> None:
    led = ReceiptLedger()
    led.accepted("a", 0.0)
    led.receipt("a", "DELIVRD", 1.0)
    led.receipt("a", "DELIVRD", 2.0)
    led.receipt("a", "UNDELIV", 3.0)
    t = led.tally()
    assert (t.missing, t.duplicates, t.unknown, t.matched) == (0, 2, 0, 3)
    assert t.latencies_s == (1.0,)     # only the first counts for latency
    assert not t.exactly_once


def test_receipt_for_an_id_never_accepted_is_unknown() -> None:
    led = ReceiptLedger()
    led.accepted("a", 0.0)
    led.receipt("a", "DELIVRD", 1.0)
    led.receipt("zzz", "DELIVRD", 1.0)
    led.receipt("", "DELIVRD", 1.0)
    t = led.tally()
    assert (t.unknown, t.missing, t.duplicates) == (2, 0, 0)
    assert t.received == 3 and t.matched == 1
    assert not t.exactly_once


def test_receipt_before_its_submit_sm_resp_matches_later() -> None:
    """tx+rx: the receipt may arrive on the receiver before the resp on the transmitter."""
    led = ReceiptLedger()
    led.receipt("a", "DELIVRD", at=1.0)
    assert led.tally().unknown == 1            # still unknown at this instant
    led.accepted("a", submitted_at=0.25)
    t = led.tally()
    assert (t.early, t.unknown, t.missing, t.matched) == (1, 0, 0, 1)
    assert t.latencies_s == (0.75,)
    assert t.exactly_once


def test_intermediate_receipt_is_neither_final_nor_duplicate() -> None:
    led = ReceiptLedger()
    led.accepted("a", 0.0)
    led.receipt("a", "ENROUTE", 0.5)
    assert led.awaiting == 1
    led.receipt("a", "DELIVRD", 1.0)
    t = led.tally()
    assert (t.intermediate, t.duplicates, t.missing, t.matched) == (1, 0, 0, 2)
    assert t.by_stat == {"DELIVRD": 1, "ENROUTE": 1}
    assert t.latencies_s == (1.0,)


def test_same_message_id_accepted_twice_is_counted() -> None:
    led = ReceiptLedger()
    led.accepted("a", 0.0)
    led.accepted("a", 1.0)
    led.receipt("a", "DELIVRD", 2.0)
    led.accepted("a", 3.0)
    t = led.tally()
    assert t.duplicate_message_ids == 2
    assert t.latencies_s == (2.0,)              # first submit time kept


@given(st.lists(st.sampled_from(["deliver", "dup", "skip", "stranger"]), max_size=60))
def test_ledger_counts_add_up(plan: list[str]) -> None:
    """Whatever arrives, received = matched + unknown, and missing is exact."""
    led = ReceiptLedger()
    expect_missing = expect_dup = expect_unknown = 0
    for i, step in enumerate(plan):
        mid = f"m{i}"
        led.accepted(mid, 0.0)
        if step == "skip":
            expect_missing += 1
            continue
        led.receipt(mid, "DELIVRD", 1.0)
        if step == "dup":
            led.receipt(mid, "DELIVRD", 1.0)
            expect_dup += 1
        elif step == "stranger":
            led.receipt(f"x{i}", "REJECTD", 1.0)
            expect_unknown += 1
    t = led.tally()
    assert t.received == t.matched + t.unknown
    assert (t.missing, t.duplicates, t.unknown) == (expect_missing, expect_dup, expect_unknown)
    assert t.exactly_once == (expect_missing == expect_dup == expect_unknown == 0)


# --- verdict ---------------------------------------------------------------


def _report(**over: object) -> LoadReport:
    lat = LatencySummary.of([0.001])
    base: dict[str, object] = dict(
        target="127.0.0.1:2775", bind_type="trx", binds=2, sessions=2, n=10, window=5,
        registered_delivery=True, binds_ok=2, bind_failures={}, submitted=10,
        responses=10, accepted=10, refused={}, no_response=0, duplicate_message_ids=0,
        submit_seconds=1.0, submit_rate=10.0, submit_latency_ms=lat,
        receipts=ReceiptSummary(received=10, matched=10, intermediate=0, missing=0,
                                duplicates=0, unknown=0, early=0, by_stat={"DELIVRD": 10},
                                rate=10.0, latency_ms=lat),
        end_to_end_seconds=1.0, end_to_end_rate=10.0, mo_messages=0,
        enquire_links_sent=0, enquire_links_answered=0, unbinds_ok=2, errors={},
    )
    base.update(over)
    return LoadReport(**base)  # type: ignore[arg-type]


def _receipts(**over: object) -> ReceiptSummary:
    r = _report().receipts
    return replace(r, **over)


def test_exit_code_clean_run_is_0() -> None:
    assert _report().exit_code == EXIT_OK
    assert _report().to_dict()["ok"] is True


@pytest.mark.parametrize(
    "over",
    [
        {"accepted": 9, "refused": {"ESME_RTHROTTLED": 1}},
        {"no_response": 1, "responses": 9, "accepted": 9},
        {"errors": {"decode": 1}},
        {"duplicate_message_ids": 1},
        {"receipts": _receipts(missing=1)},
        {"receipts": _receipts(duplicates=1)},
        {"receipts": _receipts(unknown=1)},
    ],
)
def test_exit_code_any_fault_is_1(over: dict[str, object]) -> None:
    assert _report(**over).exit_code == EXIT_FAILED


def test_receipts_do_not_matter_without_registered_delivery() -> None:
    r = _report(registered_delivery=False, receipts=_receipts(missing=None, received=0))
    assert r.exit_code == EXIT_OK


def test_exit_code_bind_failure_is_2() -> None:
    r = _report(binds_ok=1, bind_failures={"bind: ESME_RINVPASWD": 1}, submitted=0,
                responses=0, accepted=0)
    assert r.exit_code == EXIT_NO_BIND
