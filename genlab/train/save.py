"""The one way a trained model is saved: by the app's jobs, the CLI and weights/build.py."""
from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import torch

from genlab.models import GenerativeModel
from genlab.store.checkpoint import (
    CheckpointError,
    checkpoint_path,
    finite_or_none,
    read_meta,
    save_checkpoint,
)
from genlab.train.control import TrainConfig, TrainResult


def save_trained(path: str | os.PathLike, model: GenerativeModel, result: TrainResult,
                 config: TrainConfig | None = None, *, dataset: dict,
                 dtype: torch.dtype | None = None, **extra) -> Path:
    """Save ``model`` after ``fit`` returned ``result``, with the data set's description
    (``genlab.data.dataset_meta``) and any ``extra`` fields. ``config`` defaults to the resolved
    settings the run used (``result.config``). Whatever the run's status, the weights ``fit``
    left are saved; metrics that are NaN or infinite are stored as missing (null). The health
    alarms that fired (``result.alarms``, see ``genlab.train.health``) go into the meta's ``alarms``.
    Saving again over the same run's file (a job saves after every epoch) keeps what its owner
    chose meanwhile: "share with the class" (``shared``)."""
    if "shared" not in extra:
        extra = {**extra, **_kept(path)}
    config = config or result.config
    train = {**asdict(config), "betas": list(config.betas or ())} if config else {}
    record = dict(dataset=dataset, train=train, epochs=round(result.epochs_done, 3),
                  history=result.history, test_history=result.test_history, test=result.test,
                  seconds=round(result.seconds, 2), device=result.device,
                  images_per_s=round(result.images_per_s, 1), status=result.status,
                  message=result.message, alarms=list(result.alarms), **extra)
    return save_checkpoint(path, model, dtype=dtype, **finite_or_none(record))


def _kept(path: str | os.PathLike) -> dict:
    """The owner's choices stored in the file already at ``path`` (none if there is none)."""
    target = checkpoint_path(path)
    if not target.is_file():
        return {}
    try:
        meta = read_meta(target)
    except (CheckpointError, OSError):
        return {}
    kept = {"shared": meta["shared"]} if isinstance(meta.get("shared"), bool) else {}
    return kept | ({"owner_name": meta["owner_name"]} if isinstance(meta.get("owner_name"), str) else {})
