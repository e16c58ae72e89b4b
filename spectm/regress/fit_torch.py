"""Training the spectm regressors: a frozen-encoder head and a fine-tuned encoder + head.

* **frozen** (``spectm-frozen``): pixel features are computed once with the encoder frozen;
  the head is trained full-batch with AdamW for ``frozen_steps`` steps, validated every 5
  steps, keeping the weights of the best val RMSE (early stopping after ``patience`` checks
  without improvement); one run per ``weight_decay_grid`` entry, the best val RMSE wins.
* **fine-tune** (``spectm-finetune``): LP-FT (Kumar et al. 2022) — start from the selected
  frozen head, then train encoder (``encoder_lr``) and head (``finetune_lr``) together in
  seeded mini-batches for up to ``finetune_epochs``, keeping the best val RMSE epoch (the
  frozen head itself counts as epoch 0, so fine-tuning never returns a worse val score).

The frozen encoder's pixel features depend only on the encoder and the chips, so they are kept
in a small in-process cache keyed by both (:class:`FeatureCache`): the evaluation fits the same
encoder on the same chips for several head seeds, label fractions and for fine-tuning's
linear-probe start, and encoding is most of a frozen fit's cost (measured: 12 of 20 s on the
13-season twin). A fine-tuned encoder is never cached.

Targets are standardised with the train mean/std. Seeds: one ``torch.manual_seed`` before
each head is built, a seeded generator for batch order; CPU kernels are deterministic, so
a fit repeated with the same inputs gives the same predictions (tested).
"""

from __future__ import annotations

import copy
import dataclasses
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from spectm.config import RegressSection
from spectm.regress.head import Encoder, PixelHead, PixelRegressor, censored_loss, window_masks

FEATURE_BATCH = 64


@dataclass
class ChipSet:
    """Chips of labelled rows and what the loss needs (numpy; moved to torch by the trainer)."""

    chips: np.ndarray  # (N,T,C,H,W)
    days: np.ndarray  # (N,T)
    window: np.ndarray  # (N,H,W) float weights of the match-up window's valid pixels
    y: np.ndarray  # (N,) stored label_log10
    censored: np.ndarray  # (N,) bool
    lod_log10: np.ndarray  # (N,) log10 LOD (NaN when unknown)
    key: str = ""  # identifies (encoder, chips) for the feature cache; "" = never cached

    @classmethod
    def build(
        cls,
        chips: np.ndarray,
        days: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        window: int,
        y: np.ndarray,
        censored: np.ndarray,
        lod_log10: np.ndarray,
        key: str = "",
    ) -> ChipSet:
        valid = np.isfinite(chips[:, -1]).all(axis=1)
        return cls(
            chips,
            days,
            window_masks(valid, rows, cols, window),
            y.astype(np.float32),
            censored.astype(bool),
            lod_log10.astype(np.float32),
            key,
        )

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class TorchFit:
    model: PixelRegressor
    y_mean: float
    y_std: float
    params: dict[str, Any] = field(default_factory=dict)
    val_rmse: float = float("nan")
    frozen: bool = False  # the encoder is the pretrained one: its cached features still apply


class FeatureCache:
    """The last ``max_entries`` frozen-feature tensors, by :attr:`ChipSet.key` (least recently used goes).

    Bounded so a long evaluation (many encoders) holds a few sets' features, not all of them:
    one set of ~1,000 8×8 chips is ~20 MB.
    """

    def __init__(self, max_entries: int = 8) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[str, torch.Tensor] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, key: str) -> torch.Tensor | None:
        if key and key in self._items:
            self._items.move_to_end(key)
            self.hits += 1
            return self._items[key]
        self.misses += 1
        return None

    def put(self, key: str, feats: torch.Tensor) -> None:
        if not key or self.max_entries <= 0:
            return
        self._items[key] = feats
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


FEATURES = FeatureCache()


def _window_mean(pix: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    dims = tuple(range(1, w.dim()))
    return (pix * w).sum(dims) / w.sum(dims).clamp_min(1e-6)


def _gather_window(feats: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Only the pixels with window weight: (N,H,W,F), (N,H,W) → (N,K,F), (N,K) (K = most per chip).

    The frozen head is trained on these alone, which gives the same loss as the full maps
    (other pixels have weight 0) at a fraction of the cost.
    """
    n, h, wd, f = feats.shape
    flat_w = w.reshape(n, h * wd)
    k = max(int((flat_w > 0).sum(1).max()), 1) if n else 1
    idx = torch.argsort((flat_w > 0).to(torch.int8), dim=1, descending=True, stable=True)[:, :k]
    return (
        torch.gather(feats.reshape(n, h * wd, f), 1, idx[..., None].expand(-1, -1, f)),
        torch.gather(flat_w, 1, idx),
    )


@torch.no_grad()
def _features(model: PixelRegressor, cs: ChipSet, device: torch.device) -> torch.Tensor:
    """(N,H,W,F) frozen pixel features of ``cs``, from :data:`FEATURES` when ``cs.key`` was seen."""
    hit = FEATURES.get(cs.key)
    if hit is not None:
        return hit.to(device)
    feats = _encode(model, cs, device)
    FEATURES.put(cs.key, feats.cpu() if feats.device.type != "cpu" else feats)
    return feats


def _encode(model: PixelRegressor, cs: ChipSet, device: torch.device) -> torch.Tensor:
    out = []
    for s in range(0, len(cs), FEATURE_BATCH):
        x = torch.from_numpy(cs.chips[s : s + FEATURE_BATCH]).to(device)
        d = torch.from_numpy(cs.days[s : s + FEATURE_BATCH]).to(device)
        out.append(model.features(x, d))
    return torch.cat(out) if out else torch.zeros(0)


def _targets(cs: ChipSet, y_mean: float, y_std: float, device: torch.device) -> tuple[torch.Tensor, ...]:
    y = torch.from_numpy((cs.y - y_mean) / y_std).to(device)
    lod = np.where(np.isfinite(cs.lod_log10), cs.lod_log10, cs.y + 0.5 * np.log10(2.0))  # LOD/√2 → LOD
    lod_t = torch.from_numpy(((lod - y_mean) / y_std).astype(np.float32)).to(device)
    return y, torch.from_numpy(cs.censored).to(device), lod_t, torch.from_numpy(cs.window).to(device)


def _rmse(pred_std: torch.Tensor, y_raw: np.ndarray, y_mean: float, y_std: float) -> float:
    p = pred_std.detach().cpu().numpy().astype(np.float64) * y_std + y_mean
    return float(np.sqrt(np.mean((p - y_raw) ** 2)))


def fit_frozen(
    enc: Encoder, train: ChipSet, val: ChipSet, p: RegressSection, seed: int, device: torch.device
) -> TorchFit:
    """Frozen encoder, head selected over ``weight_decay_grid`` by val RMSE."""
    enc_model = enc.model.to(device).eval()
    for q in enc_model.parameters():
        q.requires_grad_(False)
    stats = enc.stats.to(device)
    torch.manual_seed(seed)
    reg = PixelRegressor(
        enc_model,
        stats,
        enc.wavelengths,
        enc.index_names,
        p.head_hidden,
        p.head_dropout,
        enc.unseen_bands,
        enc.downstream_bands,
    ).to(device)
    y_mean = float(train.y.mean())
    y_std = float(train.y.std()) or 1.0
    y_tr, c_tr, l_tr, w_tr = _targets(train, y_mean, y_std, device)
    f_tr, w_tr = _gather_window(_features(reg, train, device), w_tr)
    f_va, w_va = (
        _gather_window(_features(reg, val, device), torch.from_numpy(val.window).to(device))
        if len(val)
        else (None, None)
    )
    best: tuple[float, dict[str, torch.Tensor], float] | None = None
    for wd in p.weight_decay_grid:
        torch.manual_seed(seed)
        head = PixelHead(reg.head.n_in, p.head_hidden, p.head_dropout).to(device)
        opt = torch.optim.AdamW(head.parameters(), lr=p.frozen_lr, weight_decay=wd)
        run_best = (float("inf"), copy.deepcopy(head.state_dict()))
        bad = 0
        for step in range(1, p.frozen_steps + 1):
            head.train()
            loss = censored_loss(_window_mean(head(f_tr), w_tr), y_tr, c_tr, l_tr, p.censoring)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step % 5 and step != p.frozen_steps:
                continue
            head.eval()
            with torch.no_grad():
                score = _rmse(_window_mean(head(f_va), w_va), val.y, y_mean, y_std) if len(val) else float(loss)
            if score < run_best[0] - 1e-6:
                run_best, bad = (score, copy.deepcopy(head.state_dict())), 0
            else:
                bad += 1
                if bad >= p.patience:
                    break
        if best is None or run_best[0] < best[0]:
            best = (run_best[0], run_best[1], wd)
    assert best is not None
    reg.head.load_state_dict(best[1])
    return TorchFit(
        reg.eval(),
        y_mean,
        y_std,
        {"weight_decay": best[2], "head_hidden": p.head_hidden},
        best[0] if len(val) else float("nan"),
        frozen=True,
    )


def predict_sets(fit: TorchFit, cs: ChipSet, device: torch.device) -> np.ndarray:
    """Window-mean predictions (log10 µg/L) for labelled chips."""
    reg = fit.model.eval()
    out = []
    feats = _features(reg, cs, device) if fit.frozen and cs.key else None
    with torch.no_grad():
        if feats is not None:  # the same per-batch head + window mean, on the cached features
            for s in range(0, len(cs), FEATURE_BATCH):
                w = torch.from_numpy(cs.window[s : s + FEATURE_BATCH]).to(device)
                pix = reg.head(feats[s : s + FEATURE_BATCH])
                out.append(_window_mean(pix, w).cpu().numpy().astype(np.float64))
            pred = np.concatenate(out) if out else np.zeros(0)
            return pred * fit.y_std + fit.y_mean
        for s in range(0, len(cs), FEATURE_BATCH):
            x = torch.from_numpy(cs.chips[s : s + FEATURE_BATCH]).to(device)
            d = torch.from_numpy(cs.days[s : s + FEATURE_BATCH]).to(device)
            w = torch.from_numpy(cs.window[s : s + FEATURE_BATCH]).to(device)
            out.append(_window_mean(reg(x, d), w).cpu().numpy().astype(np.float64))
    pred = np.concatenate(out) if out else np.zeros(0)
    return pred * fit.y_std + fit.y_mean


def fit_finetune(
    enc: Encoder, train: ChipSet, val: ChipSet, p: RegressSection, seed: int, device: torch.device
) -> TorchFit:
    """LP-FT: the frozen fit's head, then encoder + head trained together; best val epoch kept."""
    lp = fit_frozen(dataclasses.replace(enc, model=copy.deepcopy(enc.model)), train, val, p, seed, device)
    reg = lp.model
    for q in reg.encoder.parameters():
        q.requires_grad_(True)
    wd = float(lp.params["weight_decay"])
    opt = torch.optim.AdamW(
        [
            {"params": [q for q in reg.encoder.parameters()], "lr": p.encoder_lr, "weight_decay": 0.01},
            {"params": list(reg.head.parameters()), "lr": p.finetune_lr, "weight_decay": wd},
        ]
    )
    y_mean, y_std = lp.y_mean, lp.y_std
    y_tr, c_tr, l_tr, w_tr = _targets(train, y_mean, y_std, device)
    x_tr = torch.from_numpy(train.chips)
    d_tr = torch.from_numpy(train.days)
    gen = torch.Generator().manual_seed(seed)
    best_score = lp.val_rmse if len(val) else float("inf")
    best_state = copy.deepcopy(reg.state_dict())
    best_epoch, bad = 0, 0
    patience = max(3, p.patience // 10)
    for epoch in range(1, p.finetune_epochs + 1):
        reg.train()
        order = torch.randperm(len(train), generator=gen)
        total = 0.0
        for s in range(0, len(train), p.batch_size):
            b = order[s : s + p.batch_size]
            if len(b) < 2 and len(train) >= 2:  # a lone last sample (order changes per epoch): skip it
                continue
            pix = reg(x_tr[b].to(device), d_tr[b].to(device))
            bd = b.to(device)
            loss = censored_loss(_window_mean(pix, w_tr[bd]), y_tr[bd], c_tr[bd], l_tr[bd], p.censoring)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(reg.parameters(), 1.0)
            opt.step()
            total += float(loss.detach()) * len(b)
        if len(val):
            fit_now = TorchFit(reg, y_mean, y_std)
            score = float(np.sqrt(np.mean((predict_sets(fit_now, val, device) - val.y) ** 2)))
        else:
            score = total / max(len(train), 1)
        if score < best_score - 1e-6:
            best_score, best_state, best_epoch, bad = score, copy.deepcopy(reg.state_dict()), epoch, 0
        else:
            bad += 1
            if bad >= patience:
                break
    reg.load_state_dict(best_state)
    reg.eval()
    for q in reg.parameters():
        q.requires_grad_(False)
    params = {**lp.params, "epochs": best_epoch}
    return TorchFit(reg, y_mean, y_std, params, best_score if len(val) else float("nan"))
