"""What a training job is: its description (``JobSpec``) and the file its model goes to (a
name in the user's models folder that overwrites nothing, held while the job runs)."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from genlab.models import ModelConfig
from genlab.store.catalog import WEIGHTS_DIR, user_models_dir
from genlab.store.checkpoint import SUFFIX, safe_name
from genlab.train import TrainConfig


@dataclass
class JobSpec:
    dataset: str  # built-in name, or the path of a folder / .zip of images
    model: ModelConfig
    train: TrainConfig
    name: str  # the user's name for the finished model
    image_size: int | None = None
    channels: int | None = None
    dataset_label: str = ""  # e.g. the uploaded file's name, for display
    lesson: str = ""  # the lesson it was started from (saved in the model's meta), or ""


def unique_model_path(name: str) -> Path:
    """A path in the user's model folder for ``name`` that overwrites nothing: a clash with a
    shipped model or an existing model of yours gets a ``-2``, ``-3``... suffix."""
    stem = safe_name(name)
    folder = user_models_dir()
    taken = {p.stem.lower() for d in (WEIGHTS_DIR, folder) if d.exists() for p in d.glob(f"*{SUFFIX}")}
    taken |= {p.stem.lower() for p in _RESERVED if p.parent == folder}
    candidate, i = stem, 2
    while candidate.lower() in taken:
        candidate, i = f"{stem}-{i}", i + 1
    return folder / f"{candidate}{SUFFIX}"


_RESERVED: set[Path] = set()  # paths of jobs that run now (their file may not exist yet)
_RESERVED_LOCK = threading.Lock()


def reserve_path(name: str) -> Path:
    """``unique_model_path(name)``, held until ``release_path``: two runs never share a file."""
    with _RESERVED_LOCK:
        path = unique_model_path(name)
        _RESERVED.add(path)
        return path


def release_path(path: Path | None) -> None:
    with _RESERVED_LOCK:
        _RESERVED.discard(path)
