"""Reference rows of every results table: the in-situ *ceiling* and the *climatology* floor.

* **ceiling** (``ceiling-<regressor>``): the same classical regressors, fitted on the
  *measured* chlorophyll-a and phycocyanin of the same match-ups (log10 µg/L) instead of the
  imagery; ``ceiling-chl-<regressor>`` uses chlorophyll alone. Imagery can at best carry the
  pigments, so a model that reads them from reflectance perfectly would score about here.
  Censored pigment values enter at LOD/√2, like the label (docs/evaluate.md).
* **climatology**: the train mean of log10 microcystin per week of the year, pooled over the
  target week and its neighbours (± :data:`HALF_WIDTH` weeks), the overall train mean where fewer
  than :data:`MIN_ROWS` train rows fall in that window. It knows the season's course and nothing
  about the day's water, so it is the least any model must beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spectm.config import BASELINE_MODELS
from spectm.errors import DataNotFoundError

CLIMATOLOGY = "climatology"
INSITU: dict[str, tuple[str, ...]] = {
    "ceiling": ("chla_ugL", "pc_ugL"),
    "ceiling-chl": ("chla_ugL",),
}
HALF_WIDTH = 1
MIN_ROWS = 3


def parse_reference(model: str) -> tuple[str, str | None] | None:
    """(kind, regressor) of a reference model name; None for any other model.

    ``climatology`` → (climatology, None); ``ceiling-rf`` → (ceiling, rf);
    ``ceiling-chl-ridge`` → (ceiling-chl, ridge).
    """
    if model == CLIMATOLOGY:
        return CLIMATOLOGY, None
    for kind in ("ceiling-chl", "ceiling"):
        reg = model.removeprefix(kind + "-")
        if model.startswith(kind + "-") and reg in BASELINE_MODELS:
            return kind, reg
    return None


def reference_models(kinds: list[str], regressors: list[str]) -> list[str]:
    """Model names of the requested reference kinds: ceilings once per regressor."""
    out: list[str] = []
    for kind in kinds:
        out += [CLIMATOLOGY] if kind == CLIMATOLOGY else [f"{kind}-{r}" for r in regressors]
    return out


def insitu_matrix(df: pd.DataFrame, kind: str, features: str = "default") -> np.ndarray:
    """log10 of the measured pigments of ``kind`` (rows × pigments), censored at LOD/√2, NaN if missing."""
    cols = INSITU[kind]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataNotFoundError(
            f"features/{features} has no in-situ column(s) {', '.join(missing)} for the {kind} row",
            "join samples that carry extracted chlorophyll-a (chla_ugL) and phycocyanin (pc_ugL), "
            "or leave the reference out (evaluate.references)",
        )
    out = np.full((len(df), len(cols)), np.nan)
    for j, c in enumerate(cols):
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(float).copy()
        if f"{c}_censored" in df:
            cen = df[f"{c}_censored"].fillna(False).to_numpy(bool)
            lod = (
                pd.to_numeric(df[f"{c}_lod"], errors="coerce").to_numpy(float)
                if f"{c}_lod" in df
                else np.full(len(df), np.nan)
            )
            v[cen] = np.where(np.isfinite(lod[cen]), lod[cen], v[cen]) / np.sqrt(2.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[:, j] = np.where(v > 0, np.log10(v), np.nan)
    return out


def week_of_year(dates: pd.Series | np.ndarray) -> np.ndarray:
    """ISO week number (1–53) of each date."""
    return pd.DatetimeIndex(pd.to_datetime(dates)).isocalendar().week.to_numpy(int)


@dataclass
class WeekClimatology:
    """Train mean of the label per week of the year (± ``half_width`` weeks), overall mean as fallback."""

    half_width: int = HALF_WIDTH
    min_rows: int = MIN_ROWS
    weeks: np.ndarray | None = None
    y: np.ndarray | None = None
    fallbacks: int = 0  # predictions (of the last predict call) that used the overall mean

    def fit(self, dates: pd.Series | np.ndarray, y: np.ndarray) -> WeekClimatology:
        self.weeks, self.y = week_of_year(dates), np.asarray(y, float)
        return self

    def predict(self, dates: pd.Series | np.ndarray) -> np.ndarray:
        assert self.weeks is not None and self.y is not None, "fit first"
        w = week_of_year(dates)
        near = np.abs(w[:, None] - self.weeks[None, :]) <= self.half_width
        n = near.sum(axis=1)
        local = (near * self.y[None, :]).sum(axis=1) / np.maximum(n, 1)
        self.fallbacks = int((n < self.min_rows).sum())
        return np.where(n >= self.min_rows, local, float(self.y.mean()))
