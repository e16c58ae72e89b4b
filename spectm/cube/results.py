"""What a cube build reports, per sensor: days written, repaired, rebuilt, empty; items used, failed, skipped.

Filled by :mod:`spectm.cube.build` (and the sensor builders, which record items that fail),
printed by the CLI as a table and as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path


@dataclass
class SensorResult:
    sensor: str
    path: Path
    config_hash: str = ""
    days_written: list[date] = field(default_factory=list)
    days_repaired: list[date] = field(default_factory=list)
    days_forced: list[date] = field(default_factory=list)
    days_empty: list[date] = field(default_factory=list)  # written, but 0 valid cells (cloud, land, flags)
    days_already_complete: int = 0
    days_without_data: int = 0
    items_used: int = 0
    items_failed: dict[str, str] = field(default_factory=dict)
    items_skipped: dict[str, int] = field(default_factory=dict)
    days_damaged: dict[str, str] = field(default_factory=dict)  # day -> what was wrong (rebuilt when in the catalog)
    seconds: float = 0.0

    @property
    def status(self) -> str:
        return "written" if (self.days_written or self.days_repaired or self.days_forced) else "up to date"


@dataclass
class CubeResult:
    sensors: dict[str, SensorResult] = field(default_factory=dict)

    @property
    def paths(self) -> list[Path]:
        return [r.path for r in self.sensors.values()]


def summary_rows(result: CubeResult) -> list[tuple]:
    rows = []
    for r in result.sensors.values():
        rows.append(
            (
                r.sensor,
                str(r.path),
                r.status,
                len(r.days_written),
                len(r.days_repaired),
                len(r.days_forced),
                r.days_already_complete,
                len(r.days_empty),
                r.items_used,
                len(r.items_failed),
                sum(r.items_skipped.values()),
                f"{r.seconds:.1f}",
            )
        )
    return rows


def result_json(result: CubeResult) -> dict:
    return {
        k: {kk: (str(vv) if isinstance(vv, Path) else vv) for kk, vv in asdict(v).items()}
        for k, v in result.sensors.items()
    }


__all__ = ["CubeResult", "SensorResult", "result_json", "summary_rows"]
