from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spectm.dates import DateRange, parse_dates
from spectm.errors import DateRangeError


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2024-06:2024-10", date(2024, 6, 1), date(2024, 10, 31)),
        ("2024-02:2024-02", date(2024, 2, 1), date(2024, 2, 29)),  # leap year
        ("2023-02", date(2023, 2, 1), date(2023, 2, 28)),
        ("2024-06-01:2024-06-15", date(2024, 6, 1), date(2024, 6, 15)),
        ("2024-06-01", date(2024, 6, 1), date(2024, 6, 1)),
        ("2024", date(2024, 1, 1), date(2024, 12, 31)),
        ("2024-06:2024-07-15", date(2024, 6, 1), date(2024, 7, 15)),
        (" 2024-6-1 : 2024-6-2 ", date(2024, 6, 1), date(2024, 6, 2)),
    ],
)
def test_examples(text: str, start: date, end: date) -> None:
    r = parse_dates(text)
    assert (r.start, r.end) == (start, end)
    assert r.n_days == (end - start).days + 1
    assert next(iter(r.days())) == start and list(r.days())[-1] == end


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2024-13", "month 13"),
        ("2024-10:2024-06", "before it starts"),
        ("2024-02-30", "invalid date"),
        ("June 2024", "cannot read"),
        ("", "empty"),
        ("2024-06:", "cannot read"),
        ("2024-06:2024-07:2024-08", "cannot read"),
    ],
)
def test_invalid(text: str, fragment: str) -> None:
    with pytest.raises(DateRangeError) as exc:
        parse_dates(text)
    assert fragment in str(exc.value)
    assert exc.value.exit_code == 2
    assert exc.value.remedy


dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


@given(dates, dates)
def test_day_ranges_roundtrip(a: date, b: date) -> None:
    text = f"{a.isoformat()}:{b.isoformat()}"
    if b < a:
        with pytest.raises(DateRangeError):
            parse_dates(text)
        return
    r = parse_dates(text)
    assert (r.start, r.end) == (a, b)
    assert parse_dates(str(r)) == r
    assert a in r and b in r and (a - timedelta(days=1)) not in r


@given(st.integers(1990, 2100), st.integers(1, 12), st.integers(0, 30))
def test_month_ranges_cover_whole_months(year: int, month: int, span: int) -> None:
    end_year, end_month = divmod(month - 1 + span, 12)
    end_year += year
    end_month += 1
    r = parse_dates(f"{year}-{month:02d}:{end_year}-{end_month:02d}")
    assert r.start == date(year, month, 1)
    assert r.end == date(end_year, end_month, calendar.monthrange(end_year, end_month)[1])
    assert (r.end + timedelta(days=1)).day == 1


@given(st.integers(13, 99))
def test_bad_months_rejected(month: int) -> None:
    with pytest.raises(DateRangeError):
        parse_dates(f"2024-{month}")


def test_daterange_direct() -> None:
    with pytest.raises(DateRangeError):
        DateRange(date(2024, 2, 1), date(2024, 1, 1))
    assert parse_dates((date(2024, 1, 1), date(2024, 1, 3))).n_days == 3
