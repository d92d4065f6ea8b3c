"""Deterministic autoencoder: encoder -> latent z -> decoder, trained on per-pixel MSE."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from genlab.models.base import GenerativeModel
from genlab.models.blocks import conv_decoder, conv_encoder, flat, mlp
from genlab.models.config import ModelConfig


class AutoEncoder(GenerativeModel):
    def __init__(self, config: ModelConfig):
        super().__init__(config)
        c = config
        d = c.channels * c.image_size * c.image_size
        if c.arch == "mlp":
            self.encoder = mlp([d, *c.hidden, c.latent_dim], last_act=False)
            self.decoder = mlp([c.latent_dim, *c.hidden[::-1], d], last_act=False)
        else:
            body, width = conv_encoder(c)
            fc = 256
            self.encoder = torch.nn.Sequential(body, torch.nn.Linear(width, fc), torch.nn.ReLU(),
                                               torch.nn.Linear(fc, c.latent_dim))
            self.decoder = conv_decoder(c, fc)

    def _in(self, x: torch.Tensor) -> torch.Tensor:
        return flat(x) if self.config.arch == "mlp" else x

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).reshape(z.shape[0], *self.config.image_shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(self._in(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z))

    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """Mean squared error per pixel (the objective and the reported 'mse')."""
        mse = F.mse_loss(self.decode(self.encode(x)), x)
        return mse, {"mse": mse.detach()}
