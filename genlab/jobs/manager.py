"""Training jobs for the app, server side. A ``JobSpec`` describes a run; a ``Job``
(``genlab.jobs.job``) holds it and the snapshot the pages read; a ``JobManager`` caps how many jobs
train at once (the rest wait in a visible queue) and hands each a runner; ``SessionJobs`` are
one browser session's jobs, stopped when the session ends.

The training itself never runs here: a job hands ``{"spec", "path", "data", "threads"}`` to a
*runner* (``genlab.jobs.runner``: a worker process by default, a Ray actor in a cluster) which calls
``genlab.jobs.worker.run_training`` and streams its messages back; the job's own thread applies them
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
from collections.abc import Callable

from genlab.data import ImageDataset
from genlab.jobs import runner as runners
from genlab.jobs.job import Job
from genlab.jobs.live import ACTIVE
from genlab.jobs.runner import Runner
from genlab.jobs.spec import JobSpec
from genlab.jobs.threads import cores


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
        return max(1, cores() // max(1, len(self._running)))

    def _keep_spare(self) -> None:
        """Start a warm spare if the next job will want one soon: always with 4 cores or more;
        with fewer, only when no job trains or some job waits in the queue. A waiting job would
        pay the same imports later, with its slot idle, so they are done beside the running job
        now; with nobody waiting they would only take cores from the running jobs."""
        if self.runner_factory is not None:
            return
        with self._cond:
            busy = len(self._running)
            want = (os.cpu_count() or 1) >= 4 or not busy or bool(self._waiting)
        if want:  # its OpenMP policy from the jobs training now (genlab.jobs.threads)
            runners.refill(busy)

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
            busy = len(others)
        for r in others:  # the cores are now split one more way
            if r is not None:
                r.set_threads(share)
        try:
            try:
                runner = self.runner_factory() if self.runner_factory else runners.take_runner(busy)
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
