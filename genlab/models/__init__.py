"""Models: AE, VAE and DCGAN, each with an MLP and a conv variant, one interface."""
from __future__ import annotations

import threading

import torch

from genlab.models.ae import AutoEncoder
from genlab.models.base import GenerativeModel
from genlab.models.config import ARCHS, KINDS, LOSS_NAMES, ConfigError, ModelConfig
from genlab.models.gan import GAN
from genlab.models.vae import VAE

__all__ = ["ARCHS", "KINDS", "LOSS_NAMES", "AutoEncoder", "ConfigError", "GAN", "GenerativeModel",
           "ModelConfig", "VAE", "build_model"]

_CLASSES = {"ae": AutoEncoder, "vae": VAE, "gan": GAN}
_INIT_LOCK = threading.Lock()
MAX_PARAMETERS = 250_000_000  # ~1 GB of float32 weights: far beyond any lab model


def count_parameters(config: ModelConfig) -> int:
    """Parameters the config would have, counted on the meta device (nothing allocated)."""
    with torch.device("meta"):
        return sum(p.numel() for p in _CLASSES[config.kind](config).parameters())


def build_model(config: ModelConfig, seed: int | None = None) -> GenerativeModel:
    """Build a model from its config; with ``seed``, initial weights are reproducible
    (the global RNG is seeded exactly as ``torch.manual_seed(seed); Model()`` would)."""
    config.validate()
    n = count_parameters(config)
    if n > MAX_PARAMETERS:
        raise ConfigError(f"This model would have {n / 1e6:,.0f} million parameters, more than the "
                          f"{MAX_PARAMETERS / 1e6:,.0f} million GenLab allows; use fewer or narrower "
                          "hidden layers or a smaller image size.")
    if seed is None:
        return _CLASSES[config.kind](config)
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _CLASSES[config.kind](config)
