"""The regressor artefact: ``regressor.safetensors`` + ``regressor.json``, and ``load_regressor``.

``regressor.safetensors`` holds tensors only (no pickle): the encoder's weights (``mae.*``),
the head's (``head.*``) and the normalisation statistics (``stats.*``). ``regressor.json``
says everything needed to rebuild and use it: the encoder config, the sensor and its
wavelengths, the chip size and time steps it was trained on, the horizon and its lead,
the head's shape and the target's standardisation, and provenance (model kind, encoder
run, its masking and tasks, hyperparameters chosen on val).

``SavedRegressor.predict_chips`` gives per-pixel log10 microcystin maps (design: docs/regress.md
and :mod:`spectm.regress.head`).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spectm import __version__
from spectm.errors import DataNotFoundError, SchemaError
from spectm.pretrain.mae import MAEConfig, SpectralMAE
from spectm.pretrain.objective import Stats
from spectm.provenance import atomic_write, atomic_write_text
from spectm.regress.head import PixelRegressor, valid_pixels

WEIGHTS = "regressor.safetensors"
META = "regressor.json"
FORMAT = "spectm-regressor-v1"
PREDICT_BATCH = 64


def save_regressor(out_dir: Path, model: PixelRegressor, meta: dict[str, Any]) -> Path:
    """Write both files (each atomically: temp file + rename)."""
    from safetensors.torch import save_file

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = {f"mae.{k}": v.detach().cpu().contiguous() for k, v in model.encoder.state_dict().items()}
    tensors.update({f"head.{k}": v.detach().cpu().contiguous() for k, v in model.head.state_dict().items()})
    tensors.update({f"stats.{k}": v.detach().cpu().contiguous() for k, v in model.stats.as_dict().items()})
    full = {
        "format": FORMAT,
        "spectm_version": __version__,
        "model_config": asdict(model.encoder.cfg),
        "wavelengths": [float(w) for w in model.wl.tolist()],
        "index_names": model.index_names,
        "head": {"n_in": model.head.n_in, "hidden": model.head.hidden, "dropout": model.head.dropout},
        "unseen_bands": model.unseen_bands,
        "downstream_bands": model.downstream_bands,
        **meta,
    }
    atomic_write(out_dir / WEIGHTS, lambda tmp: save_file(tensors, str(tmp)))
    atomic_write_text(out_dir / META, json.dumps(full, indent=2, default=str))
    return out_dir


class SavedRegressor:
    """A trained microcystin regressor loaded from its artefact (see :func:`load_regressor`).

    It wraps the torch :class:`~spectm.regress.head.PixelRegressor` with what its files say
    (sensor, bands, chip shape, horizon, target scaling), so ``predict_chips`` takes raw
    reflectance and returns log10 µg/L; it satisfies :class:`spectm.predict.regressor.ChipPredictor`.
    """

    def __init__(self, model: PixelRegressor, meta: dict[str, Any], path: Path) -> None:
        self.model = model.eval()
        self.meta = meta
        self.path = path
        self.sensor: str = meta["sensor"]
        self.wavelengths = np.asarray(meta["wavelengths"], dtype=np.float32)
        self.chip_size: int = int(meta["chip_size"])
        self.chip_time: int = int(meta["chip_time"])
        self.horizon: str = meta["horizon"]
        self.lead_days: int = int(meta["lead_days"])
        self.model_name: str = meta.get("model", "")
        self.y_mean = float(meta["y_mean"])
        self.y_std = float(meta["y_std"])

    def __repr__(self) -> str:
        return (
            f"SavedRegressor({self.model_name}, {self.horizon}, sensor={self.sensor}, bands={len(self.wavelengths)}, "
            f"chip {self.chip_time}×{self.chip_size}×{self.chip_size}, {self.path})"
        )

    def predict_chips(self, chips: np.ndarray, days: np.ndarray) -> np.ndarray:
        """(N,H,W) float32 log10 µg/L microcystin per pixel; NaN where the last step's pixel is invalid.

        ``chips`` (N,T,C,H,W) float32 in the sensor's reflectance units, NaN = invalid;
        ``days`` (N,T) days relative to the last step. H and W must be multiples of the
        encoder's patch size; C must equal the trained wavelengths; chips with no valid
        pixel in the last step give all-NaN maps.
        """
        chips = np.asarray(chips, dtype=np.float32)
        days = np.asarray(days, dtype=np.float32)
        if chips.ndim != 5:
            raise SchemaError(f"chips must be (N,T,C,H,W), got shape {chips.shape}", "add the missing axes")
        n, t, c, h, w = chips.shape
        if c != len(self.wavelengths):
            raise SchemaError(
                f"chips have {c} bands, the regressor was trained on {len(self.wavelengths)} ({self.sensor})",
                "pass chips of the same sensor and band set",
            )
        if days.shape != (n, t):
            raise SchemaError(f"days has shape {days.shape}, expected {(n, t)}", "one day offset per chip time step")
        p = self.model.encoder.cfg.patch_size
        if h % p or w % p:
            raise SchemaError(
                f"chip size {h}×{w} is not a multiple of the patch size {p}",
                f"cut chips of {self.chip_size}×{self.chip_size} (or any multiple of {p})",
            )
        out = np.full((n, h, w), np.nan, dtype=np.float32)
        x_all = torch.from_numpy(chips)
        valid = valid_pixels(x_all).numpy()
        usable = np.flatnonzero(valid.reshape(n, -1).any(1))
        with torch.no_grad():
            for s in range(0, usable.size, PREDICT_BATCH):
                rows = usable[s : s + PREDICT_BATCH]
                pix = self.model(x_all[rows], torch.from_numpy(days[rows])).numpy()
                out[rows] = (pix * self.y_std + self.y_mean).astype(np.float32)
        out[~valid] = np.nan
        return out


def load_regressor(path: Path | str) -> SavedRegressor:
    """Load ``<path>/regressor.{safetensors,json}`` (``path`` may also be either file)."""
    from safetensors.torch import load_file

    path = Path(path)
    d = path.parent if path.is_file() else path
    if not (d / WEIGHTS).exists() or not (d / META).exists():
        raise DataNotFoundError(
            f"no regressor at {d} (needs {WEIGHTS} and {META})",
            "pass a regressor/<model>_<horizon>/ folder of a complete regress run",
        )
    meta = json.loads((d / META).read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise SchemaError(
            f"{d / META} is not a spectm regressor (format {meta.get('format')!r})",
            "pass a folder written by `spectm train regress`",
        )
    tensors = load_file(str(d / WEIGHTS))
    enc = SpectralMAE(MAEConfig(**meta["model_config"]))
    enc.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("mae.")})
    st = {k[6:]: v for k, v in tensors.items() if k.startswith("stats.")}
    stats = Stats(st["band_mean"], st["band_std"], st["index_mean"], st["index_std"])
    hd = meta["head"]
    model = PixelRegressor(
        enc,
        stats,
        meta["wavelengths"],
        meta["index_names"],
        int(hd["hidden"]),
        float(hd["dropout"]),
        meta.get("unseen_bands"),
        meta.get("downstream_bands", "visible"),
    )
    model.head.load_state_dict({k[5:]: v for k, v in tensors.items() if k.startswith("head.")})
    for q in model.parameters():
        q.requires_grad_(False)
    return SavedRegressor(model, meta, d)
