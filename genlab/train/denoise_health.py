"""The health checks of flow-matching and DDPM models (used by ``genlab.train.health``'s monitor
and by the pages that draw samples): the loss stuck at its trivial value, and samples saturated
by a very high guidance weight."""
from __future__ import annotations

import torch

from genlab.data import to_float
from genlab.train.alarms import KINDS, Alarm

# flow / DDPM: the loss of a network that predicts zero (what the zero-initialised U-Net does at
# the start) is E|data - noise|^2 = 1 + E[x^2] per element for flow (data in [-1, 1]) and
# E|eps|^2 = 1 for DDPM; an epoch's mean loss still above this share of it means stuck
STUCK = 0.9
# saturated samples: the share of pixels a sampler pushed this far beyond black or white (in
# image units, before clamping) above which a guided sample is called saturated
# (64 samples; shares at w = 2 / 3 / 5 / 7: the shipped mnist-cflow at 72 epochs 0.00% / 0.01% /
# 0.5% / 2.9%; at 36 epochs 0.06% / 0.7% / 6.1% / 12%: a model trained longer overshoots less,
# so the threshold sits between both files' w = 3 and w = 7)
OVERSHOOT, SATURATED = 0.1, 0.015


def trivial_loss(kind: str, images: torch.Tensor | None) -> float | None:
    """The loss of a flow / DDPM network that predicts zero: DDPM E|eps|^2 = 1; flow
    E|data - noise|^2 = 1 + E[x^2] with the data ``images`` scaled to [-1, 1] (None without
    images, and for the other kinds)."""
    if kind == "ddpm":
        return 1.0
    if kind == "flow" and images is not None and len(images):
        return 1.0 + float((to_float(images) * 2 - 1).pow(2).mean())
    return None


def saturation_alarm(raw: torch.Tensor, guidance: float | None, epoch: float = 0.0,
                     step: int = 0) -> Alarm | None:
    """Samples drawn with classifier-free guidance ``guidance``, ``raw`` in image units BEFORE
    clamping to [0, 1]: an alarm when more than ``SATURATED`` of their pixels overshoot black or
    white by more than ``OVERSHOOT`` (guidance far above 1 pushes them out of range)."""
    if guidance is None or guidance <= 1.0 or not len(raw):
        return None
    x = raw.detach().float()
    share = float(((x < -OVERSHOOT) | (x > 1 + OVERSHOOT)).float().mean())
    if share <= SATURATED:
        return None
    name, advice = KINDS["saturated"]
    return Alarm("saturated", name, int(step), round(float(epoch), 3),
                 f"At guidance w = {guidance:g} the samples are pushed past black and white: "
                 "they come out over-saturated and alike, the class exaggerated.",
                 f"{share:.0%} of the pixels of {len(x)} samples overshoot [0, 1] by more than "
                 f"{OVERSHOOT:g} before clipping (threshold {SATURATED:.0%}).", advice,
                 {"share": round(share, 5), "guidance": float(guidance)})
