"""Variational autoencoder with a β-weighted KL term (Kingma & Welling; Higgins et al.).

The MLP variant with hidden=(400,) and latent 20 on 28x28 gray images is, layer for layer and
in creation order (so a seed gives the same initial weights), the model of pytorch/examples
``vae/main.py``: 784-400-(20, 20), 20-400-784, Bernoulli decoder, loss = BCE summed + KL summed.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genlab.models.base import GenerativeModel
from genlab.models.blocks import conv_decoder, conv_encoder, flat, mlp
from genlab.models.config import ModelConfig


class VAE(GenerativeModel):
    kl_scale = 1.0  # KL warm-up: the share of β in force now (set by the trainer)

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        c = config
        d = c.channels * c.image_size * c.image_size
        if c.arch == "mlp":
            self.encoder = mlp([d, *c.hidden])  # fc1 + ReLU
            width = c.hidden[-1]
        else:
            body, conv_width = conv_encoder(c)
            width = 256
            self.encoder = nn.Sequential(body, nn.Linear(conv_width, width), nn.ReLU())
        self.fc_mu = nn.Linear(width, c.latent_dim)  # fc21
        self.fc_logvar = nn.Linear(width, c.latent_dim)  # fc22
        if c.arch == "mlp":
            self.decoder = mlp([c.latent_dim, *c.hidden[::-1], d], last_act=False)  # fc3, fc4
        else:
            self.decoder = conv_decoder(c, width)

    def set_kl_warmup(self, epoch: float, warmup_epochs: float) -> None:
        """KL warm-up (Bowman et al., 2016): β rises linearly from 0 at epoch 0 to its value at
        ``warmup_epochs``; ``epoch`` is the progress in (fractional) epochs."""
        self.kl_scale = min(1.0, epoch / warmup_epochs) if warmup_epochs > 0 else 1.0

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z|x)."""
        h = self.encoder(flat(x) if self.config.arch == "mlp" else x)
        return self.fc_mu(h), self.fc_logvar(h)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).reshape(z.shape[0], *self.config.image_shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z))

    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """Objective summed over the batch (as vae/main.py); reports nats per image.

        ``total`` is the negative ELBO (recon + KL); the objective weights KL by β (times the
        KL warm-up's ``kl_scale``).
        """
        mu, logvar = self.posterior(x)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + eps * torch.exp(0.5 * logvar)
        logits = self.decode_logits(z).float()
        recon = F.binary_cross_entropy_with_logits(logits, x.float(), reduction="sum")
        mu, logvar = mu.float(), logvar.float()
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        n = x.shape[0]
        objective = recon + (self.config.beta * self.kl_scale) * kl
        return objective, {"recon": recon.detach() / n, "kl": kl.detach() / n,
                           "total": (recon.detach() + kl.detach()) / n}
