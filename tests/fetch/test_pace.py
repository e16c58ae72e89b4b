"""PACE search through the real earthaccess.search_data, with CMR replayed from real UMM-G records."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import responses
from shapely.geometry import box

from spectm.aoi import parse_bbox
from spectm.catalogs import get_source
from spectm.dates import parse_dates
from spectm.errors import AuthError
from spectm.fetch import auth
from spectm.fetch.footprint import intersects_region, umm_footprint
from spectm.fetch.pace import dedupe_key, search_pace

from .conftest import cmr_records, nrt_copy

REFINED_1747 = "PACE_OCI.20250305T174755.L2.OC_AOP.V3_1.nc"


def test_footprint_filter_keeps_only_the_1747_granule(cmr) -> None:
    cmr.records = cmr_records()
    res = search_pace(get_source("pace_oci_l2_aop"), parse_bbox("lake_erie"), parse_dates("2025-03-05"))
    assert res.searched == 3
    assert [g.file_name for g in res.granules] == [REFINED_1747]
    assert res.granules[0].size == 13638801 or res.granules[0].size > 0
    reasons = {e.file_name: e.reason for e in res.excluded}
    assert set(reasons) == {"PACE_OCI.20250305T160933.L2.OC_AOP.V3_1.nc", "PACE_OCI.20250305T192617.L2.OC_AOP.V3_1.nc"}
    assert all("footprint does not intersect region lake_erie" in r for r in reasons.values())
    q = cmr.queries[-1]
    for part in (
        "short_name%5B%5D=PACE_OCI_L2_AOP&",
        "short_name%5B%5D=PACE_OCI_L2_AOP_NRT",
        "version=3.1",
        "provider=OB_CLOUD",
        "bounding_box=-83.5,41.3,-78.8,42.95",
        "temporal%5B%5D=2025-03-05T00:00:00Z,2025-03-05T23:59:59Z",
        "readable_granule_name=*.L2.OC_AOP.V3_1*.nc",
    ):
        assert part in q, part


def test_box_alone_would_keep_all_three(cmr) -> None:
    """The fixture's box (-90,40,-75,47) matches all three swaths: only the polygon test separates them."""
    cmr.records = cmr_records()
    res = search_pace(get_source("pace_oci_l2_aop"), parse_bbox("-90,40,-75,47"), parse_dates("2025-03-05"))
    assert len(res.granules) == 3 and res.excluded == []


@pytest.mark.parametrize("nrt_first", [True, False])
def test_refined_supersedes_nrt(cmr, nrt_first: bool) -> None:
    recs = cmr_records()
    nrt = nrt_copy(recs[1])
    cmr.records = [nrt, *recs] if nrt_first else [*recs, nrt]
    res = search_pace(get_source("pace_oci_l2_aop"), parse_bbox("lake_erie"), parse_dates("2025-03-05"))
    assert [g.file_name for g in res.granules] == [REFINED_1747]
    assert not res.granules[0].nrt
    sup = [e for e in res.excluded if "superseded" in e.reason]
    assert [e.file_name for e in sup] == ["PACE_OCI.20250305T174755.L2.OC_AOP.V3_1.NRT.nc"]


def test_nrt_kept_when_no_refined_and_duplicates_counted(cmr) -> None:
    nrt = nrt_copy(cmr_records()[1])
    cmr.records = [nrt, copy.deepcopy(nrt)]
    res = search_pace(get_source("pace_oci_l2_aop"), parse_bbox("lake_erie"), parse_dates("2025-03-05"))
    assert [g.file_name for g in res.granules] == ["PACE_OCI.20250305T174755.L2.OC_AOP.V3_1.NRT.nc"]
    assert res.granules[0].nrt
    assert [e.reason for e in res.excluded] == ["duplicate search result"]


def test_l3m_fallback_short_name(cmr) -> None:
    l3 = cmr_records("cmr_umm_g_PACE_OCI_L3M_RRS_V3_1_20250409.earthaccess.json")
    cmr.by_short_name = {"PACE_OCI_L3M_AOP": [], "PACE_OCI_L3M_RRS": l3}
    res = search_pace(get_source("pace_oci_l3m_aop"), parse_bbox("lake_erie"), parse_dates("2025-04-09"))
    assert res.short_name_used == "PACE_OCI_L3M_RRS"
    assert [g.file_name for g in res.granules] == ["PACE_OCI.20250409.L3m.DAY.RRS.V3_1.Rrs.4km.nc"]
    assert res.granules[0].size == 771334993  # global BoundingRectangle: kept
    assert any("short_name%5B%5D=PACE_OCI_L3M_RRS" in q for q in cmr.queries)


def test_unsafe_granule_name_is_excluded_not_written(cmr) -> None:
    rec = copy.deepcopy(cmr_records()[1])
    rec["umm"]["DataGranule"]["Identifiers"][0]["Identifier"] = "../../etc/evil.nc"
    cmr.records = [rec]
    res = search_pace(get_source("pace_oci_l2_aop"), parse_bbox("lake_erie"), parse_dates("2025-03-05"))
    assert res.granules == [] and "unsafe" in res.excluded[0].reason


def test_antimeridian_footprint_is_unwrapped() -> None:
    umm = {
        "SpatialExtent": {
            "HorizontalSpatialDomain": {
                "Geometry": {
                    "GPolygons": [
                        {
                            "Boundary": {
                                "Points": [
                                    {"Longitude": 170, "Latitude": 60},
                                    {"Longitude": -170, "Latitude": 60},
                                    {"Longitude": -170, "Latitude": 80},
                                    {"Longitude": 170, "Latitude": 80},
                                    {"Longitude": 170, "Latitude": 60},
                                ]
                            }
                        }
                    ]
                }
            }
        }
    }
    fp = umm_footprint(umm)
    assert fp is not None and fp.bounds[2] - fp.bounds[0] == pytest.approx(20)  # not a 340° band
    assert not intersects_region(fp, parse_bbox("lake_erie").water_or_geometry)
    assert intersects_region(fp, box(-175, 65, -172, 70))  # the part west of the antimeridian


def test_dedupe_key() -> None:
    assert dedupe_key("PACE_OCI.20250507T170659.L2.OC_AOP.V3_0.NRT.nc") == "PACE_OCI.20250507T170659.L2.OC_AOP.V3_0.nc"
    assert dedupe_key("PACE_OCI.20261007.L3m.DAY.BGC.V3_2.4km.NRT.nc") == "PACE_OCI.20261007.L3m.DAY.BGC.V3_2.4km.nc"


# ------------------------------------------------------------------------------ login


def test_login_missing_credentials_names_what_to_set(no_earthdata_env) -> None:
    with pytest.raises(AuthError) as ei:
        auth.earthdata_session_factory()
    msg = str(ei.value)
    assert "EARTHDATA_TOKEN" in msg and "EARTHDATA_USERNAME" in msg and ".netrc" in msg
    assert ei.value.exit_code == 2


def test_login_refused_is_auth_error(no_earthdata_env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EARTHDATA_USERNAME", "someone")
    monkeypatch.setenv("EARTHDATA_PASSWORD", "wrong-password-xyz")
    with responses.RequestsMock() as rs:
        rs.post(
            "https://urs.earthdata.nasa.gov/api/users/find_or_create_token",
            status=401,
            json={"error": "invalid_credentials"},
        )
        with pytest.raises(AuthError) as ei:
            auth.earthdata_session_factory()
    assert "refused" in str(ei.value) and "wrong-password-xyz" not in str(ei.value)


def test_login_netrc_then_bearer_session(no_earthdata_env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine urs.earthdata.nasa.gov login someone password right\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with responses.RequestsMock() as rs:
        rs.post(
            "https://urs.earthdata.nasa.gov/api/users/find_or_create_token",
            json={"access_token": "tok-from-netrc", "expiration_date": "12/31/2099"},
        )
        factory = auth.earthdata_session_factory()
    s = factory()
    assert s.headers["Authorization"] == "Bearer tok-from-netrc"
    assert json.dumps(dict(s.headers)).count("tok-from-netrc") == 1
