"""One number on the same footing for every family: the Jensen-Shannon divergence, in bits,
between the data and the model's samples, each as a Gaussian kernel density on a fixed 64x64
grid over [-4, 4]^2 (as GAN Lab estimates it on a grid); and the real-vs-real floor, the same
number between two independent samples of the data (what sampling noise alone gives).

The density: the points binned bilinearly onto the grid's cell centres, then smoothed by a
Gaussian of ``BANDWIDTH`` (separable, truncated at 4 sigma), plus a tiny floor so that no cell
is exactly 0, and normalised to sum 1. JS = H(m) - (H(p) + H(q)) / 2, m = (p + q) / 2, log 2:
0 for identical densities, 1 bit for densities with disjoint support."""
from __future__ import annotations

import numpy as np

from genlab.playground.data2d import EXTENT, mode_centres

GRID = 64
SAMPLES = 5000  # model samples (and data points) per estimate
BANDWIDTH = 0.15  # the kernel's sigma, in data units (a cell is 8/64 = 0.125)
EPS = 1e-12
_CELL = 2 * EXTENT / GRID


def _kernel() -> np.ndarray:
    s = BANDWIDTH / _CELL
    r = int(np.ceil(4 * s))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / s) ** 2)
    return k / k.sum()


_K = _kernel()


def density(points: np.ndarray) -> np.ndarray:
    """The kernel density of ``points`` (N, 2) on the grid, (GRID, GRID) rows = y, summing to 1.
    Points outside the plane are dropped (they count against the model: its mass is lost)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    p = p[np.isfinite(p).all(1)]
    u = (p + EXTENT) / _CELL - 0.5  # cell-centre coordinates
    i0 = np.floor(u).astype(np.int64)
    f = u - i0
    h = np.zeros((GRID + 2, GRID + 2))
    for dx in (0, 1):
        for dy in (0, 1):
            w = (f[:, 0] if dx else 1 - f[:, 0]) * (f[:, 1] if dy else 1 - f[:, 1])
            ix, iy = i0[:, 0] + dx + 1, i0[:, 1] + dy + 1
            ok = (ix >= 0) & (ix < GRID + 2) & (iy >= 0) & (iy < GRID + 2)
            np.add.at(h, (iy[ok], ix[ok]), w[ok])
    h = h[1:-1, 1:-1]
    h = np.apply_along_axis(lambda r: np.convolve(r, _K, "same"), 0, h)
    h = np.apply_along_axis(lambda r: np.convolve(r, _K, "same"), 1, h)
    n = max(len(p), 1)
    h = h / n + EPS
    return h / h.sum()


def _entropy(p: np.ndarray) -> float:
    return float(-(p * np.log2(p)).sum())


def js_bits(a: np.ndarray, b: np.ndarray) -> float:
    """JS divergence (bits) between the densities of point sets ``a`` and ``b``."""
    p, q = density(a), density(b)
    return max(0.0, _entropy((p + q) / 2) - (_entropy(p) + _entropy(q)) / 2)


def modes_covered(points: np.ndarray, min_share: float = 0.02, radius: float = 0.6) -> int:
    """How many of the 8 Gaussians' modes hold at least ``min_share`` of the points within
    ``radius`` (3 sigma) of their centre: 8 when the model covers the ring, 1 when it collapsed."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    d = np.linalg.norm(p[:, None, :] - mode_centres()[None], axis=2)
    share = (d < radius).mean(0)
    return int((share >= min_share).sum())
