"""Training jobs for the app, server side. A ``JobSpec`` describes a run; a ``Job``
(``genlab.job``) holds it and the snapshot the pages read; a ``JobManager`` caps how many jobs
train at once (the rest wait in a visible queue) and hands each a runner; ``SessionJobs`` are
one browser session's jobs, stopped when the session ends.

The training itself never runs here: a job hands ``{"spec", "path", "data", "threads"}`` to a
*runner* (``genlab.runner``: a worker process by default, a Ray actor in a cluster) which calls
``genlab.worker.run_training`` and streams its messages back; the job's own thread applies them
to the snapshot and turns a worker that died without a final message into a plain report of
what was kept. Nothing here knows about Streamlit.

Warm processes: starting a worker imports torch (seconds of one core). One warm spare waits
for the next Start when the machine is idle, and while jobs wait in the queue, so that the next
one starts on a warm process the moment a slot frees. On a machine with fewer than 4 cores no
spare is started while jobs train and none waits: its imports would only slow them down.
"""
from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from genlab import runner as runners
from genlab.catalog import WEIGHTS_DIR, user_models_dir
from genlab.checkpoint import SUFFIX, safe_name
from genlab.data import ImageDataset
from genlab.job import Job
from genlab.live import ACTIVE, JobSnapshot
from genlab.models import ModelConfig
from genlab.runner import Runner
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


def reserve_path(name: str) -> Path:
    """``unique_model_path(name)``, held until ``release_path``: two runs never share a file."""
    with _RESERVED_LOCK:
        path = unique_model_path(name)
        _RESERVED.add(path)
        return path


def release_path(path: Path | None) -> None:
    with _RESERVED_LOCK:
        _RESERVED.discard(path)


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
        self._keep_spare()  # a warm worker waits for the first Start

    def submit(self, spec: JobSpec, data: ImageDataset | None = None, owner: str = "") -> Job:
        job = Job(spec, data, owner)
        job.manager = self
        with self._cond:
            self._waiting.append(job)
            self._jobs.append(job)
            waits = len(self._running) + len(self._waiting) > self.max_jobs
        threading.Thread(target=self._work, args=(job,), name=f"genlab-job-{job.id}",
                         daemon=True).start()
        if waits:  # warm its process now, beside the running jobs (see _keep_spare)
            self._keep_spare()
        return job

    def _share(self) -> int:
        """Each running worker's share of the CPU cores (under the lock)."""
        return max(1, (os.cpu_count() or 1) // max(1, len(self._running)))

    def _keep_spare(self) -> None:
        """Start a warm spare if the next job will want one soon: always with 4 cores or more;
        with fewer, only when no job trains or some job waits in the queue. A waiting job would
        pay the same imports later, with its slot idle, so they are done beside the running job
        now; with nobody waiting they would only take cores from the running jobs."""
        if self.runner_factory is not None:
            return
        with self._cond:
            want = (os.cpu_count() or 1) >= 4 or not self._running or bool(self._waiting)
        if want:
            runners.refill()

    def _work(self, job: Job) -> None:
        with self._cond:
            while not (job.stop_requested or runners.closed()) and (
                    self._waiting[0] is not job or len(self._running) >= self.max_jobs):
                self._cond.wait(0.2)
            self._waiting.remove(job)
            self._cond.notify_all()
            if job.stop_requested or runners.closed():
                job._set("stopped", "Stopped while waiting in the queue; nothing was trained."
                         if job.stop_requested else "The server stopped before this training "
                         "started; nothing was trained.")
                job._finished.set()
                return
            self._running.append(job)
            share, others = self._share(), [j._runner for j in self._running if j is not job]
        for r in others:  # the cores are now split one more way
            if r is not None:
                r.set_threads(share)
        try:
            try:
                runner = self.runner_factory() if self.runner_factory else runners.take_runner()
            except RuntimeError as exc:  # the server is shutting down
                job._set("stopped", f"{exc} Nothing was trained.")
                job._finished.set()
                return
            self._keep_spare()  # for the next in the queue, while this one loads its data
            job.run(runner, share)
        finally:
            with self._cond:
                self._running.remove(job)
                share, others = self._share(), [j._runner for j in self._running]
                self._cond.notify_all()
            for r in others:
                if r is not None:
                    r.set_threads(share)
            self._keep_spare()

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
