"""Band wavelength sets the model knows, and wavelength-window selection.

The model never indexes bands by position: every token carries its centre
wavelength (nm), so a sensor is just a list of wavelengths. This module holds the
two lists spectm needs before any cube exists (PACE OCI's 172 Rrs bands and the
Sentinel-2 L2A bands) and the one rule that turns a window in nm into band indices.

Window rule (spectm's choice): a band is *in* ``[lo, hi]`` nm when its centre
wavelength rounded to the nearest nm -- OCI's nominal ``wavelength_3d`` integer --
lies in ``[lo, hi]``. On the 172 OCI bands this gives the counts in docs/model.md:
615–640 nm = 11, 660–680 nm = 17, 695–720 nm = 18 (46 SpecTM targets) and
686–694 nm = 8 (the O2-B artefact bands). Using raw float centres instead would drop
659.6 nm and give 16 for the red window.
"""

from __future__ import annotations

import numpy as np

# Centre wavelengths (nm) of the 172 PACE OCI L2 AOP Rrs bands: OCI bands 15-112 and
# 122-195 of oci_bandpass.csv (OB.DAAC RSR table, via SeaDAS optical-toolbox @ 92d5522,
# column "Center Wavelength"); bands 113-121 (591-610 nm) are not in Rrs.
PACE_OCI_WAVELENGTHS: tuple[float, ...] = (
    346.017,
    348.468,
    350.912,
    353.344,
    355.782,
    358.235,
    360.695,
    363.137,
    365.610,
    368.083,
    370.534,
    372.991,
    375.482,
    377.926,
    380.419,
    382.876,
    385.359,
    387.811,
    390.297,
    392.764,
    395.238,
    397.706,
    400.178,
    402.654,
    405.127,
    407.605,
    410.074,
    412.557,
    415.025,
    417.512,
    419.988,
    422.453,
    424.940,
    427.398,
    429.885,
    432.379,
    434.869,
    437.351,
    439.828,
    442.327,
    444.811,
    447.309,
    449.795,
    452.280,
    454.769,
    457.262,
    459.757,
    462.252,
    464.737,
    467.244,
    469.729,
    472.202,
    474.700,
    477.189,
    479.689,
    482.183,
    484.689,
    487.182,
    489.674,
    492.176,
    494.686,
    497.182,
    499.688,
    502.190,
    504.695,
    507.198,
    509.720,
    512.213,
    514.729,
    517.219,
    519.747,
    522.249,
    524.771,
    527.276,
    529.798,
    532.314,
    534.859,
    537.346,
    539.878,
    542.395,
    544.904,
    547.441,
    549.994,
    552.511,
    555.044,
    557.576,
    560.104,
    562.642,
    565.190,
    567.710,
    570.259,
    572.796,
    575.343,
    577.902,
    580.450,
    582.996,
    585.553,
    588.086,
    612.730,
    615.145,
    617.605,
    620.061,
    622.530,
    624.988,
    627.434,
    629.898,
    632.376,
    634.830,
    637.305,
    639.791,
    641.029,
    642.255,
    643.479,
    644.716,
    645.966,
    647.188,
    648.435,
    649.667,
    650.913,
    652.153,
    653.388,
    654.622,
    655.869,
    657.101,
    658.340,
    659.600,
    660.833,
    662.067,
    663.300,
    664.564,
    665.795,
    667.023,
    668.263,
    669.518,
    670.755,
    671.990,
    673.245,
    674.503,
    675.731,
    676.963,
    678.208,
    679.448,
    680.680,
    681.919,
    683.171,
    684.417,
    685.657,
    686.894,
    688.143,
    689.394,
    690.647,
    691.888,
    693.130,
    694.382,
    695.644,
    696.891,
    698.118,
    699.376,
    700.612,
    701.858,
    703.097,
    704.354,
    705.593,
    706.833,
    708.089,
    709.337,
    710.581,
    711.826,
    713.068,
    714.316,
    716.817,
    719.298,
)

# Sentinel-2 L2A surface-reflectance bands used by spectm (central wavelengths, S2A MSI).
SENTINEL2_WAVELENGTHS: dict[str, float] = {
    "coastal": 442.7,
    "blue": 492.4,
    "green": 559.8,
    "red": 664.6,
    "rededge1": 704.1,
    "rededge2": 740.5,
    "rededge3": 782.8,
    "nir": 832.8,
    "nir08": 864.7,
    "swir16": 1613.7,
}

# SpecTM's targeted windows (nm): phycocyanin absorption, Chl-a red absorption,
# red/NIR transition (docs/model.md, SpecTM arXiv:2603.22097).
SPECTM_WINDOWS_NM: tuple[tuple[float, float], ...] = ((615.0, 640.0), (660.0, 680.0), (695.0, 720.0))

# PACE v3.x negative-Rrs artefact around the O2-B band (docs/twin.md).
ARTEFACT_WINDOW_NM: tuple[float, float] = (686.0, 694.0)


def in_windows(
    wavelengths: np.ndarray | list[float], windows: list[tuple[float, float]] | tuple[tuple[float, float], ...]
) -> np.ndarray:
    """Boolean per band: is its nominal (rounded) wavelength inside any ``[lo, hi]`` window?"""
    nominal = np.rint(np.asarray(wavelengths, dtype=np.float64))
    out = np.zeros(nominal.shape, dtype=bool)
    for lo, hi in windows:
        out |= (nominal >= lo) & (nominal <= hi)
    return out


def nearest_band(wavelengths: np.ndarray | list[float], target_nm: float, max_distance_nm: float = 3.0) -> int | None:
    """Index of the band nearest ``target_nm``, or None when none lies within ``max_distance_nm``."""
    wl = np.asarray(wavelengths, dtype=np.float64)
    i = int(np.abs(wl - target_nm).argmin())
    return i if abs(wl[i] - target_nm) <= max_distance_nm else None
