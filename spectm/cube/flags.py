"""``l2_flags`` masks by flag *name*, read from the file's own attributes.

Bits are never hard-coded: the mask is built from the granule's ``flag_meanings``
and ``flag_masks`` so a future layout that moves a bit cannot silently change what
is masked.

Default set — NASA's "L3 Mask Default" (docs/pace.md § Flags; the ``l2_flag_names`` of the
L3m Rrs products): using the same set as NASA's own Level-3 binning means a spectm
cube cell is comparable with the L3m Rrs product a user may check it against.
Caution for Lake Erie: dense blooms can raise CHLWARN, CHLFAIL and COCCOLITH
(bright-water false positives) and TURBIDW; on bloom dates compare with a set
that drops them (``--flags``) before trusting a hole in the cube.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from spectm.errors import BadInputError

L3_MASK_DEFAULT: tuple[str, ...] = (
    "ATMFAIL", "LAND", "HILT", "HISATZEN", "STRAYLIGHT", "CLDICE", "COCCOLITH", "LOWLW",
    "CHLWARN", "CHLFAIL", "NAVWARN", "MAXAERITER", "HISOLZEN", "NAVFAIL", "FILTER", "HIGLINT",
)  # fmt: skip
"""NASA's default L3 mask; its bits OR to 0x629D73B (103405371) in the v3.1 layout."""


def flag_table(attrs: dict) -> dict[str, int]:
    """Map flag name → bit value from ``flag_meanings``/``flag_masks`` attributes.

    Repeated names (``SPARE``) are dropped: they cannot be asked for by name.
    """
    meanings = attrs.get("flag_meanings")
    masks = attrs.get("flag_masks")
    if meanings is None or masks is None:
        raise BadInputError(
            "l2_flags has no flag_meanings/flag_masks attributes",
            "the granule is not a NASA OB.DAAC L2 file; re-download it with 'spectm fetch'",
        )
    names = str(meanings).split()
    values = np.asarray(masks).astype(np.int64).ravel()
    if len(names) != len(values):
        raise BadInputError(
            f"l2_flags lists {len(names)} flag names but {len(values)} masks",
            "the granule is damaged; re-download it with 'spectm fetch --force'",
        )
    table: dict[str, int] = {}
    for name, value in zip(names, values, strict=True):
        if names.count(name) == 1:
            table[name] = int(value) & 0xFFFFFFFF
    return table


def parse_flag_names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """Parse ``--flags``: comma-separated names, ``default`` (the L3 mask) or ``none``."""
    if value is None:
        return L3_MASK_DEFAULT
    items = [v.strip().upper() for v in (value.split(",") if isinstance(value, str) else value)]
    items = [v for v in items if v]
    out: list[str] = []
    for v in items:
        if v == "DEFAULT":
            out.extend(L3_MASK_DEFAULT)
        elif v == "NONE":
            continue
        else:
            out.append(v)
    return tuple(dict.fromkeys(out))


def mask_bits(names: Iterable[str], table: dict[str, int]) -> int:
    """OR of the bits of ``names``; unknown names are an error listing the known ones."""
    bits = 0
    unknown = [n for n in names if n not in table]
    if unknown:
        raise BadInputError(
            f"unknown l2_flags name(s) {', '.join(unknown)}",
            f"use names from the file's flag_meanings: {', '.join(sorted(table))}",
        )
    for n in names:
        bits |= table[n]
    return bits


def flagged(flags: np.ndarray, bits: int) -> np.ndarray:
    """True where any of ``bits`` is set (works for int32 flags with bit 31 set)."""
    return (flags.astype(np.int64) & 0xFFFFFFFF & bits) != 0
