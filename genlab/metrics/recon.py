"""Reconstruction error on a split, and the PCA baseline an autoencoder should beat."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from genlab.data import to_float
from genlab.models import GenerativeModel


@torch.no_grad()
def reconstruction_metrics(model: GenerativeModel, x_u8: torch.Tensor, batch: int = 500,
                           labels: torch.Tensor | None = None) -> dict:
    """Deterministic reconstructions (posterior mean for a VAE) of ``x_u8`` (a conditional VAE
    told ``labels``, the class of each image, else its own guess):
    ``mse`` per pixel and ``bce`` in nats per image (Bernoulli cross-entropy of the decoder's
    logits against the pixel intensities, as in the VAE objective)."""
    model.eval()
    dev = model.device
    mse = bce = 0.0
    for i in range(0, len(x_u8), batch):
        x = to_float(x_u8[i:i + batch].to(dev))
        y = (labels[i:i + batch].to(dev) if labels is not None
             else model.guess_labels(x) if model.config.conditional else None)
        given = {} if y is None else {"labels": y}
        logits = model.decode_logits(model.encode(x, **given), **given).float()
        mse += float(F.mse_loss(torch.sigmoid(logits), x, reduction="sum"))
        bce += float(F.binary_cross_entropy_with_logits(logits, x, reduction="sum"))
    n = max(len(x_u8), 1)
    return {"mse": mse / (n * x_u8[0].numel()), "bce": bce / n}


def bernoulli_entropy_floor(x_u8: torch.Tensor) -> float:
    """Σ_pixels H(x): the BCE in nats per image that even a perfect reconstruction has when the
    targets are gray levels rather than 0/1 (why VAE losses on Fashion-MNIST stay high)."""
    x = x_u8.double().div(255).clamp(1e-12, 1 - 1e-12)
    h = -(x * x.log() + (1 - x) * (1 - x).log())
    h[(x_u8 == 0) | (x_u8 == 255)] = 0.0
    return float(h.flatten(1).sum(1).mean())


def pca_baseline(train_u8: torch.Tensor, test_u8: torch.Tensor, n_components: int,
                 max_train: int = 20000, seed: int = 0) -> dict:
    """Test MSE per pixel of a PCA with ``n_components`` fitted on (up to ``max_train``
    images of) the train split: the linear autoencoder an AE of that latent size should beat.
    Reconstructions are clipped to [0, 1] like an AE's sigmoid output."""
    rng = np.random.default_rng(seed)
    xtr = train_u8.reshape(len(train_u8), -1).numpy().astype(np.float64) / 255
    if len(xtr) > max_train:
        xtr = xtr[np.sort(rng.choice(len(xtr), max_train, replace=False))]
    xte = test_u8.reshape(len(test_u8), -1).numpy().astype(np.float64) / 255
    mean = xtr.mean(0)
    k = int(min(n_components, min(xtr.shape)))
    if xtr.shape[1] <= 4096:  # exact top-k axes from the D x D covariance: fast, deterministic
        w, v = np.linalg.eigh(np.cov(xtr - mean, rowvar=False))
        axes = v[:, np.argsort(w)[::-1][:k]]
    else:  # large RGB images: randomized SVD
        from sklearn.decomposition import PCA
        axes = PCA(k, svd_solver="randomized", random_state=seed).fit(xtr).components_.T
    rec = np.clip(((xte - mean) @ axes) @ axes.T + mean, 0, 1)
    return {"components": k, "mse": float(((rec - xte) ** 2).mean()), "n_train": len(xtr)}
