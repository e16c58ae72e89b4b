"""The local STAC catalog (``raw/catalog``) and ``raw/manifest.json``, laid out as ``fetch`` writes them.

See docs/data-layout.md. The catalog is a pystac self-contained catalog with id
``spectm-raw``, one collection per source (``PACE_OCI_L2_AOP``, ``sentinel-2-c1-l2a``)
and relative asset hrefs (``../../../pace/<file>``, ``../../../s2/<id>/<file>``).
Twin items carry ``spectm:twin: true``. The manifest lists every written file with
status ``downloaded`` (present and complete), ``url`` ``twin:<path>`` and its size.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pystac

from spectm import __version__
from spectm.fetch.catalog import save_catalog
from spectm.fetch.manifest import MANIFEST_NAME, save_manifest
from spectm.twin.launch import as_if_flown
from spectm.twin.pace import Granule
from spectm.twin.s2 import ASSETS, COG_TYPE, TITLES, Scene, s2_band_meta

PACE_COLLECTION = "PACE_OCI_L2_AOP"
S2_COLLECTION = "sentinel-2-c1-l2a"
EXT = {
    "eo": "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "file": "https://stac-extensions.github.io/file/v2.1.0/schema.json",
    "grid": "https://stac-extensions.github.io/grid/v1.1.0/schema.json",
    "mgrs": "https://stac-extensions.github.io/mgrs/v1.0.0/schema.json",
    "proj": "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
    "raster": "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "view": "https://stac-extensions.github.io/view/v1.0.0/schema.json",
    "processing": "https://stac-extensions.github.io/processing/v1.1.0/schema.json",
}


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def pace_item(g: Granule) -> pystac.Item:
    end = g.start + timedelta(seconds=299.883)
    lons = [p[0] for p in g.footprint]
    lats = [p[1] for p in g.footprint]
    item = pystac.Item(
        id=g.path.name[:-3],
        geometry={"type": "Polygon", "coordinates": [g.footprint]},
        bbox=[min(lons), min(lats), max(lons), max(lats)],
        datetime=g.start,
        properties={
            "start_datetime": _iso(g.start),
            "end_datetime": _iso(end),
            "processing:level": "L2",
            "pace:short_name": PACE_COLLECTION,
            "pace:version": "3.1",
            "pace:nrt": False,
            "pace:product": "L2_AOP",
            "spectm:source": "pace_oci_l2_aop",
            "spectm:twin": True,
            "eo:cloud_cover": round(g.cloud_cover, 3),
        },
        stac_extensions=[EXT["eo"], EXT["file"], EXT["processing"]],
    )
    note = as_if_flown("pace", g.start.date())
    if note:
        item.properties["spectm:as_if_flown"] = note
    item.add_asset(
        "data",
        pystac.Asset(
            href=str(Path(g.path).resolve()),
            media_type="application/x-netcdf",
            roles=["data"],
            extra_fields={"file:size": g.path.stat().st_size},
        ),
    )
    return item


def s2_item(s: Scene) -> pystac.Item:
    t = s.tile
    props: dict[str, Any] = {
        "platform": s.platform,
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "eo:cloud_cover": s.cloud_cover,
        "proj:epsg": t.epsg,
        "mgrs:utm_zone": t.zone,
        "mgrs:latitude_band": t.band,
        "mgrs:grid_square": t.square,
        "grid:code": f"MGRS-{t.code}",
        "view:sun_azimuth": round(s.sun_azimuth, 6),
        "view:sun_elevation": round(s.sun_elevation, 6),
        **s.percentages,
        "s2:product_type": "S2MSI2A",
        "s2:processing_baseline": "05.10",
        "s2:product_uri": f"S2{s.platform[-1].upper()}_MSIL2A_{s.when.strftime('%Y%m%dT%H%M%S')}_N0510_R083_T{t.code}_"
        f"{s.when.strftime('%Y%m%dT%H%M%S')}.SAFE",
        "s2:tile_id": f"S2{s.platform[-1].upper()}_OPER_MSI_L2A_TL_TWIN_{s.when.strftime('%Y%m%dT%H%M%S')}_T{t.code}_N05.10",
        "s2:reflectance_conversion_factor": 1.0,
        "spectm:source": "s2_earth_search",
        "spectm:twin": True,
    }
    note = as_if_flown(s.platform, s.when.date())
    if note:
        props["spectm:as_if_flown"] = note
    item = pystac.Item(
        id=s.item_id,
        geometry=s.footprint,
        bbox=s.bbox,
        datetime=s.when,
        properties=props,
        stac_extensions=[EXT[k] for k in ("eo", "file", "grid", "mgrs", "proj", "raster", "view")],
    )
    for key, path in s.files.items():
        res = s.transforms[key][0]
        extra: dict[str, Any] = {
            "gsd": res,
            "proj:shape": list(s.shapes[key]),
            "proj:transform": s.transforms[key],
            "file:size": path.stat().st_size,
        }
        if key == "scl":
            title = "Scene classification map (SCL)"
            extra["raster:bands"] = [{"nodata": 0, "data_type": "uint8", "spatial_resolution": res}]
            roles = ["data"]
        else:
            title = f"{TITLES[key]} - {ASSETS[key][1]}m"
            extra["eo:bands"] = [s2_band_meta(key)]
            extra["raster:bands"] = [
                {"nodata": 0, "data_type": "uint16", "spatial_resolution": res, "scale": 0.0001, "offset": -0.1}
            ]
            roles = ["data", "reflectance"]
        item.add_asset(
            key,
            pystac.Asset(
                href=str(Path(path).resolve()), media_type=COG_TYPE, title=title, roles=roles, extra_fields=extra
            ),
        )
    return item


def _collection(
    cid: str, items: list[pystac.Item], description: str, title: str, extra: dict[str, Any]
) -> pystac.Collection:
    bbox = [
        min(i.bbox[0] for i in items),
        min(i.bbox[1] for i in items),
        max(i.bbox[2] for i in items),
        max(i.bbox[3] for i in items),
    ]
    times = sorted(i.datetime for i in items if i.datetime)
    coll = pystac.Collection(
        id=cid,
        description=description,
        title=title,
        license="proprietary",
        extent=pystac.Extent(pystac.SpatialExtent([bbox]), pystac.TemporalExtent([[times[0], times[-1]]])),
        extra_fields=extra,
    )
    for it in items:
        coll.add_item(it)
    return coll


def write_catalog(raw: Path, granules: list[Granule], scenes: list[Scene]) -> Path:
    """(Re)write ``raw/catalog`` for the given granules and scenes; return the catalog.json path."""
    cat = pystac.Catalog(id="spectm-raw", description="Local STAC catalog of raw granules and scenes (spectm)")
    if granules:
        cat.add_child(
            _collection(
                PACE_COLLECTION,
                [pace_item(g) for g in granules],
                "PACE OCI Level-2 apparent optical properties (Rrs, Rrs_unc, aot_865, angstrom, avw, nflh) v3.1",
                "PACE OCI L2 AOP v3.1",
                {"spectm:twin": True},
            )
        )
    if scenes:
        cat.add_child(
            _collection(
                S2_COLLECTION,
                [s2_item(s) for s in scenes],
                "Sentinel-2 Collection 1 L2A, data from the Multispectral Instrument (MSI) onboard Sentinel-2",
                "Sentinel-2 Collection 1 Level-2A",
                {
                    "keywords": ["sentinel", "earth observation", "esa"],
                    "spectm:twin": True,
                    "providers": [
                        {"name": "ESA", "roles": ["producer"]},
                        {"name": "spectm twin", "roles": ["processor"]},
                    ],
                },
            )
        )
    return save_catalog(cat, raw.parent)


def write_manifest(
    data_dir: Path,
    *,
    region: dict[str, Any],
    dates: dict[str, str],
    granules: list[Granule],
    scenes: list[Scene],
    twin_info: dict[str, Any],
    created: str | None = None,
) -> Path:
    """Write ``raw/manifest.json`` (generator ``twin``)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    items: list[dict[str, Any]] = []
    sources: dict[str, dict[str, int]] = {}

    def add(source: str, coll: str, iid: str, asset: str, path: Path) -> None:
        rel = path.relative_to(data_dir).as_posix()
        size = path.stat().st_size
        items.append(
            {
                "source": source,
                "collection": coll,
                "id": iid,
                "asset": asset,
                "url": f"twin:{rel}",
                "path": rel,
                "status": "downloaded",
                "bytes": size,
                "expected_bytes": size,
                "size_check": "ok",
                "reason": None,
                "attempts": 1,
                "seconds": 0.0,
            }
        )
        s = sources.setdefault(
            source, {"searched": 0, "found": 0, "downloaded": 0, "skipped": 0, "failed": 0, "bytes": 0}
        )
        s["downloaded"] += 1
        s["bytes"] += size

    for g in granules:
        add("pace_oci_l2_aop", PACE_COLLECTION, g.path.name[:-3], "data", g.path)
    for s in scenes:
        for key, p in s.files.items():
            add("s2_earth_search", S2_COLLECTION, s.item_id, key, p)
    if granules:
        sources["pace_oci_l2_aop"].update(searched=len(granules), found=len(granules))
    if scenes:
        sources["s2_earth_search"].update(searched=len(scenes), found=len(scenes))
    manifest = {
        "spectm_version": __version__,
        "created": created or now,
        "updated": now,
        "region": region,
        "dates": dates,
        "generator": "twin",
        "sources": sources,
        "items": items,
        "twin": twin_info,
    }
    path = data_dir / "raw" / MANIFEST_NAME
    save_manifest(path, manifest)
    return path
