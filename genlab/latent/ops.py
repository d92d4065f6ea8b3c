"""Latent arithmetic and the small computations behind the latent views: class means,
"same style, another class" analogies, directions (class difference, PCA, a raw dimension),
traversals along a direction, nearest codes, 2-σ ellipses, and PNG data URLs of test images
for hover tooltips. No UI imports: the pages call these.

Arrays are NumPy float32; images out are float tensors in [0, 1] (N, C, H, W)."""
from __future__ import annotations

import io

import numpy as np
import torch

from genlab.images import png_url
from genlab.latent.codes import PCA, decode
from genlab.models import GenerativeModel


# -- tooltips ----------------------------------------------------------------------------------
def png_data_urls(x_u8: torch.Tensor | np.ndarray) -> list[str]:
    """One ``data:image/png;base64,...`` URL per image of a uint8 batch (N, C, H, W), at the
    images' own size (a 28x28 gray digit is about 300 bytes): small enough to send thousands
    to the browser for hover tooltips."""
    from PIL import Image
    x = np.asarray(x_u8, np.uint8)
    out = []
    for img in x:
        a = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format="PNG", optimize=False, compress_level=9)
        out.append(png_url(buf.getvalue()))
    return out


# -- class means and analogies -----------------------------------------------------------------
def class_means(z: np.ndarray, y: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """(n_classes, d) mean code of each class; a class with no code gets NaNs."""
    z, y = np.asarray(z, np.float32), np.asarray(y).astype(int)
    if len(z) != len(y):
        raise ValueError("Need one label per code.")
    k = int(n_classes if n_classes is not None else (y.max() + 1 if len(y) else 0))
    out = np.full((k, z.shape[1]), np.nan, np.float32)
    for c in range(k):
        m = y == c
        if m.any():
            out[c] = z[m].mean(0)
    return out


def analogy(z: np.ndarray, means: np.ndarray, source: int, target: int,
            strength: float = 1.0) -> np.ndarray:
    """``z − mean[source] + mean[target]`` (scaled by ``strength``): the same style, another
    class. With several codes (N, d), each is moved."""
    if np.isnan(means[source]).any() or np.isnan(means[target]).any():
        raise ValueError("Both classes need at least one encoded test image.")
    delta = (means[target] - means[source]) * np.float32(strength)
    return (np.asarray(z, np.float32) + delta).astype(np.float32)


# -- directions and traversals -----------------------------------------------------------------
def class_direction(means: np.ndarray, a: int, b: int) -> np.ndarray:
    """The unnormalised direction from class ``a``'s mean code to class ``b``'s."""
    d = means[b] - means[a]
    if np.isnan(d).any():
        raise ValueError("Both classes need at least one encoded test image.")
    return d.astype(np.float32)


def pca_direction(p: PCA, k: int) -> np.ndarray:
    """Principal direction ``k`` scaled to one standard deviation of the codes along it."""
    if not 0 <= k < len(p.variance):
        raise ValueError(f"There are only {len(p.variance)} principal directions.")
    return (p.components[k] * np.sqrt(max(float(p.variance[k]), 1e-12))).astype(np.float32)


def raw_direction(d: int, j: int, scale: float = 1.0) -> np.ndarray:
    """Unit step along raw latent dimension ``j`` (times ``scale``, e.g. its standard deviation)."""
    if not 0 <= j < d:
        raise ValueError(f"The latent space has {d} dimensions (0 to {d - 1}).")
    v = np.zeros(d, np.float32)
    v[j] = scale
    return v


def along(z: np.ndarray, direction: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Codes ``z + t·direction`` for each t: (len(ts), d), or (N·len(ts), d) row by row for
    several starting codes (N, d)."""
    z = np.atleast_2d(np.asarray(z, np.float32))
    ts = np.asarray(ts, np.float32)
    out = z[:, None, :] + ts[None, :, None] * np.asarray(direction, np.float32)[None, None, :]
    return out.reshape(-1, z.shape[1]).astype(np.float32)


def traverse(model: GenerativeModel, z: np.ndarray, direction: np.ndarray, span: float = 2.0,
             steps: int = 9) -> torch.Tensor:
    """Decoded images along ``z + t·direction`` for t in [−span, span] (``steps`` values); one
    row per starting code when ``z`` is (N, d): the β-VAE traversal grid."""
    if steps < 2:
        raise ValueError("A traversal needs at least 2 steps.")
    return decode(model, along(z, direction, np.linspace(-span, span, steps)))


# -- neighbours and ellipses -------------------------------------------------------------------
def nearest(z_all: np.ndarray, z: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Indices and Euclidean distances of the ``k`` codes of ``z_all`` nearest to ``z``."""
    z_all = np.asarray(z_all, np.float32)
    dist = np.sqrt(((z_all - np.asarray(z, np.float32)[None]) ** 2).sum(1))
    k = min(k, len(dist))
    idx = np.argpartition(dist, k - 1)[:k] if k < len(dist) else np.arange(len(dist))
    idx = idx[np.argsort(dist[idx], kind="stable")]
    return idx, dist[idx]


def projected_ellipse(p: PCA, mean: np.ndarray, var: np.ndarray, k: float = 2.0,
                      n: int = 72) -> np.ndarray:
    """The ``k``-σ ellipse of a diagonal Gaussian N(mean, diag(var)) in the PCA's first two
    coordinates, as ``n`` closed-curve points (n, 2)."""
    if len(p.components) < 2:
        raise ValueError("An ellipse on a 2-D view needs a latent space of 2 or more dimensions.")
    w = np.asarray(p.components[:2], np.float64)  # (2, d)
    cov = (w * np.asarray(var, np.float64)[None]) @ w.T
    vals, vecs = np.linalg.eigh(cov)
    t = np.linspace(0, 2 * np.pi, n)
    circle = np.stack([np.cos(t), np.sin(t)], 1) * (k * np.sqrt(np.maximum(vals, 0)))[None]
    center = p.transform(np.asarray(mean, np.float32)[None])[0, :2]
    return (center[None] + circle @ vecs.T).astype(np.float32)
