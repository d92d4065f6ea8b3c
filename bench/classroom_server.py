"""The classroom bench's server: a `streamlit run` of the app for one run's model folder (its
threads' stacks dumped on request), and the processes of that run still alive."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from app_procs import free_port

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("genlab-train", "genlab-spare")  # the app's worker processes, as `ps` names them


def of_this_run(models: str) -> list[str]:
    """`ps` lines of genlab workers and streamlit servers whose GENLAB_MODELS is this run's."""
    out = subprocess.run(["ps", "-eo", "pid=,stat=,comm=,args="], capture_output=True, text=True).stdout
    left = []
    for line in out.splitlines():
        pid, stat, comm, args = (line.split(None, 3) + [""])[:4]
        if comm not in NAMES and "streamlit" not in args:
            continue
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            env = []
        if f"GENLAB_MODELS={models}".encode() in env:
            left.append(f"{pid} {stat} {comm} {args[:60]}")
    return left


# `streamlit run` whose every thread's Python stack is written to $GENLAB_BENCH_STACKS on SIGUSR1
# (the bench asks for them when a page stalls: what was the server doing?)
SERVER = ("import faulthandler, os, signal, sys; faulthandler.register(signal.SIGUSR1, all_threads=True, "
          "file=open(os.environ['GENLAB_BENCH_STACKS'], 'a')); from streamlit.web.cli import main; "
          "sys.argv[0] = 'streamlit'; sys.exit(main())")
STACKS: list[Path] = []


def start_server(models: str, cap: int | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "GENLAB_OFFLINE": "1", "GENLAB_MODELS": models,
           "GENLAB_BENCH_STACKS": str(Path(models).with_suffix(".stacks.txt"))}
    if cap:
        env["GENLAB_MAX_JOBS"] = str(cap)
    STACKS.append(Path(env["GENLAB_BENCH_STACKS"]))
    proc = subprocess.Popen([sys.executable, "-c", SERVER, "run", str(ROOT / "app.py"),
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--server.headless", "true", "--server.fileWatcherType", "none"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url, t0 = f"http://127.0.0.1:{port}", time.monotonic()
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() - t0 > 120:
                raise RuntimeError("streamlit did not start (exited or > 120 s)") from None
            time.sleep(0.2)


def dump_stacks(server_pid: int) -> Path:
    """Ask the server (started by ``start_server``) to append its threads' stacks to its file."""
    os.kill(server_pid, signal.SIGUSR1)
    return STACKS[-1]
