"""Background training jobs for the app: a thread per job, a locked history fed by the
trainer's events, and a manager that caps how many jobs train at once (the rest wait in a
visible queue). Nothing here knows about Streamlit: a page reads ``Job.snapshot()``.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from genlab.catalog import WEIGHTS_DIR, user_models_dir
from genlab.checkpoint import SUFFIX, CheckpointError, downsample, safe_name, save_checkpoint
from genlab.data import DataError, ImageDataset, dataset_meta, load_dataset
from genlab.models import ConfigError, ModelConfig, build_model
from genlab.train import TrainConfig, TrainControl, TrainEvent, fit

ACTIVE = ("queued", "loading", "running", "paused")


def default_max_jobs() -> int:
    """``GENLAB_MAX_JOBS``, else 2 per CUDA GPU, else one per two CPU cores (at least 1)."""
    env = os.environ.get("GENLAB_MAX_JOBS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    if torch.cuda.is_available():
        return 2 * torch.cuda.device_count()
    return max(1, (os.cpu_count() or 2) // 2)


@dataclass
class JobSpec:
    dataset: str  # built-in name, or the path of a folder / .zip of images
    model: ModelConfig
    train: TrainConfig
    name: str  # the user's name for the finished model
    image_size: int | None = None
    channels: int | None = None
    dataset_label: str = ""  # e.g. the uploaded file's name, for display


@dataclass
class JobSnapshot:
    id: str
    name: str
    kind: str
    state: str  # queued | loading | running | paused | done | stopped | failed
    message: str
    queue_position: int | None
    step: int = 0
    total_steps: int = 0
    epoch: float = 0.0
    epochs: int = 0
    images_per_s: float = 0.0
    eta_s: float = 0.0
    elapsed_s: float = 0.0
    history: list[dict] = field(default_factory=list)
    test_history: list[dict] = field(default_factory=list)
    grid: np.ndarray | None = None
    saved_path: Path | None = None
    events: int = 0

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0


def unique_model_path(name: str) -> Path:
    """A path in the user's model folder for ``name`` that overwrites nothing: a clash with a
    shipped model or an existing model of yours gets a ``-2``, ``-3``... suffix."""
    stem = safe_name(name)
    folder = user_models_dir()
    taken = {p.stem.lower() for d in (WEIGHTS_DIR, folder) if d.exists() for p in d.glob(f"*{SUFFIX}")}
    candidate, i = stem, 2
    while candidate.lower() in taken:
        candidate, i = f"{stem}-{i}", i + 1
    return folder / f"{candidate}{SUFFIX}"


class Job:
    """One training run in its own thread. ``snapshot()`` and the controls are thread-safe."""

    def __init__(self, spec: JobSpec, data: ImageDataset | None = None, owner: str = "") -> None:
        self.id = uuid.uuid4().hex[:8]
        self.spec, self.owner, self._data = spec, owner, data
        self.control = TrainControl()
        self._lock = threading.Lock()
        self._state, self._message = "queued", "Waiting for a free training slot."
        self._progress: dict = {}
        self._history: list[dict] = []
        self._test_history: list[dict] = []
        self._grid: np.ndarray | None = None
        self._events = 0
        self.saved_path: Path | None = None
        self.result = None
        self.manager: JobManager | None = None
        self._finished = threading.Event()
        self.created = time.time()

    # -- controls (any thread) -------------------------------------------------------------
    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def stop(self) -> None:
        self.control.stop()

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    @property
    def state(self) -> str:
        with self._lock:
            state = self._state
        return "paused" if state == "running" and self.control.paused else state

    def snapshot(self, max_rows: int = 600) -> JobSnapshot:
        with self._lock:
            p = dict(self._progress)
            snap = JobSnapshot(self.id, self.spec.name, self.spec.model.kind, self._state,
                               self._message, None, history=downsample(self._history, max_rows),
                               test_history=list(self._test_history), grid=self._grid,
                               saved_path=self.saved_path, events=self._events, **p)
        if snap.state == "running" and self.control.paused:
            snap.state, snap.message = "paused", "Paused; press Resume to go on."
        if snap.state == "queued" and self.manager is not None:
            snap.queue_position = self.manager.queue_position(self)
        return snap

    # -- the thread's side -----------------------------------------------------------------
    def _set(self, state: str, message: str) -> None:
        with self._lock:
            self._state, self._message = state, message

    def _on_event(self, ev: TrainEvent) -> None:
        with self._lock:
            self._events += 1
            self._progress = {"step": ev.step, "total_steps": ev.total_steps, "epoch": ev.epoch,
                              "epochs": ev.epochs, "elapsed_s": ev.elapsed_s,
                              "images_per_s": ev.images_per_s or self._progress.get("images_per_s", 0.0),
                              "eta_s": ev.eta_s}
            if ev.kind == "progress":
                self._history.append({"step": ev.step, "epoch": ev.epoch, **ev.losses,
                                      "images_per_s": ev.images_per_s})
            elif ev.kind == "epoch" and ev.test is not None:
                self._test_history.append({"epoch": ev.epoch, **ev.test})
            if ev.grid is not None:
                self._grid = ev.grid
            if ev.kind == "start":
                self._state, self._message = "running", f"Training on {ev.message}."

    def run(self) -> None:
        """Load the data, train, save; never raises (failures end in state 'failed')."""
        try:
            if self.control.stop_requested:
                self._set("stopped", "Stopped before it started.")
                return
            self._set("loading", "Loading the data set...")
            data = self._data if self._data is not None else load_dataset(
                self.spec.dataset, image_size=self.spec.image_size, channels=self.spec.channels)
            self._data = None  # the job keeps no second reference to a large data set
            cfg = ModelConfig(**{**asdict(self.spec.model), "channels": data.shape[0],
                                 "image_size": data.shape[1]}).validate()
            model = build_model(cfg, seed=self.spec.train.seed)
            result = self.result = fit(model, data, self.spec.train, self.control, self._on_event)
            if result.status == "failed":
                self._set("failed", result.message)
                return
            if result.status == "stopped" and not result.history:
                self._set("stopped", "Stopped before any training step; nothing was saved.")
                return
            path = unique_model_path(self.spec.name)
            tc = self.spec.train.resolved(cfg.kind)
            save_checkpoint(path, model, train=asdict(tc),
                            dataset=dataset_meta(data, self.spec.dataset, self.spec.dataset_label),
                            epochs=round(result.epochs_done, 3), history=result.history,
                            test_history=result.test_history, test=result.test,
                            seconds=round(result.seconds, 2), device=result.device,
                            images_per_s=round(result.images_per_s, 1), status=result.status)
            with self._lock:
                self.saved_path = path
            what = "Finished" if result.status == "done" else "Stopped early"
            self._set(result.status, f"{what} after {result.epochs_done:.2f} epochs in "
                                     f"{result.seconds:.1f} s; saved as '{path.stem}'.")
        except (DataError, ConfigError, CheckpointError, ValueError) as exc:
            self._set("failed", str(exc))
        except torch.OutOfMemoryError:
            self._set("failed", "The device ran out of memory. Use a smaller batch size, image "
                                "size or model.")
        except MemoryError:
            self._set("failed", "The computer ran out of memory. Use a smaller data set, image "
                                "size or batch size.")
        except Exception as exc:  # a bug: still say it in words, with the type for a report
            self._set("failed", f"Training failed unexpectedly ({type(exc).__name__}: {exc}).")
        finally:
            self._finished.set()


class JobManager:
    """Owns every job of the process; at most ``max_jobs`` train at once, first come first served."""

    def __init__(self, max_jobs: int | None = None) -> None:
        self.max_jobs = max_jobs or default_max_jobs()
        self._cond = threading.Condition()
        self._waiting: list[Job] = []
        self._running: list[Job] = []
        self._jobs: list[Job] = []

    def submit(self, spec: JobSpec, data: ImageDataset | None = None, owner: str = "") -> Job:
        job = Job(spec, data, owner)
        job.manager = self
        with self._cond:
            self._waiting.append(job)
            self._jobs.append(job)
        threading.Thread(target=self._work, args=(job,), name=f"genlab-job-{job.id}",
                         daemon=True).start()
        return job

    def _work(self, job: Job) -> None:
        with self._cond:
            while not job.control.stop_requested and (
                    self._waiting[0] is not job or len(self._running) >= self.max_jobs):
                self._cond.wait(0.2)
            self._waiting.remove(job)
            self._cond.notify_all()
            if job.control.stop_requested:
                job._set("stopped", "Stopped while waiting in the queue; nothing was trained.")
                job._finished.set()
                return
            self._running.append(job)
            sharing = len(self._running)
        if not torch.cuda.is_available():  # CPU: split the cores between the jobs running now
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // sharing))
        try:
            job.run()
        finally:
            with self._cond:
                self._running.remove(job)
                self._cond.notify_all()

    def queue_position(self, job: Job) -> int | None:
        """1 for the next job to start, None once it runs (or if it is not waiting)."""
        with self._cond:
            return self._waiting.index(job) + 1 if job in self._waiting else None

    def jobs(self, owner: str | None = None) -> list[Job]:
        with self._cond:
            return [j for j in self._jobs if owner is None or j.owner == owner]

    def running_count(self) -> int:
        with self._cond:
            return len(self._running)

    def stop_owner(self, owner: str) -> list[Job]:
        """Stop every job of ``owner`` (a browser session that ended)."""
        jobs = [j for j in self.jobs(owner) if j.state in ACTIVE]
        for j in jobs:
            j.stop()
        return jobs


_MANAGER: JobManager | None = None
_MANAGER_LOCK = threading.Lock()


def get_manager() -> JobManager:
    """The process-wide manager (all browser sessions share the machine)."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None:
            _MANAGER = JobManager()
        return _MANAGER


class SessionJobs:
    """The jobs of one browser session; ``close()`` (the session ended) stops them."""

    def __init__(self, manager: JobManager | None = None) -> None:
        self.manager = manager or get_manager()
        self.owner = uuid.uuid4().hex
        self.closed = False

    def submit(self, spec: JobSpec, data: ImageDataset | None = None) -> Job:
        if self.closed:
            raise RuntimeError("This browser session has ended; reload the page.")
        return self.manager.submit(spec, data, owner=self.owner)

    def jobs(self) -> list[Job]:
        return self.manager.jobs(self.owner)

    def current(self) -> Job | None:
        jobs = self.jobs()
        return jobs[-1] if jobs else None

    def close(self) -> None:
        self.closed = True
        self.manager.stop_owner(self.owner)
