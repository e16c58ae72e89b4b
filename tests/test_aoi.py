from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from shapely.geometry import Point

from spectm.aoi import parse_bbox, utm_crs_for, validate_bbox
from spectm.catalogs import load_stations
from spectm.errors import RegionError


def test_region_name() -> None:
    aoi = parse_bbox("lake_erie_western_basin")
    assert aoi.bbox == (-83.5, 41.3, -82.45, 42.2)
    assert aoi.crs == "EPSG:32617"
    assert aoi.resolution == {"pace": 1000.0, "s2": 20.0}
    assert aoi.water is not None
    # every GLERL station is on water, and Toledo / Detroit are not
    stations = load_stations("glerl_western_lake_erie")
    for row in stations.itertuples():
        assert aoi.water.contains(Point(row.lon, row.lat)), row.station
    assert not aoi.water.contains(Point(-83.55, 41.65))
    assert not aoi.water.contains(Point(-83.05, 42.33))


def test_whole_lake_and_bbox_text() -> None:
    assert parse_bbox("lake_erie").bbox == (-83.5, 41.3, -78.8, 42.95)
    aoi = parse_bbox("-83.5,41.3,-82.45,42.2")
    assert aoi.name == "bbox" and aoi.crs == "EPSG:32617" and aoi.water is None


def test_geojson(tmp_path: Path) -> None:
    gj = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [[[-89, 43], [-88, 43], [-88, 44], [-89, 44], [-89, 43]]]},
    }
    p = tmp_path / "my_lake.geojson"
    p.write_text(json.dumps(gj))
    aoi = parse_bbox(str(p))
    assert aoi.name == "my_lake"
    assert aoi.bbox == (-89.0, 43.0, -88.0, 44.0)
    assert aoi.crs == "EPSG:32616"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("-82,41,-83,42", "W (-82.0) must be less than E"),
        ("-83,42,-82,41", "S (42.0) must be less than N"),
        ("-83,41,-82,95", "latitude outside ±90"),
        ("-190,41,-82,42", "longitude outside ±180"),
        ("-83,41,-82", "4 numbers"),
        ("a,b,c,d", "cannot read"),
        ("atlantis", "unknown region 'atlantis'"),
        ("missing.geojson", "does not exist"),
        ("", "empty"),
    ],
)
def test_invalid(value: str, fragment: str) -> None:
    with pytest.raises(RegionError) as exc:
        parse_bbox(value)
    assert fragment in str(exc.value)
    assert exc.value.exit_code == 2


def test_bad_geojson(tmp_path: Path) -> None:
    p = tmp_path / "bad.geojson"
    p.write_text("{not json")
    with pytest.raises(RegionError, match="cannot read GeoJSON"):
        parse_bbox(str(p))
    p.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(RegionError, match="no features"):
        parse_bbox(str(p))


lon = st.floats(-180, 180, allow_nan=False)
lat = st.floats(-90, 90, allow_nan=False)


@given(lon, lat, lon, lat)
def test_validate_bbox_property(w: float, s: float, e: float, n: float) -> None:
    if w < e and s < n:
        assert validate_bbox((w, s, e, n)) == (w, s, e, n)
        aoi = parse_bbox(f"{w!r},{s!r},{e!r},{n!r}")
        assert aoi.bbox == (w, s, e, n)
    else:
        with pytest.raises(RegionError):
            validate_bbox((w, s, e, n))


@given(st.floats(-179.99, 179.99), st.floats(-80, 84))
def test_utm_zone(lon_: float, lat_: float) -> None:
    assume(abs(lat_) > 1e-9)
    assume(1e-6 < (lon_ + 180) % 6 < 6 - 1e-6)  # float rounding at zone edges
    crs = utm_crs_for(lon_, lat_)
    zone = int(crs.split(":")[1]) % 100
    assert 1 <= zone <= 60
    assert -180 + (zone - 1) * 6 <= lon_ <= -180 + zone * 6


def _write(tmp_path: Path, name: str, geometry: dict) -> str:
    p = tmp_path / name
    p.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": geometry}))
    return str(p)


@pytest.mark.parametrize(
    "geometry",
    [
        # a ring drawn across +/-180 (shapely would read it as a box spanning 340 degrees)
        {"type": "Polygon", "coordinates": [[[179, -17], [-179, -17], [-179, -16], [179, -16], [179, -17]]]},
        # the RFC 7946 form: cut into two pieces at the antimeridian
        {
            "type": "MultiPolygon",
            "coordinates": [
                [[[179, -17], [180, -17], [180, -16], [179, -16], [179, -17]]],
                [[[-180, -17], [-179, -17], [-179, -16], [-180, -16], [-180, -17]]],
            ],
        },
    ],
)
def test_geojson_across_the_antimeridian_is_refused(tmp_path: Path, geometry: dict) -> None:
    with pytest.raises(RegionError, match="antimeridian") as exc:
        parse_bbox(_write(tmp_path, "fiji.geojson", geometry))
    assert exc.value.exit_code == 2
    with pytest.raises(RegionError, match="antimeridian"):  # the same as the W,S,E,N form
        parse_bbox("179,-17,-179,-16")


def test_huge_geojson_file_is_refused_before_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    import spectm.aoi as aoi_mod

    p = tmp_path / "big.geojson"
    p.write_text("{" + " " * 3000 + "}")  # not even valid JSON: it must not be read
    monkeypatch.setattr(aoi_mod, "MAX_GEOJSON_BYTES", 2000)
    t0 = time.perf_counter()
    with pytest.raises(RegionError, match="more than spectm reads") as exc:
        parse_bbox(str(p))
    assert time.perf_counter() - t0 < 1 and "simplif" in str(exc.value)


def test_detailed_geojson_is_simplified_with_a_message(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import math

    n = 200_000  # a circle of radius 0.1 degree drawn with 200k vertices
    ring = [[-83.2 + 0.1 * math.cos(2 * math.pi * i / n), 41.7 + 0.1 * math.sin(2 * math.pi * i / n)] for i in range(n)]
    ring.append(ring[0])
    path = _write(tmp_path, "detailed.geojson", {"type": "Polygon", "coordinates": [ring]})
    with caplog.at_level("WARNING"):
        aoi = parse_bbox(path)
    from shapely import get_num_coordinates

    from spectm.aoi import MAX_VERTICES

    assert get_num_coordinates(aoi.geometry) <= MAX_VERTICES
    assert aoi.geometry.area == pytest.approx(math.pi * 0.01, rel=1e-3)  # the shape is kept
    assert "simplified from 200001" in caplog.text
