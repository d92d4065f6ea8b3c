"""A step-able trainer for one 2-D model: one D step, one G step or one whole iteration, with
exact counts of the optimiser steps each part took. Settings are the playground's rows of
``genlab.settings`` (checked by ``play_resolve``); samplers are ``genlab.models.schedules``'."""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F

from genlab.models import schedules as S
from genlab.playground import data2d
from genlab.playground.nets import Discriminator, TimeNet, VAE2d, mlp

PARTS = {"gan": ("d", "g", "iteration"), "vae": ("iteration",), "flow": ("iteration",),
         "ddpm": ("iteration",)}
PART_NAMES = {"d": "D step", "g": "G step", "iteration": "Iteration"}
BETAS = {"gan": (0.5, 0.999)}  # Adam's betas: DCGAN's for the GAN, the defaults otherwise


class Trainer:
    """``s``: checked playground settings (``genlab.settings.play_resolve``); ``drawn``: the
    user's points for the "drawn" data set."""

    def __init__(self, s: dict, drawn=None):
        self.s, self.family = dict(s), s["family"]
        torch.manual_seed(s["seed"])
        self.data = torch.from_numpy(data2d.sample(s["data"], s["n"], s["seed"], drawn))
        self.gen = torch.Generator().manual_seed(s["seed"] + 1)
        w, d, betas = s["width"], s["depth"], BETAS.get(self.family, (0.9, 0.999))
        self.counts = {p: 0 for p in (("d", "g") if self.family == "gan" else ("model",))}
        self.iterations = 0
        self.last: dict[str, float] = {}
        self.ema: torch.nn.Module | None = None  # flow / DDPM: the weights' running average
        if self.family == "gan":
            self.G = mlp(s["noise"], 2, w, d)
            self.D = Discriminator(w, d)
            self.opt_g = torch.optim.Adam(self.G.parameters(), lr=s["lr"], betas=betas)
            self.opt_d = torch.optim.Adam(self.D.parameters(), lr=s["lr_d"], betas=betas)
        elif self.family == "vae":
            self.vae = VAE2d(s["latent"], w, d)
            self.opt = torch.optim.Adam(self.vae.parameters(), lr=s["lr"], betas=betas)
        else:
            self.net = TimeNet(w, d, 1.0 if self.family == "flow" else 1.0 / S.TRAIN_STEPS)
            self.opt = torch.optim.Adam(self.net.parameters(), lr=s["lr"], betas=betas)
            # the weights' running average (setting "ema"): at 15 s on 8 Gaussians it halved the
            # DDPM's JS divergence above the floor (0.056 -> 0.023 bit; bench/RESULTS.md)
            self.ema = copy.deepcopy(self.net).requires_grad_(False) if s["ema"] > 0 else None
            self.abar = S.alphas_cumprod(S.beta_schedule("linear"))

    # --- steps ----------------------------------------------------------------------------
    def batch(self) -> torch.Tensor:
        return self.data[torch.randint(0, len(self.data), (self.s["batch"],), generator=self.gen)]

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.s["noise"], generator=self.gen)

    def d_step(self) -> None:
        real, fake = self.batch(), self.G(self.noise(self.s["batch"])).detach()
        lr, lf = self.D(real), self.D(fake)
        loss = F.binary_cross_entropy_with_logits(lr, torch.ones_like(lr)) + \
            F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf))
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        self.counts["d"] += 1
        self.last["loss_d"] = float(loss.detach())

    def g_step(self) -> None:
        lf = self.D(self.G(self.noise(self.s["batch"])))
        loss = F.binary_cross_entropy_with_logits(lf, torch.ones_like(lf))  # non-saturating
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        self.counts["g"] += 1
        self.last["loss_g"] = float(loss.detach())

    def model_loss(self) -> torch.Tensor:
        x = self.batch()
        if self.family == "vae":
            mu, logvar = self.vae.encode(x)
            z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=self.gen)
            rec = ((self.vae.dec(z) - x) ** 2).sum(1) / (2 * self.s["sigma"] ** 2)
            kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1)
            self.last.update(recon=float(rec.mean().detach()), kl=float(kl.mean().detach()))
            return (rec + self.s["beta"] * kl).mean()
        noise = torch.randn(x.shape, generator=self.gen)
        if self.family == "flow":
            t = torch.rand(len(x), generator=self.gen)
            return F.mse_loss(self.net(S.flow_path(x, noise, t), t), x - noise)
        t = torch.randint(0, S.TRAIN_STEPS, (len(x),), generator=self.gen)
        return F.mse_loss(self.net(S.add_noise(x, noise, t, self.abar), t.float()), noise)

    def model_step(self) -> None:
        loss = self.model_loss()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if self.ema is not None:
            with torch.no_grad():
                torch._foreach_lerp_(list(self.ema.parameters()), list(self.net.parameters()),
                                     1.0 - self.s["ema"])
        self.counts["model"] += 1
        self.last["loss"] = float(loss.detach())

    def step(self, part: str = "iteration") -> None:
        """One optimiser step of ``part`` ("d" or "g": the GAN's only), or one iteration (the
        GAN: d_steps D steps then one G step; the others: one step of their one optimiser)."""
        if part not in PARTS[self.family]:
            raise ValueError(f"A {self.family.upper()} has no part {part!r}; its parts are "
                             f"{', '.join(PARTS[self.family])}.")
        if self.family != "gan":
            self.model_step()
        elif part == "d":
            self.d_step()
        elif part == "g":
            self.g_step()
        else:
            for _ in range(self.s["d_steps"]):
                self.d_step()
            self.g_step()
        if part == "iteration":
            self.iterations += 1

    # --- sampling ---------------------------------------------------------------------------
    def sampler_steps(self, noise: torch.Tensor, steps: int | None = None):
        """The flow's Euler or DDPM's DDIM run from ``noise`` (the schedules' samplers)."""
        steps = steps or self.s["steps"]
        if self.family == "flow":
            return S.flow_steps(self.sampler_net, noise, steps, "euler")
        return S.diffusion_steps(self.sampler_net, noise, self.abar, steps, "ddim", clip=False)

    def average_from_here(self) -> None:
        """The weights' average restarts at the weights as trained: after one step pressed by
        hand (or in slow motion) the views show exactly the state that step left."""
        if self.ema is not None:
            self.ema.load_state_dict(self.net.state_dict())

    @property
    def sampler_net(self) -> torch.nn.Module:
        """The network the flow's and DDPM's sampler runs: the weights' average, or the raw."""
        return self.ema if self.ema is not None else self.net

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` model samples (n, 2) from noise of ``seed``."""
        g = torch.Generator().manual_seed(seed)
        if self.family == "gan":
            x = self.G(torch.randn(n, self.s["noise"], generator=g))
        elif self.family == "vae":
            z = torch.randn(n, self.s["latent"], generator=g)
            x = self.vae.dec(z) + self.s["sigma"] * torch.randn(n, 2, generator=g)
        else:
            x = S.last(self.sampler_steps(torch.randn(n, 2, generator=g)))
        return x.numpy()

    def total_steps(self) -> int:
        return sum(self.counts.values())
