"""The spectm regressor: pretrained SpectralMAE encoder + a per-pixel head.

Per-pixel design (spectm's choice, docs/regress.md): for every pixel of a chip the head sees

* the encoder's features of the pixel's **patch** at the last time step — the encoder
  tokens of that patch averaged over its valid bands (``dim`` values): the spatial,
  spectral and temporal context the encoder learned; and
* the pixel's **own** standardised pigment indices (the ``index_names`` the encoder was
  pretrained to infer — CI, SS665, NDCI on PACE — with the encoder's index mean/std): the
  pixel-scale detail a patch token averages away.

The head is a small MLP (or linear layer) applied to each pixel's feature vector, so a chip
gives a map at the sensor's pixel size. A match-up's prediction is the **mean of the pixel
predictions over its window** (the join's ``pixel_window``² cells centred on the sample's
cell ``chip_row, chip_col``, valid pixels of the last step) — the same aggregation region
the join used for the match-up spectrum, so training and mapping use one function.

The encoder sees what it learned on. An encoder pretrained with the spectral-targeted mask
never saw the targeted bands (they are hidden at every step), so feeding them to ``encode``
downstream would show it tokens from a distribution it was never trained on. Its
``downstream_bands`` (set at pretraining, stored in the encoder file) says what to do:
``visible`` — encode only the bands it saw (the targeted tokens are left out of attention and
of the band average, like invalid tokens); ``reconstructed`` — replace those bands by the
decoder's reconstruction from the visible ones, then encode every band. The pixel's own
indices still read the measured spectrum: they are inputs, not encoder features.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from spectm.config import PRETRAIN_TASKS, PretrainLoss
from spectm.errors import DataNotFoundError, SchemaError
from spectm.pretrain.checkpoint import load_safetensors
from spectm.pretrain.indices_torch import compute_indices
from spectm.pretrain.mae import MAEConfig, SpectralMAE
from spectm.pretrain.objective import Stats, normalise, token_validity

INDEX_CLIP = 10.0  # standardised index values beyond ±10 are clipped (glint, near-zero denominators)


@dataclass
class Encoder:
    """A pretrained encoder as the regression stage uses it."""

    model: SpectralMAE
    stats: Stats
    wavelengths: list[float]
    index_names: list[str]
    run_id: str
    masking: str
    tasks: str
    unseen_bands: list[bool] | None = None  # bands never visible in pretraining (None: older encoder file)
    downstream_bands: str = "visible"


def load_encoder(run: Path) -> Encoder:
    """Load ``<run>/model.safetensors`` (weights_only by construction: safetensors holds no code)."""
    import yaml

    run = Path(run)
    path = run / "model.safetensors" if run.is_dir() else run
    if not path.exists():
        raise DataNotFoundError(
            f"no pretrained encoder at {path}",
            "pass a complete pretrain run directory (`spectm train pretrain` writes one)",
        )
    state, stats, meta = load_safetensors(path)
    if meta.get("format") != "spectm-mae-v1" or "model_config" not in meta:
        raise SchemaError(
            f"{path} is not a spectm encoder (format {meta.get('format')!r})",
            "pass the model.safetensors of a spectm pretrain run",
        )
    model = SpectralMAE(MAEConfig(**meta["model_config"]))
    model.load_state_dict(state)
    model.eval()
    st = Stats(stats["band_mean"], stats["band_std"], stats["index_mean"], stats["index_std"])
    masking, tasks = "", ""
    cfg_path = path.parent / "config.yaml"
    if cfg_path.exists():
        pre = (yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}).get("pretrain", {})
        masking = "+".join(pre.get("masking", {}).get("strategies", []))
        loss, defaults = pre.get("loss", {}), PretrainLoss()
        tasks = "+".join(t for t, k in PRETRAIN_TASKS.items() if float(loss.get(k, getattr(defaults, k))) > 0)
    unseen = meta.get("unseen_bands")  # absent in encoder files written before the option: all bands encoded
    return Encoder(
        model,
        st,
        [float(w) for w in meta["wavelengths"]],
        list(meta.get("index_names", [])),
        path.parent.name,
        masking,
        tasks,
        None if unseen is None else [bool(v) for v in unseen],
        str(meta.get("downstream_bands", "visible")),
    )


class PixelHead(nn.Module):
    """MLP applied to each pixel's feature vector (last dim) → one value (standardised log10 MC)."""

    def __init__(self, n_in: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.n_in, self.hidden, self.dropout = n_in, hidden, dropout
        if hidden > 0:
            self.net: nn.Module = nn.Sequential(
                nn.LayerNorm(n_in), nn.Linear(n_in, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, 1)
            )
        else:
            self.net = nn.Sequential(nn.LayerNorm(n_in), nn.Linear(n_in, 1))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.net(feats).squeeze(-1)


def encoder_input(
    model: SpectralMAE,
    x_n: torch.Tensor,
    wavelengths: torch.Tensor,
    days: torch.Tensor,
    tv: torch.Tensor,
    unseen: torch.Tensor | None,
    fill: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(normalised chips, token validity) as the encoder should get them; see the module doc.

    ``unseen`` (C,) bool marks the bands the encoder never saw; ``fill`` is ``visible`` (drop their
    tokens) or ``reconstructed`` (the decoder's values, from the visible bands, take their place).
    """
    if unseen is None or not bool(unseen.any()):
        return x_n, tv
    u = unseen.to(x_n.device)
    if fill == "visible":
        return x_n, tv & ~u.view(1, 1, 1, -1)
    if fill != "reconstructed":
        raise ValueError(f"unknown downstream_bands {fill!r}")
    mask = u.view(1, 1, 1, -1).expand_as(tv)
    rec = model(x_n, wavelengths, days, mask, tv)["recon"]
    return torch.where(u.view(1, 1, -1, 1, 1), rec.to(x_n.dtype), x_n), tv


def pixel_features(
    model: SpectralMAE,
    stats: Stats,
    wavelengths: torch.Tensor,
    index_names: list[str],
    x_raw: torch.Tensor,
    days: torch.Tensor,
    unseen: torch.Tensor | None = None,
    fill: str = "visible",
) -> torch.Tensor:
    """(B,H,W,dim+K) per-pixel features of chips ``x_raw`` (B,T,C,H,W, NaN = invalid); see module doc."""
    b, _, _, h, w = x_raw.shape
    p = model.cfg.patch_size
    tv = token_validity(x_raw, p)  # (B,T,P,C)
    x_n = torch.nan_to_num(normalise(x_raw, stats, 2))
    x_n, tv = encoder_input(model, x_n, wavelengths, days, tv, unseen, fill)
    enc = model.encode(x_n, wavelengths, days, tv)[:, -1]  # (B,P,C,D)
    wt = tv[:, -1].to(enc.dtype)[..., None]  # (B,P,C,1)
    patch = (enc * wt).sum(2) / wt.sum(2).clamp_min(1.0)  # (B,P,D)
    gh, gw = h // p, w // p
    patch = patch.reshape(b, gh, gw, -1).repeat_interleave(p, 1).repeat_interleave(p, 2)  # (B,H,W,D)
    if not index_names:
        return patch
    idx = compute_indices(x_raw[:, -1], [float(v) for v in wavelengths.tolist()], index_names, band_dim=1)
    idx = (idx - stats.index_mean.view(1, -1, 1, 1)) / stats.index_std.view(1, -1, 1, 1)
    idx = torch.nan_to_num(idx, nan=0.0, posinf=INDEX_CLIP, neginf=-INDEX_CLIP).clamp(-INDEX_CLIP, INDEX_CLIP)
    return torch.cat([patch, idx.permute(0, 2, 3, 1).to(patch.dtype)], dim=-1)


def valid_pixels(x_raw: torch.Tensor) -> torch.Tensor:
    """(B,H,W) bool: every band finite in the last time step (the join's validity rule)."""
    return torch.isfinite(x_raw[:, -1]).all(dim=1)


def window_masks(valid: np.ndarray, rows: np.ndarray, cols: np.ndarray, window: int) -> np.ndarray:
    """(B,H,W) float: valid pixels of the ``window``² box centred on (row, col); all valid pixels if empty."""
    b, h, w = valid.shape
    half = window // 2
    m = np.zeros((b, h, w), dtype=np.float32)
    for i in range(b):
        r, c = int(rows[i]), int(cols[i])
        m[i, max(0, r - half) : r + half + 1, max(0, c - half) : c + half + 1] = 1.0
    m *= valid
    empty = m.reshape(b, h * w).sum(1) == 0  # h * w, not -1: an empty split has b = 0
    m[empty] = valid[empty]
    return m


class PixelRegressor(nn.Module):
    """Encoder + per-pixel head; ``forward`` gives (B,H,W) standardised per-pixel predictions.

    The torch module that is trained and saved; inference goes through
    :class:`spectm.regress.regressor.SavedRegressor`, which undoes the target's standardisation.
    """

    def __init__(
        self,
        encoder: SpectralMAE,
        stats: Stats,
        wavelengths: list[float],
        index_names: list[str],
        hidden: int,
        dropout: float,
        unseen_bands: list[bool] | None = None,
        downstream_bands: str = "visible",
    ) -> None:
        super().__init__()
        self.unseen_bands = None if unseen_bands is None else [bool(v) for v in unseen_bands]
        self.downstream_bands = downstream_bands
        unseen = torch.tensor(self.unseen_bands if self.unseen_bands is not None else [False] * len(wavelengths))
        self.register_buffer("unseen", unseen, persistent=False)
        self.encoder = encoder
        self.stats = stats
        self.register_buffer("wl", torch.tensor(wavelengths, dtype=torch.float32), persistent=False)
        self.index_names = list(index_names)
        self.head = PixelHead(encoder.cfg.dim + len(index_names), hidden, dropout)

    def features(self, x_raw: torch.Tensor, days: torch.Tensor) -> torch.Tensor:
        return pixel_features(
            self.encoder, self.stats, self.wl, self.index_names, x_raw, days, self.unseen, self.downstream_bands
        )

    def forward(self, x_raw: torch.Tensor, days: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x_raw, days))


def censored_loss(
    pred: torch.Tensor, y: torch.Tensor, censored: torch.Tensor, lod: torch.Tensor, mode: str
) -> torch.Tensor:
    """Mean squared error; with ``mode="one-sided"`` a censored row only costs when pred > log10(LOD).

    ``y`` is the stored label (LOD/√2 for censored rows); ``lod`` the log10 LOD in the same
    (standardised) units. ``substitute`` fits the stored value for every row.
    """
    err = (pred - y) ** 2
    if mode == "one-sided":
        over = torch.relu(pred - lod) ** 2
        err = torch.where(censored, over, err)
    return err.mean()
