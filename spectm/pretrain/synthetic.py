"""Realistic synthetic hyperspectral chips for tests and benchmarks.

Until the feature store exists (``spectm join``), the trainer is exercised on chips made
here. They are *not* random noise: each pixel's Rrs comes from a compact semi-analytic
deep-water model (Lee et al. 2002; docs/twin.md) with

- pure-water absorption and scattering from the NASA OBPG table (Pope & Fry 1997),
  tabulated below every 10 nm from 340 to 730 nm;
- phytoplankton absorption as Gaussian bands (blue 440 nm, red 676 nm), phycocyanin at
  620 nm (σ 20 nm), CDOM and non-algal particles as exponentials, particle backscatter
  as a power law; chlorophyll fluorescence as a Gaussian at 684 nm;
- Lake Erie-like draws: log-normal Chl (median 17 µg/L), PC tied to Chl by a log-normal
  ratio, CDOM and TSS log-normal; smooth spatial fields inside a chip; an 8-day step in
  time with a per-chip bloom trend.

So the SpecTM windows (615–640, 660–680, 695–720 nm) hold real pigment features whose
depth is predictable from the rest of the spectrum, which is what the pretraining task
and the cubic-spline comparison need. This is a *test generator*, deliberately simpler
than the twin's forward model (``spectm.twin``); it needs no files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from spectm.pretrain.wavelengths import PACE_OCI_WAVELENGTHS

# NASA OBPG water_spectra (Pope & Fry 1997 / Smith & Baker 1981): nm, a_w (1/m), b_w (1/m).
_WATER = np.array(
    [
        (340, 0.0561, 0.0153),
        (350, 0.0463, 0.0134),
        (360, 0.0379, 0.0120),
        (370, 0.0300, 0.0106),
        (380, 0.01137, 0.00941),
        (390, 0.00851, 0.00842),
        (400, 0.00663, 0.00755),
        (410, 0.00473, 0.00679),
        (420, 0.00454, 0.00612),
        (430, 0.00495, 0.00554),
        (440, 0.00635, 0.00502),
        (450, 0.00922, 0.00456),
        (460, 0.00979, 0.00415),
        (470, 0.0106, 0.00378),
        (480, 0.0127, 0.00346),
        (490, 0.0150, 0.00316),
        (500, 0.0204, 0.00290),
        (510, 0.0325, 0.00267),
        (520, 0.0409, 0.00245),
        (530, 0.0434, 0.00226),
        (540, 0.0474, 0.00209),
        (550, 0.0565, 0.00193),
        (560, 0.0619, 0.00179),
        (570, 0.0695, 0.00166),
        (580, 0.0896, 0.00154),
        (590, 0.1351, 0.00143),
        (600, 0.2224, 0.00133),
        (610, 0.2644, 0.00124),
        (620, 0.2755, 0.00116),
        (630, 0.2916, 0.00108),
        (640, 0.3108, 0.00101),
        (650, 0.3400, 0.000949),
        (660, 0.4100, 0.000889),
        (670, 0.4390, 0.000834),
        (680, 0.4650, 0.000783),
        (690, 0.5160, 0.000736),
        (700, 0.6240, 0.000692),
        (710, 0.8270, 0.000652),
        (720, 1.2310, 0.000614),
        (730, 1.9624, 0.000579),
    ]
)


def _gauss(wl: np.ndarray, centre: float, sigma: float) -> np.ndarray:
    return np.exp(-((wl - centre) ** 2) / (2 * sigma**2))


def rrs_forward(
    wavelengths: Sequence[float], chl: np.ndarray, pc: np.ndarray, ag400: np.ndarray, tss: np.ndarray
) -> np.ndarray:
    """Rrs (sr⁻¹) for each set of constituents; the band axis is appended last.

    Inputs broadcast together (µg/L, µg/L, 1/m, mg/L). Wavelengths beyond 730 nm use the
    730 nm water values (the model is meant for 340–730 nm; Sentinel-2 NIR bands are
    rough, which is fine for shape tests).
    """
    wl = np.asarray(wavelengths, dtype=np.float64)
    aw = np.interp(wl, _WATER[:, 0], _WATER[:, 1])
    bbw = 0.5 * np.interp(wl, _WATER[:, 0], _WATER[:, 2])
    chl, pc, ag400, tss = (np.asarray(v, dtype=np.float64)[..., None] for v in (chl, pc, ag400, tss))
    aph_star = chl**-0.3 * (
        0.055 * _gauss(wl, 440, 28)
        + 0.018 * _gauss(wl, 490, 22)
        + 0.022 * _gauss(wl, 676, 10)
        + 0.004 * _gauss(wl, 625, 14)
    )
    a = (
        aw
        + chl * aph_star
        + pc * 0.007 * _gauss(wl, 620, 20)
        + ag400 * np.exp(-0.015 * (wl - 400))
        + tss * 0.035 * np.exp(-0.0115 * (wl - 443))
    )
    bp_phy = 0.416 * chl**0.766 * (0.002 + 0.01 * (0.5 - 0.25 * np.log10(chl)))
    bb = bbw + (tss * 0.012 + bp_phy) * (555.0 / wl) ** 0.8
    u = bb / (a + bb)
    rrs_sub = 0.08945 * u + 0.1247 * u**2
    rrs = 0.52 * rrs_sub / (1 - 1.7 * rrs_sub)
    fluor = 2.5e-5 * np.minimum(chl, 300.0) ** 0.7 * _gauss(wl, 684, 10.6)
    return (rrs + fluor).astype(np.float32)


def _smooth_field(rng: np.random.Generator, n: int, h: int, w: int, amp: float) -> np.ndarray:
    """Low-frequency random fields (n, h, w): a few random plane waves, zero mean."""
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    out = np.zeros((n, h, w))
    for _ in range(3):
        k = rng.uniform(0.5, 2.0, (n, 2)) * np.pi
        ph = rng.uniform(0, 2 * np.pi, n)
        out += np.cos(k[:, :1, None] * yy + k[:, 1:, None] * xx + ph[:, None, None])
    return amp * out / 3


def make_synthetic_chips(
    n_chips: int = 64,
    n_times: int = 1,
    size: int = 8,
    wavelengths: Sequence[float] = PACE_OCI_WAVELENGTHS,
    seed: int = 0,
    nan_fraction: float = 0.02,
    noise: float = 5e-5,
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    start: str = "2024-06-01",
) -> xr.Dataset:
    """A chips dataset following the ``features/<name>/chips.zarr`` contract (docs/data-layout.md).

    Variables: ``chips`` (chip, time, band, y, x) float32 with NaN for invalid pixels, and
    ``future`` (chip, band, y, x): the same pixels 8 days after the last time step.
    Time steps are 8 days apart. Splits are contiguous blocks (train, val, test) in chip
    order, so they never share a chip.
    """
    rng = np.random.default_rng(seed)
    n_t = n_times + 1  # the extra step is the 8-day-ahead target
    log_chl0 = np.log10(17.0) + 0.45 * rng.standard_normal(n_chips)
    trend = rng.normal(0.05, 0.06, n_chips)  # log10 Chl change per 8 days
    ratio = np.clip(10 ** rng.normal(np.log10(0.35), 0.2, n_chips), 0.03, 1.0)
    ag400 = 10 ** rng.normal(np.log10(0.9), 0.25, n_chips)
    tss = 10 ** rng.normal(np.log10(10.0), 0.25, n_chips)
    field = _smooth_field(rng, n_chips, size, size, 0.25)
    tss_field = _smooth_field(rng, n_chips, size, size, 0.15)
    cubes = []
    for t in range(n_t):
        lc = log_chl0[:, None, None] + trend[:, None, None] * t + field * (1 + 0.1 * t)
        chl = np.clip(10**lc, 1.0, 500.0)
        pc = chl * ratio[:, None, None] * 10 ** (0.1 * field)
        ts = tss[:, None, None] * 10**tss_field
        r = rrs_forward(wavelengths, chl, pc, ag400[:, None, None], ts)  # (n, y, x, band)
        r = r + rng.normal(0.0, noise, r.shape).astype(np.float32) * (1 + 20 * r)
        cubes.append(np.moveaxis(r, -1, 1))  # (n, band, y, x)
    data = np.stack(cubes, axis=1).astype(np.float32)  # (n, t+1, band, y, x)
    if nan_fraction > 0:
        bad = rng.random((n_chips, n_t, 1, size, size)) < nan_fraction
        data = np.where(bad, np.float32(np.nan), data)
    dates = pd.Timestamp(start) + pd.to_timedelta(8 * np.arange(n_times), unit="D")
    chip_date = np.broadcast_to(dates.values, (n_chips, n_times)) + (
        np.arange(n_chips)[:, None] * np.timedelta64(1, "D")
    ) % np.timedelta64(90, "D")
    n_tr = round(split_fractions[0] * n_chips)
    n_va = round(split_fractions[1] * n_chips)
    split = np.array(["train"] * n_tr + ["val"] * n_va + ["test"] * (n_chips - n_tr - n_va))
    return xr.Dataset(
        {
            "chips": (("chip", "time", "band", "y", "x"), data[:, :n_times]),
            "future": (("chip", "band", "y", "x"), data[:, n_times]),
        },
        coords={
            "chip": np.array([f"syn{i:05d}" for i in range(n_chips)], dtype=object),
            "wavelength": ("band", np.asarray(wavelengths, dtype=np.float32)),
            "chip_date": (("chip", "time"), chip_date.astype("datetime64[ns]")),
            "split": ("chip", split.astype(object)),
            "station": ("chip", np.array([""] * n_chips, dtype=object)),
            "x0": ("chip", (np.arange(n_chips) % 16 * size * 1200.0)),
            "y0": ("chip", (np.arange(n_chips) // 16 * size * 1200.0)),
        },
        attrs={"sensor": "pace", "source": "spectm.pretrain.synthetic", "seed": seed, "resolution_m": 1200.0},
    )


def write_chips_store(ds: xr.Dataset, path: Path | str, chips_per_chunk: int = 16) -> Path:
    """Write a chips dataset as Zarr v3 (consolidated=False), chunked along ``chip`` only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    enc = {"chips": {"chunks": (chips_per_chunk, *ds["chips"].shape[1:])}}
    if "future" in ds:
        enc["future"] = {"chunks": (chips_per_chunk, *ds["future"].shape[1:])}
    ds.to_zarr(path, mode="w", zarr_format=3, consolidated=False, encoding=enc)
    return path
