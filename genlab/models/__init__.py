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


def build_model(config: ModelConfig, seed: int | None = None) -> GenerativeModel:
    """Build a model from its config; with ``seed``, initial weights are reproducible
    (the global RNG is seeded exactly as ``torch.manual_seed(seed); Model()`` would)."""
    config.validate()
    if seed is None:
        return _CLASSES[config.kind](config)
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _CLASSES[config.kind](config)
