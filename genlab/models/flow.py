"""Flow matching with straight paths (rectified flow; Lipman et al., 2023; Liu et al., 2023) on
the U-Net of ``unet.py``; everything it shares with DDPM (the noise as the latent, decode,
labels and classifier-free guidance, previews, training step) is ``DenoisingModel``.

GenLab's convention: time runs from noise to data,
    x_t = (1 - t) noise + t data,  t ~ U(0, 1),  the network predicts v = data - noise,
    loss = MSE(v-hat(x_t, t), v).
Sampling integrates dx/dt = v-hat(x, t) from t = 0 to 1: "euler" (the default, 20 steps, one
network call per step) or "heun" (two calls per step). diffusers' flow schedulers write the
same path with sigma = 1 - t and predict noise - data = -v (see ``schedules.py``).
"""
from __future__ import annotations

from collections.abc import Iterator

import torch

from genlab.models import schedules as S
from genlab.models.diffusion import DenoisingModel


class FlowMatching(DenoisingModel):
    samplers = S.FLOW_SAMPLERS
    sampler, steps = "euler", 20
    time_scale = 1000.0  # t in [0, 1] -> the U-Net's time in [0, 1000]

    def prediction_and_target(self, x: torch.Tensor, y, generator):
        """(v-hat(x_t, t), data - noise) at t ~ U(0, 1) on the straight path."""
        t = torch.rand(len(x), generator=generator, device=x.device)
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x_t = S.flow_path(x, noise, t)
        return self.unet(x_t, t * self.time_scale, y), x - noise

    def run_sampler(self, noise: torch.Tensor, sampler: str, steps: int, net) -> Iterator[S.Step]:
        return S.flow_steps(net, noise, steps, sampler)
