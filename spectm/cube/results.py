"""What a cube build reports, per sensor: days written, repaired, rebuilt, empty; items used, failed, skipped.

Each :class:`SensorResult` is filled by :mod:`spectm.cube.build` (and the sensor builders, which
record items that fail); :class:`CubeResult`, the stage result, is made from them when every
sensor is done, and prints them as a table (``build-cube``, ``spectm run``) or as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from spectm.console import console, print_table
from spectm.contract import StageResult, status_of


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
    def days_changed(self) -> int:
        """Days this call wrote: new, repaired and rebuilt (forced)."""
        return len(self.days_written) + len(self.days_repaired) + len(self.days_forced)

    @property
    def status(self) -> str:
        """The store's word in the ``build-cube`` table (the stage's status is :attr:`CubeResult.status`)."""
        return "written" if self.days_changed else "up to date"


SENSOR_COLUMNS = [
    "sensor",
    "store",
    "status",
    "new days",
    "repaired",
    "rebuilt",
    "already complete",
    "0 valid cells",
    "items used",
    "items failed",
    "items skipped",
    "seconds",
]


@dataclass(kw_only=True)
class CubeResult(StageResult):
    """Every sensor's :class:`SensorResult`; ``done`` when a day was written, repaired or rebuilt
    in any store, ``skipped`` when every requested day was already complete."""

    stage: str = "cube"
    sensors: dict[str, SensorResult] = field(default_factory=dict)

    @classmethod
    def of(cls, sensors: dict[str, SensorResult]) -> CubeResult:
        """The result of a build whose sensors are all done."""
        return cls(status=status_of(any(r.days_changed for r in sensors.values())), sensors=sensors)

    @property
    def paths(self) -> list[Path]:
        return [r.path for r in self.sensors.values()]

    def describe(self) -> tuple[str, list[str | Path], dict[str, int | float]]:
        rs = self.sensors.values()
        summary = "; ".join(
            f"{r.sensor}: {len(r.days_written)} new, {r.days_already_complete} complete"
            + (f", {len(r.days_empty)} with 0 valid cells" if r.days_empty else "")
            for r in rs
        )
        counts: dict[str, int | float] = {
            "days_written": sum(r.days_changed for r in rs),
            "days_complete": sum(r.days_already_complete for r in rs),
            "days_empty": sum(len(r.days_empty) for r in rs),
        }
        return summary, list(self.paths), counts

    def print_details(self) -> None:
        """The per-sensor table, then days with 0 valid cells, items that failed and damaged slices."""
        print_table("build-cube", SENSOR_COLUMNS, summary_rows(self))
        for r in self.sensors.values():
            if r.days_empty:
                shown = ", ".join(str(d) for d in r.days_empty[:8]) + (", …" if len(r.days_empty) > 8 else "")
                console.print(
                    f"warning: {r.sensor}: {len(r.days_empty)} day(s) written with 0 valid cells "
                    f"(cloud, flags or no water under the swath): {shown}"
                )
            for iid, why in r.items_failed.items():
                console.print(f"  {r.sensor}: skipped {iid}: {why}")
            for day, why in r.days_damaged.items():
                console.print(f"  {r.sensor}: damaged slice {day}: {why}")


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
