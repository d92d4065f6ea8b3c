"""What a training job does with the trainer's events, as named callbacks
(``genlab.train.callbacks``) that ``genlab.jobs.worker.run_training`` hands ``fit`` in this
order: ``Messages`` (every event to the server, for the job's snapshot), ``History`` (what a
checkpoint needs), ``MovieFrames`` (the latent movie, each frame also sent) and
``Checkpointer`` (the model saved at epoch ends, marked incomplete)."""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

from genlab.latent.denoise import StripRecorder, save_strip_of
from genlab.latent.movie import MovieRecorder, save_movie
from genlab.store.checkpoint import CheckpointError
from genlab.train import TrainEvent, TrainResult, save_trained

Emit = Callable[[dict], None]
CHECKPOINT_EVERY_S = 1.0  # epochs shorter than this are checkpointed at most once a second


class Messages:
    """Every event as a message to the server (the job's snapshot), through ``emit``: a local
    worker's pipe or a Ray actor's stream."""
    name = "messages"

    def __init__(self, emit: Emit) -> None:
        self.emit = emit

    def on_event(self, ev: TrainEvent) -> None:
        self.emit({"kind": "event", "event": dict(vars(ev))})


class History:
    """What a checkpoint needs, rebuilt from the events (as ``fit`` builds its own result)."""
    name = "history"

    def __init__(self, per_epoch: int) -> None:
        self.per_epoch = per_epoch  # images per epoch
        self.history: list[dict] = []
        self.test_history: list[dict] = []
        self.alarms: list[dict] = []  # the health alarms so far (the trainer emits them first)

    def on_event(self, ev: TrainEvent) -> None:
        if ev.kind == "progress":
            self.history.append({"step": ev.step, "epoch": ev.epoch, **ev.losses,
                                 "images_per_s": ev.images_per_s})
        elif ev.kind == "epoch":
            self.test_history.append({"epoch": ev.epoch, **(ev.test or {})})
        elif ev.kind == "alarm" and ev.alarm:
            self.alarms.append(ev.alarm)

    def so_far(self, ev: TrainEvent, device: str, config) -> TrainResult:
        """A TrainResult at the end of epoch event ``ev``, for a checkpoint taken mid-run."""
        return TrainResult("incomplete", f"Training in progress: {ev.epoch:g} of {ev.epochs} epochs done.",
                           list(self.history), list(self.test_history), dict(ev.test or {}), ev.epoch,
                           ev.elapsed_s, ev.epoch * self.per_epoch / max(ev.elapsed_s, 1e-9), device,
                           config=config, alarms=list(self.alarms))


class MovieFrames:
    """The latent movie (AE/VAE): each frame it records also goes to the server, for the
    Train page's live latent map."""
    name = "movie"

    def __init__(self, movie: MovieRecorder, emit: Emit, classes: list[str]) -> None:
        self.movie, self.emit, self.classes = movie, emit, list(classes)

    def on_event(self, ev: TrainEvent) -> None:
        codes = self.movie.on_event(ev)
        if codes is not None:
            self.emit({"kind": "frame", "epoch": ev.epoch, "codes": codes, "labels": self.movie.labels,
                       "classes": self.classes})


class StripFrames:
    """The denoising strip (flow / DDPM): each frame it records also goes to the server, for
    the Train page's live strip."""
    name = "denoise"

    def __init__(self, strip: StripRecorder, emit: Emit) -> None:
        self.strip, self.emit = strip, emit

    def on_event(self, ev: TrainEvent) -> None:
        frame = self.strip.on_event(ev)
        if frame is not None:
            t, xt, x0 = frame
            self.emit({"kind": "strip", "epoch": ev.epoch, "t": t, "xt": xt, "x0": x0,
                       "labels": self.strip.labels})


class Checkpointer:
    """At an epoch's end (at most once every ``CHECKPOINT_EVERY_S``), the model so far is saved
    at ``path``, marked incomplete, with its movie; each save is appended to ``saved``."""
    name = "checkpoint"

    def __init__(self, path: Path, model, tc, meta: dict, extra: dict, device: str,
                 history: History, movie: MovieRecorder | None, emit: Emit, saved: list[Path],
                 strip: StripRecorder | None = None) -> None:
        self.path, self.model, self.tc, self.meta, self.extra = path, model, tc, meta, extra
        self.device, self.history, self.movie, self.emit, self.saved = device, history, movie, emit, saved
        self.strip = strip
        self.last_save = 0.0

    def on_event(self, ev: TrainEvent) -> None:
        if ev.kind == "epoch" and time.monotonic() - self.last_save >= CHECKPOINT_EVERY_S:
            self.save(ev)

    def save(self, ev: TrainEvent) -> None:
        if not _finite(ev.test):  # a diverging epoch is not worth keeping over the last one
            return
        part = self.history.so_far(ev, self.device, self.tc)
        try:
            self.saved.append(save_trained(self.path, self.model, part, self.tc, dataset=self.meta,
                                           **self.extra))
            save_movie_of(self.movie, self.saved[-1])
            save_strip_of(self.strip, self.saved[-1])
        except CheckpointError as exc:  # e.g. a full disk: say so, keep training
            self.emit({"kind": "state", "state": "running", "message": str(exc)})
            return
        self.last_save = time.monotonic()
        self.emit({"kind": "checkpoint", "path": str(self.saved[-1]), "epoch": ev.epoch})


def _finite(d: dict | None) -> bool:
    return all(isinstance(v, float) and math.isfinite(v) for v in (d or {}).values())


def save_movie_of(movie: MovieRecorder | None, checkpoint: Path) -> None:
    """The latent movie so far, beside ``checkpoint`` (AE/VAE; nothing for a GAN)."""
    if movie is not None and movie.movie() is not None:
        save_movie(checkpoint, movie.movie())
