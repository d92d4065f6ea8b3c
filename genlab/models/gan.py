"""DCGAN (Radford et al.): transposed-conv generator with BatchNorm/ReLU/tanh, strided-conv
discriminator with LeakyReLU, N(0, 0.02) init, non-saturating BCE. The MLP variant keeps the
same losses with fully connected layers."""
from __future__ import annotations

from contextlib import AbstractContextManager

import torch
import torch.nn.functional as F
from torch import nn

from genlab.models.base import GenerativeModel, noise
from genlab.models.blocks import conv_geometry, conv_widths, dcgan_init, flat
from genlab.models.config import ModelConfig


def _conv_generator(c: ModelConfig) -> nn.Sequential:
    widths = conv_widths(c)[::-1]  # e.g. 28x28: [128, 64]
    _, s = conv_geometry(c.image_size)
    layers: list[nn.Module] = [nn.Unflatten(1, (c.latent_dim, 1, 1)),
                               nn.ConvTranspose2d(c.latent_dim, widths[0] * 2, s, 1, 0, bias=False),
                               nn.BatchNorm2d(widths[0] * 2), nn.ReLU(True)]
    cin = widths[0] * 2
    for w in widths[1:]:
        layers += [nn.ConvTranspose2d(cin, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(True)]
        cin = w
    layers += [nn.ConvTranspose2d(cin, c.channels, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def _conv_discriminator(c: ModelConfig) -> nn.Sequential:
    widths = conv_widths(c)
    _, s = conv_geometry(c.image_size)
    layers: list[nn.Module] = [nn.Conv2d(c.channels, widths[0], 4, 2, 1, bias=False),
                               nn.LeakyReLU(0.2, inplace=True)]
    for a, b in zip(widths, widths[1:]):
        layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b),
                   nn.LeakyReLU(0.2, inplace=True)]
    layers += [nn.Conv2d(widths[-1], 1, s, 1, 0, bias=False), nn.Flatten()]
    return nn.Sequential(*layers)


def _mlp_pair(c: ModelConfig) -> tuple[nn.Sequential, nn.Sequential]:
    d = c.channels * c.image_size * c.image_size
    g: list[nn.Module] = []
    sizes = [c.latent_dim, *c.hidden]
    for a, b in zip(sizes[:-1], sizes[1:]):
        g += [nn.Linear(a, b), nn.LeakyReLU(0.2, inplace=True)]
    g += [nn.Linear(sizes[-1], d), nn.Tanh()]
    dl: list[nn.Module] = []
    sizes = [d, *c.hidden[::-1]]
    for a, b in zip(sizes[:-1], sizes[1:]):
        dl += [nn.Linear(a, b), nn.LeakyReLU(0.2, inplace=True)]
    dl += [nn.Linear(sizes[-1], 1)]
    return nn.Sequential(*g), nn.Sequential(*dl)


class GAN(GenerativeModel):
    label_smoothing = 0.0  # one-sided: D's target for real images is 1 - label_smoothing
    d_steps = 1  # discriminator updates per generator update (set by the trainer)

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        if config.arch == "conv":
            self.generator, self.discriminator = _conv_generator(config), _conv_discriminator(config)
        else:
            self.generator, self.discriminator = _mlp_pair(config)
        dcgan_init(self)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return (self.generator(z).reshape(z.shape[0], *self.config.image_shape) + 1) / 2

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("A GAN has no encoder, so it cannot reconstruct an image.")

    def critic(self, x01: torch.Tensor) -> torch.Tensor:
        """Discriminator logits for images in [0, 1]."""
        x = x01 * 2 - 1
        return self.discriminator(flat(x) if self.config.arch == "mlp" else x).reshape(-1)

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor):
        """BCE for real -> 1 (1 - label_smoothing) and (detached) fake -> 0; returns loss, D(x),
        D(G(z))."""
        lr, lf = self.critic(real).float(), self.critic(fake.detach()).float()
        s = self.label_smoothing
        target = torch.full_like(lr, 1.0 - s) if s else torch.ones_like(lr)
        loss = (F.binary_cross_entropy_with_logits(lr, target)
                + F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf)))
        return loss, torch.sigmoid(lr).mean().detach(), torch.sigmoid(lf).mean().detach()

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        """Non-saturating generator loss: -log D(G(z))."""
        lf = self.critic(fake).float()
        return F.binary_cross_entropy_with_logits(lf, torch.ones_like(lf))

    # --- training (see GenerativeModel) -----------------------------------------------------

    def configure_optimizers(self, lr: float, betas: tuple[float, float], fused: bool = False,
                             lr_d: float | None = None) -> list[torch.optim.Optimizer]:
        """One Adam for the generator (``lr``), one for the discriminator (DCGAN); ``lr_d``
        gives D its own learning rate (None: the same)."""
        return [torch.optim.Adam(net.parameters(), lr=rate, betas=betas, fused=fused)
                for net, rate in ((self.generator, lr), (self.discriminator, lr if lr_d is None else lr_d))]

    def train_step(self, x: torch.Tensor, optimizers: list[torch.optim.Optimizer], *,
                   generator: torch.Generator, autocast: AbstractContextManager) -> torch.Tensor:
        """pytorch/examples dcgan: D on real and detached fake, then G on the same fake;
        returns D loss, G loss, D(x), D(G(z)) (of the last D update). With ``d_steps`` k > 1, D
        takes k updates on this real batch, each against fresh noise; G uses the last fake."""
        opt_g, opt_d = optimizers
        for _ in range(self.d_steps):
            z = torch.randn(len(x), self.config.latent_dim, generator=generator, device=x.device)
            with autocast:
                fake = self.decode(z)
                d_loss, dx, dgz = self.d_loss(x, fake)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        with autocast:
            g_loss = self.g_loss(fake)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        return torch.stack([d_loss.detach(), g_loss.detach(), dx, dgz])

    def preview_inputs(self, examples: torch.Tensor, seed: int) -> torch.Tensor:
        """32 fixed noise vectors (drawn on the CPU, so a seed gives the same ones anywhere)."""
        return noise(32, self.config.latent_dim, seed).to(examples.device)

    def preview(self, fixed: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Samples from the fixed noise, 8 per row."""
        return self.decode(fixed), 8
