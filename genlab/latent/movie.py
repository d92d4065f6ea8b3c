"""The latent movie: how an AE's or VAE's latent space forms while it trains.

A fixed probe set (1,000 test images, the same number from every class) is encoded at the start,
a few times in the first epoch and at the end of every epoch. The codes are kept as float16 in a
safetensors file beside the checkpoint (``<model>.movie.safetensors``). ``fixed_frame`` projects
every frame with one PCA fitted on the final codes, so the points move in one frame of reference
and the clusters visibly form instead of jumping.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from genlab.latent.codes import encode_images, fit_pca
from genlab.store.checkpoint import atomic_write, checkpoint_path

# fractions of the first epoch that get a frame too; the trainer reads the losses there whatever
# the clock says (genlab.train.loop), so the frames are taken on any machine, fast or slow
EARLY = (0.1, 0.25, 0.5)

PROBE_SIZE = 1000
MAX_EPOCH_FRAMES = 30  # a longer run keeps this many epoch ends, evenly spaced, the last included
MOVIE_SUFFIX = ".movie.safetensors"
MAX_MOVIE_BYTES = 256 * 1024**2


class MovieError(ValueError):
    """A movie file that cannot be read; the message says why."""


@dataclass
class Movie:
    epochs: np.ndarray  # (T,) float32, training progress of each frame in epochs
    codes: np.ndarray  # (T, N, D) float16, the probe set's codes (VAE: posterior means)
    indices: np.ndarray  # (N,) int64, the probe images' indices in the test split
    labels: np.ndarray  # (N,) int64, their classes (-1 when the data set has none)

    def __len__(self) -> int:
        return len(self.epochs)


def probe_indices(labels: torch.Tensor | np.ndarray, n: int = PROBE_SIZE, seed: int = 0) -> np.ndarray:
    """``n`` test indices, the same number from every class (the remainder from the first
    classes), chosen with ``seed``; all of them when the split is smaller. Sorted."""
    y = np.asarray(labels).astype(np.int64)
    if len(y) <= n:
        return np.arange(len(y), dtype=np.int64)
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    pools = {c: rng.permutation(np.flatnonzero(y == c)) for c in classes}
    picked: list[int] = []
    share = n // len(classes)
    for c in classes:
        picked += pools[c][:share].tolist()
    rest = np.setdiff1d(np.arange(len(y)), picked)
    picked += rng.permutation(rest)[: n - len(picked)].tolist()
    return np.sort(np.asarray(picked, np.int64))


class FrameSchedule:
    """When a film of the training takes a frame: at the start, at the ``EARLY`` points of the
    first epoch and at every epoch's end (at most ``max_epoch_frames`` of them, evenly spaced,
    the last included). The latent movie and the denoising strip (genlab.latent.denoise) share it;
    a subclass's ``record(epoch)`` takes the frame."""

    def __init__(self, max_epoch_frames: int = MAX_EPOCH_FRAMES) -> None:
        self._early = list(EARLY)
        self.max_epoch_frames = max_epoch_frames

    def record(self, epoch: float):
        raise NotImplementedError

    def on_event(self, ev):
        """Record a frame if this event is one of the film's moments; returns what ``record`` did."""
        if ev.kind == "start":
            return self.record(0.0)
        if ev.kind == "progress" and self._early and ev.epoch < 1.0 and ev.epoch >= self._early[0]:
            while self._early and ev.epoch >= self._early[0]:
                self._early.pop(0)
            return self.record(ev.epoch)
        if ev.kind == "epoch":
            self._early = []
            return self.record(ev.epoch) if self.keeps(round(ev.epoch), ev.epochs) else None
        return None

    def keeps(self, epoch: int, epochs: int) -> bool:
        """Whether the end of ``epoch`` (1-based) of ``epochs`` gets a frame."""
        if epochs <= self.max_epoch_frames:
            return True
        return epoch in set(np.round(np.linspace(1, epochs, self.max_epoch_frames)).astype(int).tolist())


class MovieRecorder(FrameSchedule):
    """Feed it the trainer's events (``on_event``); it encodes the probe set at the start, at
    the ``EARLY`` points of the first epoch and at every epoch's end. For AE and VAE models only
    (``MovieRecorder.wants(model)``). A training callback (``genlab.train.callbacks``)."""
    name = "movie"

    def __init__(self, model, test_x: torch.Tensor, test_y: torch.Tensor | None,
                 n: int = PROBE_SIZE, seed: int = 0, max_epoch_frames: int = MAX_EPOCH_FRAMES) -> None:
        labels = test_y if test_y is not None and len(test_y) == len(test_x) else None
        self.model = model
        self.indices = (probe_indices(labels, n, seed) if labels is not None
                        else np.arange(min(n, len(test_x)), dtype=np.int64))
        self.x = test_x[torch.from_numpy(self.indices)]
        self.labels = (np.asarray(labels)[self.indices].astype(np.int64) if labels is not None
                       else np.full(len(self.indices), -1, np.int64))
        self.epochs: list[float] = []
        self.frames: list[np.ndarray] = []
        super().__init__(max_epoch_frames)

    @staticmethod
    def wants(model) -> bool:
        return bool(getattr(model, "has_encoder", False))

    def record(self, epoch: float) -> np.ndarray:
        was_training = self.model.training
        self.model.eval()
        try:
            codes = encode_images(self.model, self.x).astype(np.float16)
        finally:
            self.model.train(was_training)
        self.epochs.append(float(epoch))
        self.frames.append(codes)
        return codes

    def movie(self) -> Movie | None:
        if not self.frames:
            return None
        return Movie(np.asarray(self.epochs, np.float32), np.stack(self.frames),
                     self.indices.copy(), self.labels.copy())


def movie_path(checkpoint: str | os.PathLike) -> Path:
    p = checkpoint_path(checkpoint)
    return p.with_name(p.name[: -len(p.suffix)] + MOVIE_SUFFIX)


def save_movie(checkpoint: str | os.PathLike, movie: Movie) -> Path:
    """Write ``movie`` beside ``checkpoint`` atomically; returns the movie's path."""
    target = movie_path(checkpoint)
    data = st_save({"epochs": movie.epochs.astype(np.float32), "codes": movie.codes.astype(np.float16),
                    "indices": movie.indices.astype(np.int64), "labels": movie.labels.astype(np.int64)},
                   metadata={"genlab": json.dumps({"format": "genlab-movie/1"})})
    atomic_write(target, data)
    return target


def load_movie(checkpoint: str | os.PathLike, latent_dim: int | None = None) -> Movie | None:
    """The movie stored beside ``checkpoint``; None when it has none. Raises MovieError for a
    file that is not a valid movie (wrong format, shapes that do not agree)."""
    p = movie_path(checkpoint)
    if not p.is_file():
        return None
    if p.stat().st_size > MAX_MOVIE_BYTES:
        raise MovieError(f"{p.name} is larger than {MAX_MOVIE_BYTES // 1024**2} MB; not a GenLab movie.")
    try:
        t = st_load(p.read_bytes())
    except Exception as exc:  # safetensors raises its own error types for malformed files
        raise MovieError(f"{p.name} is not a readable movie file ({exc}).") from exc
    need = {"epochs": 1, "codes": 3, "indices": 1, "labels": 1}
    if set(t) != set(need) or any(t[k].ndim != d for k, d in need.items()):
        raise MovieError(f"{p.name} does not hold a GenLab latent movie.")
    T, N, D = t["codes"].shape
    if len(t["epochs"]) != T or len(t["indices"]) != N or len(t["labels"]) != N or T == 0:
        raise MovieError(f"{p.name}: its frames, probe indices and labels do not agree.")
    if latent_dim is not None and D != latent_dim:
        raise MovieError(f"{p.name} has {D}-D codes but the model's latent size is {latent_dim}.")
    if not np.isfinite(t["codes"].astype(np.float32)).all():
        raise MovieError(f"{p.name} holds NaN or infinite codes.")
    return Movie(t["epochs"].astype(np.float32), t["codes"], t["indices"].astype(np.int64),
                 t["labels"].astype(np.int64))


def fixed_frame(movie: Movie, dims: int = 2, prior: int = 0, seed: int = 0
                ) -> tuple[np.ndarray, np.ndarray | None]:
    """(T, N, dims) coordinates of every frame in ONE frame of reference: the PCA of the final
    codes, applied to all frames (padded with zeros for a latent smaller than ``dims``); and,
    if ``prior`` > 0, that many samples of the prior N(0, I) in the same frame (else None)."""
    p = fit_pca(movie.codes[-1].astype(np.float32), dims)
    frames = np.stack([p.coords(f.astype(np.float32), dims) for f in movie.codes]).astype(np.float32)
    return frames, (p.prior(prior, dims, seed).astype(np.float32) if prior else None)
