"""Parse one lab cell into (value, censored, detection limit) — the censoring contract.

GLERL cells are not numbers: they mix values with detection tokens (``<0.1``, ``bdl``),
missing-value tokens (``nd`` not determined, ``ns`` not sampled, blank) and a few dirty
strings (``.``, ``n/a``, ``2778.75 ± 294``). Everything downstream (censored regression,
match-ups) needs to know *which* of these a cell was, so this module never turns a token
into a bare NaN or zero: it returns a :class:`Parsed` that says what the cell meant.

* ``<x``       → censored, LOD = x (value stored as x by the caller).
* ``bdl``      → censored, LOD not in the cell: the caller looks it up (see ``lod.py``).
* ``nd``, ``ns``, blank, ``.``, ``n/a``, ``na`` → missing, counted under that token.
* ``x ± y`` / ``x +/- y`` → the value x with the reported uncertainty y kept aside.
* anything else → invalid (the caller rejects the cell with a reason).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

Status = Literal["value", "censored", "bdl", "missing", "invalid"]

# Missing-value tokens, normalised (lower case) -> the name they are counted under.
MISSING_TOKENS: dict[str, str] = {
    "": "blank",
    "nd": "nd",  # not determined
    "ns": "ns",  # not sampled
    "n/a": "n/a",  # dirty: 5 Secchi cells 2014
    "na": "na",
    ".": ".",  # dirty: 1 Secchi cell 2016
}
BDL_TOKENS = frozenset({"bdl", "below detection limit"})

_NUM = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_NUM_RE = re.compile(rf"^{_NUM}$")
_LT_RE = re.compile(rf"^<\s*({_NUM})$")
_PM_RE = re.compile(rf"^({_NUM})\s*(?:±|\+/-|\+-)\s*({_NUM})$")
# Whitespace as Excel exports it: ordinary, non-breaking and zero-width spaces.
_SPACE = " \t\r\n\u00a0\u200b\ufeff"


@dataclass(frozen=True)
class Parsed:
    """What one cell meant.

    ``value`` is the measured value (NaN unless status is ``value``); ``lod`` the detection
    limit for ``censored`` (NaN for ``bdl``: the caller supplies it); ``token`` the missing
    token name for ``missing``; ``uncertainty`` the ``± y`` part when the lab reported one.
    """

    status: Status
    value: float = math.nan
    lod: float = math.nan
    token: str = ""
    uncertainty: float = math.nan


def parse_cell(raw: object, extra_missing: frozenset[str] = frozenset()) -> Parsed:
    """Classify one raw cell (string as read from the CSV, or None/NaN for a blank).

    ``extra_missing``: more missing tokens (lower case), e.g. from a user's column map.
    """
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return Parsed("missing", token="blank")
    text = str(raw).strip(_SPACE)
    low = text.lower()
    if low in MISSING_TOKENS:
        return Parsed("missing", token=MISSING_TOKENS[low])
    if low in extra_missing:
        return Parsed("missing", token=low)
    if low in BDL_TOKENS:
        return Parsed("bdl")
    if _NUM_RE.match(text):
        v = float(text)
        return Parsed("value", value=v) if math.isfinite(v) else Parsed("invalid")
    m = _LT_RE.match(text)
    if m:
        lod = float(m.group(1))
        if math.isfinite(lod) and lod > 0:
            return Parsed("censored", lod=lod)
        return Parsed("invalid")
    m = _PM_RE.match(text)
    if m:
        v, u = float(m.group(1)), float(m.group(2))
        if math.isfinite(v) and math.isfinite(u):
            return Parsed("value", value=v, uncertainty=abs(u))
    return Parsed("invalid")
