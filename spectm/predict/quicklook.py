"""Quick-look PNGs of a map date: microcystin classes bounded by the advisory thresholds.

spectm's rendering choice (docs/predict.md): the map is drawn in **discrete classes whose
boundaries are the advisory thresholds of docs/glerl.md § Advisory thresholds** (0.3, 1.6, 6, 8, 20 µg/L), on a
colour bar with a log10 axis (class widths proportional to their log range), so a reader sees
at once which advisory a pixel exceeds. Land is grey, water without a prediction (cloud,
too few valid pixels, no swath) is white, and the legend says which is which.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# (µg/L, what the threshold is) — docs/glerl.md § Advisory thresholds
THRESHOLDS: tuple[tuple[float, str], ...] = (
    (0.3, "US EPA drinking water, 10-day HA, young children"),
    (1.6, "US EPA drinking water, 10-day HA, school age + adults"),
    (6.0, "Ohio EPA recreational public health advisory"),
    (8.0, "US EPA 2019 recreational criterion"),
    (20.0, "Ohio EPA recreational no-contact advisory"),
)
LOW, HIGH = 0.03, 200.0  # outer ends of the colour bar (values beyond are clipped into the end classes)
COLOURS = ("#2c7bb6", "#abd9e9", "#ffffbf", "#fdae61", "#f46d43", "#a50026")
LAND = "#9a9a9a"
NODATA = "#ffffff"


def class_bounds() -> np.ndarray:
    """log10 class boundaries: LOW, the thresholds, HIGH."""
    return np.log10([LOW, *(t for t, _ in THRESHOLDS), HIGH])


def classify(mc_log10: np.ndarray) -> np.ndarray:
    """Class index 0..5 of each value (NaN → -1): class k holds values in [b_k, b_k+1)."""
    inner = class_bounds()[1:-1]
    out = np.searchsorted(inner, np.asarray(mc_log10, float), side="right").astype(np.int64)
    return np.where(np.isfinite(mc_log10), out, -1)


def render(
    path: Path,
    mc_log10: np.ndarray,
    water: np.ndarray,
    extent_km: tuple[float, float, float, float],
    title: str,
    note: str = "",
) -> None:
    """Write one quick-look PNG (``extent_km``: left, right, bottom, top in km of the grid CRS)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    bounds = class_bounds()
    cmap = ListedColormap(list(COLOURS))
    norm = BoundaryNorm(bounds, cmap.N)
    vals = np.clip(mc_log10, bounds[0], bounds[-1] - 1e-6)
    fig = plt.figure(figsize=(8.0, 7.0), dpi=100)
    ax = fig.add_axes((0.1, 0.34, 0.72, 0.58))
    cax = fig.add_axes((0.85, 0.34, 0.03, 0.58))
    ax.set_facecolor(NODATA)
    back = np.where(water, np.nan, 1.0)
    ax.imshow(back, extent=extent_km, cmap=ListedColormap([LAND]), vmin=0, vmax=2, interpolation="nearest")
    im = ax.imshow(
        np.ma.masked_invalid(np.where(water, vals, np.nan)),
        extent=extent_km,
        cmap=cmap,
        norm=norm,
        interpolation="nearest",
    )
    ax.set_xlabel("easting (km)")
    ax.set_ylabel("northing (km)")
    ax.set_title(title, fontsize=10)
    cb = fig.colorbar(im, cax=cax, boundaries=bounds, spacing="proportional", ticks=bounds)
    cb.ax.set_yticklabels([f"{10**b:g}" for b in bounds])
    cb.set_label("microcystin, µg/L (log scale)")
    legend = [
        Patch(facecolor=LAND, edgecolor="k", label="land"),
        Patch(facecolor=NODATA, edgecolor="k", label="water, no prediction (cloud, too few valid pixels)"),
    ]
    legend.append(
        Patch(facecolor=COLOURS[0], edgecolor="k", label=f"< {THRESHOLDS[0][0]:g} µg/L: below every advisory")
    )
    legend += [
        Patch(facecolor=COLOURS[i + 1], edgecolor="k", label=f"≥ {t:g} µg/L: {what}")
        for i, (t, what) in enumerate(THRESHOLDS)
    ]
    fig.legend(
        handles=legend,
        loc="lower left",
        bbox_to_anchor=(0.08, 0.04),
        ncol=1,
        fontsize=8,
        frameon=False,
        title="colour classes start at the advisory thresholds",
        title_fontsize=8,
        alignment="left",
    )
    if note:
        fig.text(0.01, 0.01, note, fontsize=7, color="#444444")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
