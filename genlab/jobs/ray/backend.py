"""Training jobs on an existing Ray cluster, through the same runner interface as the local
worker processes (``genlab.jobs.runner``): a ``Job`` fed by a ``RayRunner`` fills its snapshot
exactly as with a local process. Imported only when ``GENLAB_RAY_ADDRESS`` is set (the app) or
``--ray ADDRESS`` is given (the CLI); without them nothing here, and no Ray, is imported.

Each job is one threaded Ray actor (``max_concurrency`` > 1): one thread runs
``genlab.jobs.worker.run_training`` while pause / resume / stop and message polls arrive on others.
The worker saves into its own temporary folder and sends each checkpoint back as bytes (the
safetensors file and its JSON copy, never a pickle of the weights); the server writes them
atomically into the app's models folder. The genlab package travels with each actor
(``runtime_env`` ``py_modules``): workers need the requirements installed, not this checkout.

Settings (environment):
    GENLAB_RAY_ADDRESS  the head's address, host:port (the app uses Ray only when it is set)
    GENLAB_RAY_CPUS     CPUs each job asks for (default 1)
    GENLAB_RAY_GPUS     GPUs each job asks for, fractions allowed: 0.25 lets four jobs share
                        one GPU (default 0: CPU only)
    GENLAB_MAX_JOBS     jobs training at once (default: as many as the cluster's CPUs and GPUs fit)
"""
from __future__ import annotations

import atexit
import os
import time
import weakref
from pathlib import Path

from genlab.jobs.manager import JobManager
from genlab.jobs.ray.actor import TrainActor
from genlab.jobs.ray.cluster import RayBackendError, _check_fits, capacity, connect, job_resources, ray, rex
from genlab.jobs.runner import Runner

WAIT_NOTE_S = 3.0  # no word from the actor after this long: say that the job waits for Ray


class RayRunner(Runner):
    """A job as a Ray actor (see ``genlab.jobs.runner.Runner`` for the interface)."""

    def __init__(self, address: str | None = None, cpus: float | None = None,
                 gpus: float | None = None) -> None:
        self.address = address or os.environ.get("GENLAB_RAY_ADDRESS", "").strip()
        default_cpus, default_gpus = job_resources()
        self.cpus = default_cpus if cpus is None else cpus
        self.gpus = default_gpus if gpus is None else gpus
        self._actor = self._run = self._pending = None
        self._dest: Path | None = None
        self._early: list[dict] = []
        self._seq, self._done, self._killed, self._heard = 0, False, False, False
        self._saved: Path | None = None
        self._saved_epoch: float | None = None
        self._since = time.monotonic()

    def start(self, work: dict) -> None:
        """Create the actor and hand it the job; never raises (a failure is the final message)."""
        from genlab.data import BUILTIN, DataError, load_dataset
        spec, data = work["spec"], work.get("data")
        self._dest = Path(work["path"])
        _LIVE.add(self)
        try:
            connect(self.address)
            _check_fits(self.address, self.cpus, self.gpus)
            if str(spec.dataset).strip().lower() in BUILTIN:
                data = None  # every worker loads a built-in data set itself
            elif data is None:  # a folder or .zip of this machine: load it here, ship the tensors
                data = load_dataset(spec.dataset, image_size=spec.image_size, channels=spec.channels)
            ref = ray.put(data) if data is not None else None
            actor = ray.remote(TrainActor).options(
                num_cpus=self.cpus, num_gpus=self.gpus, max_concurrency=4, max_restarts=0)
            self._actor = actor.remote()
            self._run = self._actor.run.remote({**work, "data": None, "threads": int(max(1, self.cpus))}, ref)
        except (RayBackendError, DataError, ValueError, OSError) as exc:
            self._early = [{"kind": "final", "state": "failed", "message": str(exc), "path": None}]
        self._since = time.monotonic()

    def poll(self, timeout: float) -> list[dict]:
        if self._early:
            msgs, self._early, self._done = self._early, [], True
            return msgs
        if self._done or self._actor is None:
            return []
        if not ray.is_initialized():  # this process left the cluster (it is shutting down)
            return self._died(None)
        try:
            if self._pending is None:
                self._pending = self._actor.poll.remote(min(timeout, 1.0))
            ready, _ = ray.wait([self._pending], timeout=timeout)
            if not ready:
                ended, _ = ray.wait([self._run], timeout=0)
                if ended:  # the run returned; if it raised, the actor died
                    ray.get(ended[0])
                return self._waiting()
            ref, self._pending = self._pending, None
            msgs = ray.get(ref)
        except rex.RayError as exc:
            return self._died(exc)
        self._heard = self._heard or bool(msgs)
        return [self._local(m) for m in msgs]

    def _waiting(self) -> list[dict]:
        """Nothing yet: once, a few seconds in, say that the cluster has not started the job."""
        if self._heard or time.monotonic() - self._since < WAIT_NOTE_S:
            return []
        self._heard = True
        return [{"kind": "state", "state": "loading", "message": "Waiting for the Ray cluster to "
                 f"start this job ({self.cpus:g} CPU, {self.gpus:g} GPU)..."}]

    def _local(self, msg: dict) -> dict:
        """A worker message as this machine sees it: shipped files written here, atomically."""
        from genlab.store.checkpoint import CheckpointError, atomic_write, checkpoint_path
        files = msg.pop("files", None)
        if files is not None:
            target = checkpoint_path(self._dest)
            try:  # the weights, their JSON copy and (AE/VAE) the latent movie
                for suffix, data in files.items():
                    atomic_write(target.with_name(target.stem + suffix), data)
            except CheckpointError as exc:
                if msg["kind"] == "final":
                    self._done = True
                    return {**msg, "path": str(self._saved) if self._saved else None,
                            "message": f"{msg['message']} {exc}"}
                return {"kind": "state", "state": "running", "message": str(exc)}
            msg["path"] = str(target)
            if msg["kind"] == "checkpoint":
                self._saved, self._saved_epoch = target, msg["epoch"]
        if msg.get("kind") == "final":
            self._done = True
        return msg

    def _died(self, exc: Exception | None) -> list[dict]:
        self._done = True
        if self._killed:
            why = "it was killed"
        elif exc is None:
            why = "this process lost its connection to the cluster"
        elif isinstance(exc, rex.OutOfMemoryError):
            why = "its machine ran out of memory"
        elif isinstance(exc, rex.RayActorError):
            why = "its process ended unexpectedly: killed, out of memory, or its machine left the cluster"
        else:
            why = f"Ray reported {type(exc).__name__}"
        kept = (f"The model saved after epoch {self._saved_epoch:g} is kept as '{self._saved.stem}' "
                "(marked incomplete)." if self._saved is not None
                else "Nothing was saved: it died before the end of the first epoch.")
        return [{"kind": "final", "state": "failed", "path": str(self._saved) if self._saved else None,
                 "message": f"The Ray worker running this training died ({why}). {kept} "
                            "You can start a new run."}]

    def _command(self, cmd: str) -> None:
        if self._actor is not None and not self._done and ray.is_initialized():
            self._seq += 1
            self._actor.command.remote(self._seq, cmd)

    def pause(self) -> None: self._command("pause")
    def resume(self) -> None: self._command("resume")
    def stop(self) -> None: self._command("stop")

    def kill(self) -> None:
        if self._actor is not None and ray.is_initialized():
            self._killed = True
            ray.kill(self._actor, no_restart=True)

    def alive(self) -> bool:
        return not self._done

    def exit_code(self) -> int | None:
        return None if not self._done else 0

    def where(self, timeout: float = 30.0) -> tuple[str, int] | None:
        """(node IP, process id) of the worker running this job, once it has started."""
        if self._actor is None:
            return None
        return ray.get(self._actor.where.remote(), timeout=timeout)

    def close(self) -> None:
        """Free the job's CPUs and GPU share on the cluster."""
        if self._actor is not None and ray.is_initialized():
            ray.kill(self._actor, no_restart=True)
        self._actor = self._run = self._pending = None  # no Ray handle outlives the connection
        _LIVE.discard(self)


_LIVE: weakref.WeakSet[RayRunner] = weakref.WeakSet()


def shutdown(grace_s: float = 10.0) -> None:
    """At exit (Ctrl-C or SIGTERM of the server): stop this process's jobs on the cluster and give
    them ``grace_s`` to send back what they learned (their Job threads write it). Registered
    after Ray's own exit hook, so it runs first; Ray ends a gone driver's actors in any case."""
    runners = [r for r in list(_LIVE) if r.alive()]
    for r in runners:
        r.stop()
    deadline = time.monotonic() + grace_s
    while _LIVE and time.monotonic() < deadline:  # until each Job thread has closed its runner
        time.sleep(0.05)


atexit.register(shutdown)


class RayJobManager(JobManager):
    """The app's job manager when ``GENLAB_RAY_ADDRESS`` is set: every job is a ``RayRunner``;
    at most ``GENLAB_MAX_JOBS`` (default: what the cluster fits now) train at once."""

    def __init__(self, address: str | None = None) -> None:
        self.address = address or os.environ.get("GENLAB_RAY_ADDRESS", "").strip()
        self.cpus, self.gpus = job_resources()
        super().__init__(max_jobs=1, runner_factory=lambda: RayRunner(self.address, self.cpus, self.gpus))
        env = os.environ.get("GENLAB_MAX_JOBS", "").strip()
        self._fixed = max(1, int(env)) if env.isdigit() else None
        self._cap, self._cap_at = 1, 0.0

    @property
    def max_jobs(self) -> int:
        if self._fixed:
            return self._fixed
        if ray.is_initialized() and time.monotonic() - self._cap_at > 5.0:
            try:
                self._cap = max(1, capacity(self.cpus, self.gpus))
            except Exception:  # the cluster is unreachable for now: keep the last figure
                pass
            self._cap_at = time.monotonic()
        return self._cap  # 1 until the first job has joined the cluster

    @max_jobs.setter
    def max_jobs(self, value: int) -> None:  # a fixed cap (JobManager.__init__ sets one first)
        self._fixed = value
