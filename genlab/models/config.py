"""The dataclass config stored with every model's weights; it rebuilds the model exactly."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from genlab.settings import BY_KEY, DEFAULT_HIDDEN, DEFAULTS, MAX_HIDDEN_LAYERS, NOISE_KINDS, SCHEDULES

KINDS = tuple(DEFAULTS)
ARCHS = ("mlp", "conv")
LOSS_NAMES = {
    "ae": ("mse",),
    "vae": ("recon", "kl", "total"),
    "gan": ("d_loss", "g_loss", "d_x", "d_g_z"),
    "flow": ("loss",),
    "ddpm": ("loss",),
}
LOSS_LABELS = {"mse": "MSE per pixel", "recon": "reconstruction (nats)", "kl": "KL (nats)",
               "total": "total = −ELBO (nats)", "d_loss": "D loss", "g_loss": "G loss",
               "d_x": "D(x)", "d_g_z": "D(G(z))", "loss": "MSE of the network's target"}
# the panels of a training-curve figure per kind (the app and the lab report)
LOSS_PANELS = {"ae": [["mse"]], "vae": [["recon", "total"], ["kl"]],
               "gan": [["d_loss", "g_loss"], ["d_x", "d_g_z"]], "flow": [["loss"]], "ddpm": [["loss"]]}
LATENT, HIDDEN, BETA = BY_KEY["latent"], BY_KEY["hidden"], BY_KEY["beta"]  # their bounds


class ConfigError(ValueError):
    """A model configuration that cannot be built; the message says what to change."""


@dataclass
class ModelConfig:
    kind: str = "vae"  # ae | vae | gan | flow | ddpm
    arch: str = "conv"  # mlp | conv
    channels: int = 1
    image_size: int = 28
    latent_dim: int | None = None  # None: the kind's default (genlab.settings); flow / ddpm:
    # always C*H*W (their latent is the starting noise)
    # mlp: widths of the hidden layers; conv: channels of the first conv layer (doubles per layer)
    hidden: tuple[int, ...] = field(default_factory=tuple)
    beta: float = 1.0  # VAE: weight of the KL term
    num_classes: int = 0  # 0: unconditional; K > 1: a conditional VAE / GAN told the class 0..K-1
    schedule: str = "linear"  # DDPM only: the noise schedule, linear | cosine

    def __post_init__(self) -> None:
        if self.latent_dim is None and self.kind in DEFAULTS:
            self.latent_dim = DEFAULTS[self.kind].latent_dim
        if self.kind in NOISE_KINDS:
            self.latent_dim = int(self.channels) * int(self.image_size) ** 2
        self.hidden = tuple(int(h) for h in (self.hidden or DEFAULT_HIDDEN.get(
            (self.arch, self.kind), (64,))))

    def validate(self) -> ModelConfig:
        if self.kind not in KINDS:
            raise ConfigError(f"Model kind must be one of {', '.join(KINDS)}, not {self.kind!r}.")
        if self.arch not in ARCHS:
            raise ConfigError(f"Architecture must be 'mlp' or 'conv', not {self.arch!r}.")
        if self.channels not in (1, 3):
            raise ConfigError("Images must have 1 (gray) or 3 (RGB) channels.")
        if not 4 <= int(self.image_size) <= 256:
            raise ConfigError(f"Image size {self.image_size} is out of range (4 to 256 pixels).")
        if self.kind in NOISE_KINDS and self.arch != "conv":
            raise ConfigError(f"A {self.kind} model is a U-Net: use the 'conv' architecture "
                              "(there is no MLP variant).")
        if self.arch == "conv" and (self.image_size % 4 or self.image_size < 8):
            raise ConfigError("Conv models need an image size of 8 or more, divisible by 4 "
                              "(28, 32 or 64); use the MLP architecture for other sizes.")
        if self.kind not in NOISE_KINDS and not LATENT.lo <= int(self.latent_dim) <= LATENT.hi:
            raise ConfigError(f"Latent size must be between {LATENT.lo} and {LATENT.hi}, not "
                              f"{self.latent_dim}.")
        if len(self.hidden) > MAX_HIDDEN_LAYERS:
            raise ConfigError(f"At most {MAX_HIDDEN_LAYERS} hidden layers, not {len(self.hidden)}.")
        if not self.hidden or any(h < HIDDEN.lo or h > HIDDEN.hi for h in self.hidden):
            raise ConfigError(f"Hidden sizes must be whole numbers between {HIDDEN.lo} and {HIDDEN.hi}.")
        if self.arch == "conv" and len(self.hidden) != 1:
            raise ConfigError("A conv model takes one hidden size: the width of its first layer.")
        if not (BETA.lo <= float(self.beta) <= BETA.hi):
            raise ConfigError(f"β must be between {BETA.lo:g} and {BETA.hi:g}, not {self.beta}.")
        if not 0 <= int(self.num_classes) <= 1000 or int(self.num_classes) == 1:
            raise ConfigError(f"A conditional model needs between 2 and 1000 classes (0 means not "
                              f"conditional), not {self.num_classes}.")
        if self.num_classes and self.kind == "ae":
            raise ConfigError("Only a VAE or a GAN can be conditional; use one of those, or leave "
                              "'conditional' off for an AE.")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"The noise schedule must be one of {', '.join(SCHEDULES)}, not "
                              f"{self.schedule!r}.")
        if self.schedule != "linear" and self.kind != "ddpm":
            raise ConfigError("The noise schedule applies to a DDPM only; leave it at 'linear'.")
        return self

    @property
    def conditional(self) -> bool:
        return int(self.num_classes) > 0

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.image_size, self.image_size)

    @property
    def loss_names(self) -> tuple[str, ...]:
        return LOSS_NAMES[self.kind]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        if self.kind != "ddpm":  # the AE / VAE / GAN / flow configs stay as they were written
            del d["schedule"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        if not isinstance(d, dict):
            raise ConfigError("The model config must be a JSON object.")
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ConfigError(f"Unknown model config keys: {', '.join(sorted(unknown))}.")
        try:
            cfg = cls(kind=str(d.get("kind", "vae")), arch=str(d.get("arch", "conv")),
                      channels=int(d.get("channels", 1)), image_size=int(d.get("image_size", 28)),
                      latent_dim=int(d["latent_dim"]) if d.get("latent_dim") is not None else None,
                      hidden=tuple(int(h) for h in d.get("hidden") or ()),
                      beta=float(d.get("beta", 1.0)),
                      num_classes=int(d.get("num_classes") or 0),  # absent: unconditional
                      schedule=str(d.get("schedule", "linear")))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"The model config has a value of the wrong type: {exc}.") from exc
        return cfg.validate()
