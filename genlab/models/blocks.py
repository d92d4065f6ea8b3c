"""Building blocks shared by the AE, VAE and GAN: MLP and conv stacks, geometry, init."""
from __future__ import annotations

import torch
from torch import nn

from genlab.models.config import ModelConfig


def conv_geometry(size: int) -> tuple[int, int]:
    """Number of stride-2 steps and the final spatial size: 28->7 (2), 32->4 (3), 64->4 (4)."""
    n, s = 0, size
    while s % 2 == 0 and s > 4 and n < 5:
        s //= 2
        n += 1
    return n, s


def conv_widths(cfg: ModelConfig) -> list[int]:
    n, _ = conv_geometry(cfg.image_size)
    return [min(cfg.hidden[0] * 2**i, 1024) for i in range(n)]


def mlp(sizes: list[int], act: type[nn.Module] = nn.ReLU, last_act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if last_act or i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def conv_encoder(cfg: ModelConfig) -> tuple[nn.Sequential, int]:
    """Strided convs (LeakyReLU), flattened. Returns the stack and its output width."""
    widths = conv_widths(cfg)
    _, s = conv_geometry(cfg.image_size)
    layers: list[nn.Module] = []
    cin = cfg.channels
    for w in widths:
        layers += [nn.Conv2d(cin, w, 4, 2, 1), nn.LeakyReLU(0.2)]
        cin = w
    layers.append(nn.Flatten())
    return nn.Sequential(*layers), cin * s * s


def conv_decoder(cfg: ModelConfig, fc: int) -> nn.Sequential:
    """latent -> fc -> (C, s, s) -> transposed convs -> logits (C, H, W)."""
    widths = conv_widths(cfg)[::-1]
    _, s = conv_geometry(cfg.image_size)
    layers: list[nn.Module] = [nn.Linear(cfg.latent_dim, fc), nn.ReLU(),
                               nn.Linear(fc, widths[0] * s * s), nn.ReLU(),
                               nn.Unflatten(1, (widths[0], s, s))]
    for a, b in zip(widths, widths[1:]):
        layers += [nn.ConvTranspose2d(a, b, 4, 2, 1), nn.ReLU()]
    layers.append(nn.ConvTranspose2d(widths[-1], cfg.channels, 4, 2, 1))
    return nn.Sequential(*layers)


def dcgan_init(module: nn.Module) -> None:
    """DCGAN paper init: conv/linear weights N(0, 0.02); BatchNorm weight N(1, 0.02), bias 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0], -1)
