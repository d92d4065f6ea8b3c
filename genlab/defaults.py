"""One table of training defaults per model kind, read by the CLI, the Train page, the trainer
and weights/build.py. The values follow the lab reports GenLab grew from."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KindDefaults:
    latent_dim: int | None  # None: set by the model config (flow / ddpm: C*H*W)
    lr: float
    betas: tuple[float, float]
    batch_size: int
    epochs: int


DEFAULTS: dict[str, KindDefaults] = {
    # the second lab report: latent 32, Adam 1e-3, batch 128, 20 epochs
    "ae": KindDefaults(latent_dim=32, lr=1e-3, betas=(0.9, 0.999), batch_size=128, epochs=20),
    "vae": KindDefaults(latent_dim=32, lr=1e-3, betas=(0.9, 0.999), batch_size=128, epochs=20),
    # DCGAN (and the report): latent 100, Adam 2e-4 with beta1 = 0.5, batch 64, 50 epochs
    "gan": KindDefaults(latent_dim=100, lr=2e-4, betas=(0.5, 0.999), batch_size=64, epochs=50),
    # flow matching and DDPM on the small U-Net: Adam 1e-3, batch 128 (DDPM used 2e-4 on a far
    # larger net; on 4,000 MNIST digits, 3 epochs of the lesson DDPM reached a Fréchet distance
    # of 410 with 1e-3 and 553 with 5e-4, and the 0.94 M default U-Net trained stably with
    # 1e-3); the latent is the image-shaped noise
    "flow": KindDefaults(latent_dim=None, lr=1e-3, betas=(0.9, 0.999), batch_size=128, epochs=10),
    "ddpm": KindDefaults(latent_dim=None, lr=1e-3, betas=(0.9, 0.999), batch_size=128, epochs=10),
}


# The knobs the training-health alarms recommend (genlab.alarms), one value for every kind: the
# seed recipes use none of them (no KL warm-up; D shares G's learning rate; no label smoothing;
# one D step per G step). CLI: --kl-warmup, --lr-d, --label-smoothing, --d-steps.
KNOBS: dict[str, float | int | None] = {"kl_warmup_epochs": 0, "lr_d": None,
                                        "label_smoothing": 0.0, "d_steps": 1}


def knob_kind_error(kind: str, kl_warmup_epochs=0, lr_d=None, label_smoothing=0.0, d_steps=1,
                    **_) -> str | None:
    """Why a knob set away from its default does not apply to model ``kind``; None if it does."""
    if kind != "vae" and kl_warmup_epochs:
        return "KL warm-up applies to a VAE only; leave it at 0."
    gan = {"D learning rate": lr_d is not None, "label smoothing": label_smoothing,
           "D steps per G step": d_steps != 1}
    if kind != "gan" and any(gan.values()):
        return (f"The {next(k for k, v in gan.items() if v)} applies to a GAN only; leave it at its "
                "default.")
    return None


def defaults_for(kind: str) -> KindDefaults:
    """The defaults of model ``kind`` ('ae', 'vae', 'gan', 'flow' or 'ddpm')."""
    try:
        return DEFAULTS[kind]
    except KeyError:
        raise ValueError(f"Model kind must be one of {', '.join(DEFAULTS)}, not {kind!r}.") from None
