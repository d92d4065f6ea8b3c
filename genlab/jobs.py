"""Training jobs for the app, server side. A ``Job`` holds a run's description and the snapshot
the pages read (``Job.snapshot()``: state, message, losses, test metrics, live grid, images/s);
a ``JobManager`` caps how many jobs train at once (the rest wait in a visible queue);
``SessionJobs`` are one browser session's jobs, stopped when the session ends.

The training itself never runs here: a job hands ``{"spec", "path", "data", "threads"}`` to a
*runner* (``genlab.runner``: a worker process by default, a Ray actor in a cluster) which calls
``genlab.worker.run_training`` and streams its messages back; the job's own thread applies them
to the snapshot and turns a worker that died without a final message into a plain report of
what was kept. Nothing here knows about Streamlit.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from genlab import runner as runners
from genlab.catalog import WEIGHTS_DIR, user_models_dir
from genlab.checkpoint import SUFFIX, safe_name
from genlab.data import ImageDataset
from genlab.live import ACTIVE, JobSnapshot, Live
from genlab.models import ModelConfig
from genlab.runner import InlineRunner, Runner
from genlab.train import TrainConfig

__all__ = ["ACTIVE", "Job", "JobManager", "JobSnapshot", "JobSpec", "SessionJobs",
           "default_max_jobs", "get_manager", "unique_model_path"]


def default_max_jobs() -> int:
    """``GENLAB_MAX_JOBS``, else 2 per CUDA GPU, else one per two CPU cores (at least 1)."""
    env = os.environ.get("GENLAB_MAX_JOBS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    import torch  # the GPU count; the pages have imported torch already
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


def _reserve(name: str) -> Path:
    with _RESERVED_LOCK:
        path = unique_model_path(name)
        _RESERVED.add(path)
        return path


class Job:
    """One training run: its description and the snapshot the pages read, fed by the messages of
    a runner (by default a worker process, see genlab.runner). Controls are thread-safe."""

    def __init__(self, spec: JobSpec, data: ImageDataset | None = None, owner: str = "") -> None:
        self.id = uuid.uuid4().hex[:8]
        self.spec, self.owner, self._data = spec, owner, data
        self._lock = threading.Lock()
        self._live = Live()  # what the snapshot shows; read and written under the lock
        self._paused = self._stop = False
        self._runner: Runner | None = None
        self.manager: JobManager | None = None
        self._finished = threading.Event()
        self.created = time.time()

    # -- controls (any thread) -------------------------------------------------------------
    def pause(self) -> None:
        with self._lock:
            self._paused = not self._stop
            runner = self._runner
        if runner is not None and self._paused:
            runner.pause()

    def resume(self) -> None:
        with self._lock:
            self._paused, runner = False, self._runner
        if runner is not None:
            runner.resume()

    def stop(self) -> None:
        with self._lock:
            self._stop, self._paused, runner = True, False, self._runner
        if runner is not None:
            runner.stop()

    @property
    def stop_requested(self) -> bool:
        return self._stop

    @property
    def pid(self) -> int | None:
        """The worker process's id while it runs (None when queued or not a local process)."""
        runner = self._runner
        return runner.pid if runner is not None else None

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    @property
    def saved_path(self) -> Path | None:
        with self._lock:
            return self._live.saved_path

    @property
    def state(self) -> str:
        with self._lock:
            state = self._live.state
            return "paused" if state == "running" and self._paused else state

    def snapshot(self, max_rows: int = 600) -> JobSnapshot:
        with self._lock:
            snap = self._live.snapshot(self.id, self.spec.name, self.spec.model.kind, max_rows)
            paused = self._paused
        if snap.state == "running" and paused:
            snap.state, snap.message = "paused", "Paused; press Resume to go on."
        if snap.state == "queued" and self.manager is not None:
            snap.queue_position = self.manager.queue_position(self)
        return snap

    def _set(self, state: str, message: str) -> None:
        with self._lock:
            self._live.state, self._live.message = state, message

    def _apply(self, msg: dict) -> None:
        with self._lock:
            self._live.apply(msg)

    def run(self, runner: Runner | None = None, threads: int | None = None) -> None:
        """Drive the job to its end through ``runner`` (default: in this process, for scripts
        and tests; the manager passes a worker process). Never raises."""
        runner = runner or InlineRunner()
        path = None
        try:
            with self._lock:
                stop, paused, self._runner = self._stop, self._paused, runner
            if stop:
                self._set("stopped", "Stopped before it started.")
                return
            path = _reserve(self.spec.name)
            runner.start({"spec": self.spec, "data": self._data, "path": str(path), "threads": threads})
            self._data = None  # the job keeps no second reference to a large data set
            if paused:
                runner.pause()
            final = False
            while not final:
                msgs = runner.poll(0.25)
                if not msgs and not runner.alive():
                    msgs = runner.poll(0) or [{"kind": "crash", "code": runner.exit_code()}]
                for msg in msgs:
                    self._apply(msg)
                    final = final or msg["kind"] in ("final", "crash")
        except Exception as exc:  # the server side must never take the page down
            self._set("failed", f"Training failed unexpectedly ({type(exc).__name__}: {exc}).")
        finally:
            runner.close()
            with _RESERVED_LOCK:
                _RESERVED.discard(path)
            self._finished.set()


class JobManager:
    """Owns every job of the process; at most ``max_jobs`` train at once, first come first served.
    Each job trains in a runner from ``runner_factory`` (default: a local worker process)."""

    def __init__(self, max_jobs: int | None = None,
                 runner_factory: Callable[[], Runner] | None = None) -> None:
        self.max_jobs = max_jobs or default_max_jobs()
        self.runner_factory = runner_factory
        self._cond = threading.Condition()
        self._waiting: list[Job] = []
        self._running: list[Job] = []
        self._jobs: list[Job] = []
        if runner_factory is None:
            runners.refill()  # a warm worker waits for the first Start

    def submit(self, spec: JobSpec, data: ImageDataset | None = None, owner: str = "") -> Job:
        job = Job(spec, data, owner)
        job.manager = self
        with self._cond:
            self._waiting.append(job)
            self._jobs.append(job)
        threading.Thread(target=self._work, args=(job,), name=f"genlab-job-{job.id}",
                         daemon=True).start()
        return job

    def _share(self) -> int:
        """Each running worker's share of the CPU cores (under the lock)."""
        return max(1, (os.cpu_count() or 1) // max(1, len(self._running)))

    def _work(self, job: Job) -> None:
        with self._cond:
            while not job.stop_requested and (
                    self._waiting[0] is not job or len(self._running) >= self.max_jobs):
                self._cond.wait(0.2)
            self._waiting.remove(job)
            self._cond.notify_all()
            if job.stop_requested:
                job._set("stopped", "Stopped while waiting in the queue; nothing was trained.")
                job._finished.set()
                return
            self._running.append(job)
            share, others = self._share(), [j._runner for j in self._running if j is not job]
        for r in others:  # the cores are now split one more way
            if r is not None:
                r.set_threads(share)
        if self.runner_factory is not None:
            runner = self.runner_factory()
        else:
            runner = runners.take_runner()
            if (os.cpu_count() or 1) >= 4:  # room for the next spare's imports beside this run
                runners.refill()
        try:
            job.run(runner, share)
        finally:
            with self._cond:
                self._running.remove(job)
                share, others = self._share(), [j._runner for j in self._running]
                self._cond.notify_all()
            for r in others:
                if r is not None:
                    r.set_threads(share)
            if self.runner_factory is None:
                runners.refill()  # after the run, so its imports never slow a training down

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
    """The process-wide manager (all browser sessions share the machine); with
    ``GENLAB_RAY_ADDRESS`` set, jobs run on that Ray cluster (genlab.ray_backend)."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None and os.environ.get("GENLAB_RAY_ADDRESS", "").strip():
            from genlab.ray_backend import RayJobManager  # Ray is imported only in this case
            _MANAGER = RayJobManager()
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
