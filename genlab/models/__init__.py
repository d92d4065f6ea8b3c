"""Models: AE, VAE and DCGAN, each with an MLP and a conv variant; flow matching and DDPM on a
small U-Net; one interface."""
from __future__ import annotations

import threading

import torch

from genlab.models.ae import AutoEncoder
from genlab.models.base import GenerativeModel, noise
from genlab.models.cgan import ConditionalGAN
from genlab.models.config import ARCHS, KINDS, LOSS_NAMES, ConfigError, ModelConfig
from genlab.models.cvae import ConditionalVAE
from genlab.models.diffusion import DDPM, DenoisingModel, Trajectory
from genlab.models.flow import FlowMatching
from genlab.models.gan import GAN
from genlab.models.labels import ClassView, conditional_classes, default_labels, with_class
from genlab.models.vae import VAE

__all__ = ["ARCHS", "KINDS", "LOSS_NAMES", "DDPM", "AutoEncoder", "ClassView", "ConditionalGAN",
           "ConditionalVAE", "ConfigError", "DenoisingModel", "FlowMatching", "GAN",
           "GenerativeModel", "ModelConfig", "Trajectory", "VAE", "build_model",
           "conditional_classes", "default_labels", "noise", "with_class"]

_CLASSES = {"ae": AutoEncoder, "vae": VAE, "gan": GAN, "flow": FlowMatching, "ddpm": DDPM}
# config.num_classes > 0 (flow / ddpm: the same class, told the classes)
_CONDITIONAL = {"vae": ConditionalVAE, "gan": ConditionalGAN, "flow": FlowMatching, "ddpm": DDPM}


def model_class(config: ModelConfig) -> type[GenerativeModel]:
    return (_CONDITIONAL if config.conditional else _CLASSES)[config.kind]
_INIT_LOCK = threading.Lock()
MAX_PARAMETERS = 250_000_000  # ~1 GB of float32 weights: far beyond any lab model


def count_parameters(config: ModelConfig) -> int:
    """Parameters the config would have, counted on the meta device (nothing allocated)."""
    with torch.device("meta"):
        return sum(p.numel() for p in model_class(config)(config).parameters())


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
        return model_class(config)(config)
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return model_class(config)(config)
