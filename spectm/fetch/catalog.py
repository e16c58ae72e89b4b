"""The local STAC catalog ``<data-dir>/raw/catalog`` (docs/data-layout.md).

This is the one place that turns downloaded (or twin-generated) files into STAC
items, so ``fetch`` and the twin write byte-for-byte the same layout and
``build-cube`` cannot tell them apart. The twin should call:

* :func:`pace_item` for each PACE granule file it wrote under ``raw/pace/``;
* :func:`s2_local_item` for each Sentinel-2 scene it wrote under ``raw/s2/<id>/``
  (pass a remote-shaped item or dict and the local files per asset key);
* :func:`write_local_catalog` once with all items.

Items are built with absolute asset hrefs to the local files; :func:`write_local_catalog`
merges them with the items already in the catalog (so a June fetch and a July fetch
accumulate), makes every asset href relative, and saves a pystac
``SELF_CONTAINED`` catalog. It writes to a sibling temporary directory and swaps it
in, so a killed process never leaves a half-written catalog.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pystac
from shapely.geometry import mapping, shape

from spectm.errors import DataNotFoundError
from spectm.fetch.footprint import umm_footprint
from spectm.fetch.safety import safe_join, safe_name
from spectm.redact import redact

CATALOG_ID = "spectm-raw"
NETCDF = "application/x-netcdf"
COG = "image/tiff; application=geotiff; profile=cloud-optimized"
FILE_EXT = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
PROCESSING_EXT = "https://stac-extensions.github.io/processing/v1.1.0/schema.json"
EO_EXT = "https://stac-extensions.github.io/eo/v1.1.0/schema.json"

S2_COLLECTIONS = ("sentinel-2-c1-l2a", "sentinel-2-l2a")
"""Sentinel-2 L2A collection ids the catalog accepts (Collection 1 and the earlier processing)."""


def raw_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "raw"


def catalog_dir(data_dir: Path) -> Path:
    return raw_dir(data_dir) / "catalog"


def pace_path(data_dir: Path, file_name: str) -> Path:
    """``<data-dir>/raw/pace/<file>`` (refusing names that would escape it)."""
    return safe_join(raw_dir(data_dir), "pace", safe_name(file_name, "granule file name"))


def s2_path(data_dir: Path, item_id: str, asset_key: str) -> Path:
    """``<data-dir>/raw/s2/<item id>/<asset key>.tif``."""
    return safe_join(
        raw_dir(data_dir), "s2", safe_name(item_id, "STAC item id"), safe_name(asset_key, "asset key") + ".tif"
    )


def _dt(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def pace_item(
    data_dir: Path,
    file_name: str,
    *,
    geometry: Mapping[str, Any],
    start: str | datetime,
    end: str | datetime,
    short_name: str,
    version: str,
    nrt: bool,
    product: str,
    source: str,
    file_size: int,
    cloud_cover: float | None = None,
    twin: bool = False,
    checksum: str | None = None,
) -> pystac.Item:
    """A STAC item for one local PACE OCI file (docs/data-layout.md, "PACE OCI items").

    ``checksum`` is the hex multihash (``file:checksum``) the file was verified against,
    when the granule record published one.

    ``geometry`` is the granule footprint (CMR GPolygons, or the twin's swath outline)
    as GeoJSON in lon/lat. ``product`` is ``L2_AOP``, ``L2_BGC``, ``L2_IOP`` or ``L3M``.
    """
    geom = shape(geometry)
    start_dt, end_dt = _dt(start), _dt(end)
    item_id = file_name[:-3] if file_name.endswith(".nc") else file_name
    props: dict[str, Any] = {
        "start_datetime": start_dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_datetime": end_dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "processing:level": "L3" if product.startswith("L3") else "L2",
        "pace:short_name": short_name,
        "pace:version": str(version),
        "pace:nrt": bool(nrt),
        "pace:product": "L3M" if product.startswith("L3") else product,
        "spectm:source": source,
    }
    if twin:
        props["spectm:twin"] = True
    if cloud_cover is not None:
        props["eo:cloud_cover"] = float(cloud_cover)
    exts = [FILE_EXT, PROCESSING_EXT] + ([EO_EXT] if cloud_cover is not None else [])
    item = pystac.Item(
        id=item_id,
        geometry=mapping(geom),
        bbox=list(geom.bounds),
        datetime=start_dt,
        properties=props,
        collection=short_name,
        stac_extensions=exts,
    )
    item.add_asset(
        "data",
        pystac.Asset(
            href=str(pace_path(data_dir, file_name)),
            media_type=NETCDF,
            roles=["data"],
            extra_fields={"file:size": int(file_size), **({"file:checksum": checksum} if checksum else {})},
        ),
    )
    return item


def footprint_from_umm(umm: Mapping[str, Any]) -> dict[str, Any] | None:
    """The granule footprint from UMM-G ``SpatialExtent`` as GeoJSON (lon/lat), or None."""
    geom = umm_footprint(umm)
    return None if geom is None else dict(mapping(geom))


def pace_item_from_umm(
    data_dir: Path,
    umm: Mapping[str, Any],
    *,
    file_name: str,
    product: str,
    source: str,
    nrt: bool,
    file_size: int,
    checksum: str | None = None,
) -> pystac.Item:
    """:func:`pace_item` filled from a CMR UMM-G record."""
    rng = umm.get("TemporalExtent", {}).get("RangeDateTime", {})
    ref = umm.get("CollectionReference", {})
    geom = footprint_from_umm(umm) or {
        "type": "Polygon",
        "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]],
    }
    return pace_item(
        data_dir,
        file_name,
        geometry=geom,
        start=rng.get("BeginningDateTime"),
        end=rng.get("EndingDateTime") or rng.get("BeginningDateTime"),
        short_name=ref.get("ShortName", ""),
        version=str(ref.get("Version", "")),
        nrt=nrt,
        product=product,
        source=source,
        file_size=file_size,
        cloud_cover=umm.get("CloudCover"),
        checksum=checksum,
    )


def s2_local_item(
    data_dir: Path,
    remote: pystac.Item | Mapping[str, Any],
    files: Mapping[str, Path],
    *,
    source: str,
    twin: bool = False,
    source_hrefs: Mapping[str, str] | None = None,
    checksums: Mapping[str, str | None] | None = None,
) -> pystac.Item:
    """A local Sentinel-2 item: the remote item's metadata, only the fetched assets.

    ``files`` maps asset key → local ``.tif``. Each asset's ``href`` becomes the local
    file; ``file:size``, ``proj:shape`` and ``proj:transform`` are read from the local
    file (so a clipped COG describes the clip); the remote href, without credentials, is
    kept as ``spectm:source_href``; ``checksums`` (asset key → hex multihash) are the
    ``file:checksum`` values each local file was verified against. Other assets (thumbnails, metadata) are dropped and
    links are removed, because the catalog describes local data only.
    """
    import rasterio

    d = remote.to_dict(include_self_link=False) if isinstance(remote, pystac.Item) else copy.deepcopy(dict(remote))
    d = json.loads(redact(json.dumps(d)))  # a signed URL anywhere in the remote item never reaches the disk
    d["links"] = []
    old_assets = d.get("assets", {})
    d["assets"] = {}
    d.setdefault("properties", {})["spectm:source"] = source
    if twin:
        d["properties"]["spectm:twin"] = True
    for key, path in files.items():
        a = copy.deepcopy(old_assets.get(key, {}))
        remote_href = (source_hrefs or {}).get(key) or a.get("href")
        # The remote checksum describes the remote file: kept only where the local file was verified
        # against it (a whole-file download), never for a clip.
        a.pop("file:checksum", None)
        if (checksums or {}).get(key):
            a["file:checksum"] = checksums[key]  # type: ignore[index]
        a.pop("alternate", None)
        a["href"] = str(Path(path).resolve())
        a["type"] = COG
        a.setdefault("roles", ["data"])
        with rasterio.open(path) as ds:
            a["proj:shape"] = [ds.height, ds.width]
            a["proj:transform"] = list(ds.transform)[:6]
            epsg = ds.crs.to_epsg() if ds.crs else None
        if epsg is not None and "proj:epsg" not in d["properties"]:
            d["properties"]["proj:epsg"] = epsg
        a["file:size"] = Path(path).stat().st_size
        if remote_href and not str(remote_href).startswith(("/", "file:")):
            a["spectm:source_href"] = redact(str(remote_href))
        d["assets"][key] = a
    exts = set(d.get("stac_extensions", []))
    exts.add(FILE_EXT)
    d["stac_extensions"] = sorted(exts)
    item = pystac.Item.from_dict(d, preserve_dict=False)
    return item


_PROJ_V1 = "https://stac-extensions.github.io/projection/v1.1.0/schema.json"


def _projection_v1(item: pystac.Item) -> None:
    """Write ``proj:epsg`` (projection v1.1) as Earth Search v1 items do (docs/data-layout.md).

    pystac-client and ``Item.from_file`` migrate items to projection v2 (``proj:code``);
    the contract promises ``proj:epsg``, so it is restored before every save.
    """
    for d in (item.properties, *(a.extra_fields for a in item.assets.values())):
        code = d.get("proj:code")
        if isinstance(code, str) and code.upper().startswith("EPSG:") and code[5:].isdigit():
            d["proj:epsg"] = int(code[5:])
            del d["proj:code"]
    exts = [e for e in item.stac_extensions if "/projection/" not in e]
    if any(
        k.startswith("proj:") for d in (item.properties, *(a.extra_fields for a in item.assets.values())) for k in d
    ):
        exts.append(_PROJ_V1)
    item.stac_extensions = sorted(set(exts))


def read_items(root: Path) -> list[pystac.Item]:
    """Every item of the catalog at ``root``, read straight from its JSON file.

    Items live at ``<collection>/<id>/<id>.json`` (docs/data-layout.md). A glob instead of
    walking links from the root: a season has thousands of items, and the glob is both faster
    and robust to a ``catalog.json`` that a concurrent fetch is rewriting. Unreadable files are
    left out. Each item's self href is its file, so relative asset hrefs resolve.
    """
    items = []
    for p in sorted(Path(root).glob("*/*/*.json")):
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if d.get("type") != "Feature":
            continue
        with warnings.catch_warnings():  # pystac 1.15 storage-extension migration warning on c1 items
            warnings.filterwarnings("ignore", message="Could not parse bucket", category=UserWarning)
            item = pystac.Item.from_dict(d, preserve_dict=False)
        item.set_self_href(str(p))
        items.append(item)
    return items


def _existing_items(cat_dir: Path) -> list[pystac.Item]:
    """Items of an existing local catalog (asset hrefs resolved to absolute paths)."""
    candidates = [cat_dir] if (cat_dir / "catalog.json").exists() else []
    if not candidates:  # a run killed between the two renames of the swap in save_catalog
        olds = sorted(cat_dir.parent.glob(".catalog-old-*"), key=os.path.getmtime, reverse=True)
        candidates = [o for o in olds if (o / "catalog.json").exists()][:1]
    if not candidates:
        return []
    items = read_items(candidates[0])
    for item in items:
        # Any root here is a direct child of raw/, so "../../../pace/x" resolves to raw/pace/x.
        item.make_asset_hrefs_absolute()
        item.clear_links()
    return items


def write_local_catalog(
    data_dir: Path,
    items: Iterable[pystac.Item],
    *,
    collection_titles: Mapping[str, str] | None = None,
) -> Path:
    """Merge ``items`` into ``<data-dir>/raw/catalog`` and save it self-contained.

    Items replace existing items with the same collection and id. Returns the path of
    ``catalog.json``.
    """
    cat_dir = catalog_dir(data_dir)
    cat_dir.parent.mkdir(parents=True, exist_ok=True)
    merged: dict[tuple[str, str], pystac.Item] = {}
    for it in _existing_items(cat_dir):
        merged[(it.collection_id or "", it.id)] = it
    for it in items:
        it = it.clone()
        it.clear_links()
        if not it.collection_id:
            raise ValueError(f"item {it.id} has no collection id")
        safe_name(it.collection_id, "collection id")
        safe_name(it.id, "item id")
        merged[(it.collection_id, it.id)] = it
    for it in merged.values():
        _projection_v1(it)

    catalog = pystac.Catalog(
        id=CATALOG_ID,
        description="Files fetched by spectm (or written by its twin); asset hrefs are relative to this catalog.",
        title="spectm raw data",
    )
    by_coll: dict[str, list[pystac.Item]] = {}
    for (coll, _), it in sorted(merged.items()):
        by_coll.setdefault(coll, []).append(it)
    for coll, its in by_coll.items():
        collection = pystac.Collection(
            id=coll,
            description=(collection_titles or {}).get(coll, f"Local copies of {coll} files"),
            extent=pystac.Extent.from_items(its),
            license="other",
        )
        for it in its:
            collection.add_item(it)
        catalog.add_child(collection)

    return save_catalog(catalog, data_dir)


def save_catalog(catalog: pystac.Catalog, data_dir: Path) -> Path:
    """Save ``catalog`` self-contained as ``<data-dir>/raw/catalog``, replacing the old one whole.

    The one writer of ``raw/catalog`` (fetch, local files and the twin): the catalog is saved to
    a sibling temporary directory and swapped in, so a killed process never leaves a
    half-written catalog. Returns the path of ``catalog.json``.
    """
    cat_dir = catalog_dir(data_dir)
    cat_dir.parent.mkdir(parents=True, exist_ok=True)
    # absolute: a relative --data-dir must not leak into the hrefs
    tmp = Path(tempfile.mkdtemp(prefix=".catalog-new-", dir=cat_dir.parent)).resolve()
    try:
        catalog.normalize_hrefs(str(tmp))
        catalog.make_all_asset_hrefs_relative()
        catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
        old = None
        if cat_dir.exists():
            old = cat_dir.parent / f".catalog-old-{os.getpid()}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}"
            os.replace(cat_dir, old)
        os.replace(tmp, cat_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        for stale in cat_dir.parent.glob(".catalog-old-*"):
            shutil.rmtree(stale, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return cat_dir / "catalog.json"


def read_local_catalog(data_dir: Path) -> list[pystac.Item]:
    """All items of ``<data-dir>/raw/catalog`` with absolute asset hrefs (for later stages)."""
    cat = catalog_dir(data_dir) / "catalog.json"
    if not cat.exists():
        raise DataNotFoundError(f"no local catalog at {cat}", "run 'spectm fetch' (or 'spectm twin generate') first")
    items = read_items(cat.parent)
    for it in items:
        it.make_asset_hrefs_absolute()
    return items
