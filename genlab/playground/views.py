"""What one frame of the playground shows, as named numpy arrays plus a little metadata:
real and generated points for every family, and
- GAN: D's output over the plane (a heatmap), G's image of a regular noise grid (the warp) and
  the gradient G's loss puts on each fake point (the direction each one is pushed);
- VAE: the posterior of selected points (means and standard deviations in the latent: the page
  draws 2-sigma ellipses), the codes of data points, and the decoder's image of a latent grid;
- flow / DDPM: particle trajectories from noise to data (every sampler step) and the velocity
  (DDPM: the score direction, -eps) on a grid of the plane at a few times along the way."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from genlab.playground.data2d import EXTENT
from genlab.playground.trainer import Trainer

HEAT = 40  # D's heatmap: HEAT x HEAT cells over the plane
WARP = 11  # the noise / latent grid: WARP x WARP nodes (a line of WARP * 4 + 1 for 1-D)
FIELD = 15  # the velocity field: FIELD x FIELD arrows
FIELD_TIMES = 6  # slices of the field along the sampler
POINTS = 400  # real and fake points drawn (GAN / VAE)
PARTICLES = 200  # flow / DDPM particles (each a whole sampler run)
SELECTED = 12  # VAE: points whose posterior ellipse is drawn


def _plane(n: int, lo: float = -EXTENT, hi: float = EXTENT) -> torch.Tensor:
    """n x n points of a regular grid over [lo, hi]^2 at cell centres, row-major (y outer)."""
    c = torch.linspace(lo, hi, n + 1)[:-1] + (hi - lo) / n / 2
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)


def _grid(n: int, dim: int, lim: float, extra: int = 0) -> tuple[torch.Tensor, list[int]]:
    """A regular grid of the first ``dim`` (1 or 2) input dimensions over [-lim, lim] (nodes),
    the other ``extra`` dimensions 0; and its shape for drawing."""
    if dim == 1:
        m = n * 4 + 1
        g = torch.linspace(-lim, lim, m)[:, None]
        shape = [1, m]
    else:
        c = torch.linspace(-lim, lim, n)
        yy, xx = torch.meshgrid(c, c, indexing="ij")
        g, shape = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1), [n, n]
    return torch.cat([g, torch.zeros(len(g), extra)], 1), shape


def _f32(t) -> np.ndarray:
    return np.ascontiguousarray(t.detach().numpy() if isinstance(t, torch.Tensor) else t,
                                dtype=np.float32)


class Views:
    """The fixed inputs of a trainer's frames (noise, selected points), so that consecutive
    frames show the same points moving."""

    def __init__(self, tr: Trainer, seed: int = 0):
        self.tr = tr
        g = torch.Generator().manual_seed(seed + 99)
        n = len(tr.data)
        self.real = tr.data[torch.randperm(n, generator=g)[:POINTS]]
        if tr.family == "gan":
            self.z = torch.randn(POINTS, tr.s["noise"], generator=g)
        elif tr.family == "vae":
            self.z = torch.randn(POINTS, tr.s["latent"], generator=g)
            self.eps = torch.randn(POINTS, 2, generator=g)
            self.sel = self.real[:SELECTED]
        else:
            self.z = torch.randn(PARTICLES, 2, generator=g)

    def frame(self) -> tuple[dict, dict[str, np.ndarray]]:
        tr = self.tr
        meta = {"family": tr.family, "counts": dict(tr.counts), "iterations": tr.iterations,
                "losses": {k: round(v, 5) for k, v in tr.last.items()}, "extent": EXTENT}
        arrays = {"real": _f32(self.real)}
        arrays.update(getattr(self, f"_{tr.family if tr.family in ('gan', 'vae') else 'flow'}")(meta))
        return meta, arrays

    def _gan(self, meta: dict) -> dict[str, np.ndarray]:
        tr = self.tr
        fake = tr.G(self.z).detach().requires_grad_(True)
        lf = tr.D(fake)
        F.binary_cross_entropy_with_logits(lf, torch.ones_like(lf), reduction="sum").backward()
        with torch.no_grad():
            heat = torch.sigmoid(tr.D(_plane(HEAT))).reshape(HEAT, HEAT)
            grid, shape = _grid(WARP, min(2, tr.s["noise"]), 2.0, max(0, tr.s["noise"] - 2))
            warp = tr.G(grid)
        meta.update(heat=HEAT, warp_shape=shape)
        return {"fake": _f32(fake), "grad": _f32(-fake.grad), "warp": _f32(warp),
                "heat": np.round(heat.numpy() * 255).astype(np.uint8)}

    @torch.no_grad()
    def _vae(self, meta: dict) -> dict[str, np.ndarray]:
        tr, vae = self.tr, self.tr.vae
        fake = vae.dec(self.z) + tr.s["sigma"] * self.eps
        mu, logvar = vae.encode(self.sel)
        codes, _ = vae.encode(self.real[:300])
        grid, shape = _grid(WARP, tr.s["latent"], 2.5)
        pad = (lambda t: torch.cat([t, torch.zeros(len(t), 1)], 1)) if tr.s["latent"] == 1 else (lambda t: t)
        meta.update(latent=tr.s["latent"], warp_shape=shape)
        return {"fake": _f32(fake), "sel": _f32(self.sel), "mu": _f32(pad(mu)),
                "sd": _f32(pad((0.5 * logvar).exp())), "codes": _f32(pad(codes)),
                "warp": _f32(vae.dec(grid)), "lgrid": _f32(pad(grid))}

    @torch.no_grad()
    def _flow(self, meta: dict) -> dict[str, np.ndarray]:
        tr = self.tr
        xs, ts = [self.z], []
        for s in tr.sampler_steps(self.z):
            xs.append(s.x)
            ts.append(s.t)
        traj = torch.stack(xs)
        k = len(ts)
        pick = np.linspace(0, k - 1, FIELD_TIMES).round().astype(int)
        plane = _plane(FIELD)
        field = []
        for i in pick:
            out = tr.sampler_net(plane, torch.full((len(plane),), float(ts[i])))
            field.append(out if tr.family == "flow" else -out)  # DDPM: the score's direction
        meta.update(steps=k, field_steps=[int(i) for i in pick], field=FIELD)
        return {"fake": _f32(traj[-1]), "traj": _f32(traj), "field": _f32(torch.stack(field))}
