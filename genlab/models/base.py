"""The one interface every GenLab model answers: encode, decode, reconstruct, sample; and how
the model kind trains: its optimizers, its training step and what its preview grid shows."""
from __future__ import annotations

from contextlib import AbstractContextManager

import torch
from torch import nn

from genlab.models.config import ModelConfig

NOISE_ROWS = 1000  # noise is drawn this many rows at a time (as samples are decoded)


def noise(n: int, dim: int, seed: int) -> torch.Tensor:
    """``n`` codes of N(0, I) in ``dim`` dimensions from ``seed``, float32 on the CPU: the one
    noise of every page, the CLI, the lab report and the previews, so a seed gives the same
    codes everywhere and on any device. Drawn ``NOISE_ROWS`` rows at a time."""
    gen = torch.Generator().manual_seed(int(seed))
    parts = [torch.randn(min(NOISE_ROWS, n - i), dim, generator=gen) for i in range(0, n, NOISE_ROWS)]
    return torch.cat(parts) if parts else torch.zeros(0, dim)


class GenerativeModel(nn.Module):
    """Images in and out are float tensors in [0, 1] of shape (N, C, H, W)."""

    config: ModelConfig
    live_preview = True  # cheap enough to draw every second while training (else: epoch ends)

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

    # --- training: the trainer calls these and knows nothing else of the model's kind ---------

    def configure_optimizers(self, lr: float, betas: tuple[float, float],
                             fused: bool = False) -> list[torch.optim.Optimizer]:
        """Adam over all weights (a GAN has one per network)."""
        return [torch.optim.Adam(self.parameters(), lr=lr, betas=betas, fused=fused)]

    def train_step(self, x: torch.Tensor, optimizers: list[torch.optim.Optimizer], *,
                   generator: torch.Generator, autocast: AbstractContextManager) -> torch.Tensor:
        """One optimisation step on the batch ``x`` (floats in [0, 1]); returns this step's
        ``config.loss_names`` values as one tensor on the device (no host sync)."""
        (opt,) = optimizers
        with autocast:
            objective, metrics = self.loss(x, generator=generator)
        opt.zero_grad(set_to_none=True)
        objective.backward()
        opt.step()
        return torch.stack([metrics[k].float() for k in self.config.loss_names])

    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """(objective, {name: per-image metric}) on a batch; models with an encoder define it."""
        raise NotImplementedError(f"A {self.config.kind.upper()} has no reconstruction loss.")

    def preview_inputs(self, examples: torch.Tensor, seed: int) -> torch.Tensor:
        """What the preview grid shows throughout a run: here up to 10 example images (uint8),
        one per class as the trainer picks them (``genlab.data.one_per_class``)."""
        return examples[:10]

    def preview(self, fixed: torch.Tensor) -> tuple[torch.Tensor, int]:
        """(images, per row) for ``fixed`` (floats): originals above their reconstructions."""
        return torch.cat([fixed, self.reconstruct(fixed)]), len(fixed)

    def sampling_meta(self) -> dict:
        """How this model samples by default, as its checkpoint records it (``use_sampling_meta``
        applies it when the file is loaded): nothing for most kinds."""
        return {}

    def use_sampling_meta(self, meta: dict) -> None:
        """Take the defaults ``sampling_meta`` recorded (``meta``: a checkpoint's description)."""
