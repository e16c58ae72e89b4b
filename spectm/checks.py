"""Range checks for numeric options, shared by the CLIs and the Python entry points.

Why one place: a NaN radius or a negative resolution does not fail where it is given but
deep inside a KD-tree query or a grid computation (a traceback, or worse an empty cube),
so every float a user types is checked at the door with the same one-line message.
"""

from __future__ import annotations

import math

from spectm.errors import BadInputError


def check_float(
    name: str,
    value: float | None,
    *,
    low: float | None = 0.0,
    low_inclusive: bool = False,
    high: float | None = None,
    high_inclusive: bool = True,
) -> float | None:
    """``value`` if it is finite and inside the range, else :class:`BadInputError` (``None`` passes)."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise BadInputError(
            f"{name} {value!r} is not a number", f"pass {name} {_range(low, low_inclusive, high, high_inclusive)}"
        ) from None
    bad = not math.isfinite(v)
    if not bad and low is not None:
        bad = v < low or (v == low and not low_inclusive)
    if not bad and high is not None:
        bad = v > high or (v == high and not high_inclusive)
    if bad:
        raise BadInputError(
            f"{name} {value!r} is out of range", f"pass {name} {_range(low, low_inclusive, high, high_inclusive)}"
        )
    return v


def check_positive(name: str, value: float | None) -> float | None:
    """A finite number > 0 (cell sizes, radii, timeouts), or ``None``."""
    return check_float(name, value, low=0.0, low_inclusive=False)


def _range(low: float | None, low_inc: bool, high: float | None, high_inc: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'≥' if low_inc else '>'} {low:g}")
    if high is not None:
        parts.append(f"{'≤' if high_inc else '<'} {high:g}")
    return "as a finite number " + " and ".join(parts) if parts else "as a finite number"
