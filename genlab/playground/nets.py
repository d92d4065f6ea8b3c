"""Small MLPs for 2-D points: the GAN's generator and discriminator, a VAE with a 1-D or 2-D
latent, and a time-conditioned network that predicts a flow's velocity or a DDPM's noise."""
from __future__ import annotations

import math

import torch
from torch import nn

TIME_FEATURES = 16  # sin / cos of the time at 8 frequencies


def mlp(d_in: int, d_out: int, width: int, depth: int, act: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """``depth`` hidden layers of ``width`` units (depth >= 1), then a linear output."""
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(d_in if i == 0 else width, width), act()]
    layers.append(nn.Linear(width, d_out))
    return nn.Sequential(*layers)


class Discriminator(nn.Module):
    """D(x): the logit of "real" for each point (N, 2) -> (N,)."""

    def __init__(self, width: int, depth: int):
        super().__init__()
        self.net = mlp(2, 1, width, depth, lambda: nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def time_features(t: torch.Tensor) -> torch.Tensor:
    """t in [0, 1] (N,) -> (N, TIME_FEATURES)."""
    f = 2.0 ** torch.arange(TIME_FEATURES // 2, device=t.device, dtype=torch.float32) * math.pi
    a = t.float()[:, None] * f[None]
    return torch.cat([a.sin(), a.cos()], 1)


class TimeNet(nn.Module):
    """net(x, t): a flow's velocity or a DDPM's noise at points x (N, 2) and times t (N,);
    ``t_scale`` maps the sampler's time to [0, 1] (1 for a flow, 1/1000 for DDPM's steps)."""

    def __init__(self, width: int, depth: int, t_scale: float = 1.0):
        super().__init__()
        self.t_scale = t_scale
        self.net = mlp(2 + TIME_FEATURES, 2, width, depth, nn.SiLU)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, time_features(t * self.t_scale)], 1))


class VAE2d(nn.Module):
    """A VAE on points: encoder x -> (mu, log var) of a ``latent``-D Gaussian, decoder z -> the
    mean of a Gaussian of fixed std ``sigma`` over the plane."""

    def __init__(self, latent: int, width: int, depth: int):
        super().__init__()
        self.latent = latent
        self.enc = mlp(2, 2 * latent, width, depth)
        self.dec = mlp(latent, 2, width, depth)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.enc(x).chunk(2, 1)
        return mu, logvar.clamp(-12, 6)
