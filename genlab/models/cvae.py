"""Conditional VAE (Sohn et al., 2015): the VAE of ``vae.py`` told the class of each image.

The class goes in as a one-hot vector: to the encoder q(z|x, y) (MLP: beside the pixels; conv:
as K constant extra input channels) and to the decoder p(x|z, y) (beside the code). The loss is
the VAE's, with y given to both halves. Without labels (see ``genlab.models.labels``): decoding
uses the default labels ``i % K``; encoding an image uses the class whose ELBO is highest, the
model's own guess, so ``reconstruct(x)`` and every metric written for a VAE still mean
something."""
from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from genlab.models.base import GenerativeModel
from genlab.models.blocks import conv_decoder, conv_encoder, flat, mlp
from genlab.models.config import ModelConfig
from genlab.models.labels import Conditional
from genlab.models.vae import VAE


class ConditionalVAE(Conditional, VAE):
    def __init__(self, config: ModelConfig):
        GenerativeModel.__init__(self, config)
        c, k = config, config.num_classes
        d = c.channels * c.image_size * c.image_size
        if c.arch == "mlp":
            self.encoder = mlp([d + k, *c.hidden])
            width = c.hidden[-1]
        else:
            body, conv_width = conv_encoder(replace(c, channels=c.channels + k))
            width = 256
            self.encoder = nn.Sequential(body, nn.Linear(conv_width, width), nn.ReLU())
        self.fc_mu = nn.Linear(width, c.latent_dim)
        self.fc_logvar = nn.Linear(width, c.latent_dim)
        wide = replace(c, latent_dim=c.latent_dim + k)  # the decoder reads [z, one-hot y]
        if c.arch == "mlp":
            self.decoder = mlp([wide.latent_dim, *c.hidden[::-1], d], last_act=False)
        else:
            self.decoder = conv_decoder(wide, width)

    def _labels(self, x: torch.Tensor, labels) -> torch.Tensor:
        """The given labels, those of the running step, or the model's guess for ``x``."""
        if labels is None and self._given is None:
            return self.guess_labels(x)
        return self.labels_for(len(x), labels)

    def posterior(self, x: torch.Tensor, labels=None) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.one_hot(self._labels(x, labels), x.dtype)
        if self.config.arch == "mlp":
            h = self.encoder(torch.cat([flat(x), y], 1))
        else:
            maps = y[:, :, None, None].expand(-1, -1, *x.shape[2:])
            h = self.encoder(torch.cat([x, maps], 1))
        return self.fc_mu(h), self.fc_logvar(h)

    def decode_logits(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        y = self.one_hot(self.labels_for(len(z), labels), z.dtype)
        return self.decoder(torch.cat([z, y], 1)).reshape(z.shape[0], *self.config.image_shape)

    def encode(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        return self.posterior(x, labels)[0]

    def decode(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z, labels))

    def reconstruct(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        y = self._labels(x, labels)
        return self.decode(self.encode(x, y), y)

    @torch.no_grad()
    def guess_labels(self, x: torch.Tensor) -> torch.Tensor:
        """For each image, the class y with the highest ELBO log p(x|z=μ, y) - KL(q(z|x, y) || p(z))
        (one deterministic pass per class): how the model itself would classify the image."""
        best = score = None
        for k in range(self.num_classes):
            y = torch.full((len(x),), k, device=x.device, dtype=torch.long)
            mu, logvar = (t.float() for t in self.posterior(x, y))
            logits = self.decode_logits(mu.to(x.dtype), y).float()
            s = (-F.binary_cross_entropy_with_logits(logits, x.float(), reduction="none").flatten(1).sum(1)
                 + 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), 1))
            if best is None:
                best, score = y.clone(), s
            else:
                better = s > score
                best[better], score = k, torch.where(better, s, score)
        return best

    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None, *args, labels=None,
             **kwargs):
        """The VAE's loss with the class of each image given to encoder and decoder."""
        with self.given(self._labels(x, labels)):
            return super().loss(x, generator, *args, **kwargs)

    def train_step(self, x: torch.Tensor, optimizers: list[torch.optim.Optimizer], *,
                   generator: torch.Generator, autocast: AbstractContextManager, labels=None,
                   **kwargs) -> torch.Tensor:
        """The VAE's step on a labelled batch (``labels``: the class of each image)."""
        with self.given(self._labels(x, labels)):
            return super().train_step(x, optimizers, generator=generator, autocast=autocast, **kwargs)
