"""End to end with the regress stage's real artefact: save_regressor → spectm predict → map cube.

The regressor is untrained (random weights, a tiny encoder): what is tested is the wiring —
checkpoint resolution in a regress run, load_regressor, band selection, chip cutting and the
mosaic — so the maps must equal ``predict_chips`` on chips cut by hand from the cube.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from spectm.cli import main
from tests.join.helpers import WL, CubeSpec, base_rrs, write_cube


def _cli(*args: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    assert exc.value.code == 0


def _save(run_dir: Path, model: str, horizon: str, chip_size: int = 4) -> Path:
    from spectm.pretrain.mae import MAEConfig, SpectralMAE
    from spectm.pretrain.objective import Stats
    from spectm.regress.head import PixelRegressor
    from spectm.regress.regressor import save_regressor

    torch.manual_seed(0)
    names = ["ci", "ndci"]
    enc = SpectralMAE(
        MAEConfig(
            patch_size=4,
            dim=16,
            depth=1,
            heads=2,
            decoder_dim=16,
            decoder_depth=1,
            decoder_heads=2,
            n_indices=len(names),
            wavelength_freqs=4,
        )
    )
    stats = Stats(
        torch.full((WL.size,), 0.006), torch.full((WL.size,), 0.003), torch.zeros(len(names)), torch.ones(len(names))
    )
    net = PixelRegressor(enc, stats, WL.tolist(), names, hidden=8, dropout=0.0)
    out = run_dir / "regressor" / f"{model}_{horizon}"
    save_regressor(
        out,
        net,
        {
            "model": model,
            "horizon": horizon,
            "sensor": "pace",
            "chip_size": chip_size,
            "chip_time": 1,
            "lead_days": 8 if horizon == "ahead" else 0,
            "y_mean": 0.5,
            "y_std": 0.4,
            "features": "default",
        },
    )
    return out


def test_predict_with_a_saved_regressor_matches_predict_chips(data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    from spectm.regress import load_regressor

    r = base_rrs(3)
    r[:, :, 2, 2] = np.nan
    r[1, :, 8:12, 8:12] = np.nan  # a clouded tile on day 2
    write_cube(data_dir, CubeSpec(days=["2024-08-01", "2024-08-02", "2024-08-03"], rrs=r))
    run = data_dir / "runs" / "demo-regress-abc"
    _save(run, "spectm-frozen", "current")
    fine = _save(run, "spectm-finetune", "current")
    _save(run, "spectm-finetune", "ahead")

    _cli(
        "--data-dir",
        str(data_dir),
        "predict",
        "--checkpoint",
        "demo-regress-abc",
        "--dates",
        "2024-08",
        "--name",
        "e2e",
        "--overlap",
        "0",
    )
    out = capsys.readouterr().out
    assert "maps/e2e.zarr" in out.replace("\\", "/") and "3 PNGs" in out
    ds = xr.open_zarr(data_dir / "maps" / "e2e.zarr", consolidated=False)
    prov = ds.attrs["spectm_provenance"]
    assert "spectm-finetune_current" in prov and '"model": "spectm-finetune"' in prov  # the preferred model

    reg = load_regressor(fine)
    tiles = [(r0, c0) for r0 in (0, 4, 8) for c0 in (0, 4, 8)]
    for t in range(3):
        chips = np.stack([r[t, :, r0 : r0 + 4, c0 : c0 + 4] for r0, c0 in tiles])[:, None]
        want = reg.predict_chips(chips.astype(np.float32), np.zeros((len(tiles), 1), np.float32))
        got = ds["mc_log10"].isel(time=t).values
        for (r0, c0), w in zip(tiles, want, strict=True):
            if t == 1 and (r0, c0) == (8, 8):
                assert np.isnan(got[8:12, 8:12]).all()  # skipped: no valid cell
                continue
            np.testing.assert_allclose(got[r0 : r0 + 4, c0 : c0 + 4], w, rtol=1e-5, atol=1e-6)
    assert np.isnan(ds["mc_log10"].values[:, 2, 2]).all()
    assert int(ds["tiles_no_valid"].values[1]) == 1

    # the ahead regressor: target_date is the imagery date + 8 days
    _cli(
        "--data-dir",
        str(data_dir),
        "predict",
        "--checkpoint",
        str(run),
        "--horizon",
        "ahead",
        "--dates",
        "2024-08-01",
        "--name",
        "ahead",
        "--no-png",
    )
    ah = xr.open_zarr(data_dir / "maps" / "ahead.zarr", consolidated=False)
    lag = (ah["target_date"].values - ah["time"].values) / np.timedelta64(1, "D")
    assert lag.tolist() == [8.0]


def test_ambiguous_or_missing_regressor_exits_2(data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    write_cube(data_dir, CubeSpec(days=["2024-08-01"], rrs=base_rrs(1)))
    run = data_dir / "runs" / "r"
    _save(run, "spectm-frozen", "current")
    for args, needle in [
        (["--model", "spectm-finetune"], "has no regressor spectm-finetune_current"),
        (["--horizon", "ahead"], "no single regressor for horizon 'ahead'"),
    ]:
        with pytest.raises(SystemExit) as exc:
            main(["--data-dir", str(data_dir), "predict", "--checkpoint", str(run), "--dates", "2024-08", *args])
        assert exc.value.code == 2
        assert needle in capsys.readouterr().err


def test_each_regressor_class_has_its_own_name(tmp_path: Path) -> None:
    """The saved artefact loads as a SavedRegressor wrapping the torch PixelRegressor and satisfies
    predict's ChipPredictor; the files name no class, so artefacts written before the rename still load."""
    import spectm.predict
    import spectm.regress
    from spectm.predict.regressor import ChipPredictor
    from spectm.regress.head import PixelRegressor
    from spectm.regress.regressor import SavedRegressor

    out = _save(tmp_path / "run", "spectm-frozen", "current")
    reg = spectm.regress.load_regressor(out)
    assert type(reg) is SavedRegressor and isinstance(reg, ChipPredictor)
    assert type(reg.model) is PixelRegressor and repr(reg).startswith("SavedRegressor(spectm-frozen, current")
    assert spectm.regress.SavedRegressor is SavedRegressor and spectm.predict.ChipPredictor is ChipPredictor
    assert not hasattr(spectm.regress, "Regressor") and not hasattr(spectm.predict, "Regressor")
    assert "Regressor" not in (out / "regressor.json").read_text(encoding="utf-8")
