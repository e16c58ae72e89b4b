"""Parsing of ``--dates`` values shared by every command.

Accepted forms (inclusive at both ends):

* ``2024-06:2024-10`` — whole months, 1 June to 31 October;
* ``2024-06-01:2024-06-15`` — days;
* ``2024-06-01`` — one day; ``2024-06`` — one month; ``2024`` — one year.
Mixed forms (``2024-06:2024-07-15``) are allowed: the start of a month-form
start is its first day and the end of a month-form end is its last day.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from spectm.errors import DateRangeError

_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")

_HELP = "use YYYY-MM:YYYY-MM (whole months), YYYY-MM-DD:YYYY-MM-DD, or one day YYYY-MM-DD"


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of calendar days (UTC)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise DateRangeError(
                f"date range ends ({self.end}) before it starts ({self.start})",
                "put the earlier date first",
            )

    @property
    def n_days(self) -> int:
        return (self.end - self.start).days + 1

    def days(self) -> Iterator[date]:
        d = self.start
        while d <= self.end:
            yield d
            d += timedelta(days=1)

    def __contains__(self, d: object) -> bool:
        return isinstance(d, date) and self.start <= d <= self.end

    def __str__(self) -> str:
        return f"{self.start.isoformat()}:{self.end.isoformat()}"


def _parse_one(text: str, *, is_end: bool, whole: str) -> date:
    text = text.strip()
    try:
        if m := _DAY.match(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _MONTH.match(text):
            year, month = int(m[1]), int(m[2])
            if not 1 <= month <= 12:
                raise ValueError(f"month {month} is not 1–12")
            day = calendar.monthrange(year, month)[1] if is_end else 1
            return date(year, month, day)
        if m := _YEAR.match(text):
            year = int(m[1])
            return date(year, 12, 31) if is_end else date(year, 1, 1)
    except ValueError as exc:
        raise DateRangeError(f"invalid date {text!r} in --dates {whole!r}: {exc}", _HELP) from None
    raise DateRangeError(f"cannot read {text!r} in --dates {whole!r} as a date", _HELP)


def parse_dates(value: str | DateRange | tuple[date, date]) -> DateRange:
    """Parse a ``--dates`` value into an inclusive :class:`DateRange`."""
    if isinstance(value, DateRange):
        return value
    if isinstance(value, tuple):
        return DateRange(*value)
    text = str(value).strip()
    if not text:
        raise DateRangeError("--dates is empty", _HELP)
    parts = text.split(":")
    if len(parts) == 1:
        return DateRange(
            _parse_one(parts[0], is_end=False, whole=text),
            _parse_one(parts[0], is_end=True, whole=text),
        )
    if len(parts) == 2 and all(p.strip() for p in parts):
        return DateRange(
            _parse_one(parts[0], is_end=False, whole=text),
            _parse_one(parts[1], is_end=True, whole=text),
        )
    raise DateRangeError(f"cannot read --dates {text!r}", _HELP)


_MONTHS = re.compile(r"^\s*(\d{1,2})\s*(?:-\s*(\d{1,2})\s*)?$")
_MONTHS_HELP = "use --months M-N (e.g. 6-10 for June–October) or one month M"


def parse_months(value: str | int | tuple[int, int] | None) -> tuple[int, int] | None:
    """A season's months ``"6-10"`` → ``(6, 10)`` (inclusive); ``None`` → ``None`` (no filter).

    A season is one contiguous run of months inside a calendar year (the bloom season of a
    temperate lake), so ``first ≤ last`` is required.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, tuple):
        first, last = value
    else:
        m = _MONTHS.match(str(value))
        if not m:
            raise DateRangeError(f"cannot read --months {value!r}", _MONTHS_HELP)
        first, last = int(m[1]), int(m[2] or m[1])
    if not (1 <= first <= 12 and 1 <= last <= 12):
        raise DateRangeError(f"--months {value!r}: months must be 1–12", _MONTHS_HELP)
    if first > last:
        raise DateRangeError(
            f"--months {value!r} wraps over the new year",
            "a season is one run of months within a year: pass e.g. 6-10",
        )
    return first, last


def seasons(dates: DateRange, months: tuple[int, int] | None, years: list[int] | None = None) -> list[DateRange]:
    """Split ``dates`` into one range per season (calendar year), keeping only ``months``.

    Without ``months`` the whole range is one season. ``years`` keeps only those seasons.
    Days outside the months never belong to a season: a multi-year range with ``6-10``
    gives June–October of each year, and nothing from November to May.
    """
    if months is None:
        out = [dates]
    else:
        out = []
        for year in range(dates.start.year, dates.end.year + 1):
            lo = max(dates.start, date(year, months[0], 1))
            hi = min(dates.end, date(year, months[1], calendar.monthrange(year, months[1])[1]))
            if lo <= hi:
                out.append(DateRange(lo, hi))
    if years is not None:
        keep = set(years)
        out = [s for s in out if s.start.year in keep]
    if not out:
        raise DateRangeError(
            f"no season days in {dates}"
            + (f" for months {months[0]}-{months[1]}" if months else "")
            + (f" and seasons {sorted(set(years))}" if years else ""),
            "widen --dates or change --months / seasons",
        )
    return out


def in_seasons(day: date, ranges: list[DateRange]) -> bool:
    """True when ``day`` is inside one of the season ``ranges``."""
    return any(day in r for r in ranges)
