"""smsc.pdu.smpp_time: SMPP 3.4 section 7.1.1 absolute and relative times."""
from __future__ import annotations

import calendar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsc.pdu.constants import CommandStatus
from smsc.pdu.smpp_time import SmppTimeError, format_smpp_time, parse_smpp_time

SCHED = CommandStatus.ESME_RINVSCHED
EXPIRY = CommandStatus.ESME_RINVEXPIRY
NOW = calendar.timegm((2024, 5, 17, 10, 0, 0))
HOUR = 3600
DAY = 86400


def utc(*fields: int) -> int:
    return calendar.timegm(fields)


def test_empty_is_not_set():
    assert parse_smpp_time("", NOW, SCHED) is None


@pytest.mark.parametrize(
    "value,seconds",
    [
        ("000000000000000R", 0),
        ("000000001000000R", 600),  # the example from the spec
        ("000000010000000R", HOUR),
        ("000001000000000R", DAY),
        ("000000480000000R", 48 * HOUR),  # fields are counts, not clock values
        ("000300000000000R", 3 * 30 * DAY),  # a month is 30 days
        ("010000000000000R", 365 * DAY),  # a year is 365 days
        ("020610233429000R", 2 * 365 * DAY + 6 * 30 * DAY + 10 * DAY + 23 * HOUR + 34 * 60 + 29),
        ("999999999999000R", 99 * (365 * DAY + 30 * DAY + DAY + HOUR + 60 + 1)),
    ],
)
def test_relative_counts_from_now(value, seconds):
    assert parse_smpp_time(value, NOW, EXPIRY) == NOW + seconds


@pytest.mark.parametrize(
    "value,expected",
    [
        ("240517120000000+", utc(2024, 5, 17, 12, 0, 0)),
        ("240517120000004+", utc(2024, 5, 17, 11, 0, 0)),  # local = UTC+1h
        ("240517120000012+", utc(2024, 5, 17, 9, 0, 0)),  # Kyiv summer, UTC+3
        ("240517120000001+", utc(2024, 5, 17, 11, 45, 0)),  # one quarter hour
        ("240517120000022+", utc(2024, 5, 17, 6, 30, 0)),  # India, UTC+5:30
        ("240517120000020-", utc(2024, 5, 17, 17, 0, 0)),  # UTC-5
        ("240517120000048-", utc(2024, 5, 18, 0, 0, 0)),  # UTC-12, next day
        ("240517000000048+", utc(2024, 5, 16, 12, 0, 0)),  # UTC+12, previous day
        ("240517120000000-", utc(2024, 5, 17, 12, 0, 0)),
        ("240229235959900+", utc(2024, 2, 29, 23, 59, 59) + 0.9),  # leap day, tenths
        ("000101000000000+", utc(2000, 1, 1, 0, 0, 0)),
        ("991231235959000+", utc(2099, 12, 31, 23, 59, 59)),
    ],
)
def test_absolute_with_offsets(value, expected):
    assert parse_smpp_time(value, NOW, SCHED) == pytest.approx(expected, abs=1e-6)


def test_absolute_ignores_now():
    value = "240517120000012+"
    assert parse_smpp_time(value, NOW, SCHED) == parse_smpp_time(value, 0.0, SCHED)


@pytest.mark.parametrize(
    "value,why",
    [
        ("2405171200000", "length"),
        ("24051712000000000+", "length"),
        ("240517120000000", "length"),
        ("240517120000000 ", "p"),
        ("240517120000000Z", "p"),
        ("240517120000000r", "p"),
        ("241317120000000+", "month"),
        ("240017120000000+", "month"),
        ("240532120000000+", "day"),
        ("240431120000000+", "day"),
        ("240500120000000+", "day"),
        ("230229120000000+", "day"),  # 2023 is not a leap year
        ("240517240000000+", "hour"),
        ("240517126000000+", "minute"),
        ("240517120060000+", "second"),  # no leap second
        ("240517120000049+", "offset"),
        ("240517120000099-", "offset"),
        ("24O517120000000+", "digits"),
        ("2405171200000-0+", "digits"),
        ("+24051712000000+", "digits"),
        ("24051712000\u06630000+", "digits"),  # non-ASCII digit
        ("000001000000100R", "relative tnn"),
        ("000001000000001R", "relative tnn"),
    ],
)
@pytest.mark.parametrize("status", [SCHED, EXPIRY])
def test_invalid_times_carry_the_callers_status(value, why, status):
    with pytest.raises(SmppTimeError) as err:
        parse_smpp_time(value, NOW, status)
    assert err.value.status == status
    assert repr(value) in err.value.detail


@pytest.mark.parametrize(
    "ts,text",
    [
        (utc(2024, 5, 17, 12, 0, 0), "240517120000000+"),
        (utc(2024, 2, 29, 23, 59, 59) + 0.9, "240229235959900+"),
        (utc(2024, 5, 17, 12, 0, 0) + 0.99, "240517120000900+"),  # tenths truncate
        (utc(2024, 5, 17, 12, 0, 0) + 0.3 - 2e-6, "240517120000300+"),  # float noise is not a tenth
        (utc(2000, 1, 1, 0, 0, 0), "000101000000000+"),
    ],
)
def test_format_is_utc_absolute(ts, text):
    assert format_smpp_time(ts) == text


@pytest.mark.parametrize("ts", [utc(1999, 12, 31, 23, 59, 59), utc(2100, 1, 1, 0, 0, 0)])
def test_format_refuses_years_the_format_cannot_hold(ts):
    with pytest.raises(ValueError):
        format_smpp_time(ts)


def test_relative_and_absolute_agree():
    later = parse_smpp_time("000001020304000R", NOW, EXPIRY)
    assert later is not None
    assert format_smpp_time(later) == "240518120304000+"
    assert parse_smpp_time(format_smpp_time(later), NOW, EXPIRY) == later


TENTHS_2000 = utc(2000, 1, 1, 0, 0, 0) * 10
TENTHS_2100 = utc(2100, 1, 1, 0, 0, 0) * 10


@given(st.integers(TENTHS_2000, TENTHS_2100 - 1))
def test_format_then_parse_round_trips(tenths):
    ts = tenths / 10
    assert parse_smpp_time(format_smpp_time(ts), NOW, SCHED) == pytest.approx(ts, abs=1e-6)


@st.composite
def absolute_times(draw):
    year = draw(st.integers(2000, 2099))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, calendar.monthrange(year, month)[1]))
    hh, mm, ss = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
    t = draw(st.integers(0, 9))
    nn, p = draw(st.integers(0, 48)), draw(st.sampled_from("+-"))
    text = f"{year % 100:02d}{month:02d}{day:02d}{hh:02d}{mm:02d}{ss:02d}{t}{nn:02d}{p}"
    utc_ts = utc(year, month, day, hh, mm, ss) + t / 10 - (1 if p == "+" else -1) * nn * 900
    return text, utc_ts


@given(absolute_times())
def test_any_valid_absolute_time_parses_to_its_utc_instant(case):
    text, expected = case
    ts = parse_smpp_time(text, NOW, SCHED)
    assert ts == pytest.approx(expected, abs=1e-6)
    if TENTHS_2000 <= ts * 10 < TENTHS_2100:  # offsets can push the instant out of 2000-2099
        assert parse_smpp_time(format_smpp_time(ts), 0.0, SCHED) == pytest.approx(ts, abs=1e-6)


@given(st.tuples(*(st.integers(0, 99) for _ in range(6))))
def test_any_relative_time_is_now_plus_its_duration(fields):
    yy, mo, dd, hh, mi, ss = fields
    text = "".join(f"{f:02d}" for f in fields) + "000R"
    expected = NOW + yy * 365 * DAY + mo * 30 * DAY + dd * DAY + hh * HOUR + mi * 60 + ss
    assert parse_smpp_time(text, NOW, EXPIRY) == expected
