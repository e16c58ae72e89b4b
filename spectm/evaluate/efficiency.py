"""The label-efficiency ratio at the smallest label fraction (SpecTM's "2.2× at 5 %").

SpecTM does not define its ratio. **spectm's definition** (docs/evaluate.md): for a spectm model
with mean test R² ``s`` at the smallest label fraction ``f0`` (5 %), the ratio is ``f_b / f0``,
where ``f_b`` is the smallest label fraction at which a baseline's mean R² curve reaches ``s`` —
the curve interpolated linearly in ``log10(fraction)`` between measured fractions, first
crossing — and the *best* baseline is the one with the smallest ``f_b``. In words: how many
times more labels the best baseline needs to match the spectm model at 5 %.

Edge cases are reported, not hidden: a baseline already at or above ``s`` at ``f0`` gives a
ratio of 1 with ``bound = "<="`` (it needs no more labels, possibly fewer); a baseline that
never reaches ``s`` inside the measured range gives ``f_max / f0`` with ``bound = ">"`` (a lower
bound). The plain R² ratio at ``f0`` (spectm / best baseline) is reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Crossing:
    fraction: float  # label fraction at which the curve first reaches the target (or a bound)
    bound: str  # "=" exact (interpolated), "<=" already reached at the first point, ">" never reached


def fraction_to_reach(fractions: np.ndarray, r2: np.ndarray, target: float) -> Crossing:
    """First label fraction at which the curve ``r2(fractions)`` reaches ``target``.

    Linear interpolation in log10(fraction) between neighbouring measured points; NaN points
    are skipped. Needs at least one finite point.
    """
    f = np.asarray(fractions, float)
    y = np.asarray(r2, float)
    ok = np.isfinite(f) & np.isfinite(y) & (f > 0)
    order = np.argsort(f[ok])
    f, y = f[ok][order], y[ok][order]
    if len(f) == 0:
        raise ValueError("the curve has no finite point")
    if y[0] >= target:
        return Crossing(float(f[0]), "<=")
    for i in range(1, len(f)):
        if y[i] >= target:
            t = (target - y[i - 1]) / (y[i] - y[i - 1])
            logf = np.log10(f[i - 1]) + t * (np.log10(f[i]) - np.log10(f[i - 1]))
            return Crossing(float(10.0**logf), "=")
    return Crossing(float(f[-1]), ">")


def efficiency_ratio(
    target_r2: float, f0: float, baselines: dict[str, tuple[np.ndarray, np.ndarray]]
) -> tuple[str, float, str]:
    """(best baseline, ratio f_b / f0, bound) over the baselines' (fractions, mean R²) curves.

    The best baseline needs the fewest labels; among ties (e.g. several "<=") the first in the
    given order wins. Raises ValueError without a usable baseline curve.
    """
    rank = {"<=": 0, "=": 1, ">": 2}
    best: tuple[str, Crossing] | None = None
    for name, (fr, r2) in baselines.items():
        if not np.isfinite(np.asarray(r2, float)).any():
            continue
        c = fraction_to_reach(fr, r2, target_r2)
        if best is None or (c.fraction, rank[c.bound]) < (best[1].fraction, rank[best[1].bound]):
            best = (name, c)
    if best is None:
        raise ValueError("no baseline has a finite R² curve")
    name, c = best
    return name, c.fraction / f0, c.bound
