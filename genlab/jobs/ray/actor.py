"""The worker side of a job on Ray (see ``genlab.jobs.ray.backend``): a threaded actor that runs
``genlab.jobs.worker.run_training`` in one thread while polls and controls arrive on others."""
from __future__ import annotations

import os
import threading
from pathlib import Path


class TrainActor:
    """Lives on a Ray worker: runs one job (``run``) while other threads serve ``poll`` and
    ``command``. Messages are those of ``genlab.jobs.worker.run_training``; a checkpoint or final
    message that names a file also carries that file's bytes."""

    def __init__(self) -> None:
        from genlab.train import TrainControl
        self._control = TrainControl()
        self._cond = threading.Condition()
        self._msgs: list[dict] = []
        self._seq = 0

    def run(self, work: dict, data) -> str:
        import tempfile

        import torch

        from genlab.jobs.worker import run_training
        if work.get("threads"):
            torch.set_num_threads(max(1, int(work["threads"])))
        with tempfile.TemporaryDirectory(prefix="genlab-ray-") as tmp:
            work = {**work, "path": str(Path(tmp) / Path(work["path"]).name), "data": data}
            return run_training(work, self._control, self._emit)["state"]

    def _emit(self, msg: dict) -> None:
        if msg.get("kind") in ("checkpoint", "final") and msg.get("path"):
            from genlab.latent.movie import MOVIE_SUFFIX, movie_path
            p = Path(msg["path"])
            files = {".safetensors": p.read_bytes(), ".json": p.with_suffix(".json").read_bytes()}
            if movie_path(p).is_file():
                files[MOVIE_SUFFIX] = movie_path(p).read_bytes()
            msg = {**msg, "files": files}
        with self._cond:
            self._msgs.append(msg)
            self._cond.notify_all()

    def poll(self, wait_s: float) -> list[dict]:
        with self._cond:
            if not self._msgs and wait_s > 0:
                self._cond.wait(wait_s)
            msgs, self._msgs = self._msgs, []
        return msgs

    def command(self, seq: int, cmd: str) -> None:
        """pause / resume / stop; calls may run out of order on a threaded actor, so a pause or
        resume older than the last one applied is dropped (a stop always holds)."""
        if cmd == "stop":
            self._control.stop()
        elif seq > self._seq:
            self._seq = seq
            getattr(self._control, cmd)()

    def where(self) -> tuple[str, int]:
        import ray
        return ray.util.get_node_ip_address(), os.getpid()
