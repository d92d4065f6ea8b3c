"""Latent-space tools: encode a split, PCA and (cached) t-SNE, interpolation, traversals and
manifold grids. Numbers about the codes (active units, KL to the prior, class structure) are
defined in ``genlab.metrics.codes``.

Arrays out are NumPy float32; images out are float tensors in [0, 1] (N, C, H, W) unless a
function says uint8.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genlab.data import to_float
from genlab.data.dataset import cache_dir
from genlab.models import VAE, GenerativeModel, noise

TSNE_VERSION = 3  # bump when the t-SNE settings change, so old cache entries are not reused


# -- codes ------------------------------------------------------------------------------------


@torch.inference_mode()
def encode_images(model: GenerativeModel, x_u8: torch.Tensor, batch: int = 1000) -> np.ndarray:
    """Latent codes (VAE: posterior means) of uint8 images, as float32 (N, latent_dim)."""
    if not model.has_encoder:
        raise ValueError("A GAN has no encoder, so images cannot be mapped to codes.")
    dev = model.device
    out = [model.encode(to_float(x_u8[i:i + batch].to(dev))).float().cpu()
           for i in range(0, len(x_u8), batch)]
    return torch.cat(out).numpy() if out else np.zeros((0, model.config.latent_dim), np.float32)


@torch.inference_mode()
def posterior_stats(model: VAE, x_u8: torch.Tensor, batch: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and log-variances of a VAE, (N, d) each."""
    dev = model.device
    mus, lvs = [], []
    for i in range(0, len(x_u8), batch):
        mu, lv = model.posterior(to_float(x_u8[i:i + batch].to(dev)))
        mus.append(mu.float().cpu())
        lvs.append(lv.float().cpu())
    return torch.cat(mus).numpy(), torch.cat(lvs).numpy()


@torch.inference_mode()
def decode(model: GenerativeModel, z: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] for codes z (d,) or (N, d)."""
    zt = torch.as_tensor(np.asarray(z, dtype=np.float32)).to(model.device)
    return model.decode(zt.reshape(-1, model.config.latent_dim)).float().cpu()


def to_uint8_image(img: torch.Tensor) -> np.ndarray:
    """One (C, H, W) image in [0, 1] -> (H, W) or (H, W, 3) uint8."""
    a = (img.clamp(0, 1) * 255).round().byte().numpy()
    return a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)


def decode_image(model: GenerativeModel, z: np.ndarray) -> np.ndarray:
    """The fast path behind a slider: one code -> one uint8 image."""
    return to_uint8_image(decode(model, z)[0])


@dataclass
class CodeRanges:
    """Where a model's codes lie, per dimension: the Latent explorer's sliders and traversals."""
    center: np.ndarray  # (d,) the codes' mean (the prior's 0 without codes)
    sd: np.ndarray  # (d,) their standard deviation, at least 1e-3 (the prior's 1)
    lo: np.ndarray  # (d,) the range: 4 sd either side of the center, at least [-3, 3]
    hi: np.ndarray  # (d,) (the prior's [-3.5, 3.5])

    def slider(self, j: int) -> tuple[float, float]:
        """Dimension ``j``'s slider bounds, rounded outwards to hundredths (the slider's step)."""
        return float(np.floor(self.lo[j] * 100) / 100), float(np.ceil(self.hi[j] * 100) / 100)

    def clip(self, z: np.ndarray) -> np.ndarray:
        return np.clip(z, self.lo, self.hi)


def code_ranges(z: np.ndarray | None, dim: int) -> CodeRanges:
    """The ranges of the codes ``z`` (N, dim) of test images; without codes (a GAN, or data
    that is gone), those of the prior N(0, I)."""
    if z is None:
        return CodeRanges(np.zeros(dim, np.float32), np.ones(dim, np.float32),
                          np.full(dim, -3.5), np.full(dim, 3.5))
    center, sd = z.mean(0), np.maximum(z.std(0), 1e-3)
    return CodeRanges(center, sd, np.minimum(center - 4 * sd, -3.0), np.maximum(center + 4 * sd, 3.0))


# -- projections -------------------------------------------------------------------------------
def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Small matrix products without BLAS threads: NumPy's multi-threaded OpenBLAS took 150 ms
    (instead of 2 ms) for a 5,000 x 32 product here when the CPU was busy."""
    return np.einsum("...j,jk->...k", a, b)


@dataclass
class PCA:
    mean: np.ndarray  # (d,)
    components: np.ndarray  # (k, d), rows are unit principal directions
    variance: np.ndarray  # (k,) variance of the codes along each direction
    explained: np.ndarray  # (k,) fraction of the total variance

    def transform(self, z: np.ndarray) -> np.ndarray:
        return _mm(np.asarray(z, np.float32) - self.mean, self.components.T)

    def inverse(self, coords: np.ndarray) -> np.ndarray:
        return self.mean + _mm(np.asarray(coords, np.float32), self.components)

    def code(self, base: np.ndarray, sd_units: np.ndarray) -> np.ndarray:
        """``base`` with its coordinates along the top directions replaced by ``sd_units``
        (in standard deviations of the codes); the rest of ``base`` is kept."""
        k = len(sd_units)
        coords = self.transform(base)
        delta = (np.asarray(sd_units, np.float32) * np.sqrt(self.variance[:k]) - coords[:k])
        return (base + _mm(delta, self.components[:k])).astype(np.float32)

    def sd_units(self, z: np.ndarray, k: int) -> np.ndarray:
        return self.transform(z)[:k] / np.sqrt(np.maximum(self.variance[:k], 1e-12))

    def coords(self, z: np.ndarray, dims: int) -> np.ndarray:
        """``dims`` coordinates of the codes ``z`` (N, d): padded with zeros for a latent
        smaller than ``dims``."""
        c = self.transform(z)[:, :dims]
        return np.pad(c, ((0, 0), (0, dims - c.shape[1]))) if c.shape[1] < dims else c

    def prior(self, n: int, dims: int, seed: int = 0) -> np.ndarray:
        """``n`` samples of the prior N(0, I) (``genlab.models.noise``) in this projection:
        where a model's codes should lie, drawn beside them."""
        return self.coords(noise(n, len(self.mean), seed).numpy(), dims)


def fit_pca(z: np.ndarray, k: int | None = None) -> PCA:
    """PCA from the eigenvectors of the codes' covariance (d x d: fast for latent sizes);
    k defaults to all directions."""
    z = np.asarray(z, np.float32)
    mean = z.mean(0)
    zc = (z - mean).astype(np.float64)
    cov = np.einsum("ij,ik->jk", zc, zc) / max(len(z) - 1, 1)
    var, vecs = np.linalg.eigh(cov)
    order = np.argsort(var)[::-1]
    var, vecs = np.maximum(var[order], 0.0), vecs[:, order]
    k = min(k or len(var), len(var))
    return PCA(mean, vecs[:, :k].T.astype(np.float32), var[:k].astype(np.float32),
               (var[:k] / max(var.sum(), 1e-12)).astype(np.float32))


def pca(z: np.ndarray, dims: int = 2) -> tuple[np.ndarray, PCA]:
    """2-D or 3-D coordinates of the codes (padded with zeros for a 1-D latent)."""
    p = fit_pca(z, dims)
    return p.coords(z, dims), p


def tsne_key(model_path: str | os.PathLike, n: int, seed: int, perplexity: float, **extra) -> str:
    """Cache key of a t-SNE run: the model file's identity and every setting."""
    p = Path(model_path)
    st = p.stat() if p.exists() else None
    ident = [str(p.resolve()), st.st_size if st else 0, st.st_mtime_ns if st else 0]
    text = json.dumps([ident, n, seed, float(perplexity), sorted(extra.items()), TSNE_VERSION],
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def tsne_cache_path(key: str) -> Path:
    return cache_dir() / "tsne" / f"{key}.npy"


def tsne_threads() -> int:
    """Threads for t-SNE: the cores, but one when the machine is already busy — OpenMP's
    spinning barriers make a multi-threaded t-SNE many times slower on an overloaded CPU."""
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0] >= cores
    except OSError:
        busy = False
    return 1 if busy else min(cores, 4)


def tsne(z: np.ndarray, seed: int = 0, perplexity: float = 30.0, key: str | None = None,
         max_iter: int = 600, angle: float = 0.8, threads: int | None = None
         ) -> tuple[np.ndarray, bool]:
    """2-D t-SNE (scikit-learn Barnes-Hut, PCA init, seeded); with ``key`` cached on disk.
    Returns (coordinates, came_from_cache).

    600 iterations at angle 0.8 instead of scikit-learn's 1000 at 0.5: on 5,000 MNIST codes
    that took 11.5 s instead of 18.6 s here, and the 5-NN class accuracy of the map was the same
    (0.944 vs 0.946)."""
    path = tsne_cache_path(key) if key else None
    if path is not None and path.exists():
        try:
            out = np.load(path, allow_pickle=False)
            if out.shape == (len(z), 2):
                return out, True
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits
    z = np.asarray(z, np.float32)
    if len(z) < 5:
        raise ValueError("t-SNE needs at least 5 points.")
    perp = float(min(perplexity, (len(z) - 1) / 3))
    n = threads or tsne_threads()
    with threadpool_limits(limits=n):
        out = TSNE(2, perplexity=perp, init="pca", random_state=seed, learning_rate="auto",
                   max_iter=max_iter, angle=angle, n_jobs=n).fit_transform(z).astype(np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{time.time_ns()}.tmp.npy")
        np.save(tmp, out)
        os.replace(tmp, path)
    return out, False


# -- interpolation, traversals, grids ----------------------------------------------------------
def lerp(z0: np.ndarray, z1: np.ndarray, n: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
    return ((1 - t) * z0 + t * z1).astype(np.float32)


def slerp(z0: np.ndarray, z1: np.ndarray, n: int) -> np.ndarray:
    """Spherical interpolation (White, 2016); falls back to lerp for (anti)parallel codes."""
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    n0, n1 = np.linalg.norm(z0), np.linalg.norm(z1)
    if n0 < 1e-8 or n1 < 1e-8:
        return lerp(z0, z1, n)
    omega = np.arccos(np.clip(np.dot(z0 / n0, z1 / n1), -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return lerp(z0, z1, n)
    t = np.linspace(0.0, 1.0, n)[:, None]
    out = (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)
    return out.astype(np.float32)


def interpolate(model: GenerativeModel, z0: np.ndarray, z1: np.ndarray, n: int = 10,
                method: str = "linear") -> torch.Tensor:
    if method not in ("linear", "slerp"):
        raise ValueError("Interpolation is 'linear' or 'slerp'.")
    return decode(model, (lerp if method == "linear" else slerp)(z0, z1, n))


def traversal(model: GenerativeModel, z: np.ndarray, dims: list[int], span: float = 3.0,
              steps: int = 9, center: np.ndarray | None = None,
              scale: np.ndarray | None = None) -> torch.Tensor:
    """One row per dimension: that coordinate of ``z`` swept over ``center ± span·scale``
    (defaults: 0 and 1, the prior), the others fixed. Returns len(dims)*steps images."""
    z = np.asarray(z, np.float32)
    vals = np.linspace(-span, span, steps, dtype=np.float32)
    codes = np.repeat(z[None], len(dims) * steps, axis=0)
    for r, d in enumerate(dims):
        c = 0.0 if center is None else float(center[d])
        s = 1.0 if scale is None else float(scale[d])
        codes[r * steps:(r + 1) * steps, d] = c + vals * s
    return decode(model, codes)


def manifold(model: GenerativeModel, n: int = 15, quantile: float = 0.05) -> torch.Tensor:
    """Kingma & Welling's 2-D manifold: codes on a grid of N(0, 1) quantiles (n*n images)."""
    if model.config.latent_dim != 2:
        raise ValueError("The manifold grid needs a model with a 2-D latent space.")
    q = torch.linspace(quantile, 1 - quantile, n)
    g = torch.distributions.Normal(0.0, 1.0).icdf(q).numpy().astype(np.float32)
    codes = np.array([[x, y] for y in g[::-1] for x in g], dtype=np.float32)
    return decode(model, codes)
