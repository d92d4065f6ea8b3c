"""2-D data sets on the plane [-4, 4]^2, seeded: 8 Gaussians on a ring, two moons, a ring, a
spiral, a checkerboard, and points the user drew (jittered copies of them)."""
from __future__ import annotations

import math

import numpy as np

from genlab.settings import PLAY_DATASETS as DATASETS

NAMES = {"gaussians8": "8 Gaussians on a ring", "moons": "Two moons", "ring": "Ring",
         "spiral": "Spiral", "checkerboard": "Checkerboard", "drawn": "Points you draw"}
RADIUS, MODE_STD = 2.5, 0.2  # the 8 Gaussians: centres on a circle of this radius, this spread
EXTENT = 4.0  # the plane drawn, and the divergence's grid: [-EXTENT, EXTENT]^2
DRAWN_STD = 0.15  # each drawn point stands for a small Gaussian of this spread


def mode_centres() -> np.ndarray:
    """The 8 Gaussians' centres, (8, 2)."""
    a = np.arange(8) * (2 * math.pi / 8)
    return (RADIUS * np.stack([np.cos(a), np.sin(a)], 1)).astype(np.float32)


def sample(name: str, n: int, seed: int, drawn=None) -> np.ndarray:
    """``n`` points of data set ``name`` as float32 (n, 2); the same seed gives the same points.
    ``drawn``: the user's points [(x, y), ...] for "drawn" (at least one)."""
    if name not in DATASETS:
        raise ValueError(f"The data set must be one of {', '.join(DATASETS)}, not {name!r}.")
    r = np.random.default_rng(seed)
    if name == "gaussians8":
        x = mode_centres()[r.integers(0, 8, n)] + MODE_STD * r.standard_normal((n, 2))
    elif name == "moons":
        a = math.pi * r.random(n)
        upper = r.random(n) < 0.5
        x = np.where(upper[:, None], np.stack([np.cos(a), np.sin(a)], 1),
                     np.stack([1 - np.cos(a), 0.5 - np.sin(a)], 1))
        x = (x - [0.5, 0.25]) * 2.0 + 0.1 * r.standard_normal((n, 2))
    elif name == "ring":
        a = 2 * math.pi * r.random(n)
        x = np.stack([np.cos(a), np.sin(a)], 1) * (2.5 + 0.1 * r.standard_normal((n, 1)))
    elif name == "spiral":
        s = np.sqrt(r.random(n)) * 3 * math.pi
        x = np.stack([s * np.cos(s), s * np.sin(s)], 1) / (math.pi) + 0.1 * r.standard_normal((n, 2))
    elif name == "checkerboard":
        x1 = r.random(n) * 4 - 2
        x2 = r.random(n) - r.integers(0, 2, n) * 2.0
        x2 = x2 + (np.floor(x1) % 2)
        x = np.stack([x1, x2], 1) * 1.5
    else:
        pts = np.asarray(drawn if drawn is not None else [], dtype=np.float64).reshape(-1, 2)
        if not len(pts):
            raise ValueError("Draw some points on the plane first (click on it), then train.")
        x = pts[r.integers(0, len(pts), n)] + DRAWN_STD * r.standard_normal((n, 2))
    return np.clip(x, -EXTENT, EXTENT).astype(np.float32)
