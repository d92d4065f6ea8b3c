"""Denoising diffusion (DDPM, Ho et al., 2020) on the small U-Net of ``unet.py``, and what it
shares with flow matching (``flow.py``): ``DenoisingModel``.

What every ``GenerativeModel`` call means here: the "latent" is the starting noise, so
``latent_dim`` = C*H*W, ``prior(n)`` is N(0, I) noise flattened, ``decode(z)`` runs the model's
default sampler from that noise and returns images in [0, 1] (the model works on [-1, 1]).
There is no encoder. A conditional model (``num_classes`` K > 0) adds a class embedding to the
time embedding, with an extra "null" class K; training drops the class (-> K) with probability
``P_UNCOND`` = 0.1, and sampling applies classifier-free guidance with weight w (``guidance``):
    out = out_uncond + w (out_cond - out_uncond);  w = 1 is the plain conditional model
    (one network call), w = 0 the unconditional one, w > 1 stronger class identity.
Without labels a conditional model uses the default labels i % K (``genlab.models.labels``).

DDPM: 1,000 training steps, linear (1e-4..0.02) or cosine betas (``config.schedule``), the
network predicts the noise, loss = MSE; samplers "ddpm" (ancestral, the default, 50 steps) and
"ddim" (eta = 0, deterministic); the formulas live in ``schedules.py``. Ancestral is the default
because it is the better one for the briefly trained models of a lesson (measured, lesson U-Net
after 3 epochs of 4,000 MNIST digits, 400 samples, 50 steps: Fréchet distance 211 and class
coverage 0.65 against DDIM's 365 and 0.34, whose images stay speckled). Its fresh noise is drawn
per image from a seed made of that image's starting noise, so ``decode(z)`` stays a function of
each z alone, as for every other model (the same image in any batch).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import NamedTuple

import torch
import torch.nn.functional as F

from genlab.models import schedules as S
from genlab.models.base import GenerativeModel
from genlab.models.config import ModelConfig
from genlab.models.labels import Conditional, default_labels
from genlab.models.unet import UNet

P_UNCOND = 0.1  # classifier-free guidance: the share of training images shown without a class
PREVIEW_ROWS = 4  # conditional preview: 4 noise images, each drawn as every class (<= 10)


class Trajectory(NamedTuple):
    """A sampler run, in image units ((x + 1) / 2, NOT clamped: clamp to [0, 1] to draw).
    ``t[i]``: the model time step i started from; ``x[0]`` the noise, ``x[i + 1]`` the state
    after step i; ``x0[i]`` the model's guess of the final image at step i. Shapes:
    x (steps + 1, N, C, H, W), x0 (steps, N, C, H, W)."""
    t: list[float]
    x: torch.Tensor
    x0: torch.Tensor


class DenoisingModel(Conditional, GenerativeModel):
    """What DDPM and flow matching share: the U-Net, labels and guidance, decoding, previews."""

    samplers: tuple[str, ...] = ()
    sampler = ""  # the default sampler and step count of decode()
    steps = 0
    guidance = 2.0  # the default classifier-free guidance weight of a conditional model
    time_scale = 1.0  # model time -> U-Net time in [0, 1000]
    live_preview = False  # a preview is a whole sampler run: drawn at epoch ends only

    def __init__(self, config: ModelConfig):
        GenerativeModel.__init__(self, config)
        self.unet = UNet(config.channels, config.hidden[0], config.image_size, config.num_classes)
        # channels-last convolutions: measured 15% faster training and 20% faster sampling on
        # CPU (oneDNN) for these small U-Nets; the trainer uses it on CUDA anyway
        self.unet.to(memory_format=torch.channels_last)

    @property
    def has_encoder(self) -> bool:
        return False

    def sampling_meta(self) -> dict:
        """A conditional model's default guidance weight: a trained model samples best at its
        own (weights/build.py sets the shipped ones' from measurements)."""
        return {"guidance": float(self.guidance)} if self.config.conditional else {}

    def use_sampling_meta(self, meta: dict) -> None:
        w = meta.get("guidance")
        if w is None or not self.config.conditional:
            return
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0.0 <= w <= 100.0:
            raise ValueError(f"its guidance weight should be a number from 0 to 100, not {w!r}.")
        self.guidance = float(w)

    def reconstruct(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        raise NotImplementedError(f"A {self.config.kind.upper()} model has no encoder, so it "
                                  "cannot reconstruct an image.")

    def class_labels(self, n: int, labels=None) -> torch.Tensor | None:
        """The classes for ``n`` images (see ``Conditional.labels_for``); None when the model
        is not conditional (which refuses labels)."""
        if not self.config.conditional:
            if labels is not None:
                raise ValueError("This model is not conditional: it takes no class labels.")
            return None
        return self.labels_for(n, labels)

    def _drop_classes(self, y: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        drop = torch.rand(len(y), generator=generator, device=y.device) < P_UNCOND
        return torch.where(drop, torch.full_like(y, self.num_classes), y)

    def net(self, labels: torch.Tensor | None = None, guidance: float | None = None):
        """The callable ``net(x, t)`` the samplers take (model time t), with the classes
        ``labels`` and classifier-free guidance weight ``guidance`` applied."""
        w = self.guidance if guidance is None else float(guidance)
        scale = self.time_scale

        def call(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            t = t.to(x.device, torch.float32) * scale
            if labels is None:
                return self.unet(x, t)
            if w == 1.0:
                return self.unet(x, t, labels)
            null = torch.full_like(labels, self.num_classes)
            if w == 0.0:
                return self.unet(x, t, null)
            cond, uncond = self.unet(torch.cat([x, x]), torch.cat([t, t]),
                                     torch.cat([labels, null])).chunk(2)
            return S.guided(cond, uncond, w)
        return call

    def noise_image(self, z: torch.Tensor) -> torch.Tensor:
        return z.reshape(len(z), *self.config.image_shape)

    def run_sampler(self, noise: torch.Tensor, sampler: str, steps: int, net) -> Iterator[S.Step]:
        raise NotImplementedError

    def _steps(self, z: torch.Tensor, sampler=None, steps=None, guidance=None, labels=None):
        y = self.class_labels(len(z), labels)
        return self.run_sampler(self.noise_image(z).to(self.device), sampler or self.sampler,
                                int(steps or self.steps), self.net(y, guidance))

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels=None, *, sampler: str | None = None,
               steps: int | None = None, guidance: float | None = None,
               clamp: bool = True) -> torch.Tensor:
        """Images in [0, 1] sampled from the noise ``z`` (N, C*H*W) with the default sampler
        (or ``sampler`` / ``steps`` / ``guidance``); ``clamp=False``: as the sampler left them
        (a strongly guided sample overshoots [0, 1]: ``genlab.train.denoise_health``)."""
        x = (S.last(self._steps(z, sampler, steps, guidance, labels)) + 1) / 2
        return x.clamp(0, 1) if clamp else x

    @torch.no_grad()
    def sample_trajectory(self, noise: torch.Tensor, sampler: str | None = None,
                          steps: int | None = None, guidance: float | None = None,
                          labels=None) -> Trajectory:
        """Every step of a sampler run from ``noise`` (N, C*H*W or N, C, H, W): x_t and the
        model's x0-hat at each step (a denoising strip)."""
        noise = noise.reshape(len(noise), -1)
        ts, xs, x0s = [], [self.noise_image(noise).to(self.device)], []
        for s in self._steps(noise, sampler, steps, guidance, labels):
            ts.append(s.t)
            xs.append(s.x)
            x0s.append(s.x0)
        return Trajectory(ts, (torch.stack(xs) + 1) / 2, (torch.stack(x0s) + 1) / 2)

    # --- training (see GenerativeModel) -----------------------------------------------------

    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None, labels=None):
        """(objective, {"loss": the same, detached}) on a batch of images in [0, 1]."""
        y = self.class_labels(len(x), labels)
        if y is not None:
            y = self._drop_classes(y, generator)
        pred, target = self.prediction_and_target(x * 2 - 1, y, generator)
        loss = F.mse_loss(pred.float(), target.float())
        return loss, {"loss": loss.detach()}

    def prediction_and_target(self, x: torch.Tensor, y, generator):
        raise NotImplementedError

    def train_step(self, x: torch.Tensor, optimizers: list[torch.optim.Optimizer], *,
                   generator: torch.Generator, autocast: AbstractContextManager = nullcontext(),
                   labels=None) -> torch.Tensor:
        """One Adam step on the MSE; a conditional model takes the batch's ``labels`` (the
        trainer gives them, as to a cVAE / cGAN)."""
        if self.config.conditional and labels is None and self._given is None:
            raise ValueError(f"A conditional {self.config.kind.upper()} model trains on labelled "
                             "images: give each batch's labels (the trainer does).")
        (opt,) = optimizers
        with autocast:
            objective, metrics = self.loss(x, generator=generator, labels=labels)
        opt.zero_grad(set_to_none=True)
        objective.backward()
        opt.step()
        return torch.stack([metrics[k].float() for k in self.config.loss_names])

    def preview_inputs(self, examples: torch.Tensor, seed: int) -> torch.Tensor:
        """Fixed noise from ``seed``, drawn on the CPU: 32 images, or for a conditional model
        ``PREVIEW_ROWS`` noise images each repeated once per class (up to 10)."""
        g = torch.Generator().manual_seed(seed)
        if not self.config.conditional:
            return torch.randn(32, self.config.latent_dim, generator=g).to(examples.device)
        k = min(self.num_classes, 10)
        noise = torch.randn(PREVIEW_ROWS, self.config.latent_dim, generator=g)
        return noise.repeat_interleave(k, 0).to(examples.device)

    def preview(self, fixed: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Samples from the fixed noise: 8 per row, or one row per noise, one column per class."""
        if not self.config.conditional:
            return self.decode(fixed), 8
        k = min(self.num_classes, 10)
        return self.decode(fixed, default_labels(len(fixed), k, fixed.device)), k


class DDPM(DenoisingModel):
    samplers = S.DIFFUSION_SAMPLERS
    sampler, steps = "ddpm", 50
    sample_seed = 0  # mixed into the per-image seeds of the ancestral sampler's fresh noise
    time_scale = 1.0  # the U-Net sees the integer step 0..999
    clip = True  # x0-hat clamped to [-1, 1] while sampling (diffusers' clip_sample)

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        abar = S.alphas_cumprod(S.beta_schedule(config.schedule, S.TRAIN_STEPS))
        self.register_buffer("alphas_cumprod", abar, persistent=False)  # from the config

    def prediction_and_target(self, x: torch.Tensor, y, generator):
        """Noise prediction at a uniformly drawn step t: (eps-hat(x_t, t), eps)."""
        n = len(x)
        t = torch.randint(0, S.TRAIN_STEPS, (n,), generator=generator, device=x.device)
        eps = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x_t = S.add_noise(x, eps, t, self.alphas_cumprod)
        return self.unet(x_t, t.float(), y), eps

    def fresh_noise(self, noise: torch.Tensor):
        """``draw()`` for the ancestral sampler: each call gives the next N(0, I) noise of every
        image, from a generator per image seeded by (a hash of) its starting noise."""
        flat = noise.detach().float().cpu().reshape(len(noise), -1).numpy()
        gens = [torch.Generator().manual_seed(self.sample_seed ^ int.from_bytes(
            hashlib.blake2b(row.tobytes(), digest_size=8).digest(), "little")) for row in flat]
        shape = noise.shape[1:]

        def draw() -> torch.Tensor:
            z = torch.stack([torch.randn(shape, generator=g) for g in gens])
            return z.to(noise.device, noise.dtype)
        return draw

    def run_sampler(self, noise: torch.Tensor, sampler: str, steps: int, net) -> Iterator[S.Step]:
        draw = self.fresh_noise(noise) if sampler == "ddpm" else None
        return S.diffusion_steps(net, noise, self.alphas_cumprod, steps, sampler, clip=self.clip,
                                 draw=draw)
