"""Where a job's training runs. The server-side ``Job`` talks to a *runner* only through this
small interface, so a local process, an in-process thread and a Ray actor are interchangeable:

    start(work)        hand over the job: {"spec": JobSpec, "path": str, "data": ImageDataset
                       or None, "threads": int or None, "owner": str}; the runner calls
                       ``genlab.jobs.worker.run_training(work, control, emit)`` wherever it runs
    poll(timeout)      -> list[dict]: the messages ``emit`` produced since the last poll (see
                       genlab.jobs.worker), waiting up to ``timeout`` seconds for the first one
    pause() / resume() / stop()    forwarded to the worker's TrainControl (acts within a batch)
    set_threads(n)     the worker's share of the CPU cores (local processes only)
    kill()             end it at once (SIGKILL for a process); the Job then reports a crash
    alive() -> bool    exit_code() -> int | None (negative: killed by that signal)
    pid -> int | None  close(): release it (join the process: no zombie is left)

``ProcessRunner`` is the local backend: one spawned OS process per job. Spawning a process
that imports torch takes seconds, so ``take_runner()`` hands out a warm spare (torch and
genlab already imported) and the manager asks for a new spare with ``refill()`` (when, see
``genlab.jobs.manager``). Workers exit by themselves if the server dies (their control pipe closes);
at exit the server stops its workers (they save), then kills any left, and starts no new one. ``InlineRunner`` runs the same function in a thread
of this process (``Job.run()``: scripts and tests).
"""
from __future__ import annotations

import atexit
import multiprocessing as mp
import multiprocessing.spawn
import os
import pickle
import queue
import threading
import time
import weakref

from genlab.jobs.threads import name_process, quiet_openmp, worker_policy


class Runner:
    """The interface a backend implements (see the module docstring)."""

    pid: int | None = None

    def start(self, work: dict) -> None: raise NotImplementedError
    def poll(self, timeout: float) -> list[dict]: raise NotImplementedError
    def pause(self) -> None: raise NotImplementedError
    def resume(self) -> None: raise NotImplementedError
    def stop(self) -> None: raise NotImplementedError
    def kill(self) -> None: raise NotImplementedError
    def alive(self) -> bool: raise NotImplementedError
    def exit_code(self) -> int | None: raise NotImplementedError
    def set_threads(self, n: int) -> None: pass
    def close(self) -> None: pass


def _without_main(get_preparation_data):
    """A spawned child normally re-runs the parent's ``__main__`` first. In a Streamlit server
    that is the page script running at that moment (Streamlit swaps ``sys.modules["__main__"]``),
    which would draw a page, import the UI and turn off autograd inside the worker. A worker
    needs none of it: drop the main module from its start-up data (genlab workers only)."""
    def prepare(name: str) -> dict:
        data = get_preparation_data(name)
        if name.startswith("genlab-worker"):
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
        return data
    prepare.genlab = True
    return prepare


if not getattr(multiprocessing.spawn.get_preparation_data, "genlab", False):
    multiprocessing.spawn.get_preparation_data = _without_main(multiprocessing.spawn.get_preparation_data)


def _entry(ctl, out, parent_pid: int, policy: str = "shared") -> None:
    """First code of a spawned worker: its name, its OpenMP policy (genlab.jobs.threads), then
    torch and genlab."""
    name_process("genlab-spare")
    quiet_openmp(policy=policy)  # before torch: fixed for the life of this process and its job
    from genlab.jobs.worker import serve
    serve(ctl, out, parent_pid)


class ProcessRunner(Runner):
    """A job in its own spawned process, talking over two one-way pipes."""

    def __init__(self, busy_jobs: int = 0) -> None:
        """``busy_jobs``: how many jobs train now (the OpenMP policy, ``worker_policy``)."""
        ctx = mp.get_context("spawn")
        ctl_r, self._ctl = ctx.Pipe(duplex=False)
        self._out, out_w = ctx.Pipe(duplex=False)
        self.policy = worker_policy(busy_jobs)
        self._proc = ctx.Process(target=_entry, args=(ctl_r, out_w, os.getpid(), self.policy),
                                 daemon=True, name="genlab-worker")
        self._proc.start()
        ctl_r.close()
        out_w.close()
        self.pid = self._proc.pid
        self._lock = threading.Lock()
        self.ready = threading.Event()
        self.started = False
        self.from_spare = False  # handed out by take_runner() as the warm spare
        _LIVE.add(self)

    def _send(self, *msg) -> None:
        try:
            with self._lock:
                self._ctl.send_bytes(pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL))
        except (OSError, ValueError):  # it is gone: the Job sees that through alive()
            pass

    def start(self, work: dict) -> None:
        self.started = True
        self._send("job", work)

    def warm(self, timeout: float = 0.0) -> bool:
        """Whether this process has imported torch and genlab and waits for a job (reads its
        "ready" message; only before ``start``, when nothing else reads its pipe)."""
        if not self.ready.is_set() and not self.started:
            try:
                if self._out.poll(timeout) and self._out.recv().get("kind") == "ready":
                    self.ready.set()
            except (EOFError, OSError):
                pass
        return self.ready.is_set()

    def poll(self, timeout: float) -> list[dict]:
        msgs: list[dict] = []
        try:
            wait = timeout
            while self._out.poll(wait):
                msg = self._out.recv()
                wait = 0
                if msg.get("kind") == "ready":
                    self.ready.set()
                else:
                    msgs.append(msg)
        except (EOFError, OSError):  # the worker closed its end (exited or died)
            if not msgs and timeout:
                self._proc.join(timeout)
        return msgs

    def pause(self) -> None: self._send("pause", None)
    def resume(self) -> None: self._send("resume", None)
    def stop(self) -> None: self._send("stop", None)
    def set_threads(self, n: int) -> None: self._send("threads", int(n))

    def kill(self) -> None:
        self._proc.kill()

    def alive(self) -> bool:
        return self._proc.is_alive()

    def exit_code(self) -> int | None:
        return self._proc.exitcode

    def close(self, timeout: float = 10.0) -> None:
        if not self.started:  # a spare never given a job: a closed control pipe ends it
            self._ctl.close()
        self._proc.join(timeout)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5)
        for conn in (self._ctl, self._out):
            try:
                conn.close()
            except OSError:  # closed already (a spare at shutdown)
                pass
        _LIVE.discard(self)


class InlineRunner(Runner):
    """``run_training`` in a thread of this process (no isolation; for scripts and tests)."""

    def __init__(self) -> None:
        from genlab.train import TrainControl
        self._control = TrainControl()
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self, work: dict) -> None:
        from genlab.jobs.worker import run_training
        self._thread = threading.Thread(target=run_training, args=(work, self._control, self._queue.put),
                                        name="genlab-inline-job", daemon=True)
        self._thread.start()

    def poll(self, timeout: float) -> list[dict]:
        msgs = []
        try:
            msgs.append(self._queue.get(timeout=timeout))
            while True:
                msgs.append(self._queue.get_nowait())
        except queue.Empty:
            return msgs

    def pause(self) -> None: self._control.pause()
    def resume(self) -> None: self._control.resume()
    def stop(self) -> None: self._control.stop()
    def kill(self) -> None: raise NotImplementedError("an in-process run cannot be killed")

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def exit_code(self) -> int | None:
        return None if self.alive() else 0

    def close(self) -> None:
        if self._thread is not None:
            self._thread.join()


# -- the warm spare and clean-up --------------------------------------------------------------
_LIVE: weakref.WeakSet[ProcessRunner] = weakref.WeakSet()
_SPARE: ProcessRunner | None = None
_SPARE_LOCK = threading.Lock()
_CLOSED = threading.Event()  # set by shutdown(): no new worker process from then on
SHUTTING_DOWN = "The server is shutting down; no new training starts."


def closed() -> bool:
    return _CLOSED.is_set()


def spare() -> ProcessRunner | None:
    """The warm spare waiting for the next job, if any (for status and tests)."""
    return _SPARE


def take_runner(busy_jobs: int = 0) -> ProcessRunner:
    """The warm spare if there is one (torch already imported), else a new process (its OpenMP
    policy for ``busy_jobs`` other jobs training). Raises RuntimeError once the server is
    shutting down."""
    global _SPARE
    with _SPARE_LOCK:
        if _CLOSED.is_set():
            raise RuntimeError(SHUTTING_DOWN)
        spare, _SPARE = _SPARE, None
        if spare is not None and spare.alive():
            spare.from_spare = True
            return spare
        if spare is not None:
            spare.close(0)
        return ProcessRunner(busy_jobs)


def refill(busy_jobs: int = 0) -> None:
    """Start a new warm spare if none is waiting (nothing once the server is shutting down);
    ``busy_jobs``: how many jobs train now, for its OpenMP policy."""
    global _SPARE
    with _SPARE_LOCK:
        if _CLOSED.is_set():
            return
        if _SPARE is None or not _SPARE.alive():
            if _SPARE is not None:
                _SPARE.close(0)
            _SPARE = ProcessRunner(busy_jobs)


def shutdown(grace_s: float = 5.0) -> None:
    """Stop every worker of this process (they save what they learned), kill what is left after
    ``grace_s``, and reap them all. Runs at interpreter exit (Ctrl-C, SIGTERM of the server)."""
    global _SPARE
    with _SPARE_LOCK:  # after this, take_runner() and refill() start nothing
        _CLOSED.set()
        _SPARE = None
    runners = list(_LIVE)
    for r in runners:
        if r.started:
            r.stop()
        else:  # a spare: closing its control pipe ends it
            r._ctl.close()
    deadline = time.monotonic() + grace_s
    for r in runners:
        r._proc.join(max(0.0, deadline - time.monotonic()))
    for r in runners:
        r.close(0)


atexit.register(shutdown)
