"""SpectralMAE: a compact wavelength-aware masked autoencoder for T×C×H×W chips.

Token design (spectm's choice; SpecTM does not publish one): one token per
(time step, spatial patch, band). A token embeds the ``p×p`` pixel values of one band
in one patch with a linear layer shared by all bands, plus

- a **wavelength encoding** of the band's centre (fixed Fourier features of λ in nm,
  periods 4–4000 nm, then a learned 2-layer projection; after Laprade et al. 2025 and
  HyperspectralMAE's Fourier wavelength embedding), so PACE (172 bands) and Sentinel-2
  (10 bands) go through the same weights: a sensor is just its list of wavelengths;
- a fixed 2-D sine–cosine encoding of the patch position;
- a fixed sinusoidal encoding of the time step's date, in days relative to the last
  step (so irregular revisits are represented exactly).

Why per-band tokens: the SpecTM mask is defined band by band (46 of the 172 OCI bands),
so per-band tokens make "hide exactly these bands" exact. The cost (C tokens per patch) is
contained MAE-style: the encoder sees only visible tokens, and the decoder is narrow and
shallow. ``band_group`` k > 1 puts k adjacent bands of a patch into one token (their
values side by side, the mean of their wavelength encodings), cut so that no group
straddles a targeted window's edge: the windows stay exact at a quarter of the tokens for
k = 4 (:mod:`spectm.pretrain.band_groups`; docs/model.md, "Grouped bands"). Masks, outputs and
:meth:`SpectralMAE.encode` stay per band either way.

Heads on the decoder output: band reconstruction (``p×p`` values per token), 8-day-ahead
prediction (``p×p`` future values per token of the last time step: the future
spectrum), and index inference (per time step and patch, decoder tokens averaged over
bands → ``K×p×p`` index values).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from spectm.errors import ConfigError
from spectm.pretrain.band_groups import band_groups


@dataclass
class MAEConfig:
    patch_size: int = 4
    dim: int = 128
    depth: int = 6
    heads: int = 4
    mlp_ratio: float = 4.0
    decoder_dim: int = 96
    decoder_depth: int = 2
    decoder_heads: int = 4
    n_indices: int = 3
    wavelength_freqs: int = 16
    dropout: float = 0.0
    # False here so checkpoints written before the option existed load unchanged; new runs get
    # the config's default (True, spectm.config.PretrainModel).
    interp_prior: bool = False
    # Spectral grouping (docs/model.md, "Grouped bands"): band_group adjacent bands per token, groups cut so
    # none straddles a window of group_windows (nm; None = SpecTM's windows). 1 = one band per token.
    band_group: int = 1
    group_windows: list[list[float]] | None = None


def fourier_wavelength_features(wl_nm: torch.Tensor, n_freqs: int) -> torch.Tensor:
    """``[sin(2πλ/P_k), cos(2πλ/P_k)]`` for periods P_k geometric from 4 to 4000 nm."""
    periods = torch.logspace(math.log10(4.0), math.log10(4000.0), n_freqs, device=wl_nm.device, dtype=torch.float32)
    ang = 2 * math.pi * wl_nm.float()[..., None] / periods
    return torch.cat([ang.sin(), ang.cos()], dim=-1)


def sincos_1d(pos: torch.Tensor, dim: int, max_period: float = 1000.0) -> torch.Tensor:
    """Transformer sinusoidal encoding of (possibly fractional, negative) positions."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=pos.device, dtype=torch.float32) / half)
    ang = pos.float()[..., None] * freqs
    out = torch.cat([ang.sin(), ang.cos()], dim=-1)
    return nn.functional.pad(out, (0, dim - 2 * half))


def sincos_2d(gh: int, gw: int, dim: int, device: torch.device) -> torch.Tensor:
    """(gh*gw, dim) fixed 2-D encoding: half the channels for the row, half for the column."""
    yy, xx = torch.meshgrid(torch.arange(gh, device=device), torch.arange(gw, device=device), indexing="ij")
    return torch.cat([sincos_1d(yy.flatten(), dim // 2, 100.0), sincos_1d(xx.flatten(), dim - dim // 2, 100.0)], -1)


def interpolate_hidden(x: torch.Tensor, wavelengths: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """Each band's value linearly interpolated in wavelength from the visible bands of its row.

    ``x`` (R, C, k) values, ``visible`` (R, C) bool. Visible bands keep their value; a hidden band
    between two visible ones gets the straight line between them; one past the outermost
    visible band gets that band's value (held flat, never extrapolated); a row with no visible
    band gets 0 (the band mean in normalised units). Uses only visible values, so nothing
    hidden leaks through it.
    """
    r, c = visible.shape
    ar = torch.arange(c, device=x.device).expand(r, c)
    left = torch.where(visible, ar, torch.full_like(ar, -1)).cummax(dim=1).values
    right = torch.where(visible, ar, torch.full_like(ar, c)).flip(1).cummin(dim=1).values.flip(1)
    has_l, has_r = left >= 0, right < c
    li, ri = left.clamp(0, c - 1), right.clamp(0, c - 1)
    wl = wavelengths.float().to(x.device)
    frac = ((wl[None] - wl[li]) / (wl[ri] - wl[li]).clamp_min(1e-6)).clamp(0, 1)
    frac = torch.where(has_l & has_r, frac, (~has_l).float())  # only one side: hold that side
    k = x.shape[-1]
    xl = torch.gather(x, 1, li[..., None].expand(-1, -1, k))
    xr = torch.gather(x, 1, ri[..., None].expand(-1, -1, k))
    out = xl + frac[..., None].to(x.dtype) * (xr - xl)
    return torch.where((has_l | has_r)[..., None], out, torch.zeros_like(out))


class WavelengthEncoding(nn.Module):
    """Fixed Fourier features of λ followed by a learned projection to ``dim``."""

    def __init__(self, dim: int, n_freqs: int) -> None:
        super().__init__()
        self.n_freqs = n_freqs
        self.proj = nn.Sequential(nn.Linear(2 * n_freqs, dim), nn.GELU(), nn.Linear(dim, dim))

    def forward(self, wl_nm: torch.Tensor) -> torch.Tensor:
        return self.proj(fourier_wavelength_features(wl_nm, self.n_freqs))


def _stack(dim: int, depth: int, heads: int, mlp_ratio: float, dropout: float) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        dim, heads, int(dim * mlp_ratio), dropout, activation="gelu", batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)


class SpectralMAE(nn.Module):
    """Encoder + light decoder + three heads; see the module docstring for the design."""

    def __init__(self, cfg: MAEConfig) -> None:
        super().__init__()
        if cfg.dim % cfg.heads or cfg.decoder_dim % cfg.decoder_heads:
            raise ConfigError(
                f"dim {cfg.dim}/decoder_dim {cfg.decoder_dim} must be divisible by their heads",
                "pick heads that divide the width (e.g. dim 128, heads 4)",
            )
        self.cfg = cfg
        pp = cfg.patch_size**2
        kpp = cfg.band_group * pp  # values per token: band_group bands × p×p pixels
        self._group_cache: dict[tuple[float, ...], tuple[torch.Tensor, ...]] = {}
        self.patch_embed = nn.Linear(kpp, cfg.dim)
        self.wl_enc = WavelengthEncoding(cfg.dim, cfg.wavelength_freqs)
        self.encoder = _stack(cfg.dim, cfg.depth, cfg.heads, cfg.mlp_ratio, cfg.dropout)
        self.enc_norm = nn.LayerNorm(cfg.dim)
        self.to_dec = nn.Linear(cfg.dim, cfg.decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(cfg.decoder_dim))
        self.dec_wl_enc = WavelengthEncoding(cfg.decoder_dim, cfg.wavelength_freqs)
        self.decoder = _stack(cfg.decoder_dim, cfg.decoder_depth, cfg.decoder_heads, cfg.mlp_ratio, cfg.dropout)
        self.dec_norm = nn.LayerNorm(cfg.decoder_dim)
        self.recon_head = nn.Linear(cfg.decoder_dim, kpp)
        self.future_head = nn.Linear(cfg.decoder_dim, kpp)
        self.index_head = nn.Linear(cfg.decoder_dim, max(cfg.n_indices, 1) * pp)
        nn.init.normal_(self.mask_token, std=0.02)

    # ------------------------------------------------------------------ shapes
    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """(B,T,C,H,W) → (B,T,P,C,p·p)."""
        b, t, c, h, w = x.shape
        p = self.cfg.patch_size
        if h % p or w % p:
            raise ConfigError(
                f"chip size {h}×{w} is not a multiple of patch_size {p}",
                "set pretrain.model.patch_size to a divisor of the chip size",
            )
        x = x.reshape(b, t, c, h // p, p, w // p, p).permute(0, 1, 3, 5, 2, 4, 6)
        return x.reshape(b, t, (h // p) * (w // p), c, p * p)

    def unpatchify(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """(B,T,P,C,p·p) → (B,T,C,H,W)."""
        b, t, _, c, _ = x.shape
        p = self.cfg.patch_size
        x = x.reshape(b, t, h // p, w // p, c, p, p).permute(0, 1, 4, 2, 5, 3, 6)
        return x.reshape(b, t, c, h, w)

    # ------------------------------------------------------------------ spectral grouping
    @property
    def grouped(self) -> bool:
        return self.cfg.band_group > 1

    def groups(self, wavelengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """This band set's groups (cached): member index (G,k) (padding → 0), member flag (G,k), each band's
        slot ``g·k + j`` in the flattened group axis (C,), and each band's group (C,)."""
        key = tuple(round(float(v), 4) for v in wavelengths.tolist())
        hit = self._group_cache.get(key)
        if hit is None or hit[0].device != wavelengths.device:
            g = band_groups(key, self.cfg.band_group, self.cfg.group_windows)
            k = g.shape[1]
            member = g >= 0
            slot = np.empty(len(key), dtype=np.int64)
            slot[g[member]] = np.flatnonzero(member.reshape(-1))
            dev = wavelengths.device
            hit = (
                torch.from_numpy(np.where(member, g, 0)).to(dev),
                torch.from_numpy(member).to(dev),
                torch.from_numpy(slot).to(dev),
                torch.from_numpy(slot // k).to(dev),
            )
            self._group_cache[key] = hit
        return hit

    def _group_values(self, patches: torch.Tensor, wavelengths: torch.Tensor) -> torch.Tensor:
        """(B,T,P,C,pp) → (B,T,P,G,k·pp): each token's bands side by side (zeros pad a short group)."""
        idx, member, _, _ = self.groups(wavelengths)
        b, t, n_p, _, pp = patches.shape
        g = patches[:, :, :, idx.reshape(-1)] * member.reshape(-1, 1).to(patches.dtype)
        return g.reshape(b, t, n_p, idx.shape[0], idx.shape[1] * pp)

    def _group_mean(self, enc: torch.Tensor, wavelengths: torch.Tensor) -> torch.Tensor:
        """(C,d) per-band encodings → (G,d): the mean over each group's bands."""
        idx, member, _, _ = self.groups(wavelengths)
        w = member.to(enc.dtype)[..., None]
        return (enc[idx] * w).sum(1) / w.sum(1)

    def _group_flags(self, flags: torch.Tensor, wavelengths: torch.Tensor, every: bool) -> torch.Tensor:
        """Band-level flags (B,T,P,C) → group level (B,T,P,G): all members (``every``) or any member."""
        idx, member, _, _ = self.groups(wavelengths)
        f = flags[..., idx]
        if every:
            return torch.where(member, f, torch.ones_like(f)).all(-1)
        return torch.where(member, f, torch.zeros_like(f)).any(-1)

    def _ungroup(self, values: torch.Tensor, wavelengths: torch.Tensor) -> torch.Tensor:
        """(B,T,P,G,k·pp) head output → (B,T,P,C,pp) per band."""
        _, _, slot, _ = self.groups(wavelengths)
        b, t, n_p, ng, _ = values.shape
        pp = self.cfg.patch_size**2
        return values.reshape(b, t, n_p, ng * self.cfg.band_group, pp)[:, :, :, slot]

    # ------------------------------------------------------------------ shared by forward and encode
    def _embed(
        self, x: torch.Tensor, wavelengths: torch.Tensor, days: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Patches (B,T,P,C,pp), their tokens (B,N,dim) — patch embedding + wavelength, spatial and temporal
        encodings — and the tokens per patch (C, or G groups; a group's wavelength encoding is the mean of
        its bands')."""
        b, t, _, h, w = x.shape
        cfg = self.cfg
        patches = self.patchify(x)
        values, wl = patches, self.wl_enc(wavelengths)
        if self.grouped:
            values, wl = self._group_values(patches, wavelengths), self._group_mean(wl, wavelengths)
        ng = values.shape[3]
        gh, gw = h // cfg.patch_size, w // cfg.patch_size
        spatial = sincos_2d(gh, gw, cfg.dim, x.device)  # (P,d)
        temporal = sincos_1d(days, cfg.dim)  # (B,T,d)
        tok = (
            self.patch_embed(values) + wl[None, None, None] + spatial[None, None, :, None] + temporal[:, :, None, None]
        )
        return patches, tok.reshape(b, t * patches.shape[2] * ng, cfg.dim), ng

    def _encode_visible(
        self, tok: torch.Tensor, keep: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
        """Run the encoder on the kept tokens only (gathered first, padded to the batch's most).

        Returns the encoded tokens (B,K,dim), their indices (B,K), the padding mask (B,K) and K.
        """
        n_vis = keep.sum(1)
        n_keep = max(int(n_vis.max()), 1)
        order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)  # visible first, in order
        idx = order[:, :n_keep]
        pad = torch.arange(n_keep, device=tok.device)[None] >= n_vis[:, None]
        vis = torch.gather(tok, 1, idx[..., None].expand(-1, -1, self.cfg.dim))
        return self.enc_norm(self.encoder(vis, src_key_padding_mask=pad)), idx, pad, n_keep

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        x: torch.Tensor,
        wavelengths: torch.Tensor,
        days: torch.Tensor,
        mask: torch.Tensor,
        token_valid: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Run the MAE.

        ``x`` (B,T,C,H,W) normalised, finite (invalid pixels filled); ``wavelengths`` (C,) nm;
        ``days`` (B,T); ``mask`` (B,T,P,C) bool, True = hidden; ``token_valid`` (B,T,P,C)
        bool, False for tokens with no valid pixel (never shown to the encoder).
        Returns ``recon`` (B,T,C,H,W), ``future`` (B,C,H,W), ``indices`` (B,T,K,H,W).
        """
        b, t, c, h, w = x.shape
        cfg = self.cfg
        patches, tok, ng = self._embed(x, wavelengths, days)  # (B,T,P,C,pp), (B,N,d), tokens per patch
        n_p = patches.shape[2]
        gh, gw = h // cfg.patch_size, w // cfg.patch_size
        n = t * n_p * ng
        if self.grouped:  # a group is hidden when all its bands are, valid when any is
            mask = self._group_flags(mask, wavelengths, every=True)
            token_valid = None if token_valid is None else self._group_flags(token_valid, wavelengths, every=False)
        keep = ~mask.reshape(b, n)
        if token_valid is not None:
            keep = keep & token_valid.reshape(b, n)
        enc, idx, pad, n_keep = self._encode_visible(tok, keep)
        enc = self.to_dec(enc)

        dd = cfg.decoder_dim
        full = self.mask_token.to(enc.dtype).expand(b, n, dd).clone()
        enc = torch.where(pad[..., None], full[:, :n_keep], enc)  # padding slots keep the mask token
        full = full.scatter(1, idx[..., None].expand(-1, -1, dd), enc)
        dspatial = sincos_2d(gh, gw, dd, x.device)
        dtemporal = sincos_1d(days, dd)
        dwl = self.dec_wl_enc(wavelengths)
        if self.grouped:
            dwl = self._group_mean(dwl, wavelengths)
        pos = dwl[None, None, None] + dspatial[None, None, :, None] + dtemporal[:, :, None, None]
        full = full + pos.expand(b, t, n_p, ng, dd).reshape(b, n, dd)
        dec = self.dec_norm(self.decoder(full)).reshape(b, t, n_p, ng, dd)

        rec_tok = self.recon_head(dec)  # (B,T,P,C,pp), or (B,T,P,G,k·pp) grouped
        keep_bands = keep.reshape(b, t, n_p, ng)
        if self.grouped:
            rec_tok = self._ungroup(rec_tok, wavelengths)
            keep_bands = keep_bands[..., self.groups(wavelengths)[3]]
        if cfg.interp_prior:  # predict a correction to the straight line across each gap
            vis_bands = keep_bands.reshape(b * t * n_p, c)
            prior = interpolate_hidden(patches.reshape(b * t * n_p, c, -1), wavelengths, vis_bands)
            rec_tok = rec_tok + prior.reshape(rec_tok.shape).to(rec_tok.dtype)
        recon = self.unpatchify(rec_tok, h, w)
        fut_tok = self.future_head(dec[:, -1:])
        if self.grouped:
            fut_tok = self._ungroup(fut_tok, wavelengths)
        future = self.unpatchify(fut_tok, h, w)[:, 0]
        k = max(cfg.n_indices, 1)
        maps = self.index_head(dec.mean(dim=3)).reshape(b, t, n_p, k, cfg.patch_size**2)
        indices = self.unpatchify(maps, h, w)  # the K indices take the place of bands
        return {"recon": recon, "future": future, "indices": indices[:, :, : cfg.n_indices]}

    def encode(
        self, x: torch.Tensor, wavelengths: torch.Tensor, days: torch.Tensor, token_valid: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Encoder features of every token, nothing hidden (the regression stage's input).

        Same embedding and encoder as :meth:`forward`, but no token is masked: all valid
        tokens are seen (invalid ones — no valid pixel — are left out of attention exactly as
        in pretraining). Returns (B,T,P,C,dim) after the encoder's final norm; invalid tokens
        are zeros. Used by ``spectm.regress`` to pool features per patch.
        """
        b, t = x.shape[:2]
        cfg = self.cfg
        patches, tok, ng = self._embed(x, wavelengths, days)
        n_p = patches.shape[2]
        n = t * n_p * ng
        keep = torch.ones(b, n, dtype=torch.bool, device=x.device)
        if token_valid is not None:
            if self.grouped:
                token_valid = self._group_flags(token_valid, wavelengths, every=False)
            keep = token_valid.reshape(b, n)
        enc, idx, pad, _ = self._encode_visible(tok, keep)
        enc = enc.masked_fill(pad[..., None], 0.0)
        full = torch.zeros(b, n, cfg.dim, dtype=enc.dtype, device=x.device)
        full = full.scatter(1, idx[..., None].expand(-1, -1, cfg.dim), enc)
        full = (full * keep[..., None].to(full.dtype)).reshape(b, t, n_p, ng, cfg.dim)
        if self.grouped:  # every band gets its group's features, so callers keep a per-band view
            full = full[:, :, :, self.groups(wavelengths)[3]]
        return full


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
