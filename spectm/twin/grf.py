"""Gaussian random fields by FFT: the spatial texture of water, clouds and haze.

A field with a Gaussian correlation of length ``corr_px`` pixels is white noise
filtered in the Fourier domain; it is normalised to zero mean and unit standard
deviation so callers scale it to the physical amplitude they document. The domain
is padded by the correlation length so opposite edges are not correlated (FFT
periodicity).
"""

from __future__ import annotations

import numpy as np


def gaussian_random_field(shape: tuple[int, int], corr_px: float, rng: np.random.Generator) -> np.ndarray:
    """A (ny, nx) float32 field, mean 0, SD 1, Gaussian autocorrelation of length ``corr_px``."""
    ny, nx = shape
    pad = int(np.ceil(2 * corr_px))
    py, px = ny + pad, nx + pad
    noise = rng.standard_normal((py, px))
    ky = np.fft.fftfreq(py)[:, None]
    kx = np.fft.rfftfreq(px)[None, :]
    filt = np.exp(-2 * (np.pi * corr_px) ** 2 * (kx**2 + ky**2) / 2)
    field = np.fft.irfft2(np.fft.rfft2(noise) * filt, s=(py, px))[:ny, :nx]
    sd = field.std()
    field = (field - field.mean()) / (sd if sd > 0 else 1.0)
    return field.astype(np.float32)
