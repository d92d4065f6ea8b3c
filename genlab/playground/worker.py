"""The playground's trainer in its own process (never in a page script): commands in (play,
pause, step of a named part, reset with new settings, ping, quit), packed frames out.

While playing it sends a frame every ``FRAME_S`` (training in between), and spends at most
about a quarter of its time drawing frames (slower frames come less often); slow motion is
``SLOW_HZ`` iterations a second, each its own frame. The JS divergence (5,000 samples) is
measured at most every ``JS_S`` seconds and never takes more than a fifth of the time. Without
a ping for ``IDLE_PAUSE_S`` it pauses (nobody is watching); without one for ``IDLE_EXIT_S``, or
when its parent dies, it exits."""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
import time
from collections import deque

import genlab.jobs.runner  # noqa: F401  (its spawn patch: a "genlab-worker" child skips the page script)
from genlab.jobs.threads import name_process

FRAME_S, SLOW_HZ, JS_S = 0.1, 4.0, 1.0
KEEP = 64  # the newest frames kept for the page (it takes them once a second)
IDLE_PAUSE_S, IDLE_EXIT_S = 20.0, 300.0


def _run(settings: dict, drawn, cmds, out) -> None:  # the worker process
    import torch

    from genlab.playground import data2d
    from genlab.playground.divergence import SAMPLES, js_bits
    from genlab.playground.pack import pack
    from genlab.playground.trainer import Trainer
    from genlab.playground.views import Views
    name_process("genlab-playgrnd")
    torch.set_num_threads(1)
    parent, seq, run = os.getppid(), 0, 1

    def build(s, pts):
        tr = Trainer(s, pts)
        real = data2d.sample(s["data"], SAMPLES, s["seed"] + 1000, pts)
        floor = js_bits(real, data2d.sample(s["data"], SAMPLES, s["seed"] + 2000, pts))
        return s, tr, Views(tr), real, floor

    def emit(with_js: bool) -> float:
        nonlocal seq
        t0 = time.perf_counter()
        meta, arrays = views.frame()
        if with_js:
            meta["js"] = round(js_bits(real, tr.sample(SAMPLES, seed=7)), 5)
        meta.update(floor=round(floor, 5), playing=playing, seq=seq + 1, slow=s["slow"], run=run,
                    total=tr.total_steps())
        seq += 1
        try:
            out.put_nowait(("frame", seq, pack(meta, arrays)))
        except queue.Full:
            pass
        return time.perf_counter() - t0

    try:
        s, tr, views, real, floor = build(settings, drawn)
    except ValueError as exc:
        out.put(("error", 0, str(exc)))
        return
    playing, last_ping, last_js, frame_cost, js_cost = False, time.monotonic(), 0.0, 0.0, 0.0
    due: float | None = None  # when the next frame is due while playing
    emit(True)
    while True:
        try:
            cmd, arg = cmds.get(timeout=0.0 if playing else 0.1)
        except queue.Empty:
            cmd, arg = None, None
        now = time.monotonic()
        if cmd is not None:
            last_ping = now
        if cmd == "quit" or os.getppid() != parent or now - last_ping > IDLE_EXIT_S:
            return
        if now - last_ping > IDLE_PAUSE_S:
            playing = False
        if cmd in ("play", "pause"):
            playing = cmd == "play"
            emit(False)
        elif cmd == "step":
            playing = False
            try:
                tr.step(arg)
                tr.average_from_here()
            except ValueError as exc:
                out.put(("error", seq, str(exc)))
            emit(True)
        elif cmd == "slow":
            s = {**s, "slow": bool(arg)}
        elif cmd == "reset":
            playing = False  # a new run starts paused, as the page shows it
            try:
                s, tr, views, real, floor = build(*arg)
                run += 1
            except ValueError as exc:
                out.put(("error", seq, str(exc)))
            emit(True)
        if not playing:
            due = None
            continue
        t0 = time.perf_counter()
        with_js = time.monotonic() - last_js > max(JS_S, 5 * js_cost)
        if s["slow"]:
            tr.step()
            tr.average_from_here()
            time.sleep(max(0.0, 1 / SLOW_HZ - (time.perf_counter() - t0)))
        else:  # frames due every FRAME_S while they are cheap (at most a quarter of the time)
            period = max(FRAME_S, 4 * frame_cost)
            due = t0 + period if due is None or due + 2 * period < t0 else due + period  # catch
            # up after one late frame (the JS divergence of a flow: 5,000 sampler runs, ~0.13 s)
            until = due - (js_cost if with_js else frame_cost)
            while True:  # at least one step; no step that would end after ``until``
                ts = time.perf_counter()
                tr.step()
                step_s = time.perf_counter() - ts
                if time.perf_counter() + step_s > until:
                    break
        cost = emit(with_js)
        if with_js:
            last_js, js_cost = time.monotonic(), cost
        else:
            frame_cost = cost


class PlayWorker:
    """A playground trainer in a spawned process; ``messages()`` gives what it sent."""

    def __init__(self, settings: dict, drawn=None):
        ctx = mp.get_context("spawn")
        self.cmds, self.out = ctx.Queue(), ctx.Queue(maxsize=256)
        self.proc = ctx.Process(target=_run, args=(dict(settings), drawn, self.cmds, self.out),
                                daemon=True, name="genlab-worker-playground")
        self.proc.start()
        # A thread reads the worker's frames as they come: read only when the page asks (once
        # a second), a flow's worker (~50 KB frames) made 5 frames a second instead of 10
        # (bench/bench_playground.py; bench/RESULTS.md, issue 23).
        self.got: deque = deque(maxlen=KEEP)
        self.closed = threading.Event()
        threading.Thread(target=self._read, name="genlab-playground-frames", daemon=True).start()

    def _read(self) -> None:
        while not self.closed.is_set():
            try:
                self.got.append(self.out.get(timeout=0.5))
            except queue.Empty:
                if not self.proc.is_alive():
                    return
            except (EOFError, OSError, ValueError):  # the queue was closed
                return

    def send(self, cmd: str, arg=None) -> None:
        self.cmds.put((cmd, arg))

    def play(self) -> None:
        self.send("play")

    def pause(self) -> None:
        self.send("pause")

    def step(self, part: str = "iteration") -> None:
        self.send("step", part)

    def reset(self, settings: dict, drawn=None) -> None:
        self.send("reset", (dict(settings), drawn))

    def slow(self, on: bool) -> None:
        self.send("slow", bool(on))

    def ping(self) -> None:
        self.send("ping")

    def messages(self) -> list[tuple[str, int, object]]:
        """What the worker sent since the last call (the newest ``KEEP`` messages):
        ("frame", seq, bytes) and ("error", seq, text)."""
        got = []
        while self.got:
            got.append(self.got.popleft())
        return got

    def alive(self) -> bool:
        return self.proc.is_alive()

    def close(self) -> None:
        self.closed.set()
        if self.proc.is_alive():
            try:
                self.send("quit")
            except (OSError, ValueError):
                pass
            self.proc.join(2)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(2)
