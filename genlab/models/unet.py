"""The one small U-Net behind GenLab's diffusion and flow-matching models.

``UNet(x, t, y)`` maps an image batch x (N, C, H, W), a time t (N,) in [0, 1000] and, for a
conditional model, class labels y (N,) to a tensor shaped like x (the noise for DDPM, the
velocity for flow matching). The time goes through a sinusoidal embedding (Vaswani et al.;
Ho et al.) and an MLP; a class embedding (with one extra "null" class for classifier-free
guidance) is added to it. Every residual block adds the embedding to its features.

Shape, from ``width`` w = ``config.hidden[0]``:
    full resolution: w channels, then w * 2 at each lower resolution;
    w < 32 (the lesson size): two resolutions (28 -> 14), one block per level;
    w >= 32 (the default size): three resolutions (28 -> 14 -> 7; 32 and 64 px too), one block
    per level going down and two coming up; no attention (CPU speed).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LESSON_WIDTH = 32  # widths below this build the two-resolution lesson U-Net


def _norm(ch: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(8, ch), ch)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal features [cos(t f_i), sin(t f_i)] with f_i = max_period^(-i / (dim/2))."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    return F.pad(emb, (0, dim % 2))


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv, + the embedding (projected), GroupNorm-SiLU-conv, + skip."""

    def __init__(self, cin: int, cout: int, emb: int):
        super().__init__()
        self.norm1, self.conv1 = _norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb, cout)
        self.norm2, self.conv2 = _norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(e)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


def unet_levels(width: int, image_size: int) -> list[int]:
    """Channels per resolution, full resolution first (see the module docstring)."""
    n = 2 if width < LESSON_WIDTH else 3
    if image_size % (2 ** (n - 1)):
        raise ValueError(f"The U-Net halves the image {n - 1} times; {image_size} px cannot be.")
    return [width * (1 if i == 0 else 2) for i in range(n)]


class UNet(nn.Module):
    def __init__(self, channels: int, width: int, image_size: int = 28, num_classes: int = 0):
        super().__init__()
        levels = unet_levels(width, image_size)
        up_blocks = 1 if width < LESSON_WIDTH else 2
        self.width, self.num_classes = width, num_classes
        emb = 4 * width
        self.time = nn.Sequential(nn.Linear(width, emb), nn.SiLU(), nn.Linear(emb, emb))
        # classes 0..K-1 and the "null" class K (no class: the unconditional model)
        self.classes = nn.Embedding(num_classes + 1, emb) if num_classes else None
        self.stem = nn.Conv2d(channels, levels[0], 3, padding=1)
        # the skips: every down block's output; with two up blocks per level (DDPM's U-Net) also
        # the stem's and each downsampler's, so that each up block reads one
        self.full_skips = up_blocks == 2
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        skips, c = [levels[0]] if self.full_skips else [], levels[0]
        for i, ch in enumerate(levels):
            self.down.append(ResBlock(c, ch, emb))
            c = ch
            skips.append(c)
            if i < len(levels) - 1:
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                if self.full_skips:
                    skips.append(c)
        self.mid = ResBlock(c, c, emb)
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for i, ch in reversed(list(enumerate(levels))):
            blocks = nn.ModuleList()
            for _ in range(up_blocks):
                blocks.append(ResBlock(c + skips.pop(), ch, emb))
                c = ch
            self.up.append(blocks)
            if i > 0:  # nearest-neighbour x2, then a conv to the next level's width
                self.upsample.append(nn.Conv2d(c, levels[i - 1], 3, padding=1))
                c = levels[i - 1]
        assert not skips
        self.out = nn.Sequential(_norm(c), nn.SiLU(), nn.Conv2d(c, channels, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)  # starts by predicting zero (a common, stable start)
        nn.init.zeros_(self.out[-1].bias)

    def embed(self, t: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        e = self.time(timestep_embedding(t, self.width))
        if self.classes is not None:
            if y is None:
                y = torch.full((len(t),), self.num_classes, device=t.device, dtype=torch.long)
            e = e + self.classes(y)
        return e

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """``t``: (N,) times in [0, 1000]; ``y``: (N,) classes (K is "no class"), or None."""
        e = self.embed(t, y).to(x.dtype)
        h = self.stem(x.contiguous(memory_format=torch.channels_last))
        hs = [h] if self.full_skips else []
        for i, block in enumerate(self.down):
            h = block(h, e)
            hs.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
                if self.full_skips:
                    hs.append(h)
        h = self.mid(h, e)
        for i, blocks in enumerate(self.up):
            for block in blocks:
                h = block(torch.cat([h, hs.pop()], 1), e)
            if i < len(self.upsample):
                h = self.upsample[i](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.out(h)
