"""What the fetch stage returns: :class:`FetchResult`, the one stage result with per-source
counts and this run's manifest records, and the tables ``spectm fetch`` and ``spectm run`` print."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from spectm.console import console, print_table
from spectm.contract import StageResult
from spectm.errors import FetchError
from spectm.fetch.manifest import ManifestEntry


@dataclass
class SourceSummary:
    """One source's counts in one fetch (also in the manifest's run history)."""

    source: str
    kind: str
    searched: int = 0
    found: int = 0
    excluded: int = 0
    planned: int = 0
    downloaded: int = 0
    skipped: int = 0
    failed: int = 0
    bytes: int = 0


def human_bytes(n: int) -> str:
    """``1,234.5 KB``: decimal units, as download sizes are usually quoted."""
    v = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if v < 1000 or unit == "TB":
            return f"{v:,.0f} {unit}" if unit == "B" else f"{v:,.1f} {unit}"
        v /= 1000
    return f"{n} B"


@dataclass(kw_only=True)
class FetchResult(StageResult):
    """What one fetch did; ``entries`` are this run's manifest records.

    ``status`` is ``done`` when the call downloaded (or failed) at least one file, and for a
    dry run, which searched and recorded its plan in the manifest but downloaded nothing (the
    summary says so; ``skipped`` would claim the data is complete, which a dry run does not
    know); ``skipped`` when every file found was already complete.
    """

    stage: str = "fetch"
    data_dir: Path
    manifest_path: Path
    catalog_path: Path | None = None
    dry_run: bool = False
    region: str = ""
    dates: str = ""
    clip: bool = True
    sources: dict[str, SourceSummary] = field(default_factory=dict)
    entries: list[ManifestEntry] = field(default_factory=list)

    @property
    def failed(self) -> list[ManifestEntry]:
        return [e for e in self.entries if e.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def _total(self, name: str) -> int:
        return sum(getattr(s, name) for s in self.sources.values())

    def describe(self) -> tuple[str, list[str | Path], dict[str, int | float]]:
        new, old, failed, planned = (self._total(k) for k in ("downloaded", "skipped", "failed", "planned"))
        if self.dry_run:
            summary = f"dry run: {planned} to fetch, {old} already complete; nothing downloaded"
        else:
            summary = f"{new} downloaded, {old} already complete" + (f", {failed} failed" if failed else "")
        counts: dict[str, int | float] = {
            "downloaded": new,
            "skipped": old,
            "failed": failed,
            "planned": planned,
            "bytes": self._total("bytes"),
        }
        return summary, [self.manifest_path, *([self.catalog_path] if self.catalog_path else [])], counts

    def raise_for_failures(self) -> None:
        """Raise :class:`FetchError` when any file failed (the CLI's non-zero exit)."""
        if self.failed:
            first = self.failed[0]
            raise FetchError(
                f"{len(self.failed)} file(s) failed, e.g. {first.id}/{first.asset}: {first.reason}",
                f"see {self.manifest_path} for every failure and its reason; rerun to resume "
                "(completed files are skipped), or pass --continue-on-error to exit 0 "
                "(in Python: fetch(..., raise_on_failure=False))",
            )

    def print_details(self) -> None:
        """Per source: searched, found, excluded and downloaded / skipped / failed with bytes (for a
        dry run: to fetch, present and bytes to fetch); the failed files; where the manifest is."""
        title = f"spectm fetch {self.region} {self.dates}" + (" (dry run: nothing downloaded)" if self.dry_run else "")
        if self.dry_run:
            cols = ["source", "searched", "found", "excluded", "to fetch", "present", "bytes to fetch"]
            rows = [
                (s.source, s.searched, s.found, s.excluded, s.planned, s.skipped, human_bytes(self._planned_bytes(s)))
                for s in self.sources.values()
            ]
        else:
            cols = ["source", "searched", "found", "excluded", "downloaded", "skipped", "failed", "bytes"]
            rows = [
                (s.source, s.searched, s.found, s.excluded, s.downloaded, s.skipped, s.failed, human_bytes(s.bytes))
                for s in self.sources.values()
            ]
        print_table(title, cols, rows)
        if self.dry_run and self.clip and any(s.kind == "stac" for s in self.sources.values()):
            console.print(
                "S2 sizes with --clip are upper bounds (uncompressed region windows); --no-clip shows whole files.",
                markup=False,
            )
        if self.failed:
            print_table(
                f"Failed ({len(self.failed)})",
                ["source", "item", "asset", "reason"],
                [(e.source, e.id, e.asset, e.reason or "") for e in self.failed[:50]],
            )
        if not self.dry_run:
            console.print(f"manifest: {self.manifest_path}", markup=False)
            if self.catalog_path:
                console.print(f"catalog:  {self.catalog_path}", markup=False)

    def _planned_bytes(self, s: SourceSummary) -> int:
        return sum(e.expected_bytes or 0 for e in self.entries if e.source == s.source and e.status == "planned")
