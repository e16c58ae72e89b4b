"""Windowed reads of remote Sentinel-2 COGs, clipped to the region (``--clip``, default on).

A full S2 band is up to 10980² pixels; a season of 12 assets × 60 scenes is hundreds
of GB, while the western basin covers a fraction of one tile. A COG is tiled and
internally indexed, so GDAL (``/vsicurl/``, HTTP Range requests) can read just the
tiles under the region. :func:`clip_asset` reads the region's window (the region
box transformed to the asset CRS, snapped outward to whole source pixels, so the
clip stays on the source grid) and writes a local COG with the same dtype, nodata
and pixel grid.

Verification: a clipped file has no remote size to compare with, so it is "verified"
when it re-opens with exactly the expected window shape, dtype and transform.
``size_check`` is ``ok`` then. The expected window is computed from the item's
``proj:transform``/``proj:shape`` (no request needed), so skip-existing works offline.

Transient HTTP errors are retried by GDAL (``GDAL_HTTP_MAX_RETRY``) and then by
spectm's own loop with backoff; the output is written to a temporary name and
renamed only after verification.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spectm.aoi import BBox
from spectm.console import log
from spectm.fetch.download import DownloadOptions, backoff_delay
from spectm.fetch.safety import remote_href_problem

_DTYPE_BYTES = {"uint8": 1, "int8": 1, "uint16": 2, "int16": 2, "uint32": 4, "int32": 4, "float32": 4, "float64": 8}


@dataclass
class Window:
    col_off: int
    row_off: int
    width: int
    height: int

    @property
    def empty(self) -> bool:
        return self.width <= 0 or self.height <= 0


@dataclass
class ClipOutcome:
    status: str  # downloaded | skipped | failed
    bytes: int = 0
    size_check: str = "unknown"
    reason: str | None = None
    attempts: int = 0
    seconds: float = 0.0
    shape: tuple[int, int] | None = None


def gdal_env(opts: DownloadOptions) -> dict[str, Any]:
    """GDAL settings for remote COG reads (odc-loader defaults + retries/timeouts, docs/sentinel2.md § Reading COGs)."""
    return {
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "GDAL_HTTP_MAX_RETRY": str(opts.retries),
        "GDAL_HTTP_RETRY_DELAY": str(max(0.1, opts.backoff)),
        "GDAL_HTTP_TIMEOUT": str(math.ceil(opts.read_timeout)),
        "GDAL_HTTP_CONNECTTIMEOUT": str(math.ceil(opts.connect_timeout)),
        "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
        "GDAL_INGESTED_BYTES_AT_OPEN": "32768",
        "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.TIF,.tiff,.TIFF",
    }


def region_window(bbox: BBox, epsg: int | str, transform: list[float], shape: tuple[int, int]) -> Window:
    """The source-pixel window covering ``bbox`` (lon/lat), clipped to the raster."""
    from rasterio.crs import CRS
    from rasterio.warp import transform_bounds

    crs = CRS.from_user_input(epsg if isinstance(epsg, str) else f"EPSG:{epsg}")
    left, bottom, right, top = transform_bounds("EPSG:4326", crs, *bbox, densify_pts=21)
    a, _b, c, _d, e, f = transform[:6]
    if a <= 0 or e >= 0:
        raise ValueError("only north-up rasters are supported")
    c0 = max(0, math.floor((left - c) / a))
    c1 = min(shape[1], math.ceil((right - c) / a))
    r0 = max(0, math.floor((f - top) / -e))
    r1 = min(shape[0], math.ceil((f - bottom) / -e))
    return Window(c0, r0, c1 - c0, r1 - r0)


def asset_window(item_props: Mapping[str, Any], asset: Mapping[str, Any], bbox: BBox) -> Window | None:
    """The clip window from STAC metadata alone, or None when the metadata is incomplete."""
    tr = asset.get("proj:transform") or item_props.get("proj:transform")
    sh = asset.get("proj:shape") or item_props.get("proj:shape")
    epsg = (
        asset.get("proj:epsg") or item_props.get("proj:epsg") or asset.get("proj:code") or item_props.get("proj:code")
    )
    if not tr or not sh or not epsg:
        return None
    return region_window(bbox, epsg, list(tr), (int(sh[0]), int(sh[1])))


def estimate_clip_bytes(item_props: Mapping[str, Any], asset: Mapping[str, Any], bbox: BBox) -> int | None:
    """Upper bound of a clipped file's size (uncompressed window bytes), for ``--dry-run``."""
    w = asset_window(item_props, asset, bbox)
    if w is None:
        return None
    bands = asset.get("raster:bands") or [{}]
    per = sum(_DTYPE_BYTES.get(str(b.get("data_type", "uint16")), 2) for b in bands)
    return max(0, w.width) * max(0, w.height) * per


def verify_clip(path: Path, expected: Window | None) -> tuple[bool, str | None]:
    """Does the local clip open, and does its shape equal the expected window?"""
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        with rasterio.open(path) as ds:
            shape = (ds.height, ds.width)
            ds.read(1, window=((0, min(1, ds.height)), (0, min(1, ds.width))))
    except (RasterioIOError, OSError) as exc:
        return False, f"unreadable: {exc}"
    if expected is not None and shape != (expected.height, expected.width):
        return False, f"shape {shape} != expected {(expected.height, expected.width)}"
    return True, None


def clip_asset(
    href: str,
    dest: Path,
    bbox: BBox,
    opts: DownloadOptions,
    *,
    expected: Window | None = None,
    sleep: Any = time.sleep,
) -> ClipOutcome:
    """Read the region window of the COG at ``href`` and write it as a local COG at ``dest``."""
    import numpy as np
    import rasterio
    from affine import Affine
    from rasterio.errors import RasterioError
    from rasterio.windows import Window as RioWindow

    t0 = time.perf_counter()
    out = ClipOutcome(status="failed")
    refused = remote_href_problem(href)
    if refused is not None:  # GDAL would open a local path as happily as a URL
        out.reason = refused
        return out
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and not opts.force:
        ok, why = verify_clip(dest, expected)
        if ok and expected is not None:
            out.status, out.bytes, out.size_check = "skipped", dest.stat().st_size, "ok"
            out.seconds = time.perf_counter() - t0
            return out
        log.info("%s exists but %s: clipping again", dest, why or "cannot be checked without metadata")
    tmp = dest.with_name(dest.name + ".partial.tif")
    attempt = 0
    while True:
        attempt += 1
        out.attempts = attempt
        try:
            env = gdal_env(opts)
            if attempt > 1:
                # GDAL's /vsicurl/ cache keeps what it learnt about the URL (size, existence, blocks), including
                # a failed probe: without this a retry never reaches the server and fails the same way.
                env["CPL_VSIL_CURL_NON_CACHED"] = f"/vsicurl/{href}"
            with rasterio.Env(**env), rasterio.open(href) as src:
                win = region_window(bbox, src.crs.to_string(), list(src.transform)[:6], (src.height, src.width))
                if expected is not None and (win.width, win.height) != (expected.width, expected.height):
                    log.warning(
                        "%s: window from metadata %s differs from the file's %s; using the file's",
                        dest.name,
                        expected,
                        win,
                    )
                expected = win
                if win.empty:
                    out.reason = "the region does not overlap this raster"
                    out.seconds = time.perf_counter() - t0
                    return out
                rwin = RioWindow(win.col_off, win.row_off, win.width, win.height)
                data = src.read(window=rwin)
                profile = {
                    "driver": "COG",
                    "width": win.width,
                    "height": win.height,
                    "count": src.count,
                    "dtype": src.dtypes[0],
                    "crs": src.crs,
                    # north-up (checked by region_window): shift the origin by whole pixels
                    "transform": Affine(
                        src.transform.a,
                        0.0,
                        src.transform.c + win.col_off * src.transform.a,
                        0.0,
                        src.transform.e,
                        src.transform.f + win.row_off * src.transform.e,
                    ),
                    "nodata": src.nodata,
                    "compress": "deflate",
                    "blocksize": 512,
                }
                tags = src.tags()
                descriptions = src.descriptions
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(np.asarray(data))
                if tags:
                    dst.update_tags(**tags)
                for i, d in enumerate(descriptions, start=1):
                    if d:
                        dst.set_band_description(i, d)
            ok, why = verify_clip(tmp, expected)
            if not ok:
                raise OSError(f"written clip failed verification: {why}")
            os.replace(tmp, dest)
            out.status, out.size_check = "downloaded", "ok"
            out.bytes = dest.stat().st_size
            out.shape = (win.height, win.width)
            out.seconds = time.perf_counter() - t0
            return out
        except (RasterioError, OSError, ValueError) as exc:
            tmp.unlink(missing_ok=True)
            reason = f"{type(exc).__name__}: {str(exc)[:200]}"
            if "404" in reason or "does not exist" in reason.lower():
                out.reason = f"gone or unreadable: {reason}"
                out.seconds = time.perf_counter() - t0
                return out
            if attempt > opts.retries:
                out.reason = f"gave up after {attempt} attempts: {reason}"
                out.seconds = time.perf_counter() - t0
                return out
            delay = backoff_delay(attempt, opts)
            log.debug("%s: clip attempt %d failed (%s); retrying in %.2f s", dest.name, attempt, reason, delay)
            sleep(delay)
