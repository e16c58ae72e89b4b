"""`spectm fetch` end to end: exit codes, summary, dry run, PACE download, secrets never written."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import pytest

from spectm.cli import main
from spectm.errors import BadInputError
from spectm.fetch.catalog import pace_path, s2_path
from spectm.fetch.safety import safe_join
from spectm.fetch.testserver import Fault, RangeServer
from spectm.redact import redact

from .conftest import CMR_DATA, cmr_records

NC = CMR_DATA / "PACE_OCI.20250305T160933.L2.OC_AOP.V3_1.subset10x10.nc"
NAME = "PACE_OCI.20250305T174755.L2.OC_AOP.V3_1.nc"
CLOUD_1747 = cmr_records()[1]["umm"]["CloudCover"]
TOKEN = "FAKE-EDL-TOKEN-5up3r-s3cr3t"


def run_main(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(args)
    return int(exc.value.code or 0)


@pytest.fixture
def pace_server(tmp_path: Path):
    """The loopback server holding the 17:47:55 granule (content: the real L2 AOP subset file)."""
    root = tmp_path / "obdaac"
    root.mkdir()
    (root / NAME).write_bytes(NC.read_bytes())
    with RangeServer(root) as srv:
        yield srv


def local_records(srv: RangeServer) -> list[dict]:
    """Real UMM-G records; the 17:47:55 one's GET DATA link and SizeInBytes point at the loopback copy."""
    recs = cmr_records()
    r = copy.deepcopy(recs[1])
    for u in r["umm"]["RelatedUrls"]:
        if u["Type"] == "GET DATA":
            u["URL"] = srv.url_for(NAME)
    r["umm"]["DataGranule"]["ArchiveAndDistributionInformation"][0]["SizeInBytes"] = NC.stat().st_size
    return [recs[0], r, recs[2]]


def _pace_fetch(data_dir: Path, *extra: str) -> list[str]:
    """``spectm --data-dir D fetch`` of the recorded PACE granule's day (argv, without the program name)."""
    return [
        "--data-dir",
        str(data_dir),
        "fetch",
        "--bbox",
        "lake_erie",
        "--dates",
        "2025-03-05",
        "--source",
        "pace_oci_l2_aop",
        *extra,
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["--bbox", "-83,45,-84,46", "--dates", "2024-06"],
        ["--bbox", "atlantis", "--dates", "2024-06"],
        ["--bbox", "lake_erie", "--dates", "2024-13"],
        ["--bbox", "lake_erie", "--dates", "2024-06", "--tiles", "17XYZ9"],
        ["--bbox", "lake_erie", "--dates", "2024-06", "--source", "no_such_source"],
        ["--bbox", "lake_erie", "--dates", "2024-06", "--threads", "0"],
        ["--bbox", "lake_erie", "--dates", "2024-06", "--max-cloud-cover", "120"],
    ],
)
def test_bad_input_is_exit_2(args: list[str], data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(["--data-dir", str(data_dir), "fetch", *args]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_pace_fetch_with_token_never_leaks_it(
    cmr,
    pace_server: RangeServer,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    no_earthdata_env: None,
) -> None:
    monkeypatch.setenv("EARTHDATA_TOKEN", TOKEN)
    cmr.records = local_records(pace_server)
    caplog.set_level(logging.DEBUG)
    code = run_main(["-vv", *_pace_fetch(data_dir)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "downloaded" in out and "pace_oci_l2_aop" in out, out
    # the real earthaccess environment login put the token on the wire (and only there)
    assert len(pace_server.state.requests_for("/" + NAME)) == 1, out
    [req] = pace_server.state.requests_for("/" + NAME)
    assert req.authorization == f"Bearer {TOKEN}"
    local = pace_path(data_dir, NAME)
    assert local.read_bytes() == NC.read_bytes()
    written = [p for p in (data_dir / "raw").rglob("*") if p.is_file() and p.suffix == ".json"]
    assert written
    for text in [out, err, caplog.text, *(p.read_text() for p in written)]:
        assert TOKEN not in text
    m = json.loads((data_dir / "raw/manifest.json").read_text())
    by_status = {i["id"]: i for i in m["items"]}
    item = by_status[NAME[:-3]]
    assert (item["status"], item["size_check"], item["path"]) == ("downloaded", "ok", f"raw/pace/{NAME}")
    assert (m["sources"]["pace_oci_l2_aop"]["searched"], m["sources"]["pace_oci_l2_aop"]["found"]) == (3, 1)
    assert sorted(i["status"] for i in m["items"]) == ["downloaded", "excluded", "excluded"]
    assert m["generator"] == "fetch" and m["region"]["name"] == "lake_erie"
    # the catalog item follows docs/data-layout.md
    it = json.loads((data_dir / f"raw/catalog/PACE_OCI_L2_AOP/{NAME[:-3]}/{NAME[:-3]}.json").read_text())
    p = it["properties"]
    assert it["assets"]["data"]["href"] == f"../../../pace/{NAME}"
    assert it["assets"]["data"]["file:size"] == NC.stat().st_size
    assert (p["processing:level"], p["pace:short_name"], p["pace:version"], p["pace:nrt"], p["pace:product"]) == (
        "L2",
        "PACE_OCI_L2_AOP",
        "3.1",
        False,
        "L2_AOP",
    )
    assert p["spectm:source"] == "pace_oci_l2_aop" and p["eo:cloud_cover"] == CLOUD_1747
    assert p["start_datetime"] == "2025-03-05T17:47:55Z" and p["end_datetime"] == "2025-03-05T17:52:55Z"
    # rerun: verified by size without logging in, nothing requested
    monkeypatch.delenv("EARTHDATA_TOKEN")
    assert run_main(_pace_fetch(data_dir)) == 0
    assert len(pace_server.state.requests_for("/" + NAME)) == 1


def test_dry_run_prints_counts_and_bytes_and_needs_no_login(
    cmr,
    pace_server: RangeServer,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    no_earthdata_env: None,
) -> None:
    cmr.records = local_records(pace_server)
    assert run_main(_pace_fetch(data_dir, "--dry-run")) == 0
    out = capsys.readouterr().out
    assert "dry run" in out and f"{NC.stat().st_size / 1000:,.1f} KB" in out
    assert pace_server.state.log == []
    assert not (data_dir / "raw/pace").exists()
    m = json.loads((data_dir / "raw/manifest.json").read_text())
    assert [i["status"] for i in m["items"] if i["id"] == NAME[:-3]] == ["planned"]


def test_pipeline_stage_raises_after_recording_a_failed_file(
    cmr, pace_server: RangeServer, data_dir: Path, monkeypatch: pytest.MonkeyPatch, no_earthdata_env: None
) -> None:
    """``spectm run``'s fetch stage fails on a failed file (so the run stops there), and the
    manifest already holds the failure for the rerun that resumes."""
    from spectm.config import Pipeline
    from spectm.errors import FetchError
    from spectm.fetch.stage import run_stage

    monkeypatch.setenv("EARTHDATA_TOKEN", TOKEN)
    cmr.records = local_records(pace_server)
    pace_server.state.add_fault("/" + NAME, Fault("404", times=10))
    p = Pipeline(
        name="t", region="lake_erie", dates="2025-03-05", stages=["fetch"], fetch={"sources": ["pace_oci_l2_aop"]}
    )
    with pytest.raises(FetchError, match=r"1 file\(s\) failed.*gone \(HTTP 404\)"):
        run_stage(p, data_dir)
    m = json.loads((data_dir / "raw/manifest.json").read_text())
    assert [i["status"] for i in m["items"] if i["id"] == NAME[:-3]] == ["failed"]


def test_failure_exit_1_unless_continue_on_error(
    cmr,
    pace_server: RangeServer,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    no_earthdata_env: None,
) -> None:
    monkeypatch.setenv("EARTHDATA_TOKEN", TOKEN)
    cmr.records = local_records(pace_server)
    pace_server.state.add_fault("/" + NAME, Fault("404", times=10))
    args = _pace_fetch(data_dir)
    assert run_main(args) == 1
    out, err = capsys.readouterr()
    assert "Failed (1)" in out and "gone (HTTP 404)" in out and "manifest.json" in err
    assert run_main([*args, "--continue-on-error"]) == 0
    m = json.loads((data_dir / "raw/manifest.json").read_text())
    failed = [i for i in m["items"] if i["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["reason"].startswith("gone (HTTP 404)")
    assert not pace_path(data_dir, NAME).exists()


def test_html_error_page_of_the_right_size_is_rejected(
    cmr,
    pace_server: RangeServer,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_earthdata_env: None,
) -> None:
    monkeypatch.setenv("EARTHDATA_TOKEN", TOKEN)
    html = b"<html>login required</html>".ljust(NC.stat().st_size, b" ")
    (pace_server.state.root / NAME).write_bytes(html)
    cmr.records = local_records(pace_server)
    from spectm.fetch import fetch

    res = fetch(
        "lake_erie", "2025-03-05", data_dir=data_dir, sources=["pace_oci_l2_aop"], retries=0, raise_on_failure=False
    )
    [e] = res.failed
    assert e.reason.startswith("the server sent a web page") and e.quarantine == f"raw/quarantine/pace/{NAME}"
    assert e.reason.endswith(f"quarantined at raw/quarantine/pace/{NAME}")
    assert not pace_path(data_dir, NAME).exists()
    assert (data_dir / e.quarantine).read_bytes() == html  # kept for the user to look at, away from raw/pace


def test_right_size_file_that_is_not_netcdf_is_quarantined(
    cmr,
    pace_server: RangeServer,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_earthdata_env: None,
) -> None:
    monkeypatch.setenv("EARTHDATA_TOKEN", TOKEN)
    junk = b"\x00junk" * (NC.stat().st_size // 5)
    (pace_server.state.root / NAME).write_bytes(junk.ljust(NC.stat().st_size, b"\x00"))
    cmr.records = local_records(pace_server)
    from spectm.fetch import fetch

    res = fetch(
        "lake_erie", "2025-03-05", data_dir=data_dir, sources=["pace_oci_l2_aop"], retries=0, raise_on_failure=False
    )
    [e] = res.failed
    assert e.reason.startswith("downloaded file is not NetCDF-4/HDF5") and e.quarantine == f"raw/quarantine/pace/{NAME}"
    m = json.loads((data_dir / "raw/manifest.json").read_text())
    [rec] = [i for i in m["items"] if i["status"] == "failed"]
    assert rec["quarantine"] == e.quarantine and "quarantined at" in rec["reason"]
    assert (data_dir / e.quarantine).exists() and not pace_path(data_dir, NAME).exists()


def test_paths_outside_data_dir_are_refused(tmp_path: Path) -> None:
    for bad in ("../evil.nc", "/etc/passwd", "..", "a/b.nc", ".hidden", ""):
        with pytest.raises(BadInputError):
            pace_path(tmp_path, bad)
    with pytest.raises(BadInputError):
        s2_path(tmp_path, "../../x", "red")
    with pytest.raises(BadInputError):
        s2_path(tmp_path, "S2A_T17TLG_20240715T163901_L2A", "../red")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "pace").symlink_to("/tmp")
    with pytest.raises(BadInputError, match="outside the data directory"):
        safe_join(tmp_path / "raw", "pace", "x.nc")


def test_redact_url_removes_sas_and_userinfo() -> None:
    u = "https://user:pw@sentinel2l2a01.blob.core.windows.net/c/B04.tif?st=2024&se=2025&sp=rl&sv=2021&sr=c&sig=SECRET%3D&keep=1"
    r = redact(u)
    assert "SECRET" not in r and "pw" not in r and "user" not in r and "sig=" not in r and "keep=1" in r
    assert redact("https://x/a.nc?X-Amz-Signature=abc&X-Amz-Credential=k") == "https://x/a.nc"


def test_planetary_computer_without_extra_names_the_install(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        import planetary_computer  # noqa: F401

        pytest.skip("planetary-computer is installed")
    except ImportError:
        pass
    assert (
        run_main(
            [
                "--data-dir",
                str(data_dir),
                "fetch",
                "--bbox",
                "lake_erie",
                "--dates",
                "2024-06",
                "--source",
                "s2_planetary_computer",
                "--dry-run",
            ]
        )
        == 2
    )
    assert "pip install 'spectm[planetary]'" in capsys.readouterr().err


def test_unreachable_stac_api_is_a_clear_error(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from .conftest import free_port

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    assert (
        run_main(
            [
                "--data-dir",
                str(data_dir),
                "fetch",
                "--bbox",
                "lake_erie",
                "--dates",
                "2024-06",
                "--source",
                "s2_earth_search",
                "--stac-url",
                url,
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "cannot search STAC API" in err and "Traceback" not in err


def test_http_401_triggers_one_fresh_login_and_retry(
    cmr,
    pace_server: RangeServer,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import requests

    from spectm.fetch import auth, fetch

    logins = []

    def fake_login():
        logins.append(1)
        return requests.Session

    monkeypatch.setattr(auth, "earthdata_session_factory", fake_login)
    cmr.records = local_records(pace_server)
    pace_server.state.add_fault("/" + NAME, Fault("401", times=1))  # e.g. an expired token
    res = fetch("lake_erie", "2025-03-05", data_dir=data_dir, sources=["pace_oci_l2_aop"])
    assert res.ok and len(logins) == 2
    assert [r.status for r in pace_server.state.requests_for("/" + NAME)] == [401, 200]
    assert [e.status for e in res.entries if e.id == NAME[:-3]] == ["downloaded"]
