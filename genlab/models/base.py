"""The one interface every GenLab model answers: encode, decode, reconstruct, sample."""
from __future__ import annotations

import torch
from torch import nn

from genlab.models.config import ModelConfig


class GenerativeModel(nn.Module):
    """Images in and out are float tensors in [0, 1] of shape (N, C, H, W)."""

    config: ModelConfig

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent code of each image (the posterior mean for a VAE)."""
        raise NotImplementedError(f"A {self.config.kind.upper()} has no encoder.")

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] for latent codes ``z`` of shape (N, latent_dim)."""
        raise NotImplementedError

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.config.latent_dim, generator=generator, device=self.device)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` new images decoded from the prior N(0, I)."""
        return self.decode(self.prior(n, generator))

    @property
    def has_encoder(self) -> bool:
        return self.config.kind != "gan"
