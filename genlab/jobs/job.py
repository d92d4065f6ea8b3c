"""One training run, server side: a ``Job`` holds the run's description and the snapshot the
pages read (``Job.snapshot()``: state, message, losses, test metrics, live grid, images/s), fed
by the messages of a *runner* (``genlab.jobs.runner``: a worker process by default, a Ray actor in a
cluster, a thread for scripts and tests). ``genlab.jobs.manager`` queues jobs and hands them runners.

Every open Train page asks for a snapshot every second, so a snapshot is cheap: it is rebuilt
only when a message changed the job (a version counter), and the live grid's PNG is encoded
once per new grid (``Job.grid_png``). Nothing here knows about Streamlit.
"""
from __future__ import annotations

import copy
import threading
import time
import uuid
from pathlib import Path

from genlab.data import ImageDataset
from genlab.images import png, upscale
from genlab.jobs.live import JobSnapshot, Live, RowDelta
from genlab.jobs.runner import InlineRunner, Runner
from genlab.jobs.spec import JobSpec, release_path, reserve_path


class Job:
    """One training run: its description and the snapshot the pages read, fed by the messages of
    a runner (by default a worker process, see genlab.jobs.runner). Controls are thread-safe."""

    def __init__(self, spec: JobSpec, data: ImageDataset | None = None, owner: str = "") -> None:
        self.id = uuid.uuid4().hex[:8]
        self.spec, self.owner, self._data = spec, owner, data
        self._lock = threading.Lock()
        self._live = Live()  # what the snapshot shows; read and written under the lock
        self._paused = self._stop = False
        self._runner: Runner | None = None
        self.manager = None  # the JobManager that queues it (for its queue position)
        self._finished = threading.Event()
        self.created = time.time()
        self._version = 0  # +1 for every change of what the snapshot shows
        self._snaps: dict[int, tuple[tuple, JobSnapshot]] = {}  # max_rows -> (key, snapshot)
        self._png: tuple[object, int, bytes] | None = None  # (grid, target, PNG)

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

    @property
    def version(self) -> int:
        """Grows with every change of what the snapshot shows (a page may skip redrawing)."""
        return self._version

    def snapshot(self, max_rows: int = 600) -> JobSnapshot:
        """What the pages show. Rebuilt (history downsampled to ``max_rows``) only when the job
        changed since the last call with the same ``max_rows``; otherwise a shallow copy of the
        last one: its lists and arrays are shared, read them, never change them."""
        with self._lock:
            key = (self._version, self._paused, self._stop)
            cached = self._snaps.get(max_rows)
            if cached is None or cached[0] != key:
                snap = self._live.snapshot(self.id, self.spec.name, self.spec.model.kind, max_rows)
                if snap.state == "running" and self._paused:
                    snap.state, snap.message = "paused", "Paused; press Resume to go on."
                if snap.state in ("loading", "running") and self._stop:  # said at once, not when saved
                    snap.message = "Stopping: the model trained so far is being saved..."
                if len(self._snaps) > 8:
                    self._snaps.clear()
                self._snaps[max_rows] = cached = (key, snap)
        snap = copy.copy(cached[1])
        if snap.state == "queued" and self.manager is not None:
            snap.queue_position = self.manager.queue_position(self)
        return snap

    def history_since(self, cursor: tuple | None, max_rows: int = 1000) -> RowDelta:
        """The loss rows added since ``cursor`` (a snapshot diff for a page that keeps its own
        copy of the curves; None or an outdated cursor: all of them, thinned to ``max_rows``),
        the test rows, and the cursor to ask from next time."""
        with self._lock:
            return self._live.history_since(cursor, max_rows)

    def grid_png(self, target: int = 480) -> bytes | None:
        """The live grid as PNG bytes, enlarged with crisp pixels to about ``target``
        pixels wide (``genlab.images.upscale``); encoded once per new grid, None before the first one."""
        with self._lock:
            grid, done = self._live.grid, self._png
        if grid is None:
            return None
        if done is None or done[0] is not grid or done[1] != target:
            done = (grid, target, png(upscale(grid, target), fast=True))
            with self._lock:
                self._png = done
        return done[2]

    def _set(self, state: str, message: str) -> None:
        with self._lock:
            self._live.state, self._live.message = state, message
            self._version += 1

    def _apply(self, msg: dict) -> None:
        with self._lock:
            self._live.apply(msg)
            self._version += 1

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
            path = reserve_path(self.spec.name)
            runner.start({"spec": self.spec, "data": self._data, "path": str(path), "threads": threads,
                          "owner": self.owner})  # recorded in the model's meta: who may see it
            self._data = None  # the job keeps no second reference to a large data set
            if paused:
                runner.pause()
            final = False
            while not final:
                msgs = runner.poll(0.25)
                if not msgs and not runner.alive():
                    msgs = runner.poll(0) or [{"kind": "crash", "code": runner.exit_code(),
                                                   "path": str(path)}]
                for msg in msgs:
                    self._apply(msg)
                    final = final or msg["kind"] in ("final", "crash")
        except Exception as exc:  # the server side must never take the page down
            self._set("failed", f"Training failed unexpectedly ({type(exc).__name__}: {exc}).")
        finally:
            runner.close()
            release_path(path)
            self._finished.set()
