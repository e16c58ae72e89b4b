"""The cell parser: every GLERL token class, plus property tests (hypothesis)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spectm.samples.tokens import MISSING_TOKENS, parse_cell


@pytest.mark.parametrize(
    ("raw", "status", "value", "lod", "token"),
    [
        ("3.47", "value", 3.47, math.nan, ""),
        (" 0.28 ", "value", 0.28, math.nan, ""),
        ("<0.1", "censored", math.nan, 0.1, ""),
        ("< 0.036", "censored", math.nan, 0.036, ""),
        ("<40", "censored", math.nan, 40.0, ""),
        ("bdl", "bdl", math.nan, math.nan, ""),
        ("BDL", "bdl", math.nan, math.nan, ""),
        ("nd", "missing", math.nan, math.nan, "nd"),
        ("ns", "missing", math.nan, math.nan, "ns"),
        ("", "missing", math.nan, math.nan, "blank"),
        (" ", "missing", math.nan, math.nan, "blank"),  # the 2017 DO cell
        (".", "missing", math.nan, math.nan, "."),  # the 2016 Secchi cell
        ("n/a", "missing", math.nan, math.nan, "n/a"),
        ("15-Oct", "invalid", math.nan, math.nan, ""),
        ("<0", "invalid", math.nan, math.nan, ""),
        ("<-1", "invalid", math.nan, math.nan, ""),
        ("nan", "invalid", math.nan, math.nan, ""),
        ("inf", "invalid", math.nan, math.nan, ""),
    ],
)
def test_known_tokens(raw: str, status: str, value: float, lod: float, token: str) -> None:
    p = parse_cell(raw)
    assert p.status == status
    assert (math.isnan(p.value) and math.isnan(value)) or p.value == value
    assert (math.isnan(p.lod) and math.isnan(lod)) or p.lod == lod
    assert p.token == token


def test_plus_minus_keeps_value_and_uncertainty() -> None:
    p = parse_cell("2778.75 ± 294")
    assert (p.status, p.value, p.uncertainty) == ("value", 2778.75, 294.0)
    assert parse_cell("1.5 +/- 0.2").uncertainty == 0.2


def test_extra_missing_tokens() -> None:
    assert parse_cell("-9999").status == "value"
    p = parse_cell("-9999", frozenset({"-9999"}))
    assert (p.status, p.token) == ("missing", "-9999")


finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-9, max_value=1e9, allow_nan=False, allow_infinity=False)


@given(finite)
def test_numbers_round_trip(x: float) -> None:
    p = parse_cell(repr(x))
    assert p.status == "value" and p.value == x and math.isnan(p.lod)


@given(positive, st.sampled_from(["<", "< ", "<  "]))
def test_less_than_is_censored_at_its_limit(x: float, prefix: str) -> None:
    p = parse_cell(f"{prefix}{x!r}")
    assert p.status == "censored"
    assert p.lod == x and p.lod > 0  # never zero, never NaN
    assert math.isnan(p.value)  # the caller stores value = LOD, not this


@given(
    st.sampled_from(sorted(MISSING_TOKENS)),
    st.sampled_from(["", " ", "\t", "\u00a0"]),
    st.booleans(),
)
def test_missing_tokens_any_case_and_padding(tok: str, pad: str, upper: bool) -> None:
    raw = pad + (tok.upper() if upper else tok) + pad
    p = parse_cell(raw)
    assert p.status == "missing" and p.token == MISSING_TOKENS[tok]


@given(st.text(max_size=30))
def test_never_raises_and_values_are_finite(raw: str) -> None:
    p = parse_cell(raw)
    assert p.status in {"value", "censored", "bdl", "missing", "invalid"}
    if p.status == "value":
        assert math.isfinite(p.value)
    if p.status == "censored":
        assert math.isfinite(p.lod) and p.lod > 0
