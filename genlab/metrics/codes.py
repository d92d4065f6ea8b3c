"""Numbers about a model's latent codes: active units, KL to the prior, class structure.

The codes come from ``genlab.latent.codes`` (posterior means for a VAE); every number about them is
defined here, once, for the Latent space and Compare pages and for ``genlab eval``.
"""
from __future__ import annotations

import numpy as np
import torch

from genlab.latent.codes import encode_images, posterior_stats
from genlab.models import VAE, GenerativeModel

ACTIVE_THRESHOLD = 0.01  # Burda et al. (2016): a unit is active if Var_x E[z_u | x] > 0.01
IN_USE_NATS = 0.2  # a VAE's unit is in use if its mean posterior KL is above this (nats per image)


def code_variance(z: np.ndarray) -> np.ndarray:
    """Per-dimension variance of codes over the images: the unbiased sample variance (divisor
    N - 1), the estimate of Var_x over the data distribution from a sample of it. Zeros for
    fewer than two codes (the variance is not defined)."""
    z = np.asarray(z, np.float64)
    if len(z) < 2:
        return np.zeros(z.shape[1] if z.ndim == 2 else 0)
    return z.var(0, ddof=1)


def active_units(model: GenerativeModel, x_u8: torch.Tensor, threshold: float = ACTIVE_THRESHOLD,
                 batch: int = 1000, z: np.ndarray | None = None) -> dict:
    """Active latent units (Burda et al., 2016): dimensions whose code (the posterior mean for a
    VAE) varies over the images with ``code_variance`` above ``threshold``; few active units
    means posterior collapse. ``z``: the codes of ``x_u8`` when the caller has them."""
    if z is None:
        model.eval()
        z = encode_images(model, x_u8, batch)
    var = code_variance(z)
    return {"active": int((var > threshold).sum()), "of": int(var.size), "threshold": threshold,
            "variance": [round(float(v), 5) for v in var]}


def gaussian_kl(mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Per-dimension KL( N(mean, var) || N(0, 1) ) in nats."""
    var = np.maximum(np.asarray(var, np.float64), 1e-12)
    return 0.5 * (var + np.asarray(mean, np.float64) ** 2 - 1.0 - np.log(var))


def latent_stats(model: GenerativeModel, x_u8: torch.Tensor, z: np.ndarray | None = None) -> dict:
    """Per-dimension mean and variance of the codes, KL to the prior, active units.

    ``kl_aggregate``: KL from a Gaussian fitted to all codes to N(0, I) — how far the cloud of
    codes is from what sampling assumes (defined for AE and VAE alike). ``kl_posterior`` (VAE
    only): the mean KL term of the ELBO, per image. ``active_units``: see ``active_units``.
    """
    z = encode_images(model, x_u8) if z is None else np.asarray(z, np.float32)
    mean, var = z.mean(0), code_variance(z).astype(np.float32)
    out = {"n": len(z), "latent_dim": z.shape[1], "mean": mean, "var": var,
           "kl_aggregate": float(gaussian_kl(mean, var).sum()),
           "active_units": active_units(model, x_u8, z=z)["active"], "kl_posterior": None,
           "kl_posterior_per_dim": None, "units_in_use": None}
    if isinstance(model, VAE):
        mu, lv = posterior_stats(model, x_u8)
        per_dim = gaussian_kl(mu, np.exp(lv)).mean(0)
        out["kl_posterior"] = float(per_dim.sum())
        out["kl_posterior_per_dim"] = per_dim.astype(np.float32)
        # units that carry information: Burda's variance test counts a unit whose mean moves a
        # little (Var > 0.01) while its KL is a few hundredths of a nat; β > 1 switches such
        # units off in KL long before their means stop moving
        out["units_in_use"] = int((per_dim > IN_USE_NATS).sum())
    return out


def knn_accuracy(z: np.ndarray, y: np.ndarray, k: int = 5, seed: int = 0) -> float:
    """How well a code predicts its class: k-nearest-neighbour accuracy on a 50/50 split of
    the codes (a measure of latent structure, not of generative quality)."""
    from sklearn.neighbors import KNeighborsClassifier
    z, y = np.asarray(z, np.float32), np.asarray(y)
    if len(z) < 2 * k + 2:
        raise ValueError(f"Need at least {2 * k + 2} codes to measure class structure.")
    perm = np.random.default_rng(seed).permutation(len(z))
    a, b = perm[: len(z) // 2], perm[len(z) // 2:]
    clf = KNeighborsClassifier(n_neighbors=k).fit(z[a], y[a])
    return float((clf.predict(z[b]) == y[b]).mean())
