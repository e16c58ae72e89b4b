"""A vectorised bio-optical forward model: water constituents → Rrs (docs/twin.md).

Lee et al. (2002) relates the subsurface remote-sensing reflectance to the inherent
optical properties, ``u = b_b/(a + b_b)``, ``r_rs = g0·u + g1·u²`` (QAA g0 0.08945,
g1 0.1247), and ``R_rs = 0.52·r_rs/(1 − 1.7·r_rs)`` carries it above the surface.
The IOP budget is

* pure water ``a_w``, ``b_w`` from the NASA OBPG table (Pope & Fry 1997, Kou 1993,
  Smith & Baker 1981); ``b_bw = 0.5·b_w`` as the table header defines it (the fresh-water
  factor 1/1.30 changes Rrs by < 1 % in these turbid waters, so the seawater value is kept);
* phytoplankton ``a_ph = A(λ)·Chl^(1−B(λ))`` from Bricaud et al. 1995 (rows sorted on
  load; held flat below 400 nm and tapered linearly to 0 between 700 and 720 nm);
* phycocyanin, a Gaussian band ``PC·a*_PC·exp[−(λ−620)²/(2σ²)]``;
* CDOM ``a_g(400)·exp[−S_g(λ−400)]`` and non-algal particles
  ``TSS·a*_NAP(443)·exp[−S_NAP(λ−443)]``;
* particle backscatter ``[TSS·b*_bp + b_bp,phy]·(555/λ)^γ`` with
  ``b_bp,phy = 0.416·Chl^0.766·(0.002 + 0.01·(0.5 − 0.25·log10 Chl))``;
* optionally sun-induced chlorophyll fluorescence, a Gaussian at 685 nm (FWHM 25 nm)
  added to Rrs with height ``fl_coef·Chl^0.8`` sr⁻¹.

Band values are spectral averages of the 1-nm model weighted by a Gaussian spectral
response with the band's FWHM, truncated at ±1.5 FWHM. Gaussian SRFs are an
approximation for both OCI (whose real RSRs are close to Gaussian at 5 nm) and the
Sentinel-2 MSI (whose real RSRs are flatter-topped); the error is small next to the
noise the twin adds, and it keeps the model free of unpublished tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from spectm.catalogs import builtin_catalog_dir
from spectm.errors import BadInputError

# Sentinel-2 MSI bands by Earth Search asset key: (band name, centre nm, FWHM nm),
# values as the real c1 items' ``eo:bands`` (docs/twin.md).
S2_BANDS: dict[str, tuple[str, float, float]] = {
    "coastal": ("B01", 443.0, 27.0),
    "blue": ("B02", 490.0, 98.0),
    "green": ("B03", 560.0, 45.0),
    "red": ("B04", 665.0, 38.0),
    "rededge1": ("B05", 704.0, 19.0),
    "rededge2": ("B06", 740.0, 18.0),
    "rededge3": ("B07", 783.0, 28.0),
    "nir": ("B08", 842.0, 145.0),
    "nir08": ("B8A", 865.0, 33.0),
    "nir09": ("B09", 945.0, 26.0),
    "swir16": ("B11", 1610.0, 143.0),
    "swir22": ("B12", 2190.0, 242.0),
}


def optics_dir() -> Path:
    """The shipped optics tables (``catalogs/optics``; see its PROVENANCE.md)."""
    return builtin_catalog_dir() / "optics"


@lru_cache(maxsize=1)
def pure_water() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(wavelength nm, a_w m⁻¹, b_w m⁻¹) from the NASA water table (header lines ``/`` or ``!``)."""
    path = optics_dir() / "water_spectra_nasa_popefry_kou_smithbaker.dat"
    rows = []
    for line in path.read_text(encoding="latin-1").splitlines():
        s = line.strip()
        if not s or s[0] in "/!":
            continue
        parts = s.split()
        rows.append((float(parts[0]), float(parts[1]), float(parts[2])))
    arr = np.asarray(rows)
    arr = arr[np.argsort(arr[:, 0])]
    return arr[:, 0], arr[:, 1], arr[:, 2]


@lru_cache(maxsize=1)
def bricaud() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(wavelength, A, B) of Bricaud et al. 1995, sorted by wavelength (the file is not)."""
    df = pd.read_csv(optics_dir() / "bricaud1995_A_B_400_700nm.csv")
    df = df.sort_values("lambda_nm").drop_duplicates("lambda_nm")
    return df["lambda_nm"].to_numpy(float), df["A"].to_numpy(float), df["B"].to_numpy(float)


@lru_cache(maxsize=1)
def oci_bandpass() -> pd.DataFrame:
    """The 286-band OCI table: band, nominal (int nm), centre, fwhm, f0, tau_r, depol, k_oz, k_no2."""
    df = pd.read_csv(optics_dir() / "oci_bandpass.csv", skiprows=2, header=None, skipinitialspace=True)
    df.columns = ["band", "nominal", "center", "fwhm", "f0", "tau_r", "depol", "k_oz", "k_no2"]
    return df


@lru_cache(maxsize=1)
def oci_rrs_bands() -> pd.DataFrame:
    """The 172 L2 AOP Rrs bands (OCI bands 15–112 and 122–195: 346–588 and 613–719 nm)."""
    df = oci_bandpass()
    sel = df[((df.band >= 15) & (df.band <= 112)) | ((df.band >= 122) & (df.band <= 195))]
    if len(sel) != 172:  # pragma: no cover - guards a corrupted table
        raise BadInputError(f"oci_bandpass.csv yields {len(sel)} Rrs bands, expected 172", "restore catalogs/optics")
    return sel.reset_index(drop=True)


@dataclass(frozen=True)
class ModelParams:
    """Free parameters of the forward model; defaults are the indicative set in docs/twin.md."""

    g0: float = 0.08945
    g1: float = 0.1247
    s_g: float = 0.015  # CDOM slope, nm⁻¹
    a_nap443: float = 0.03  # m² g⁻¹
    s_nap: float = 0.0115  # nm⁻¹
    bbp_star: float = 0.012  # m² g⁻¹
    gamma: float = 0.8
    a_pc620: float = 0.007  # m² mg⁻¹
    sigma_pc: float = 20.0  # nm
    bbw_factor: float = 0.5
    fl_coef: float = 0.0  # sr⁻¹ per (µg/L)^0.8; 0 disables fluorescence


@dataclass
class BandSet:
    """A set of bands as a weight matrix over model sample wavelengths."""

    centers: np.ndarray
    fwhm: np.ndarray
    grid: np.ndarray  # sample wavelengths (nm)
    weights: np.ndarray  # (n_grid, n_band), columns sum to 1
    names: list[str] = field(default_factory=list)


def make_bandset(centers: np.ndarray, fwhm: np.ndarray, names: list[str] | None = None) -> BandSet:
    """Gaussian SRFs (truncated at ±1.5 FWHM) sampled on a shared, de-duplicated grid."""
    centers = np.asarray(centers, float)
    fwhm = np.asarray(fwhm, float)
    pts = []
    for c, w in zip(centers, fwhm, strict=True):
        step = max(1.0, w / 8.0)
        n = int(np.floor(1.5 * w / step))
        pts.append(np.round(c + step * np.arange(-n, n + 1)))
    grid = np.unique(np.concatenate(pts))
    sigma = fwhm / (2 * np.sqrt(2 * np.log(2)))
    d = grid[:, None] - centers[None, :]
    wts = np.exp(-0.5 * (d / sigma[None, :]) ** 2) * (np.abs(d) <= 1.5 * fwhm[None, :] + 0.5)
    wts /= wts.sum(axis=0, keepdims=True)
    return BandSet(centers, fwhm, grid, wts, names or [f"{c:g}" for c in centers])


@lru_cache(maxsize=1)
def oci_bandset() -> BandSet:
    b = oci_rrs_bands()
    return make_bandset(b["center"].to_numpy(), b["fwhm"].to_numpy(), [str(n) for n in b["nominal"]])


@lru_cache(maxsize=1)
def s2_bandset() -> BandSet:
    keys = list(S2_BANDS)
    return make_bandset(np.array([S2_BANDS[k][1] for k in keys]), np.array([S2_BANDS[k][2] for k in keys]), keys)


def _aph_tables(wl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lam, a, b = bricaud()
    av = np.interp(wl, lam, a)  # flat below 400 (np.interp holds the end value)
    bv = np.interp(wl, lam, b)
    taper = np.clip((720.0 - wl) / 20.0, 0.0, 1.0)  # 1 at ≤700 nm, 0 at ≥720 nm
    av = np.where(wl > 700, av * taper, av)
    return av, bv


def iops(
    wl: np.ndarray,
    chl: np.ndarray,
    pc: np.ndarray,
    ag400: np.ndarray,
    tss: np.ndarray,
    p: ModelParams = ModelParams(),
) -> tuple[np.ndarray, np.ndarray]:
    """Total absorption and backscatter, shape (n_pixels, n_wavelengths)."""
    wl = np.asarray(wl, float)[None, :]
    chl = np.clip(np.asarray(chl, float).reshape(-1, 1), 1e-3, None)
    pc = np.clip(np.asarray(pc, float).reshape(-1, 1), 0.0, None)
    ag400 = np.clip(np.asarray(ag400, float).reshape(-1, 1), 0.0, None)
    tss = np.clip(np.asarray(tss, float).reshape(-1, 1), 0.0, None)
    lw, aw_t, bw_t = pure_water()
    aw = np.interp(wl[0], lw, aw_t)[None, :]
    bbw = p.bbw_factor * np.interp(wl[0], lw, bw_t)[None, :]
    A, B = _aph_tables(wl[0])
    a_ph = A[None, :] * chl ** (1.0 - B[None, :])
    a_pc = pc * p.a_pc620 * np.exp(-((wl - 620.0) ** 2) / (2 * p.sigma_pc**2))
    a_g = ag400 * np.exp(-p.s_g * (wl - 400.0))
    a_nap = tss * p.a_nap443 * np.exp(-p.s_nap * (wl - 443.0))
    ratio = np.clip(0.002 + 0.01 * (0.5 - 0.25 * np.log10(chl)), 5e-4, None)
    bbp_phy = 0.416 * chl**0.766 * ratio
    bbp = (tss * p.bbp_star + bbp_phy) * (555.0 / wl) ** p.gamma
    return aw + a_ph + a_pc + a_g + a_nap, bbw + bbp


def rrs_spectrum(
    wl: np.ndarray,
    chl: np.ndarray,
    pc: np.ndarray,
    ag400: np.ndarray,
    tss: np.ndarray,
    p: ModelParams = ModelParams(),
) -> np.ndarray:
    """Above-water Rrs (sr⁻¹) at wavelengths ``wl`` for each pixel: shape (n_pixels, n_wl)."""
    a, bb = iops(wl, chl, pc, ag400, tss, p)
    u = bb / (a + bb)
    rrs_sub = p.g0 * u + p.g1 * u**2
    out = 0.52 * rrs_sub / (1.0 - 1.7 * rrs_sub)
    if p.fl_coef > 0:
        chl_v = np.clip(np.asarray(chl, float).reshape(-1, 1), 0.0, None)
        sig = 25.0 / (2 * np.sqrt(2 * np.log(2)))
        out = out + p.fl_coef * chl_v**0.8 * np.exp(-0.5 * ((np.asarray(wl)[None, :] - 685.0) / sig) ** 2)
    return out


def band_rrs(
    bands: BandSet,
    chl: np.ndarray,
    pc: np.ndarray,
    ag400: np.ndarray,
    tss: np.ndarray,
    p: ModelParams = ModelParams(),
    chunk: int = 8192,
) -> np.ndarray:
    """Band-averaged Rrs, shape (n_pixels, n_bands), computed in pixel chunks to bound memory."""
    chl = np.asarray(chl, float).ravel()
    n = chl.size
    out = np.empty((n, bands.weights.shape[1]), dtype=np.float32)
    args = [np.broadcast_to(np.asarray(x, float).ravel(), (n,)) for x in (pc, ag400, tss)]
    for i in range(0, n, chunk):
        s = slice(i, min(n, i + chunk))
        spec = rrs_spectrum(bands.grid, chl[s], args[0][s], args[1][s], args[2][s], p)
        out[s] = spec @ bands.weights
    return out
