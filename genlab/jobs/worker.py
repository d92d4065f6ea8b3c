"""The worker side of a training job: ``run_training`` is the one place that loads the data,
builds the model, trains it under a control object with the job's event consumers
(``genlab.jobs.consumers``: messages, history, latent movie, a checkpoint at epoch ends), saves
it at the end, and reports through an ``emit`` callback. A local worker process
(``genlab.jobs.runner``), an in-process run (``Job.run``) and a Ray actor all call it the same way.

Messages given to ``emit`` are plain picklable dicts (numbers, strings, a numpy grid; never a
tensor), in this order::

    {"kind": "state", "state": "loading", "message": str}
    {"kind": "event", "event": {...}}       # a TrainEvent's fields: start | progress |
                                            # evaluating | epoch | done | stopped | failed
    {"kind": "frame", "epoch": float, "codes": ..., "labels": ..., "classes": [...]}  # AE/VAE:
                                            # a frame of the latent movie
    {"kind": "strip", "epoch": float, "t": ..., "xt": ..., "x0": ..., "labels": ...}  # flow /
                                            # DDPM: a frame of the denoising strip
    {"kind": "checkpoint", "path": str, "epoch": float}   # saved, meta status "incomplete"
    {"kind": "final", "state": "done" | "stopped" | "failed", "message": str,
     "path": str | None}                    # always the last message; run_training returns it

``serve`` is the body of a local worker process: it imports torch and genlab once (so a warm
spare waits ready), takes one job from its control pipe, obeys pause / resume / stop / threads
messages, and stops (saving what it learned) when its parent dies or it gets SIGTERM.
"""
from __future__ import annotations

import os
import pickle
import signal
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch

from genlab.data import DataError, dataset_meta, load_dataset
from genlab.jobs.consumers import (
    Checkpointer,
    Emit,
    History,
    Messages,
    MovieFrames,
    StripFrames,
    save_movie_of,
)
from genlab.jobs.threads import name_process
from genlab.latent.denoise import StripRecorder, save_strip_of
from genlab.latent.movie import MovieRecorder
from genlab.models import ConfigError, ModelConfig, build_model
from genlab.store.checkpoint import CheckpointError
from genlab.train import Callbacks, TrainControl, TrainResult, describe_device, fit, save_trained


def run_training(work: dict, control: TrainControl, emit: Emit) -> dict:
    """Run one job. ``work``: ``{"spec": JobSpec, "path": str (where to save), "data":
    ImageDataset or None (then it is loaded here), "owner": the browser session's id or ""}``.
    Never raises; returns the final message."""
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
        extra = {"lesson": spec.lesson} if spec.lesson else {}  # into the model's meta
        if work.get("owner"):  # the browser session that started it: the model is private to it
            extra["owner"] = str(work["owner"])  # until shared (genlab.store.catalog)
        history = History(len(data.train_x))
        movie = MovieRecorder(model, data.test_x, data.test_y) if MovieRecorder.wants(model) else None
        strip = StripRecorder(model) if StripRecorder.wants(model) else None  # flow / DDPM
        callbacks = Callbacks([
            Messages(emit), history, MovieFrames(movie, emit, data.classes) if movie else None,
            StripFrames(strip, emit) if strip else None,
            Checkpointer(path, model, tc, meta, extra, describe_device(tc.device), history, movie,
                         emit, saved, strip)])
        result = fit(model, data, spec.train, control, callbacks)
        data = None
        return _finish(result, model, path, result.config or tc, meta, saved, final, movie, extra,
                       strip)
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


def _finish(result: TrainResult, model, path: Path, tc, meta: dict, saved: list[Path],
            final: Callable[[str, str], dict], movie: MovieRecorder | None = None,
            extra: dict | None = None, strip: StripRecorder | None = None) -> dict:
    """The final save: done, stopped early, or failed with the last good weights (NaN/OOM)."""
    if not result.history:  # not one step ended with finite losses: nothing was learned
        if saved:
            return final(result.status, f"{result.message}{_kept(saved)}".strip())
        words = ("Stopped before any training step; nothing was saved." if result.status == "stopped"
                 else f"{result.message} Nothing was saved: no step finished with finite losses.")
        return final("stopped" if result.status == "stopped" else "failed", words.strip())
    saved.append(save_trained(path, model, result, tc, dataset=meta, **(extra or {})))
    save_movie_of(movie, saved[-1])
    save_strip_of(strip, saved[-1])
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

    controls = {"pause": control.pause, "resume": control.resume, "stop": control.stop}

    def handle(cmd: str, arg) -> None:
        if cmd in controls:
            controls[cmd]()
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
