"""Helpers shared by several test files (one copy each)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class RunsCode:
    """Unpickling this creates ``path``: proof that code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def eventually(condition, timeout: float) -> bool:
    """Poll ``condition()`` for up to ``timeout`` seconds; whether it became true (for asserts
    that carry their own message)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def wait_until(condition, timeout: float = 30.0, what: str = "the condition") -> None:
    """Poll ``condition()`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.01)


def genlab_env(**changes: str | None) -> dict:
    """The environment for a ``python -m genlab`` subprocess: offline, genlab importable from
    any working folder; a value of None removes that variable."""
    env = {**os.environ, "GENLAB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    for k, v in changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def start_genlab(*args: str, cwd: str | os.PathLike = ROOT, **env: str | None) -> subprocess.Popen:
    """Start ``python -m genlab ARGS`` (several can run at once: each pays torch's start-up)."""
    return subprocess.Popen([sys.executable, "-m", "genlab", *map(str, args)], cwd=cwd,
                            env=genlab_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish(proc: subprocess.Popen, timeout: float = 300) -> subprocess.CompletedProcess:
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        proc.kill()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def run_genlab(*args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    return finish(start_genlab(*args, **kw), timeout)


def thread_states(pid: int) -> list[str]:
    """The state letter of every thread of process ``pid`` (R running or runnable, S sleeping,
    D waiting for the disk, ...); empty once it is gone."""
    states = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for tid in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue  # a thread that just ended
        states.append(text[text.rindex(")") + 2])
    return states


def asleep_for(pid: int, seconds: float = 0.5) -> bool:
    """Whether every thread of process ``pid`` sleeps (S) at every look over ``seconds``. A
    paused training worker only waits; a training one, even starved of CPU by other processes,
    has a thread running or runnable (R) at almost any instant, so it is not taken for paused."""
    deadline = time.monotonic() + seconds
    while True:
        states = thread_states(pid)
        if not states or any(s != "S" for s in states):
            return False
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.02)


def cpu_share(pid: int, seconds: float = 1.0) -> float:
    """The CPU seconds per second that process ``pid`` used over the next ``seconds`` (user and
    system, all threads; /proc ticks). A paused worker's housekeeping (its control and parent
    checks) costs under 0.01; a training one, even starved by other processes, 0.3 or more.
    Sturdier than "every thread asleep at every look", which a busy machine breaks by leaving a
    thread that woke for its housekeeping runnable for a few milliseconds."""
    def used() -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    start, t0 = used(), time.monotonic()
    time.sleep(seconds)
    return (used() - start) / (time.monotonic() - t0)


# The live view's components (pages/_ui/live) draw inside shadow roots, which
# document.querySelector does not enter: this finds elements through them.
_DEEP = """(sel) => { const out = []; const walk = (r) => { r.querySelectorAll(sel).forEach(e => out.push(e));
    r.querySelectorAll('*').forEach(e => { if (e.shadowRoot) walk(e.shadowRoot) }) };
    walk(document); return out.map(e => ({...e.dataset})) }"""


def live_data(pg, selector: str) -> list[dict]:
    """The data-* attributes of every element matching ``selector`` on the page, shadow roots
    included (e.g. ``.live-chart``: born, points, lastX; ``.live-image``: id, changes)."""
    return pg.evaluate(_DEEP, selector)
