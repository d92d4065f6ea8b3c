"""The worker side of a training job: ``run_training`` is the one place that loads the data,
builds the model, trains it under a control object, checkpoints it at the end of every epoch
and at the end, and reports through an ``emit`` callback. A local worker process
(``genlab.jobs.runner``), an in-process run (``Job.run``) and a Ray actor all call it the same way.

Messages given to ``emit`` are plain picklable dicts (numbers, strings, a numpy grid; never a
tensor), in this order::

    {"kind": "state", "state": "loading", "message": str}
    {"kind": "event", "event": {...}}       # a TrainEvent's fields: start | progress |
                                            # evaluating | epoch | done | stopped | failed
    {"kind": "checkpoint", "path": str, "epoch": float}   # saved, meta status "incomplete"
    {"kind": "final", "state": "done" | "stopped" | "failed", "message": str,
     "path": str | None}                    # always the last message; run_training returns it

``serve`` is the body of a local worker process: it imports torch and genlab once (so a warm
spare waits ready), takes one job from its control pipe, obeys pause / resume / stop / threads
messages, and stops (saving what it learned) when its parent dies or it gets SIGTERM.
"""
from __future__ import annotations

import dataclasses
import math
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch

from genlab.data import DataError, dataset_meta, load_dataset
from genlab.jobs.threads import name_process
from genlab.latent.movie import MovieRecorder, save_movie
from genlab.models import ConfigError, ModelConfig, build_model
from genlab.store.checkpoint import CheckpointError
from genlab.train import Callbacks, TrainControl, TrainEvent, TrainResult, describe_device, fit, save_trained

Emit = Callable[[dict], None]
CHECKPOINT_EVERY_S = 1.0  # epochs shorter than this are checkpointed at most once a second


def _result(status: str, message: str, history: History, test: dict, epochs: float, secs: float,
            device: str, config) -> TrainResult:
    """A TrainResult for a checkpoint taken mid-run (fills a ``config`` field if it has one)."""
    fields = {f.name for f in dataclasses.fields(TrainResult)}
    extra = {"config": config} if "config" in fields else {}
    return TrainResult(status, message, list(history.history), list(history.test_history),
                       dict(test or {}), epochs, secs, epochs * history.per_epoch / max(secs, 1e-9),
                       device, **extra, alarms=list(history.alarms))


# -- the consumers of the trainer's events (genlab.train.callbacks), in the order they run ---------
class Messages:
    """Every event as a message to the server (the job's snapshot), through ``emit``: a local
    worker's pipe or a Ray actor's stream."""
    name = "messages"

    def __init__(self, emit: Emit) -> None:
        self.emit = emit

    def on_event(self, ev: TrainEvent) -> None:
        self.emit({"kind": "event", "event": {f.name: getattr(ev, f.name) for f in dataclasses.fields(ev)}})


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


class Checkpointer:
    """At an epoch's end (at most once every ``CHECKPOINT_EVERY_S``), the model so far is saved
    at ``path``, marked incomplete, with its movie; each save is appended to ``saved``."""
    name = "checkpoint"

    def __init__(self, path: Path, model, tc, meta: dict, extra: dict, device: str,
                 history: History, movie: MovieRecorder | None, emit: Emit, saved: list[Path]) -> None:
        self.path, self.model, self.tc, self.meta, self.extra = path, model, tc, meta, extra
        self.device, self.history, self.movie, self.emit, self.saved = device, history, movie, emit, saved
        self.last_save = 0.0

    def on_event(self, ev: TrainEvent) -> None:
        if ev.kind == "epoch" and time.monotonic() - self.last_save >= CHECKPOINT_EVERY_S:
            self.save(ev)

    def save(self, ev: TrainEvent) -> None:
        if not _finite(ev.test):  # a diverging epoch is not worth keeping over the last one
            return
        part = _result("incomplete", f"Training in progress: {ev.epoch:g} of {ev.epochs} "
                       "epochs done.", self.history, ev.test, ev.epoch, ev.elapsed_s, self.device, self.tc)
        try:
            self.saved.append(save_trained(self.path, self.model, part, self.tc, dataset=self.meta,
                                           **self.extra))
            save_movie_of(self.movie, self.saved[-1])
        except CheckpointError as exc:  # e.g. a full disk: say so, keep training
            self.emit({"kind": "state", "state": "running", "message": str(exc)})
            return
        self.last_save = time.monotonic()
        self.emit({"kind": "checkpoint", "path": str(self.saved[-1]), "epoch": ev.epoch})


def _finite(d: dict | None) -> bool:
    return all(isinstance(v, float) and math.isfinite(v) for v in (d or {}).values())


def run_training(work: dict, control: TrainControl, emit: Emit) -> dict:
    """Run one job. ``work``: ``{"spec": JobSpec, "path": str (where to save), "data":
    ImageDataset or None (then it is loaded here)}``. Never raises; returns the final message."""
    spec, path = work["spec"], Path(work["path"])
    saved: list[Path] = []

    def final(state: str, message: str) -> dict:
        msg = {"kind": "final", "state": state, "message": message,
               "path": str(saved[-1]) if saved else None}
        emit(msg)
        return msg

    try:
        if control.stop_requested:
            return final("stopped", "Stopped before it started.")
        emit({"kind": "state", "state": "loading", "message": "Loading the data set..."})
        data = work.get("data") or load_dataset(spec.dataset, image_size=spec.image_size,
                                                channels=spec.channels)
        cfg = ModelConfig(**{**asdict(spec.model), "channels": data.shape[0],
                             "image_size": data.shape[1]}).validate()
        model = build_model(cfg, seed=spec.train.seed)
        tc = spec.train.resolved(cfg.kind)
        meta = dataset_meta(data, spec.dataset, spec.dataset_label)
        extra = {"lesson": spec.lesson} if getattr(spec, "lesson", "") else {}  # into the model's meta
        history = History(len(data.train_x))
        movie = MovieRecorder(model, data.test_x, data.test_y) if MovieRecorder.wants(model) else None
        callbacks = Callbacks([
            Messages(emit), history, MovieFrames(movie, emit, data.classes) if movie else None,
            Checkpointer(path, model, tc, meta, extra, describe_device(tc.device), history, movie,
                         emit, saved)])
        result = fit(model, data, spec.train, control, callbacks)
        data = None
        return _finish(result, model, path, getattr(result, "config", None) or tc, meta, saved, final,
                       movie, extra)
    except (DataError, ConfigError, CheckpointError, ValueError) as exc:
        return final("failed", str(exc) + _kept(saved))
    except torch.OutOfMemoryError:
        return final("failed", "The device ran out of memory. Use a smaller batch size, image size "
                               "or model." + _kept(saved))
    except MemoryError:
        return final("failed", "The computer ran out of memory. Use a smaller data set, image size "
                               "or batch size." + _kept(saved))
    except Exception as exc:  # a bug: still say it in words, with the type for a report
        return final("failed", f"Training failed unexpectedly ({type(exc).__name__}: {exc})."
                     + _kept(saved))


def _kept(saved: list[Path]) -> str:
    return (f" The model saved at the end of the last finished epoch was kept as "
            f"'{saved[-1].stem}' (marked incomplete)." if saved else "")


def save_movie_of(movie: MovieRecorder | None, checkpoint: Path) -> None:
    """The latent movie so far, beside ``checkpoint`` (AE/VAE; nothing for a GAN)."""
    if movie is not None and movie.movie() is not None:
        save_movie(checkpoint, movie.movie())


def _finish(result: TrainResult, model, path: Path, tc, meta: dict, saved: list[Path],
            final: Callable[[str, str], dict], movie: MovieRecorder | None = None,
            extra: dict | None = None) -> dict:
    """The final save: done, stopped early, or failed with the last good weights (NaN/OOM)."""
    if not result.history:  # not one step ended with finite losses: nothing was learned
        if saved:
            return final(result.status, f"{result.message}{_kept(saved)}".strip())
        words = ("Stopped before any training step; nothing was saved." if result.status == "stopped"
                 else f"{result.message} Nothing was saved: no step finished with finite losses.")
        return final("stopped" if result.status == "stopped" else "failed", words.strip())
    saved.append(save_trained(path, model, result, tc, dataset=meta, **(extra or {})))
    save_movie_of(movie, saved[-1])
    name = saved[-1].stem
    if result.status == "failed":
        return final("failed", f"{result.message} Saved as '{name}'.")
    what = "Finished" if result.status == "done" else "Stopped early"
    return final(result.status, f"{what} after {result.epochs_done:.2f} epochs in "
                                f"{result.seconds:.1f} s; saved as '{name}'.")


# -- the local worker process -------------------------------------------------------------------
def _warm_up() -> None:
    """Import now what a first training step imports lazily: building the first optimizer pulls
    in torch._dynamo and sympy, seconds that a spare must not make the user wait."""
    p = torch.nn.Parameter(torch.zeros(8))
    opt = torch.optim.Adam([p], lr=1e-3, fused=True)
    (p * p).sum().backward()
    opt.step()


def serve(ctl, out, parent_pid: int) -> None:
    """Body of a local worker process (see ``genlab.jobs.runner``): wait warm, run one job, exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal: the server decides
    gone = threading.Event()
    send_lock = threading.Lock()

    def emit(msg: dict) -> None:
        if gone.is_set():
            return
        try:
            with send_lock:
                out.send(msg)
        except (OSError, ValueError):  # the server is gone: finish saving, then exit
            gone.set()

    control = TrainControl()
    threads: list[int | None] = [None]

    def handle(cmd: str, arg) -> None:
        if cmd in ("pause", "resume", "stop"):
            getattr(control, cmd)()
        elif cmd == "threads":
            threads[0] = arg

    def apply_threads() -> None:  # torch's thread count is set from the training thread
        n, threads[0] = threads[0], None
        if n:
            torch.set_num_threads(int(n))

    _warm_up()
    emit({"kind": "ready", "pid": os.getpid()})
    early = []  # controls sent while the job was being handed over (e.g. a new thread share)
    while True:
        try:
            cmd, arg = pickle.loads(ctl.recv_bytes())
        except (EOFError, OSError):
            return  # a spare whose server ended
        if cmd == "job":
            work = arg
            break
        early.append((cmd, arg))
    name_process("genlab-train")
    threads[0] = work.get("threads")
    for cmd, arg in early:
        handle(cmd, arg)

    def hard_exit_later(seconds: float = 10.0) -> None:
        t = threading.Timer(seconds, os._exit, (3,))
        t.daemon = True
        t.start()

    def on_sigterm(*_):
        control.stop()
        hard_exit_later()

    signal.signal(signal.SIGTERM, on_sigterm)

    def watch() -> None:
        while True:
            try:
                if not ctl.poll(1.0):
                    if os.getppid() != parent_pid:
                        raise EOFError
                    continue
                cmd, arg = pickle.loads(ctl.recv_bytes())
            except (EOFError, OSError):  # the server died: save what was learned, then exit
                gone.set()
                control.stop()
                hard_exit_later()
                return
            handle(cmd, arg)

    threading.Thread(target=watch, name="genlab-worker-control", daemon=True).start()
    apply_threads()
    torch.set_grad_enabled(True)  # whatever the parent process had set

    def emit_and_apply(msg: dict) -> None:
        apply_threads()
        emit(msg)

    run_training(work, control, emit_and_apply)
    emit({"kind": "exit"})
