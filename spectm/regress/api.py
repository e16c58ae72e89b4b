"""``fit_predict``: train one model on one horizon and return its val + test predictions.

This is the one function behind the ``regress`` stage and the evaluation protocol
(``spectm.evaluate`` calls it per model × horizon × seed × label fraction). It returns the
PREDICTIONS table (columns :data:`~spectm.regress.predictions.PREDICTION_COLUMNS`, one row per val/test sample) with
``attrs`` holding what it did: ``counts`` (every row not used, by reason), ``params`` (the
hyperparameters chosen on val), ``val_rmse`` and ``train_sample_ids`` (exactly the rows
the model was fitted on).

Besides the models of the ``regress`` stage it fits the evaluation's reference rows
(:mod:`spectm.regress.references`: ``climatology``, ``ceiling-<regressor>``,
``ceiling-chl-<regressor>``) on exactly the rows the baselines use, and with ``cv_season`` it
replaces the store's splits by one fold of leave-one-season-out
(:func:`spectm.join.splits.season_fold_splits`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spectm.config import REGRESS_MODELS, SPECTM_MODELS, RegressSection
from spectm.console import log
from spectm.errors import BadInputError, DataNotFoundError, SchemaError
from spectm.join import read_manifest
from spectm.join.splits import season_fold_splits
from spectm.regress.baselines import fit_baseline
from spectm.regress.data import NoChipsError, load_chip_rows, load_table, select_rows
from spectm.regress.predictions import censoring, predictions_frame
from spectm.regress.references import WeekClimatology, insitu_matrix, parse_reference

TORCH_MODELS = SPECTM_MODELS


@contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """Limit torch and the BLAS/OpenMP pools (scikit-learn) to ``n`` threads for a fit, then restore.

    The fits are small: one thread avoids OpenMP synchronisation overhead, which on a shared
    or busy CPU made a 2-thread frozen fit ~8× slower than a 1-thread one (docs/regress.md).
    """
    if n is None:
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before)


def _resolve_device(name: str) -> Any:
    import torch

    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def fit_predict(
    data_dir: Path | str,
    features: str,
    *,
    model: str,
    horizon: str,
    seed: int,
    label_fraction: float = 1.0,
    encoder: Path | None = None,
    params: RegressSection | None = None,
    out_dir: Path | None = None,
    cv_season: int | None = None,
) -> pd.DataFrame:
    """Train ``model`` on the (``label_fraction``-subsampled) train rows of ``horizon``; predict val + test.

    ``encoder`` (a pretrain run dir) is required for the spectm models; with ``out_dir`` they
    also save their regressor artefact there. ``cv_season``: the fold of leave-one-season-out
    that holds this season out (test), validates on the most recent other season and trains
    on the rest. See docs/regress.md and docs/evaluate.md.
    """

    data_dir = Path(data_dir)
    reference = parse_reference(model)
    if model not in REGRESS_MODELS and reference is None:
        raise BadInputError(
            f"unknown model '{model}'",
            f"use one of {', '.join(REGRESS_MODELS)}, climatology, ceiling-<baseline> or ceiling-chl-<baseline>",
        )
    params = params or RegressSection(features=features)
    is_torch = model in TORCH_MODELS
    if is_torch and encoder is None:
        raise BadInputError(
            f"model '{model}' needs a pretrained encoder",
            "pass encoder=<pretrain run dir> (or run `spectm train pretrain` first)",
        )
    t0 = time.perf_counter()
    table = load_table(data_dir, features)
    manifest = read_manifest(data_dir, features) or {}
    jp = dict(manifest.get("params", {}))
    label = str(jp.get("label", "pmc_ugL"))
    if cv_season is not None:
        buffer = float(jp.get("buffer_days", 2)) + float(jp.get("lead_days", 8))
        table["split"] = season_fold_splits(table["date"].to_numpy("datetime64[D]"), int(cv_season), buffer)
    same = params.rows == "chips"
    note = ""
    try:
        rows = select_rows(
            table,
            horizon=horizon,
            seed=seed,
            label_fraction=label_fraction,
            need_chip=is_torch or same,
            need_features=(not is_torch) or same,
        )
    except NoChipsError as exc:
        if is_torch:
            raise  # the caller skips this model with the reason
        # a baseline needs no chip: fit it on every match-up rather than not at all, and say so
        rows = select_rows(
            table, horizon=horizon, seed=seed, label_fraction=label_fraction, need_chip=False, need_features=True
        )
        note = f"{exc.message}; fitted on all match-ups (rows: all)"
        log.warning("%s %s: %s", model, horizon, note)
    cens = {k: censoring(getattr(rows, k), label) for k in ("train", "val", "test")}
    masking = tasks = encoder_run = ""
    info: dict[str, Any] = {}
    with cpu_threads(params.cpu_threads):
        if is_torch:
            preds, info, (masking, tasks, encoder_run) = _fit_torch(
                data_dir, features, model, horizon, seed, rows, cens, Path(encoder), params, jp, out_dir
            )
        elif reference is not None:
            rows, cens, preds, info = _fit_reference(reference, rows, cens, seed, features)
        else:
            cols = rows.feature_columns
            fit = fit_baseline(
                model,
                rows.train[cols].to_numpy(np.float64),
                rows.train["label_log10"].to_numpy(float),
                rows.val[cols].to_numpy(np.float64),
                rows.val["label_log10"].to_numpy(float),
                seed,
            )
            preds = {
                k: fit.estimator.predict(getattr(rows, k)[cols].to_numpy(np.float64))
                if len(getattr(rows, k))
                else np.zeros(0)
                for k in ("val", "test")
            }
            info = {"params": fit.params, "val_rmse": fit.val_rmse}
    n_train = len(rows.train)
    out = pd.concat(
        [
            predictions_frame(
                getattr(rows, k),
                k,
                preds[k],
                model=model,
                horizon=horizon,
                seed=seed,
                label_fraction=label_fraction,
                n_train=n_train,
                masking=masking,
                tasks=tasks,
                encoder_run=encoder_run,
                censored=cens[k][0],
            )
            for k in ("val", "test")
        ],
        ignore_index=True,
    )
    if not np.isfinite(out["y_pred"]).all():
        raise SchemaError(
            f"{model} produced non-finite predictions for {int((~np.isfinite(out['y_pred'])).sum())} rows",
            "check the inputs for NaN/inf values",
        )
    c = rows.counts
    if c.no_chip or c.missing_features or c.excluded_split or c.no_label:
        log.info(
            "%s %s: %d match-ups; not used: %d excluded split, %d no label, %d without chip%s, "
            "%d with missing features",
            model,
            horizon,
            c.matchups,
            c.excluded_split,
            c.no_label,
            c.no_chip,
            "" if (is_torch or same) else " (kept for baselines)",
            c.missing_features,
        )
    out.attrs.update(
        {
            "note": note,
            "counts": c.as_dict(),
            "params": info.get("params", {}),
            "val_rmse": info.get("val_rmse"),
            "train_sample_ids": rows.train["sample_id"].astype(str).tolist(),
            "seconds": time.perf_counter() - t0,
            "manifest_key": manifest.get("key"),
        }
    )
    return out


def _fit_reference(
    reference: tuple[str, str | None],
    rows: Any,
    cens: dict[str, tuple[np.ndarray, np.ndarray]],
    seed: int,
    features: str,
) -> tuple[Any, dict, dict[str, np.ndarray], dict[str, Any]]:
    """Climatology or an in-situ ceiling on the baselines' rows; rows without the pigment are dropped, counted."""
    from dataclasses import replace

    kind, reg = reference
    if reg is None:
        clim = WeekClimatology().fit(rows.train["date"], rows.train["label_log10"].to_numpy(float))
        preds = {
            k: clim.predict(getattr(rows, k)["date"]) if len(getattr(rows, k)) else np.zeros(0) for k in ("val", "test")
        }
        return (
            rows,
            cens,
            preds,
            {"params": {"half_width_weeks": clim.half_width, "min_rows": clim.min_rows}, "val_rmse": None},
        )
    x = {k: insitu_matrix(getattr(rows, k), kind, features) for k in ("train", "val", "test")}
    ok = {k: np.isfinite(v).all(axis=1) for k, v in x.items()}
    dropped = {k: int((~v).sum()) for k, v in ok.items()}
    if ok["train"].sum() < 2:
        raise DataNotFoundError(
            f"only {int(ok['train'].sum())} train rows have measured {kind} pigments",
            "join samples with chlorophyll/phycocyanin, or leave the ceiling out (evaluate.references)",
        )
    new = replace(rows, **{k: getattr(rows, k)[ok[k]].reset_index(drop=True) for k in ("train", "val", "test")})
    new.counts.missing_features += sum(dropped.values())
    cens = {k: (c[ok[k]], lod[ok[k]]) for k, (c, lod) in cens.items()}
    x = {k: v[ok[k]] for k, v in x.items()}
    fit = fit_baseline(
        reg,
        x["train"],
        new.train["label_log10"].to_numpy(float),
        x["val"],
        new.val["label_log10"].to_numpy(float),
        seed,
    )
    preds = {k: fit.estimator.predict(x[k]) if len(x[k]) else np.zeros(0) for k in ("val", "test")}
    return new, cens, preds, {"params": {**fit.params, "insitu_rows_dropped": dropped}, "val_rmse": fit.val_rmse}


def _feature_key(encoder: Path, chips: np.ndarray, days: np.ndarray) -> str:
    """The frozen-feature cache key: the encoder file (path, size, mtime) and the chips' bytes.

    Hashing the chips themselves (not their row numbers) keeps the key right when a feature
    store is rebuilt in place; ~0.2 s for 1,000 chips against ~10 s to encode them.
    """
    import hashlib

    path = Path(encoder)
    path = path / "model.safetensors" if path.is_dir() else path
    st = path.stat()
    h = hashlib.blake2b(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode(), digest_size=16)
    h.update(np.ascontiguousarray(chips).view(np.uint8).reshape(-1))
    h.update(np.ascontiguousarray(days).view(np.uint8).reshape(-1))
    return f"{h.hexdigest()}:{chips.shape}"


def _fit_torch(
    data_dir: Path,
    features: str,
    model: str,
    horizon: str,
    seed: int,
    rows: Any,
    cens: dict[str, tuple[np.ndarray, np.ndarray]],
    encoder: Path,
    params: RegressSection,
    jp: dict[str, Any],
    out_dir: Path | None,
) -> tuple[dict[str, np.ndarray], dict[str, Any], tuple[str, str, str]]:
    import torch

    from spectm.regress.fit_torch import ChipSet, fit_finetune, fit_frozen, predict_sets
    from spectm.regress.head import load_encoder
    from spectm.regress.regressor import save_regressor

    device = _resolve_device(params.device)
    enc = load_encoder(encoder)
    window = int(jp.get("pixel_window", 3))
    sets: dict[str, ChipSet] = {}
    attrs: dict[str, Any] = {}
    for k in ("train", "val", "test"):
        r = getattr(rows, k)
        chips, days, wl, attrs = load_chip_rows(data_dir, features, r["chip_index"].to_numpy(np.int64))
        if len(wl) != len(enc.wavelengths) or not np.allclose(wl, enc.wavelengths, atol=0.5):
            raise SchemaError(
                f"features/{features} has {len(wl)} bands but encoder {enc.run_id} was pretrained on "
                f"{len(enc.wavelengths)}",
                "use an encoder pretrained on chips of the same sensor",
            )
        h = chips.shape[-1]
        rr = r["chip_row"].to_numpy(int) if "chip_row" in r else np.full(len(r), h // 2)
        cc = r["chip_col"].to_numpy(int) if "chip_col" in r else np.full(len(r), h // 2)
        key = _feature_key(encoder, chips, days)
        sets[k] = ChipSet.build(
            chips, days, rr, cc, window, r["label_log10"].to_numpy(float), cens[k][0], cens[k][1], key
        )
    torch.manual_seed(seed)
    fitter = fit_frozen if model == "spectm-frozen" else fit_finetune
    fit = fitter(enc, sets["train"], sets["val"], params, seed, device)
    preds = {k: predict_sets(fit, sets[k], device) if len(sets[k]) else np.zeros(0) for k in ("val", "test")}
    if out_dir is not None:
        tr = sets["train"].chips
        save_regressor(
            out_dir,
            fit.model,
            {
                "model": model,
                "horizon": horizon,
                "sensor": attrs.get("sensor", "pace"),
                "chip_size": int(tr.shape[-1]),
                "chip_time": int(tr.shape[1]),
                "lead_days": int(jp.get("lead_days", 8)) if horizon == "ahead" else 0,
                "pixel_window": window,
                "y_mean": fit.y_mean,
                "y_std": fit.y_std,
                "censoring": params.censoring,
                "encoder_run": enc.run_id,
                "masking": enc.masking,
                "tasks": enc.tasks,
                "features": features,
                "seed": seed,
                "n_train": len(sets["train"]),
                "chosen": fit.params,
                "val_rmse": fit.val_rmse,
            },
        )
    return preds, {"params": fit.params, "val_rmse": fit.val_rmse}, (enc.masking, enc.tasks, enc.run_id)
