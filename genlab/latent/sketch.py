"""Drawings as model inputs: centre and resize a sketch the way the model's data set was made
(MNIST: bounding box to 20x20, centre of mass in the 28x28 field; Fashion-MNIST: the longest
side fills the image), and find a GAN's noise whose image best matches a target (inversion by
Adam on z). No UI imports."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from PIL import Image

from genlab.models import noise

STYLES = ("mnist", "fit")


def style_for(dataset_name: str) -> str:
    """Fashion-MNIST items fill their image; digits (and everything else) are MNIST-style."""
    return "fit" if "fashion" in (dataset_name or "").lower() else "mnist"


def to_gray(canvas: np.ndarray, background: str = "black") -> np.ndarray:
    """An RGBA or RGB drawing (H, W, 3|4) -> float ink in [0, 1] (H, W): light strokes on a
    black background (or dark strokes on white) become 1 where the ink is."""
    a = np.asarray(canvas, np.float32)
    g = (a if a.ndim == 2 else a[..., :3].mean(-1)) / 255.0
    if background == "white":
        g = 1.0 - g
    if a.ndim == 3 and a.shape[-1] == 4:  # transparent pixels carry no ink
        g = g * (a[..., 3] / 255.0)
    return np.clip(g, 0.0, 1.0)


def prepare(ink: np.ndarray, size: int = 28, channels: int = 1, style: str = "mnist",
            threshold: float = 0.05) -> torch.Tensor:
    """A drawing's ink (H, W) in [0, 1] -> a uint8 image (1, channels, size, size) placed like
    the data set's: ``mnist``, the bounding box scaled (aspect kept) so its longer side is
    20/28 of the image, then shifted so the centre of mass sits in the middle; ``fit``, the
    longer side fills the image, centred by the box. An empty drawing raises ValueError."""
    if style not in STYLES:
        raise ValueError(f"Unknown placement {style!r}: one of {', '.join(STYLES)}.")
    ink = np.asarray(ink, np.float32)
    rows, cols = np.flatnonzero((ink > threshold).any(1)), np.flatnonzero((ink > threshold).any(0))
    if not len(rows):
        raise ValueError("The drawing is empty: draw something first.")
    box = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    inner = size if style == "fit" else max(1, round(size * 20 / 28))
    h, w = box.shape
    scale = inner / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = np.asarray(Image.fromarray((box * 255).astype(np.uint8)).resize(
        (nw, nh), Image.Resampling.LANCZOS), np.float32) / 255.0
    out = np.zeros((size, size), np.float32)
    top, left = (size - nh) // 2, (size - nw) // 2
    out[top:top + nh, left:left + nw] = small
    if style == "mnist" and out.sum() > 0:
        yy, xx = np.mgrid[:size, :size]
        cy, cx = (out * yy).sum() / out.sum(), (out * xx).sum() / out.sum()
        dy, dx = round((size - 1) / 2 - cy), round((size - 1) / 2 - cx)
        dy = int(np.clip(dy, -top, size - top - nh))  # never push ink out of the field
        dx = int(np.clip(dx, -left, size - left - nw))
        out = np.roll(out, (dy, dx), axis=(0, 1))
    img = torch.from_numpy(np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8))
    return img[None, None].expand(1, channels, size, size).contiguous()


def center_of_mass(img: np.ndarray) -> tuple[float, float]:
    """(row, column) centre of mass of a 2-D image."""
    a = np.asarray(img, np.float64)
    yy, xx = np.mgrid[:a.shape[0], :a.shape[1]]
    return float((a * yy).sum() / a.sum()), float((a * xx).sum() / a.sum())


def invert_gan(model, target01: torch.Tensor, steps: int = 300, lr: float = 0.05,
               starts: int = 8, seed: int = 0, prior_weight: float = 1e-3,
               callback: Callable[[int, list[float], torch.Tensor], None] | None = None,
               every: int = 25) -> dict:
    """The noise z whose generated image best matches ``target01`` (1, C, H, W) in [0, 1]:
    ``starts`` random z ~ N(0, I) optimised together with Adam on the pixel MSE (plus a small
    pull toward the prior so z stays a plausible sample); the best start wins.

    Returns {"z": (d,) float32, "image": (1, C, H, W), "losses": per-step MSE of the best start,
    "start_loss": the best start's MSE before any step}. ``callback(step, losses, image)`` is
    called every ``every`` steps and at the end, to show it converging. The model's weights are
    neither changed nor given gradients (it may be shared)."""
    if steps < 1:
        raise ValueError("Inversion needs at least one step.")
    dev = model.device
    target = target01.to(dev, torch.float32).reshape(1, *model.config.image_shape)
    z = noise(starts, model.config.latent_dim, seed).to(dev).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    losses: list[float] = []
    start_loss = None
    with torch.enable_grad():
        for step in range(1, steps + 1):
            img = model.decode(z).float()
            mse = ((img - target) ** 2).flatten(1).mean(1)  # per start
            if start_loss is None:
                start_loss = float(mse.detach().min())
            loss = (mse + prior_weight * (z ** 2).mean(1)).sum()
            (g,) = torch.autograd.grad(loss, [z])  # only z: the model's .grad stays untouched
            z.grad = g
            opt.step()
            best = int(mse.argmin())
            losses.append(float(mse.detach()[best]))
            if callback is not None and (step % every == 0 or step == steps):
                callback(step, losses, img[best:best + 1].detach().cpu())
    with torch.inference_mode():
        img = model.decode(z.detach()).float()
        mse = ((img - target) ** 2).flatten(1).mean(1)
        best = int(mse.argmin())
    losses.append(float(mse[best]))
    return {"z": z.detach()[best].cpu().numpy().astype(np.float32), "image": img[best:best + 1].cpu(),
            "losses": losses, "start_loss": start_loss}
