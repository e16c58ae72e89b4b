"""What :func:`spectm.predict.predict_maps` returns: the stage's :class:`StageResult` with the
paths of the maps and the manifest whose counts say what was mapped and what was left out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spectm.console import print_table
from spectm.contract import StageResult
from spectm.predict.tiling import SKIP_REASONS


@dataclass(kw_only=True)
class PredictResult(StageResult):
    """Maps made this call (``done``) or found made by the same regressor, cube and settings
    (``skipped``). ``manifest["counts"]`` holds every count, the tiles skipped per reason too;
    ``counts`` (flat numbers) is its numeric part."""

    stage: str = "predict"
    name: str
    path: Path  # maps/<name>.zarr
    png_dir: Path  # maps/<name>/
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def pngs(self) -> list[Path]:
        return sorted(self.png_dir.glob("*.png"))

    @property
    def cogs(self) -> list[Path]:
        """The per-date Cloud-Optimized GeoTIFFs (µg/L) for GIS tools."""
        return sorted(self.png_dir.glob("*.tif"))

    def describe(self) -> tuple[str, list[str | Path], dict[str, int | float]]:
        """Dates mapped (and days without imagery), chips predicted and skipped."""
        c = self.manifest.get("counts", {})
        line = (
            f"{self.path.name}: {c.get('dates_mapped', 0)} dates mapped "
            f"({c.get('days_without_imagery', 0)} days without imagery), "
            f"{c.get('tiles_predicted', 0)} chips predicted, {c.get('tiles_skipped', 0)} skipped"
        )
        flat = {k: v for k, v in c.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        return line, [self.path, self.png_dir], flat

    def print_details(self) -> None:
        """Days, dates, tiles predicted and skipped per reason, cells predicted."""
        c = self.manifest.get("counts", {})
        rows = [
            ("days in range", c.get("days_in_range", 0)),
            ("days without imagery", c.get("days_without_imagery", 0)),
            ("dates mapped", c.get("dates_mapped", 0)),
            ("dates with no prediction", c.get("dates_empty", 0)),
            ("tiles per date (water / land)", f"{c.get('water_tiles', 0)} / {c.get('land_tiles', 0)}"),
            ("chips predicted", c.get("tiles_predicted", 0)),
        ]
        rows += [(f"tiles skipped: {r}", c.get("skipped", {}).get(r, 0)) for r in SKIP_REASONS]
        rows.append(("cells predicted (all dates)", c.get("cells_predicted", 0)))
        print_table(f"Maps, maps/{self.name} ({self.status})", ["", "count"], rows)
