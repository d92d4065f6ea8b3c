"""Training jobs, server side: a ``JobSpec`` describes a run (spec), a ``Job`` holds it and the
snapshot the pages read (job, live), a ``JobManager`` queues jobs and hands each a runner
(manager, runner: a worker process or a Ray actor, which calls ``worker.run_training``), and
``SessionJobs`` are one browser session's jobs (session). The pages and the CLI import from here."""
from genlab.jobs.job import Job
from genlab.jobs.live import ACTIVE, JobSnapshot
from genlab.jobs.manager import JobManager, default_max_jobs
from genlab.jobs.session import SessionJobs, get_manager
from genlab.jobs.spec import JobSpec, unique_model_path

__all__ = ["ACTIVE", "Job", "JobManager", "JobSnapshot", "JobSpec", "SessionJobs",
           "default_max_jobs", "get_manager", "unique_model_path"]
