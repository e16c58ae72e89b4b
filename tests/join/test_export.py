"""``spectm features export``: match-ups as CSV and GeoPackage, read back with pandas / GeoPandas."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from spectm.cli import main
from spectm.join import join, load_matchups
from spectm.join.export import export_matchups

from .test_matchup import scene  # noqa: F401


def _run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(args)
    return int(exc.value.code or 0)


def test_csv_and_gpkg_hold_every_matchup(scene, tmp_path):  # noqa: F811
    join("m", data_dir=scene, unlabeled_per_date=0)
    ref = load_matchups(scene, "m")
    csv, n = export_matchups(scene, "m", tmp_path / "m.csv")
    assert n == len(ref) > 0
    df = pd.read_csv(csv)
    assert len(df) == len(ref) and {"lon", "lat"} <= set(df.columns)
    np.testing.assert_allclose(df["lon"], ref.geometry.x) and np.testing.assert_allclose(df["lat"], ref.geometry.y)
    np.testing.assert_allclose(df["label_log10"], ref["label_log10"])
    assert df["time_utc"].str.endswith("Z").all() and "geometry" not in df
    gpkg, n2 = export_matchups(scene, "m", tmp_path / "m.gpkg", horizon="current")
    g = gpd.read_file(gpkg, layer="m")
    cur = ref[ref.horizon == "current"].reset_index(drop=True)
    assert n2 == len(g) == len(cur) and g.crs.to_epsg() == 4326
    np.testing.assert_allclose(g.geometry.x, cur.geometry.x)
    assert list(g["sample_id"]) == list(cur["sample_id"])
    assert not list(tmp_path.glob(".*partial*"))


def test_cli_export_and_bad_format(scene, tmp_path, capsys):  # noqa: F811
    join("m", data_dir=scene, unlabeled_per_date=0)
    out = tmp_path / "x.gpkg"
    assert _run(["--data-dir", str(scene), "features", "export", "m", "-o", str(out)]) == 0
    assert out.exists() and "exported" in capsys.readouterr().out
    assert _run(["--data-dir", str(scene), "features", "export", "m", "-o", str(tmp_path / "x.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "unknown export format" in err and "--format csv" in err and "Traceback" not in err
    assert _run(["--data-dir", str(scene), "features", "export", "nope", "-o", str(tmp_path / "a.csv")]) != 0
