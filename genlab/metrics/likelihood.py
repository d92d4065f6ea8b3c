"""Likelihood numbers: the per-image test metrics of the training objective (the one
definition the trainer reports), the VAE's test ELBO split into reconstruction and KL, and the
importance-weighted bound (IWAE, Burda et al. 2016) on log p(x). All in nats per image; the
decoder is the Bernoulli of the training objective, so the numbers compare with the loss."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from genlab.data import to_float
from genlab.models import VAE, GenerativeModel

LOG_2PI = math.log(2 * math.pi)


def _log_bernoulli(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x|z) summed over pixels, for logits (..., C, H, W) and x broadcastable to them."""
    return -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").flatten(-3).sum(-1)


@torch.no_grad()
def test_metrics(model: GenerativeModel, x_u8: torch.Tensor, batch: int = 1000, seed: int = 0,
                 labels: torch.Tensor | None = None) -> dict:
    """The training objective's numbers per image on ``x_u8`` (the test split): AE ``mse`` per
    pixel; VAE ``recon`` (E_q[-log p(x|z)], one z per image), ``kl`` (analytic KL(q(z|x) || N(0, I)))
    and ``total`` = recon + kl = -ELBO, in nats. The noise comes from a generator on the model's
    device seeded with ``seed``, drawn batch by batch. {} for a GAN or no images. The model's
    train/eval mode is restored afterwards. This is what the trainer reports after each epoch.
    ``labels``: the class of each image, for a conditional VAE (without them it uses its own
    guess, ``ConditionalVAE.guess_labels``)."""
    if not model.has_encoder or len(x_u8) == 0:
        return {}
    was_training = model.training
    model.eval()
    dev = model.device
    gen = torch.Generator(device=dev).manual_seed(seed)
    sums: dict[str, float] = {}
    for i in range(0, len(x_u8), batch):
        xb = to_float(x_u8[i:i + batch].to(dev))
        given = {} if labels is None else {"labels": labels[i:i + batch].to(dev)}
        _, metrics = model.loss(xb, generator=gen, **given)
        for k, v in metrics.items():
            sums[k] = sums.get(k, 0.0) + float(v) * len(xb)
    model.train(was_training)
    return {k: v / len(x_u8) for k, v in sums.items()}


def elbo(model: VAE, x_u8: torch.Tensor, batch: int = 500, seed: int = 0,
         labels: torch.Tensor | None = None) -> dict:
    """The test ELBO of a VAE: ``test_metrics`` ({recon, kl, total} in nats per image, total =
    -ELBO), in batches of 500 as ``genlab eval`` stores it."""
    if not isinstance(model, VAE):
        raise ValueError("The ELBO is defined for a VAE only.")
    return test_metrics(model, x_u8, batch=batch, seed=seed, labels=labels)


@torch.no_grad()
def iwae_bound(model: VAE, x_u8: torch.Tensor, k: int = 500, seed: int = 0,
               chunk: int = 50_000, progress=None, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image IWAE bound log (1/k) Σ_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x), in nats.
    k = 1 is a one-sample ELBO; the bound rises towards log p(x) as k grows.
    ``chunk`` caps the images decoded at once (k × batch); ``progress(done, total)`` is
    called with the images done after each batch. ``labels``: as in ``test_metrics``."""
    model.eval()
    dev = model.device
    gen = torch.Generator(device=dev).manual_seed(seed)
    per = max(1, chunk // k)
    out = []
    for i in range(0, len(x_u8), per):
        x = to_float(x_u8[i:i + per].to(dev))
        y = None if labels is None else labels[i:i + per].to(dev)
        given = {} if y is None else {"labels": y}
        mu, logvar = (t.float() for t in model.posterior(x, **given))
        std = torch.exp(0.5 * logvar)
        eps = torch.randn((k, *mu.shape), generator=gen, device=dev)
        z = mu + eps * std  # (k, B, D)
        log_q = (-0.5 * (eps.pow(2) + LOG_2PI) - 0.5 * logvar).sum(-1)
        log_pz = (-0.5 * (z.pow(2) + LOG_2PI)).sum(-1)
        if y is None and model.config.conditional:  # the same guessed class for all k codes
            y = model.guess_labels(x)
        given = {} if y is None else {"labels": y.repeat(k)}  # z.reshape(-1, d) is k-major
        logits = model.decode_logits(z.reshape(-1, z.shape[-1]), **given).float()
        log_px = _log_bernoulli(logits.reshape(k, len(x), *logits.shape[1:]), x)
        out.append((torch.logsumexp(log_px + log_pz - log_q, 0) - math.log(k)).cpu())
        if progress is not None:
            progress(min(i + per, len(x_u8)), len(x_u8))
    return torch.cat(out) if out else torch.zeros(0)
