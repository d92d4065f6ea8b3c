"""The process-wide job manager and one browser session's jobs."""
from __future__ import annotations

import os
import threading
import uuid

from genlab.data import ImageDataset
from genlab.jobs.job import Job
from genlab.jobs.manager import JobManager
from genlab.jobs.spec import JobSpec

_MANAGER: JobManager | None = None
_MANAGER_LOCK = threading.Lock()


def get_manager() -> JobManager:
    """The process-wide manager (all browser sessions share the machine); with
    ``GENLAB_RAY_ADDRESS`` set, jobs run on that Ray cluster (genlab.jobs.ray.backend)."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None and os.environ.get("GENLAB_RAY_ADDRESS", "").strip():
            from genlab.jobs.ray.backend import RayJobManager  # Ray is imported only in this case
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
