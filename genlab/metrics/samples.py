"""Sample quality: images a model generates, scored on the features of the data set's metric
classifier with the Fréchet distance, class coverage and confidence, beside the same numbers
for real images (the floor)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from genlab.latent.codes import encode_images
from genlab.metrics.classifier import embed
from genlab.metrics.frechet import class_coverage, class_histogram, confidence, frechet_between
from genlab.models import noise


@torch.no_grad()
def sample_quality(samples: torch.Tensor, clf, test_feats: torch.Tensor, n_classes: int) -> dict:
    """Fréchet distance of ``samples`` to the test features, coverage and confidence."""
    f, p = embed(clf, samples)
    pred = p.argmax(1)
    return {"frechet": frechet_between(f, test_feats), "coverage": class_coverage(pred, n_classes),
            "confidence": confidence(p), "class_histogram": class_histogram(pred, n_classes)}


class CodeGaussian(NamedTuple):
    """N(mean, cov) over latent codes, with ``sqrt_cov`` the symmetric square root of cov."""
    mean: torch.Tensor
    sqrt_cov: torch.Tensor
    n: int

    def from_noise(self, eps: torch.Tensor) -> torch.Tensor:
        """Codes of this Gaussian for noise ``eps`` (N, d) of N(0, I): mean + sqrt_cov · ε."""
        return self.mean + eps @ self.sqrt_cov


def code_gaussian(z: np.ndarray, device: torch.device | str = "cpu") -> CodeGaussian:
    """A Gaussian with the mean and full covariance of the codes ``z`` (N, d)."""
    z = np.asarray(z, np.float64)
    if len(z) < 2:
        raise ValueError("A Gaussian needs the codes of at least two images.")
    w, v = np.linalg.eigh(np.atleast_2d(np.cov(z, rowvar=False)))
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    return CodeGaussian(torch.tensor(z.mean(0), dtype=torch.float32, device=device),
                        torch.tensor(root, dtype=torch.float32, device=device), len(z))


def fit_code_gaussian(model, x_u8: torch.Tensor, batch: int = 1000) -> CodeGaussian:
    """A Gaussian with the mean and full covariance of the model's codes of ``x_u8`` (for an
    AE: its training images), the distribution an AE's samples can be drawn from."""
    return code_gaussian(encode_images(model.eval(), x_u8, batch), model.device)


def prior_code(kind: str, dim: int, seed: int, z: np.ndarray | None = None,
               fitted: bool = False) -> np.ndarray:
    """One code (dim,) float32 drawn from the prior N(0, I) with ``seed`` (what a VAE is sampled
    from, and what an AE turns into noise); with ``fitted``, for an AE, which has no prior of
    its own, from a Gaussian fitted to its codes ``z`` (N, dim) when there are some. The Latent
    explorer's "Sample from the prior" and "Sample a Gaussian fitted to its codes"."""
    eps = noise(1, dim, seed)
    if fitted and kind == "ae" and z is not None and len(z) >= 2:
        eps = code_gaussian(z).from_noise(eps)
    return eps[0].numpy()


@torch.no_grad()
def generate(model, n: int, seed: int, batch: int = 1000, codes: CodeGaussian | None = None) -> torch.Tensor:
    """``n`` samples decoded from the prior N(0, I), or from ``codes`` (eval mode, as the app
    draws them), reproducible by seed: the same noise either way (``genlab.models.noise``, as
    the pages draw it), z = mean + sqrt_cov · ε."""
    eps_all = noise(n, model.config.latent_dim, seed)
    out = []
    for i in range(0, n, batch):
        eps = eps_all[i:i + batch].to(model.device)
        z = eps if codes is None else codes.from_noise(eps)
        out.append(model.decode(z).float().cpu())
    return torch.cat(out)


def sample_metrics(model, clf, data, n: int, seed: int = 0,
                   test_embedding: tuple[torch.Tensor, torch.Tensor] | None = None,
                   codes: CodeGaussian | None = None) -> dict:
    """Sample quality of ``n`` generated images (from the prior, or from ``codes``) against
    the test split, beside the floor (the same numbers for ``n`` real train images) and the
    classifier on the test split itself. ``test_embedding``: ``embed(clf, data.test_x)`` when
    the caller already has it."""
    n = int(min(n, len(data.test_x), len(data.train_x)))
    test_f, test_p = test_embedding or embed(clf, data.test_x)
    k = len(data.classes)
    idx = torch.randperm(len(data.train_x), generator=torch.Generator().manual_seed(seed))[:n]
    floor = sample_quality(data.train_x[idx], clf, test_f, k)
    out = sample_quality(generate(model, n, seed, codes=codes), clf, test_f, k)
    out.update(n=n, seed=seed, frechet_floor=floor["frechet"], floor_coverage=floor["coverage"],
               floor_confidence=floor["confidence"],
               frechet_ratio=out["frechet"] / max(floor["frechet"], 1e-12),
               test_confidence=confidence(test_p),
               test_coverage=class_coverage(test_p.argmax(1), k))
    return out


