from __future__ import annotations

from pathlib import Path

import pytest

from spectm import catalogs
from spectm.config import load_pipeline
from spectm.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["demo.yaml", "lake_erie_2024.yaml"])
def test_shipped_pipelines_validate(name: str) -> None:
    p = load_pipeline(ROOT / "pipelines" / name)
    assert p.region in catalogs.list_regions()


def test_unknown_key_names_key_and_file(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("name: x\nregion: lake_erie\ndates: 2024-06\nfetch:\n  max_clod_cover: 3\n")
    with pytest.raises(ConfigError) as exc:
        load_pipeline(f)
    assert "fetch.max_clod_cover" in str(exc.value) and str(f) in str(exc.value)
    assert exc.value.exit_code == 2


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("name: x\nregion: lake_erie\n", "missing key 'dates'"),
        ("name: x\nregion: lake_erie\ndates: 2024-13\n", "month 13"),
        ("name: x\nregion: lake_erie\ndates: 2024\nstages: [fly]\n", "unknown stage"),
        ("- a\n- b\n", "must hold a mapping"),
        ("name: [unclosed\n", "not valid YAML"),
        ("name: x\nregion: lake_erie\ndates: 2024\nfetch: {max_cloud_cover: 101}\n", "fetch.max_cloud_cover"),
    ],
)
def test_bad_pipelines(tmp_path: Path, body: str, fragment: str) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(body)
    with pytest.raises(ConfigError, match=None) as exc:
        load_pipeline(f)
    assert fragment in str(exc.value)


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_pipeline("/nonexistent/p.yaml")


def test_catalog_contents() -> None:
    sources = catalogs.list_sources()
    l2 = sources["pace_oci_l2_aop"]
    assert (l2.short_name, l2.version, l2.provider) == ("PACE_OCI_L2_AOP", "3.1", "OB_CLOUD")
    assert sources["pace_oci_l2_aop_v3_2"].version == "3.2"
    assert sources["pace_oci_l3m_aop"].short_name == "PACE_OCI_L3M_AOP"
    assert sources["pace_oci_l3m_rrs"].short_name == "PACE_OCI_L3M_RRS"
    es = sources["s2_earth_search"]
    assert es.collection == "sentinel-2-c1-l2a" and "scl" in es.assets
    assert sources["s2_planetary_computer"].signing == "planetary_computer"
    st = catalogs.load_stations("glerl_western_lake_erie")
    assert {"WE2", "WE4", "WE6", "WE8", "WE9", "WE12", "WE13", "WE16"} <= set(st["station"])


def test_user_region_by_adding_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user adds a lake with files only: a region YAML and its water GeoJSON."""
    cat = tmp_path / "catalogs" / "regions"
    cat.mkdir(parents=True)
    (cat / "lake_mendota.geojson").write_text(
        '{"type":"Polygon","coordinates":[[[-89.48,43.08],[-89.36,43.08],[-89.36,43.14],[-89.48,43.14],[-89.48,43.08]]]}'
    )
    (cat / "lake_mendota.yaml").write_text(
        "name: lake_mendota\nbbox: [-89.5, 43.05, -89.33, 43.16]\ncrs: EPSG:32616\nwater: lake_mendota.geojson\n"
    )
    from spectm.aoi import parse_bbox

    aoi = parse_bbox("lake_mendota", data_dir=tmp_path)
    assert aoi.crs == "EPSG:32616" and aoi.water is not None
    assert "lake_mendota" in catalogs.list_regions(tmp_path)
    (cat / "lake_mendota.yaml").write_text(
        "name: lake_mendota\nbbox: [-89.5, 43.05, -89.33, 43.16]\ncrs: EPSG:32616\nwatr: x\n"
    )
    catalogs._load_region.cache_clear()
    with pytest.raises(ConfigError, match="unknown key 'watr'"):
        parse_bbox("lake_mendota", data_dir=tmp_path)
    catalogs._load_region.cache_clear()
