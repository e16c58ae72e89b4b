"""Register files downloaded by hand in the local STAC catalog (``spectm catalog add``).

A user who downloaded PACE OCI L2 granules from NASA's web tools (OB.DAAC L1/L2 browser,
Earthdata Search) or Sentinel-2 L2A scenes from a STAC browser has the files, but no
catalog, so ``build-cube`` cannot see them. This module turns them into exactly the items
``spectm fetch`` writes, through the same item builders (:mod:`spectm.fetch.catalog`), and
copies the files to where fetch puts them (``raw/pace/<file>``, ``raw/s2/<item id>/<asset>.tif``;
with ``link=True`` a hard link instead, which saves the disk space but shares the file with
its original; the user's file is never moved or changed).

What is read from the files, and only that:

* **PACE OCI L2 (.nc)**: ``time_coverage_start``/``_end``, ``processing_version`` and the
  product (``OC_AOP``, ``OC_BGC``, ``OC_IOP``, ``NRT``) from the global attributes and the
  file name, and the footprint: the outline of the ``navigation_data`` latitude/longitude
  grid (its convex hull). The ``geospatial_*`` attributes are not used, since a subset
  written by NASA's tools keeps the whole granule's bounds there.
* **Sentinel-2 L2A scene** (a folder of COGs): the scene's own STAC item JSON must be in the
  folder. Its processing baseline and ``raster:bands`` decide the DN offset
  (docs/cube.md), which no GeoTIFF tag records, so a scene without it is refused rather
  than guessed. Shape and transform are read from each local COG, as fetch does.

Every file is checked before anything is written; one bad file is a one-line error naming
it, and nothing is added.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pystac

from spectm.catalogs import list_sources
from spectm.errors import BadInputError, DataNotFoundError
from spectm.fetch.catalog import (
    S2_COLLECTIONS,
    pace_item,
    pace_path,
    read_items,
    s2_local_item,
    s2_path,
    write_local_catalog,
)
from spectm.provenance import atomic_path

PACE_PRODUCTS = {"OC_AOP": "L2_AOP", "OC_BGC": "L2_BGC", "OC_IOP": "L2_IOP"}
S2_REQUIRED = ("scl",)


@dataclass
class Added:
    """One registered item: where it came from and what the catalog now holds."""

    source_path: Path
    kind: str  # "pace" | "s2"
    item: pystac.Item
    replaced: bool = False

    @property
    def day(self) -> str:
        return (
            (self.item.datetime or pystac.utils.str_to_datetime(self.item.properties["start_datetime"]))
            .date()
            .isoformat()
        )


def _source_name(kind: str, key: str, data_dir: Path) -> str:
    """The catalog source a file belongs to (the name fetch would record), else ``local``."""
    for name, src in list_sources(data_dir).items():
        if (
            kind == "pace"
            and getattr(src, "short_name", None) == key.split("|")[0]
            and getattr(src, "version", None) == key.split("|")[1]
        ):
            return name
        if kind == "s2" and getattr(src, "collection", None) == key:
            return name
    return "local"


def _footprint(lat: np.ndarray, lon: np.ndarray) -> dict[str, Any]:
    from shapely.geometry import MultiPoint, mapping

    edge = np.concatenate(
        [
            np.c_[lon[0], lat[0]],
            np.c_[lon[-1], lat[-1]],
            np.c_[lon[:, 0], lat[:, 0]],
            np.c_[lon[:, -1], lat[:, -1]],
        ]
    )
    edge = edge[np.isfinite(edge).all(axis=1) & (np.abs(edge[:, 1]) <= 90) & (np.abs(edge[:, 0]) <= 180)]
    if len(edge) < 3:
        raise ValueError("no valid latitude/longitude on the granule's edges")
    hull = MultiPoint([tuple(p) for p in edge]).convex_hull
    if hull.geom_type != "Polygon":
        hull = hull.buffer(1e-4)
    return dict(mapping(hull))


def read_pace_granule(path: Path, data_dir: Path) -> pystac.Item:
    """The item fetch would write for a PACE OCI L2 file (see the module docstring)."""
    import xarray as xr

    name = path.name
    if not name.startswith("PACE_OCI.") or ".L2." not in name:
        raise BadInputError(
            f"{path} is not a PACE OCI L2 file name (PACE_OCI.<time>.L2.OC_AOP.V3_1.nc)",
            "register L2 granules as NASA names them; L1 and L3 files are not used by build-cube",
        )
    prod = next((v for k, v in PACE_PRODUCTS.items() if f".{k}." in name), None)
    if prod is None:
        raise BadInputError(
            f"{name}: unknown L2 product (expected OC_AOP, OC_BGC or OC_IOP in the name)",
            "pass PACE OCI L2 AOP granules (build-cube reads Rrs from OC_AOP)",
        )
    try:
        with xr.open_dataset(path, engine="netcdf4", decode_times=False) as root:
            attrs = dict(root.attrs)
        with xr.open_dataset(path, engine="netcdf4", group="navigation_data", decode_times=False) as nav:
            lat, lon = (
                np.asarray(nav["latitude"].values, float),
                np.asarray(nav["longitude"].values, float),
            )
    except (OSError, ValueError, KeyError) as exc:
        raise BadInputError(
            f"cannot read {path} as a PACE L2 granule ({type(exc).__name__}: {exc})",
            "check the download is complete (re-download it)",
        ) from None
    missing = [k for k in ("time_coverage_start", "time_coverage_end", "processing_version") if k not in attrs]
    if missing or lat.ndim != 2:
        raise BadInputError(
            f"{name} lacks {missing or 'a 2-D navigation_data latitude/longitude'}",
            "pass the granule as NASA distributes it (not a re-gridded copy)",
        )
    try:
        geometry = _footprint(lat, lon)
    except ValueError as exc:
        raise BadInputError(f"{name}: {exc}", "the granule holds no navigable pixels; leave it out") from None
    nrt = ".NRT." in name
    short = f"PACE_OCI_{prod}" + ("_NRT" if nrt else "")
    version = str(attrs["processing_version"])
    return pace_item(
        data_dir,
        name,
        geometry=geometry,
        start=str(attrs["time_coverage_start"]),
        end=str(attrs["time_coverage_end"]),
        short_name=short,
        version=version,
        nrt=nrt,
        product=prod,
        source=_source_name("pace", f"PACE_OCI_{prod}|{version}", data_dir),
        file_size=path.stat().st_size,
    )


def _s2_item_json(folder: Path) -> dict[str, Any]:
    found = []
    for p in sorted(folder.glob("*.json")):
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(d, dict) and d.get("type") == "Feature":
            found.append(d)
    if len(found) != 1:
        raise BadInputError(
            f"{folder}: {'no' if not found else len(found)} STAC item JSON file(s) next to the COGs (need exactly one)",
            "save the scene's item JSON (from the STAC browser/API you downloaded it from) into the scene folder; "
            "the DN offset depends on its processing baseline",
        )
    return found[0]


def read_s2_scene(folder: Path, data_dir: Path) -> tuple[pystac.Item, dict[str, Path]]:
    """The item fetch would write for a Sentinel-2 scene folder, and its local COG per asset key."""
    d = _s2_item_json(folder)
    files: dict[str, Path] = {}
    for key, a in (d.get("assets") or {}).items():
        href = str(a.get("href", ""))
        for cand in (folder / f"{key}.tif", folder / Path(href.split("?")[0]).name):
            if cand.suffix.lower() in (".tif", ".tiff") and cand.is_file():
                files[key] = cand
                break
    lacking = [k for k in S2_REQUIRED if k not in files]
    if lacking or len(files) < 2:
        raise BadInputError(
            f"{folder}: no COG for asset(s) {lacking or 'bands'} of item {d.get('id')}",
            "download the scene's scl and band COGs (named <asset key>.tif or as in the item's hrefs)",
        )
    coll = str(d.get("collection") or "")
    if coll not in S2_COLLECTIONS:
        raise BadInputError(
            f"{folder}: item collection {coll!r} is not Sentinel-2 L2A",
            f"pass scenes of {', '.join(S2_COLLECTIONS)}",
        )
    return pystac.Item.from_dict(d), files


def _place(src: Path, dst: Path, link: bool) -> None:
    """Put ``src`` at ``dst`` (a copy; a hard link if ``link`` and the file system allows it)."""
    if dst.exists() and dst.resolve() == src.resolve():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dst) as tmp:
        try:
            if not link:
                raise OSError("copy requested")
            os.link(src, tmp)
        except OSError:
            shutil.copy2(src, tmp)


def add_files(paths: list[Path], *, data_dir: Path, link: bool = False) -> list[Added]:
    """Register PACE L2 granules (``.nc``) and Sentinel-2 scene folders (or one of their COGs)
    in ``<data_dir>/raw/catalog``; returns what was added (see the module docstring)."""

    data_dir = Path(data_dir)
    if not paths:
        raise BadInputError("no files given", "pass PACE .nc granules and/or Sentinel-2 scene folders")
    plan: list[tuple[Added, dict[Path, Path]]] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise DataNotFoundError(f"{p} does not exist", "check the path")
        folder = p if p.is_dir() else (p.parent if p.suffix.lower() in (".tif", ".tiff", ".json") else None)
        if p.suffix.lower() == ".nc":
            item = read_pace_granule(p, data_dir)
            plan.append((Added(p, "pace", item), {p: pace_path(data_dir, p.name)}))
        elif folder is not None:
            if folder.resolve() in seen:
                continue  # several COGs of one scene: one item
            seen.add(folder.resolve())
            remote, files = read_s2_scene(folder, data_dir)
            moves = {f: s2_path(data_dir, remote.id, k) for k, f in files.items()}
            plan.append((Added(folder, "s2", remote), moves))
        else:
            raise BadInputError(
                f"{p} is neither a PACE granule (.nc) nor a Sentinel-2 scene (folder or .tif)",
                "pass .nc granules, scene folders or one COG of each scene",
            )
    existing = set()
    root = data_dir / "raw" / "catalog"
    if (root / "catalog.json").exists():
        existing = {(it.collection_id, it.id) for it in read_items(root)}
    items = []
    for added, moves in plan:
        for src, dst in moves.items():
            _place(src, dst, link)
        if added.kind == "s2":
            placed = set(moves.values())
            files = {
                k: s2_path(data_dir, added.item.id, k)
                for k in added.item.assets
                if s2_path(data_dir, added.item.id, k) in placed
            }
            src_name = _source_name("s2", added.item.collection_id or "", data_dir)
            added.item = s2_local_item(data_dir, added.item, files, source=src_name)
        added.replaced = (added.item.collection_id, added.item.id) in existing
        added.item.properties["spectm:added_by"] = "catalog add"
        items.append(added.item)
    write_local_catalog(data_dir, items)
    return [a for a, _ in plan]
