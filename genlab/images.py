"""Image grids as uint8 arrays, for the CLI, the app and lab reports."""
from __future__ import annotations

import numpy as np
import torch


def make_grid(images: torch.Tensor, nrow: int = 8, pad: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """(N, C, H, W) floats in [0, 1] -> (H', W', 3) uint8 image with ``nrow`` images per row."""
    x = images.detach().float().clamp(0, 1).cpu()
    if x.ndim == 3:
        x = x.unsqueeze(1)
    n, c, h, w = x.shape
    if c == 1:
        x = x.expand(-1, 3, -1, -1)
    ncol = min(nrow, max(n, 1))
    nrows = (n + ncol - 1) // ncol
    grid = torch.full((3, nrows * (h + pad) + pad, ncol * (w + pad) + pad), pad_value)
    for i in range(n):
        r, k = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        grid[:, top:top + h, left:left + w] = x[i]
    return (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> (N, H, W, C) uint8."""
    return (images.detach().float().clamp(0, 1).cpu() * 255).round().byte().permute(0, 2, 3, 1).numpy()
