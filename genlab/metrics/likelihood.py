"""VAE likelihood numbers: the test ELBO split into reconstruction and KL, the importance-
weighted bound (IWAE, Burda et al. 2016) on log p(x), and active latent units (Burda et al.'s
posterior-collapse diagnostic). All in nats per image; the decoder is the Bernoulli of the
training objective, so the numbers are comparable with the training loss."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from genlab.models import VAE
from genlab.train import to_float

LOG_2PI = math.log(2 * math.pi)


def _log_bernoulli(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x|z) summed over pixels, for logits (..., C, H, W) and x broadcastable to them."""
    return -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").flatten(-3).sum(-1)


@torch.no_grad()
def elbo(model: VAE, x_u8: torch.Tensor, batch: int = 500, seed: int = 0) -> dict:
    """One-sample ELBO on ``x_u8`` with the analytic KL: ``recon`` (E_q[-log p(x|z)]), ``kl``
    (KL(q(z|x) || N(0, I))) and ``total`` = recon + kl = -ELBO, in nats per image."""
    model.eval()
    dev = model.device
    gen = torch.Generator(device=dev).manual_seed(seed)
    rec = kl = 0.0
    for i in range(0, len(x_u8), batch):
        x = to_float(x_u8[i:i + batch].to(dev))
        mu, logvar = (t.float() for t in model.posterior(x))
        z = mu + torch.randn(mu.shape, generator=gen, device=dev) * torch.exp(0.5 * logvar)
        rec -= float(_log_bernoulli(model.decode_logits(z).float(), x).sum())
        kl += float((-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum())
    n = max(len(x_u8), 1)
    return {"recon": rec / n, "kl": kl / n, "total": (rec + kl) / n}


@torch.no_grad()
def iwae_bound(model: VAE, x_u8: torch.Tensor, k: int = 500, seed: int = 0,
               chunk: int = 50_000) -> torch.Tensor:
    """Per-image IWAE bound log (1/k) Σ_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x), in nats.
    k = 1 is a one-sample ELBO; the bound rises towards log p(x) as k grows.
    ``chunk`` caps the images decoded at once (k × batch)."""
    model.eval()
    dev = model.device
    gen = torch.Generator(device=dev).manual_seed(seed)
    per = max(1, chunk // k)
    out = []
    for i in range(0, len(x_u8), per):
        x = to_float(x_u8[i:i + per].to(dev))
        mu, logvar = (t.float() for t in model.posterior(x))
        std = torch.exp(0.5 * logvar)
        eps = torch.randn((k, *mu.shape), generator=gen, device=dev)
        z = mu + eps * std  # (k, B, D)
        log_q = (-0.5 * (eps.pow(2) + LOG_2PI) - 0.5 * logvar).sum(-1)
        log_pz = (-0.5 * (z.pow(2) + LOG_2PI)).sum(-1)
        logits = model.decode_logits(z.reshape(-1, z.shape[-1])).float()
        log_px = _log_bernoulli(logits.reshape(k, len(x), *logits.shape[1:]), x)
        out.append((torch.logsumexp(log_px + log_pz - log_q, 0) - math.log(k)).cpu())
    return torch.cat(out) if out else torch.zeros(0)


@torch.no_grad()
def active_units(model: VAE, x_u8: torch.Tensor, threshold: float = 0.01, batch: int = 1000) -> dict:
    """A latent dimension is active when the variance over the data of its posterior mean
    exceeds ``threshold``; few active units means posterior collapse."""
    model.eval()
    mus = [model.posterior(to_float(x_u8[i:i + batch].to(model.device)))[0].float().cpu()
           for i in range(0, len(x_u8), batch)]
    var = torch.cat(mus).var(0, unbiased=True) if len(x_u8) > 1 else torch.zeros(model.config.latent_dim)
    return {"active": int((var > threshold).sum()), "of": int(var.numel()), "threshold": threshold,
            "variance": [round(float(v), 5) for v in var]}
