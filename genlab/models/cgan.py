"""Conditional GAN (Mirza & Osindero, 2014) on the DCGAN of ``gan.py``: the generator reads
the noise with a learned label embedding concatenated to it; the discriminator sees the class
as K one-hot channels beside the image (conv) or beside the pixels (MLP). Losses, init and the
training step are the GAN's own, run with the batch's labels given (real images and the fakes
made for them share the labels). Without labels, ``decode(z)`` uses the default labels
``i % K`` (``genlab.models.labels``)."""
from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import replace

import torch
from torch import nn

from genlab.models.base import GenerativeModel, noise
from genlab.models.blocks import dcgan_init, flat
from genlab.models.config import ModelConfig
from genlab.models.gan import GAN, _conv_discriminator, _conv_generator, _mlp_pair
from genlab.models.labels import Conditional, default_labels

PREVIEW_ROWS = 4  # the training preview: 4 noise vectors, each drawn as every class (≤ 10)


class _Generator(nn.Module):
    """G(z, y) = net([z, embedding(y)])."""

    def __init__(self, c: ModelConfig):
        super().__init__()
        k = c.num_classes
        self.embed = nn.Embedding(k, k)
        wide = replace(c, latent_dim=c.latent_dim + k)
        self.net = _conv_generator(wide) if c.arch == "conv" else _mlp_pair(wide)[0]

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, self.embed(y).to(z.dtype)], 1))


class _Discriminator(nn.Module):
    """D(x, y) = net([x, one-hot y as channels]) (conv) or net([pixels, one-hot y]) (MLP)."""

    def __init__(self, c: ModelConfig):
        super().__init__()
        self.k, self.conv = c.num_classes, c.arch == "conv"
        if self.conv:
            self.net = _conv_discriminator(replace(c, channels=c.channels + self.k))
        else:
            self.net = _mlp_pair(c)[1]
            first = self.net[0]
            self.net[0] = nn.Linear(first.in_features + self.k, first.out_features)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        oh = nn.functional.one_hot(y, self.k).to(x.dtype)
        if self.conv:
            return self.net(torch.cat([x, oh[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1))
        return self.net(torch.cat([flat(x), oh], 1))


class ConditionalGAN(Conditional, GAN):
    def __init__(self, config: ModelConfig):
        GenerativeModel.__init__(self, config)
        self.generator, self.discriminator = _Generator(config), _Discriminator(config)
        dcgan_init(self)

    def decode(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        y = self.labels_for(len(z), labels)
        return (self.generator(z, y).reshape(z.shape[0], *self.config.image_shape) + 1) / 2

    def critic(self, x01: torch.Tensor, labels=None) -> torch.Tensor:
        """Discriminator logits for images in [0, 1] of the classes ``labels``."""
        return self.discriminator(x01 * 2 - 1, self.labels_for(len(x01), labels)).reshape(-1)

    def train_step(self, x: torch.Tensor, optimizers: list[torch.optim.Optimizer], *,
                   generator: torch.Generator, autocast: AbstractContextManager, labels=None,
                   **kwargs) -> torch.Tensor:
        """The GAN's step; D judges real images and the fakes made for the same labels."""
        if labels is None and self._given is None:
            raise ValueError("A conditional GAN trains on labelled images: give each batch's "
                             "labels (the trainer does).")
        with self.given(self.labels_for(len(x), labels)):
            return super().train_step(x, optimizers, generator=generator, autocast=autocast, **kwargs)

    def preview_inputs(self, examples: torch.Tensor, seed: int) -> torch.Tensor:
        """``PREVIEW_ROWS`` fixed noise vectors, each repeated once per class (up to 10)."""
        k = min(self.num_classes, 10)
        return noise(PREVIEW_ROWS, self.config.latent_dim, seed).repeat_interleave(k, 0).to(examples.device)

    def preview(self, fixed: torch.Tensor) -> tuple[torch.Tensor, int]:
        """One row per noise vector, one column per class."""
        k = min(self.num_classes, 10)
        return self.decode(fixed, default_labels(len(fixed), k, fixed.device)), k

