"""Images for the CLI, the app and lab reports: grids as uint8 arrays, crisp (nearest-neighbour)
enlargement and PNG encoding."""
from __future__ import annotations

import base64
import io

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


def upscale(img: np.ndarray, target: int, most: int = 8) -> np.ndarray:
    """A uint8 image (H, W) or (H, W, C) enlarged with crisp pixels (nearest neighbour, a whole
    factor, at most ``most``) to about ``target`` pixels wide: how the app and the lab report
    show small images."""
    scale = max(1, min(most, target // max(img.shape[1], 1)))
    return img.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else img


def png(img: np.ndarray, fast: bool = False) -> bytes:
    """A uint8 image (H, W) or (H, W, C) as PNG bytes: ``fast`` encodes quickly (a live grid,
    once per new grid), otherwise smaller (a lab report's figure)."""
    from PIL import Image
    buf = io.BytesIO()
    options = {"compress_level": 1} if fast else {"optimize": True}
    Image.fromarray(np.ascontiguousarray(img)).save(buf, format="PNG", **options)
    return buf.getvalue()


def png_url(data: bytes) -> str:
    """PNG bytes as a ``data:image/png;base64,...`` URL: an image that travels inside the page
    (a hover tooltip, a report, a live view), with no file to fetch from the server later."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
