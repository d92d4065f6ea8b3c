"""What a job's snapshot shows, rebuilt from its worker's messages (see genlab.jobs.worker): state,
message, progress, a smoothed training rate, the loss history, test metrics, the live grid, the
saved model. Plain data, no locking: ``genlab.jobs.Job`` guards it.

A page that keeps its own copy of the curves (the Train page's streaming chart) asks for what is
new since its cursor (``Live.history_since``, through ``Job.history_since``) instead of the whole
history each second; ``RowLog`` is that piece, reusable by any live view that appends rows."""
from __future__ import annotations

import signal
import statistics
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genlab.store.checkpoint import CheckpointError, downsample, read_meta

ACTIVE = ("queued", "loading", "running", "paused")
RATE_WINDOW = 7  # images/s shown: the median of the last few training-rate readings
MAX_HISTORY = 4000  # loss rows kept for the live chart (the checkpoint keeps its own)


@dataclass
class RowDelta:
    """What a page did not have yet: ``rows`` after its cursor (all rows when ``reset``), the
    cursor to ask from next time, and small lists sent whole when they changed (``points``)."""
    rows: list[dict]
    cursor: tuple
    reset: bool
    points: list[dict] = field(default_factory=list)


class RowLog:
    """Rows appended over time (a loss history), at most ``cap`` of them: when full, it is
    thinned to half (``downsample``) and a new generation starts, so a reader's cursor from the
    old generation gets the whole (thinned) log again. ``since(cursor)`` is the snapshot diff."""

    def __init__(self, cap: int = MAX_HISTORY) -> None:
        self.rows: list[dict] = []
        self.cap, self.generation, self.appended = cap, 0, 0

    def append(self, row: dict) -> None:
        self.rows.append(row)
        self.appended += 1
        if len(self.rows) > self.cap:  # the page shows a few hundred points
            self.rows = downsample(self.rows, self.cap // 2)
            self.generation += 1

    def since(self, cursor: tuple | None, max_rows: int = 1000) -> RowDelta:
        """The rows after ``cursor`` (None: from the start; then at most ``max_rows``, thinned)."""
        now = (self.generation, self.appended)
        if cursor is None or cursor[0] != self.generation or cursor[1] > self.appended:
            return RowDelta(downsample(self.rows, max_rows), now, True)
        new = self.appended - cursor[1]
        return RowDelta(self.rows[-new:] if new else [], now, False)


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
    # the latent movie's latest frame (AE/VAE): epoch, codes (N, d) float16, labels (N,), classes
    latent: tuple[float, np.ndarray, np.ndarray, list[str]] | None = None
    # the denoising strip's latest frame (flow / DDPM): {"epoch", "t", "xt", "x0", "labels"}
    strip: dict | None = None
    # the health alarms fired so far (genlab.train.alarms.Alarm.to_dict(): id, name, step, epoch,
    # message, evidence, advice, numbers), in the order they fired
    alarms: list[dict] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0


class Live:
    """The mutable state behind a snapshot; ``apply`` takes one worker message."""

    def __init__(self) -> None:
        self.state, self.message = "queued", "Waiting for a free training slot."
        self.progress: dict = {}
        self.rates: deque[float] = deque(maxlen=RATE_WINDOW)
        self.log = RowLog()  # the loss history: one row per progress event
        self.test_history: list[dict] = []
        self.grid: np.ndarray | None = None
        self.events = 0
        self.train_message = ""
        self.saved_path: Path | None = None
        self.checkpoint_epoch: float | None = None
        self.latent: tuple[float, np.ndarray, np.ndarray, list[str]] | None = None
        self.alarms: list[dict] = []
        self.strip: dict | None = None

    def snapshot(self, job_id: str, name: str, kind: str, max_rows: int) -> JobSnapshot:
        return JobSnapshot(job_id, name, kind, self.state, self.message, None,
                           history=downsample(self.log.rows, max_rows),
                           test_history=list(self.test_history), grid=self.grid,
                           saved_path=self.saved_path, events=self.events, latent=self.latent,
                           alarms=list(self.alarms), strip=self.strip, **self.progress)

    def history_since(self, cursor: tuple | None, max_rows: int = 1000) -> RowDelta:
        """The loss rows after ``cursor`` and the test rows (whole: one per epoch)."""
        delta = self.log.since(cursor, max_rows)
        delta.points = list(self.test_history)
        return delta

    def apply(self, msg: dict) -> None:
        kind = msg.get("kind")
        if kind == "event":
            self.on_event(msg["event"])
        elif kind == "state":
            self.state, self.message = msg["state"], msg["message"]
        elif kind == "frame":
            self.latent = (msg["epoch"], msg["codes"], msg["labels"], msg.get("classes") or [])
        elif kind == "strip":
            self.strip = {k: msg[k] for k in ("epoch", "t", "xt", "x0", "labels")}
        elif kind == "checkpoint":
            self.saved_path, self.checkpoint_epoch = Path(msg["path"]), msg["epoch"]
        elif kind == "final":
            self.state, self.message = msg["state"], msg["message"]
            self.saved_path = Path(msg["path"]) if msg.get("path") else None
        elif kind == "crash":  # not a worker's message: the job saw it die without a final one
            self.crashed(msg["code"], msg.get("path"))

    def crashed(self, code: int | None, path: str | None = None) -> None:
        """The worker died without a final message. A checkpoint it wrote at ``path`` but had no
        time to announce (killed between the save and the message) is found on disk."""
        if self.saved_path is None and path:
            try:
                meta = read_meta(path)
                if meta.get("status") == "incomplete":
                    self.saved_path, self.checkpoint_epoch = Path(path), float(meta["epochs"])
            except (CheckpointError, KeyError, TypeError, ValueError):
                pass  # no checkpoint there (or a half-written one): nothing was saved
        how = (f"it was killed by signal {-code} ({signal.Signals(-code).name})" if code and code < 0
               and -code in signal.valid_signals() else f"it exited with code {code}")
        if code == -signal.SIGKILL:
            how += ", for example because the computer ran out of memory"
        kept = (f"The model saved after epoch {self.checkpoint_epoch:g} is kept as "
                f"'{self.saved_path.stem}' (marked incomplete)."
                if self.saved_path is not None and self.checkpoint_epoch is not None
                else "Nothing was saved: it died before the end of the first epoch.")
        self.state = "failed"
        self.message = f"The training process died ({how}). {kept} You can start a new run."

    def on_event(self, ev: dict) -> None:
        self.events += 1
        if ev["kind"] == "alarm":  # no progress numbers in it: keep the last ones
            if ev.get("alarm"):
                self.alarms.append(ev["alarm"])
            return
        if ev["kind"] == "progress" and ev["images_per_s"]:
            self.rates.append(ev["images_per_s"])
        self.progress = {"step": ev["step"], "total_steps": ev["total_steps"], "epoch": ev["epoch"],
                         "epochs": ev["epochs"], "elapsed_s": ev["elapsed_s"],
                         "images_per_s": statistics.median(self.rates) if self.rates else 0.0,
                         "eta_s": ev["eta_s"]}
        if ev["kind"] == "progress":
            self.log.append({"step": ev["step"], "epoch": ev["epoch"], **ev["losses"],
                             "images_per_s": ev["images_per_s"]})
        elif ev["kind"] == "epoch" and ev["test"] is not None:
            self.test_history.append({"epoch": ev["epoch"], **ev["test"]})
        if ev["grid"] is not None:
            self.grid = ev["grid"]
        if ev["kind"] == "start":
            self.train_message = f"Training on {ev['message']}."
            self.state, self.message = "running", self.train_message
        elif ev["kind"] == "evaluating":
            self.message = "Evaluating on the test set..."
        elif ev["kind"] in ("progress", "epoch") and self.state == "running":
            self.message = self.train_message
