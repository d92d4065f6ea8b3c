"""Noise schedules and samplers for DDPM diffusion and flow matching, as pure functions.

Nothing here knows the U-Net: every sampler takes a callable ``net(x, t)`` (``t`` a float
tensor of shape (N,)), so the same code drives an image model or a 2-D toy network. The
formulas are those of diffusers' schedulers (checked against them in tests/test_samplers.py);
the code is GenLab's own.

Diffusion (Ho et al., 2020), ``train_steps`` T = 1000 discrete steps t = 0..T-1:
    x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps,   abar_t = prod_{s<=t} (1 - beta_s)
    the network predicts eps; ``net(x, t)`` is called with the integer step t as a float.
    Sampling visits ``steps`` timesteps spaced "trailing" (999, 979, ..., 19 for 50 steps), so
    the first step starts from pure noise; DDPM is the ancestral sampler (fresh noise each
    step, variance beta~), DDIM the deterministic one (eta = 0).

Flow matching with straight (rectified-flow) paths; GenLab's time runs from noise to data:
    x_t = (1 - t) noise + t data,   t in [0, 1],   velocity v = dx_t/dt = data - noise.
    diffusers' flow schedulers use sigma = 1 - t (noise at sigma = 1) and a model output of
    noise - data = -v. Sampling integrates dx/dt = v(x, t) from t = 0 to 1 on a uniform grid
    of ``steps`` intervals with Euler (one call per step) or Heun (two calls per step).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import NamedTuple

import torch

Net = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
SCHEDULES = ("linear", "cosine")
DIFFUSION_SAMPLERS = ("ddpm", "ddim")
FLOW_SAMPLERS = ("euler", "heun")
TRAIN_STEPS = 1000


class Step(NamedTuple):
    """One sampler step: the time it started from, the new x and the prediction of the data
    (x0-hat, "where the model thinks this is going") made at that time."""
    t: float
    x: torch.Tensor
    x0: torch.Tensor


# --- diffusion: schedules ---------------------------------------------------------------------

def beta_schedule(name: str = "linear", train_steps: int = TRAIN_STEPS, beta_start: float = 1e-4,
                  beta_end: float = 0.02, max_beta: float = 0.999) -> torch.Tensor:
    """The betas (float32, shape (T,)). ``linear``: beta_start..beta_end (Ho et al.);
    ``cosine``: abar(t) = cos^2((t/T + 0.008) / 1.008 * pi/2), betas capped at ``max_beta``
    (Nichol & Dhariwal, 2021; diffusers' "squaredcos_cap_v2")."""
    if name == "linear":
        return torch.linspace(beta_start, beta_end, train_steps, dtype=torch.float32)
    if name == "cosine":
        f = lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
        return torch.tensor([min(1 - f((i + 1) / train_steps) / f(i / train_steps), max_beta)
                             for i in range(train_steps)], dtype=torch.float32)
    raise ValueError(f"The noise schedule must be one of {', '.join(SCHEDULES)}, not {name!r}.")


def alphas_cumprod(betas: torch.Tensor) -> torch.Tensor:
    """abar_t = prod_{s <= t} (1 - beta_s)."""
    return torch.cumprod(1.0 - betas, dim=0)


def _at(abar: torch.Tensor, t, like: torch.Tensor) -> torch.Tensor:
    """abar at step(s) ``t`` (int, or a (N,) tensor), shaped to broadcast against ``like``;
    t < 0 means "before the first step": abar = 1 (clean data)."""
    if isinstance(t, torch.Tensor) and t.ndim:
        a = abar.to(like.device)[t.long().clamp(min=0)]
        a = torch.where(t.to(a.device) < 0, torch.ones_like(a), a)
        return a.reshape(-1, *([1] * (like.ndim - 1))).to(like.dtype)
    t = int(t)
    return (abar[t] if t >= 0 else abar.new_tensor(1.0)).to(like.device, like.dtype)


def add_noise(x0: torch.Tensor, noise: torch.Tensor, t, abar: torch.Tensor) -> torch.Tensor:
    """The forward process q(x_t | x_0): sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise."""
    a = _at(abar, t, x0)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def diffusion_timesteps(steps: int, train_steps: int = TRAIN_STEPS) -> list[int]:
    """``steps`` timesteps, descending, "trailing" spacing: T-1 first, each next one T/steps
    lower (diffusers' ``timestep_spacing="trailing"``)."""
    if not 1 <= int(steps) <= train_steps:
        raise ValueError(f"Sampling steps must be between 1 and {train_steps}, not {steps}.")
    ratio = train_steps / steps
    return [int(round(train_steps - i * ratio)) - 1 for i in range(steps)]


def predict_x0(x: torch.Tensor, eps: torch.Tensor, t, abar: torch.Tensor,
               clip: bool = True) -> torch.Tensor:
    a = _at(abar, t, x)
    x0 = (x - (1 - a).sqrt() * eps) / a.sqrt()
    return x0.clamp(-1, 1) if clip else x0


def ddpm_step(x: torch.Tensor, eps: torch.Tensor, t: int, t_prev: int, abar: torch.Tensor,
              noise: torch.Tensor | None = None, clip: bool = True
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """One ancestral step x_t -> x_{t_prev} (t_prev = -1: to the data): the posterior mean of
    q(x_prev | x_t, x0-hat) plus sqrt(beta~) ``noise`` (skipped at t = 0); returns
    (x_prev, x0-hat). ``clip``: x0-hat clamped to [-1, 1] (diffusers' ``clip_sample``)."""
    a_t, a_prev = _at(abar, t, x), _at(abar, t_prev, x)
    alpha = a_t / a_prev  # not 1 - beta: that loses a tiny alpha to rounding (cosine, t = 999)
    beta = 1 - alpha
    x0 = predict_x0(x, eps, t, abar, clip)
    mean = (a_prev.sqrt() * beta / (1 - a_t)) * x0 + (alpha.sqrt() * (1 - a_prev) / (1 - a_t)) * x
    if t > 0:
        if noise is None:
            raise ValueError("An ancestral step needs its noise (the same shape as x).")
        var = ((1 - a_prev) / (1 - a_t) * beta).clamp(min=1e-20)
        mean = mean + var.sqrt() * noise
    return mean, x0


def ddim_step(x: torch.Tensor, eps: torch.Tensor, t: int, t_prev: int, abar: torch.Tensor,
              clip: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """One deterministic DDIM step (eta = 0): x_prev = sqrt(abar_prev) x0-hat +
    sqrt(1 - abar_prev) eps; returns (x_prev, x0-hat)."""
    a_prev = _at(abar, t_prev, x)
    x0 = predict_x0(x, eps, t, abar, clip)
    return a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps, x0


def diffusion_steps(net: Net, noise: torch.Tensor, abar: torch.Tensor, steps: int = 50,
                    sampler: str = "ddim", generator: torch.Generator | None = None,
                    clip: bool = True, draw: Callable[[], torch.Tensor] | None = None
                    ) -> Iterator[Step]:
    """Run ``sampler`` ("ddpm" or "ddim") from ``noise``, yielding each ``Step``; the last x is
    the sample. DDPM's fresh noise for each step: ``draw()`` if given, else N(0, I) from
    ``generator`` (on the noise's device)."""
    if sampler not in DIFFUSION_SAMPLERS:
        raise ValueError(f"A diffusion sampler is one of {', '.join(DIFFUSION_SAMPLERS)}, "
                         f"not {sampler!r}.")
    ts = diffusion_timesteps(steps, len(abar))
    x = noise
    for i, t in enumerate(ts):
        t_prev = ts[i + 1] if i + 1 < len(ts) else -1
        eps = net(x, torch.full((len(x),), float(t), device=x.device))
        if sampler == "ddim":
            x, x0 = ddim_step(x, eps, t, t_prev, abar, clip)
        else:
            z = None
            if t > 0:
                z = draw() if draw is not None else torch.randn(
                    x.shape, generator=generator, device=x.device, dtype=x.dtype)
            x, x0 = ddpm_step(x, eps, t, t_prev, abar, z, clip)
        yield Step(float(t), x, x0)


# --- flow matching -----------------------------------------------------------------------------

def flow_path(data: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The straight path x_t = (1 - t) noise + t data (``t`` of shape (N,) or a number)."""
    t = torch.as_tensor(t, device=data.device, dtype=data.dtype)
    t = t.reshape(-1, *([1] * (data.ndim - 1))) if t.ndim else t
    return (1 - t) * noise + t * data


def flow_times(steps: int) -> torch.Tensor:
    """The sampling grid: ``steps`` + 1 times from 0 (noise) to 1 (data), uniform (float64)."""
    if not 1 <= int(steps) <= 10_000:
        raise ValueError(f"Sampling steps must be between 1 and 10,000, not {steps}.")
    return torch.linspace(0.0, 1.0, int(steps) + 1, dtype=torch.float64)


def euler_step(x: torch.Tensor, v: torch.Tensor, t: float, t_next: float) -> torch.Tensor:
    """x + (t_next - t) v."""
    return x + (t_next - t) * v


def heun_step(net: Net, x: torch.Tensor, t: float, t_next: float,
              v: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Heun's method (explicit trapezoid): an Euler guess, then the mean of the velocities at
    both ends; returns (x_next, v at (x, t)). ``v``: the velocity at (x, t) if already known."""
    n = len(x)
    if v is None:
        v = net(x, torch.full((n,), float(t), device=x.device))
    guess = euler_step(x, v, t, t_next)
    v2 = net(guess, torch.full((n,), float(t_next), device=x.device))
    return x + (t_next - t) * 0.5 * (v + v2), v


def flow_steps(net: Net, noise: torch.Tensor, steps: int = 20,
               sampler: str = "euler") -> Iterator[Step]:
    """Integrate dx/dt = net(x, t) from t = 0 (``noise``) to 1 with ``sampler`` ("euler" or
    "heun"), yielding each ``Step`` (x0-hat = x_t + (1 - t) v, the straight-line guess)."""
    if sampler not in FLOW_SAMPLERS:
        raise ValueError(f"A flow sampler is one of {', '.join(FLOW_SAMPLERS)}, not {sampler!r}.")
    ts = flow_times(steps).tolist()
    x = noise
    for t, t_next in zip(ts[:-1], ts[1:]):
        if sampler == "euler":
            v = net(x, torch.full((len(x),), t, device=x.device))
            x_next = euler_step(x, v, t, t_next)
        else:
            x_next, v = heun_step(net, x, t, t_next)
        yield Step(t, x_next, x + (1 - t) * v)
        x = x_next


def last(steps: Iterator[Step]) -> torch.Tensor:
    """The final x of a sampler run (the sample)."""
    x = None
    for s in steps:
        x = s.x
    if x is None:
        raise ValueError("The sampler ran no steps.")
    return x


def guided(cond: torch.Tensor, uncond: torch.Tensor, w: float) -> torch.Tensor:
    """Classifier-free guidance: uncond + w (cond - uncond). w = 1 is the plain conditional
    output, w = 0 the unconditional one, w > 1 pushes further towards the class."""
    return uncond + w * (cond - uncond)
