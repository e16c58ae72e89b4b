"""A fetch writes and prints no secret, follows only http(s) asset hrefs, and holds the raw/ lock.

The items are served by ``rustac serve`` on 127.0.0.1 with their asset hrefs rewritten:
signed-URL parameters and ``user:password@`` planted in them (the local server ignores
both), or local paths that a remote catalogue must not make spectm read.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from spectm.cli import main
from spectm.fetch.safety import remote_href_problem
from spectm.redact import redact

from .conftest import STAC_DATA, fetch_served_items, free_port, start_rustac, stop

WB = "lake_erie_western_basin"
SECRETS = [
    "PLANTEDSIG",
    "PLANTEDAMZSIG",
    "PLANTEDAMZTOKEN",
    "PLANTEDAMZCRED",
    "PLANTEDPW",
    "PLANTEDSKOID",
    "PLANTEDTOKEN",
]
SIGNED = (
    "?sv=2021-06-08&se=2030-01-01T00%3A00%3A00Z&sp=r&skoid=PLANTEDSKOID&sig=PLANTEDSIG"
    "&X-Amz-Signature=PLANTEDAMZSIG&X-Amz-Security-Token=PLANTEDAMZTOKEN&X-Amz-Credential=PLANTEDAMZCRED"
    "&token=PLANTEDTOKEN&keep=1"
)


def run_main(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(args)
    return int(exc.value.code or 0)


def _serve(items: list[dict], tmp_path: Path):
    f = tmp_path / "items.json"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": items}))
    return start_rustac([STAC_DATA / "earth-search-v1_sentinel-2-c1-l2a_collection.json", f])


def test_redact_cleans_urls_inside_any_text() -> None:
    msg = (
        "HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: /s2/B04.tif"
        + SIGNED
        + " (Caused by NewConnectionError) https://me:PLANTEDPW@host/x?a=1&sig=PLANTEDSIG Bearer abcdefghijklmnopqrstu"
    )
    r = redact(msg)
    assert not any(s in r for s in SECRETS) and "abcdefghijklmnopqrstu" not in r
    assert "/s2/B04.tif?keep=1" in r and "https://host/x?a=1" in r and "Max retries" in r


@pytest.mark.parametrize("clip", [True, False])
def test_planted_secrets_never_reach_any_output(
    assets,
    data_dir: Path,
    tmp_path: Path,
    clip: bool,
    capsys: pytest.CaptureFixture[str],
) -> None:
    item = copy.deepcopy(assets.items[0])  # LG1, all 12 assets on the local server
    for key, a in item["assets"].items():
        a["href"] = a["href"].replace("http://", "http://someone:PLANTEDPW@") + SIGNED
        if key == "thumbnail":
            a["alternate"] = {"s3": {"href": "s3://bucket/x.jpg" + SIGNED}}
    # one asset on a port where nothing listens: requests/GDAL put the URL in their error message
    item["assets"]["scl"]["href"] = f"http://127.0.0.1:{free_port()}/s2/SCL.tif" + SIGNED
    item["properties"]["spectm:note"] = "see https://x.test/p?sig=PLANTEDSIG"
    proc, url = _serve([item], tmp_path)
    try:
        code = run_main(
            [
                "-vv",
                "--data-dir",
                str(data_dir),
                "fetch",
                "--bbox",
                WB,
                "--dates",
                "2024-07-15",
                "--source",
                "s2_earth_search",
                "--stac-url",
                url,
                "--retries",
                "1",
                "--timeout",
                "5",
                "--clip" if clip else "--no-clip",
            ]
        )
    finally:
        stop(proc)
    out, err = capsys.readouterr()
    assert code == 1, err  # the unreachable SCL asset failed
    assert "Failed (1)" in out and "scl" in out
    m = json.loads((data_dir / "raw/manifest.json").read_text())
    [failed] = [i for i in m["items"] if i["status"] == "failed"]
    assert failed["asset"] == "scl" and failed["reason"] and "keep=1" in failed["url"]
    downloaded = [i for i in m["items"] if i["status"] == "downloaded"]
    assert len(downloaded) == 11  # the secrets did not stop the downloads; only their recording
    assert "DEBUG" in err  # -vv: spectm's debug log (retries, failures with their messages) is in stderr
    texts = {"stdout": out, "stderr": err}
    for p in data_dir.rglob("*"):
        if p.is_file():
            texts[str(p)] = p.read_bytes().decode("latin-1")
    leaks = {k: [s for s in SECRETS if s in v] for k, v in texts.items()}
    assert not any(leaks.values()), {k: v for k, v in leaks.items() if v}


def test_secrets_are_not_written_into_the_local_item(assets, data_dir: Path, tmp_path: Path) -> None:
    item = copy.deepcopy(assets.items[0])
    for a in item["assets"].values():
        a["href"] += SIGNED
        a["alternate"] = {"s3": {"href": "s3://bucket/x.tif" + SIGNED}}
    item["properties"]["spectm:note"] = "see https://x.test/p?sig=PLANTEDSIG"
    res = fetch_served_items([item], tmp_path, data_dir, clip=False, retries=1)
    assert res.ok and res.catalog_path is not None
    texts = [p.read_text() for p in (data_dir / "raw/catalog").rglob("*.json")]
    assert any(item["id"] in t for t in texts)
    assert not any(s in t for s in SECRETS for t in texts)
    local = json.loads((data_dir / f"raw/catalog/sentinel-2-c1-l2a/{item['id']}/{item['id']}.json").read_text())
    assert local["assets"]["red"]["spectm:source_href"].endswith("/B04.tif?keep=1")
    assert local["properties"]["spectm:note"] == "see https://x.test/p"


@pytest.mark.parametrize(
    "href",
    [
        "file:///etc/hostname",
        "/etc/hostname",
        "../../../../etc/hostname",
        "red.tif",
        "s3://sentinel-cogs/B04.tif",
        "ftp://host/B04.tif",
    ],
)
def test_remote_href_problem(href: str) -> None:
    assert remote_href_problem(href) is not None
    assert remote_href_problem("https://sentinel-cogs.s3.us-west-2.amazonaws.com/x/B04.tif") is None
    assert remote_href_problem("http://127.0.0.1:8000/x/B04.tif") is None


@pytest.mark.parametrize("clip", [True, False])
def test_local_paths_in_a_remote_item_are_refused(assets, data_dir: Path, tmp_path: Path, clip: bool) -> None:
    secret_file = tmp_path / "private.tif"
    secret_file.write_bytes((assets.root / assets.items[0]["assets"]["red"]["href"].split("/", 3)[3]).read_bytes())
    item = copy.deepcopy(assets.items[0])
    item["assets"]["red"]["href"] = f"file://{secret_file}"
    item["assets"]["green"]["href"] = str(secret_file)
    item["assets"]["blue"]["href"] = "../../../../../../" + str(secret_file).lstrip("/")
    item["assets"]["nir"]["href"] = "s3://sentinel-cogs/B08.tif"
    res = fetch_served_items([item], tmp_path, data_dir, clip=clip, retries=0)
    failed = {e.asset: e.reason for e in res.failed}
    assert set(failed) == {"red", "green", "blue", "nir"}
    assert all(r.startswith("refusing") for r in failed.values()), failed
    assert "s3://" in failed["nir"] and "local path" in failed["red"]
    for key in failed:
        assert not (data_dir / f"raw/s2/{item['id']}/{key}.tif").exists()
    assert res.sources["s2_earth_search"].downloaded == 8


def test_second_concurrent_fetch_is_refused(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from spectm.fetch.api import fetch_lock

    with fetch_lock(data_dir) as lock:
        assert lock == data_dir / "raw.lock"
        code = run_main(
            [
                "--data-dir",
                str(data_dir),
                "fetch",
                "--bbox",
                WB,
                "--dates",
                "2024-07-15",
                "--source",
                "s2_earth_search",
                "--dry-run",
            ]
        )
        err = capsys.readouterr().err
        assert code == 3
        assert err.count("error:") == 1 and "another spectm fetch" in err and "Traceback" not in err
    assert not (data_dir / "raw.lock").exists()


def test_manifest_keeps_every_run(tmp_path: Path) -> None:
    from spectm.fetch.manifest import Manifest

    m = Manifest(tmp_path / "manifest.json")
    for i in range(60):
        m.add_run({"started": f"run {i}"})
        m.finish_run({"finished": f"run {i}"})
    again = Manifest(tmp_path / "manifest.json")
    again.add_run({"started": "run 60"})
    runs = json.loads((tmp_path / "manifest.json").read_text())["runs"]
    assert [r["started"] for r in runs] == [f"run {i}" for i in range(61)]


def test_error_message_and_traceback_are_redacted(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A STAC API URL with a token that cannot be reached: the error line and the -vv traceback stay clean."""
    url = f"http://me:PLANTEDPW@127.0.0.1:{free_port()}/api?token=PLANTEDTOKEN"
    code = run_main(
        [
            "-vv",
            "--data-dir",
            str(data_dir),
            "fetch",
            "--bbox",
            WB,
            "--dates",
            "2024-07-15",
            "--source",
            "s2_earth_search",
            "--stac-url",
            url,
            "--dry-run",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "cannot search STAC API" in err and "Traceback" in err
    assert not [s for s in SECRETS if s in err]
