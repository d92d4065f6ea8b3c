"""Checked settings (``genlab.settings.resolve``) -> the model and training configs. Every path
that starts a run calls ``configs``: the CLI, its Ray variant, the Train page and the lessons,
so the same words give the same model everywhere. Only how often a run reports (the
``run`` options: device, reading cadence, live grids) differs between them."""
from __future__ import annotations

from collections.abc import Mapping

from genlab.data import BUILTIN
from genlab.models import ConfigError, ModelConfig
from genlab.models.labels import conditional_refusal
from genlab.settings import default
from genlab.train.control import TrainConfig

LOG_EVERY = 10  # the app's and the lessons' curves: a point every 10 steps and each epoch end
# the losses read by the step, never by the clock: the same link and seed give every student the
# same curve (on the same kind of CPU)
BY_STEPS = {"log_every": LOG_EVERY, "progress_every_s": 1e9}
RECIPE_FIELDS = ("epochs", "batch_size", "lr", "betas", "seed", "kl_warmup_epochs", "lr_d",
                 "label_smoothing", "d_steps")  # what decides the trained weights


def class_count(s: Mapping, data=None) -> int:
    """The number of classes a conditional model of these settings gets (0: not conditional);
    a built-in data set needs no loading. ConfigError in words if it has none."""
    if not s["conditional"]:
        return 0
    classes = data.classes if data is not None else BUILTIN.get(s["dataset"], ())
    if len(classes) < 2:
        raise ConfigError(conditional_refusal(data, 0) if data is not None else
                          f"conditional needs a data set with classes; {s['dataset']} has none.")
    return len(classes)


def model_config(s: Mapping, data=None) -> ModelConfig:
    """The ModelConfig of checked settings (images as the data settings load them)."""
    return ModelConfig(s["kind"], s["arch"], s["channels"], s["size"], s["latent"],
                       tuple(s["hidden"]), s["beta"], num_classes=class_count(s, data),
                       schedule=s["schedule"]).validate()


def train_config(s: Mapping, **run) -> TrainConfig:
    """The TrainConfig of checked settings; ``run``: how the run reports (device, log_every,
    grid_every_s, ...), which does not change the weights."""
    return TrainConfig(epochs=s["epochs"], batch_size=s["batch"], lr=s["lr"],
                       betas=(s["b1"], s["b2"]), seed=s["seed"], kl_warmup_epochs=s["kl_warmup"],
                       lr_d=s["lr_d"], label_smoothing=s["smoothing"], d_steps=s["d_steps"], **run)


def configs(s: Mapping, data=None, **run) -> tuple[ModelConfig, TrainConfig]:
    """(ModelConfig, TrainConfig) of checked settings; ``data``: the loaded data set when it is
    not a built-in one (its classes); ``run`` as in ``train_config``."""
    return model_config(s, data), train_config(s, **run)


def recipe(tc: TrainConfig) -> dict:
    """The fields of a TrainConfig that decide the trained weights."""
    return {f: getattr(tc, f) for f in RECIPE_FIELDS}


def data_args(s: Mapping) -> dict:
    """``load_dataset``'s image_size and channels for these settings (None: the data set's own)."""
    return {"image_size": None if s["size"] == default("size", dataset=s["dataset"]) else s["size"],
            "channels": None if s["channels"] == 1 else s["channels"]}
