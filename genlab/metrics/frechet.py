"""Sample-quality numbers on a classifier's features: Fréchet distance (the FID formula on a
small in-house classifier instead of Inception), class coverage and classifier confidence."""
from __future__ import annotations

import math

import numpy as np
import torch


def feature_stats(features: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (float64) of an (N, D) feature matrix."""
    f = np.asarray(features.detach().cpu() if isinstance(features, torch.Tensor) else features,
                   dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError("Fréchet statistics need an (N, D) feature matrix with N >= 2.")
    return f.mean(0), np.cov(f, rowvar=False)


def _sqrt_psd(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + Tr(C1 + C2 - 2 (C1 C2)^(1/2)) between two Gaussians.

    Tr((C1 C2)^(1/2)) is computed as the sum of the square roots of the eigenvalues of the
    symmetric PSD matrix C1^(1/2) C2 C1^(1/2), which has the same spectrum as C1 C2: no complex
    parts to discard and no ill-conditioned matrix square root."""
    s1 = _sqrt_psd(np.asarray(cov1, dtype=np.float64))
    m = s1 @ np.asarray(cov2, dtype=np.float64) @ s1
    tr_covmean = float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum())
    diff = np.asarray(mu1, dtype=np.float64) - np.asarray(mu2, dtype=np.float64)
    d = float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * tr_covmean)
    return max(d, 0.0)


def frechet_between(f1, f2) -> float:
    """Fréchet distance between two (N, D) feature sets."""
    return frechet_distance(*feature_stats(f1), *feature_stats(f2))


def class_coverage(pred: torch.Tensor | np.ndarray, n_classes: int) -> float:
    """Entropy of the predicted-class histogram divided by ln(n_classes): 1 when every class
    is predicted equally often, 0 when all samples fall in one class (mode collapse)."""
    p = np.bincount(np.asarray(pred, dtype=np.int64).ravel(), minlength=n_classes)[:n_classes]
    if n_classes < 2 or p.sum() == 0:
        return 0.0
    p = p / p.sum()
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum() / math.log(n_classes))


def confidence(probs: torch.Tensor) -> float:
    """Mean of the classifier's top softmax probability over the images."""
    return float(probs.max(dim=1).values.mean()) if len(probs) else float("nan")


def class_histogram(pred: torch.Tensor | np.ndarray, n_classes: int) -> list[float]:
    p = np.bincount(np.asarray(pred, dtype=np.int64).ravel(), minlength=n_classes)[:n_classes]
    return [float(v) for v in p / max(p.sum(), 1)]
