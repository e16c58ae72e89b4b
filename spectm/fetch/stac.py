"""Searching Sentinel-2 L2A scenes on a STAC API with pystac-client.

The search is sent with the collection, the region's box and the dates. The
cloud-cover filter is also sent as a ``query`` when the API declares the query
extension (Earth Search does; ``rustac serve`` does not and would answer 0
features, docs/sentinel2.md § Collections). Whatever the server did, every filter is re-checked
client-side, each rejection is counted with its reason:

* cloud cover above ``max_cloud_cover``;
* MGRS tile not in ``tiles`` (``grid:code`` ``MGRS-17TLG`` on Earth Search,
  ``s2:mgrs_tile`` ``17TLG`` on the Planetary Computer);
* footprint not intersecting the region geometry (water polygon when it has one).

Only the assets the cube needs (the source's ``assets``: reflectance bands + SCL) are
fetched. Planetary Computer hrefs are signed with ``planetary_computer.sign_inplace``
(optional extra ``spectm[planetary]``); the signed hrefs live in memory only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import pystac
from shapely.geometry import shape

from spectm.aoi import AOI
from spectm.config import StacSource
from spectm.console import log
from spectm.dates import DateRange
from spectm.errors import BadInputError, FetchError
from spectm.fetch.footprint import intersects_region
from spectm.fetch.safety import safe_name
from spectm.redact import redact


@dataclass
class StacExcluded:
    item_id: str
    reason: str


@dataclass
class StacSearch:
    source: StacSource
    url: str
    collection: str
    searched: int = 0
    items: list[pystac.Item] = field(default_factory=list)
    excluded: list[StacExcluded] = field(default_factory=list)
    query_sent: bool = False


def item_tile(item: pystac.Item, source: StacSource) -> str | None:
    """The MGRS tile of an item (``17TLG``), from the source's tile property."""
    v = item.properties.get(source.tile_property)
    if v is None:
        for alt in ("grid:code", "s2:mgrs_tile"):
            if alt in item.properties:
                v = item.properties[alt]
                break
    if v is None:
        return None
    v = str(v)
    for prefix in (source.tile_prefix, "MGRS-"):
        if prefix and v.startswith(prefix):
            v = v[len(prefix) :]
    return v.upper()


def normalise_tiles(tiles: list[str] | None) -> list[str] | None:
    if not tiles:
        return None
    out = []
    for t in tiles:
        t = t.strip().upper().removeprefix("MGRS-")
        if len(t) == 6 and t.startswith("T"):  # ESA style T17TLG
            t = t[1:]
        if len(t) != 5 or not t[:2].isdigit() or not t[2:].isalpha():
            raise BadInputError(
                f"'{t}' is not an MGRS tile like 17TLG", "pass --tiles as comma-separated tiles, e.g. 17TKG,17TLG"
            )
        out.append(t)
    return out


def _signer(source: StacSource) -> Any:
    if source.signing != "planetary_computer":
        return None
    try:
        import planetary_computer
    except ImportError:
        raise BadInputError(
            f"source {source.name} needs Planetary Computer URL signing, but 'planetary-computer' is not installed",
            "pip install 'spectm[planetary]'",
        ) from None
    return planetary_computer.sign_inplace


def search_stac(
    source: StacSource,
    aoi: AOI,
    dates: DateRange,
    *,
    url: str | None = None,
    collection: str | None = None,
    tiles: list[str] | None = None,
    max_cloud_cover: float | None = None,
    max_items: int | None = None,
) -> StacSearch:
    """Search one STAC source; return the kept items (signed if needed) and the rejected ones."""
    from pystac_client import Client
    from pystac_client.conformance import ConformanceClasses
    from pystac_client.exceptions import APIError

    url = url or source.url
    collection = collection or source.collection
    tiles = normalise_tiles(tiles)
    res = StacSearch(source=source, url=redact(url), collection=collection)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DoesNotConformTo / storage warnings: handled below
            client = Client.open(url, modifier=_signer(source))
            params: dict[str, Any] = {
                "collections": [collection],
                "bbox": list(aoi.bbox),
                "datetime": f"{dates.start.isoformat()}T00:00:00Z/{dates.end.isoformat()}T23:59:59Z",
                "max_items": max_items,
            }
            if max_cloud_cover is not None and max_cloud_cover < 100 and client.conforms_to(ConformanceClasses.QUERY):
                params["query"] = {"eo:cloud_cover": {"lte": max_cloud_cover}}
                res.query_sent = True
            search = client.search(**params)
            found = list(search.items())
    except APIError as exc:
        if getattr(exc, "status_code", None) is None:  # pystac-client wraps connection failures too
            raise FetchError(
                f"cannot search STAC API {redact(url)}: {str(exc)[:200]}",
                "check --stac-url and the network connection, then rerun",
            ) from None
        raise FetchError(
            f"STAC API {redact(url)} answered with an error for collection {collection!r}: {str(exc)[:200]}",
            "check --stac-url and --collection (spectm catalogs sources lists the defaults)",
        ) from None
    except (OSError, ValueError) as exc:
        raise FetchError(
            f"cannot search STAC API {redact(url)}: {type(exc).__name__}: {str(exc)[:200]}",
            "check --stac-url and the network connection, then rerun",
        ) from None
    res.searched = len(found)
    region = aoi.water_or_geometry
    seen: set[str] = set()
    for item in found:
        try:
            safe_name(item.id, "STAC item id")
        except BadInputError as exc:
            res.excluded.append(StacExcluded(item.id, exc.message))
            continue
        if item.id in seen:
            res.excluded.append(StacExcluded(item.id, "duplicate search result"))
            continue
        seen.add(item.id)
        cc = item.properties.get("eo:cloud_cover")
        if max_cloud_cover is not None and cc is not None and float(cc) > max_cloud_cover:
            res.excluded.append(StacExcluded(item.id, f"cloud cover {float(cc):.1f}% > {max_cloud_cover:g}%"))
            continue
        tile = item_tile(item, source)
        if tiles is not None and tile not in tiles:
            res.excluded.append(StacExcluded(item.id, f"tile {tile} not in {','.join(tiles)}"))
            continue
        if item.geometry is not None and not intersects_region(shape(item.geometry), region):
            res.excluded.append(StacExcluded(item.id, f"footprint does not intersect region {aoi.name}"))
            continue
        res.items.append(item)
    log.info(
        "STAC %s %s: %d searched, %d kept, %d excluded",
        res.url,
        collection,
        res.searched,
        len(res.items),
        len(res.excluded),
    )
    return res
