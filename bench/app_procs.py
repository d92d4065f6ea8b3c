"""The benches' processes: a `streamlit run` of the app on a free port, a headless Chromium,
and the CPU seconds a process (or its tree) has used, read from /proc."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict, root: Path = ROOT) -> tuple[subprocess.Popen, str]:
    """``streamlit run`` of the app in ``root`` (this checkout, or a reference checkout such as
    main's for a comparison in the same run: no .pyc files are written into that one)."""
    port = free_port()
    if Path(root).resolve() != ROOT:
        env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(Path(root) / "app.py"),
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--server.headless", "true", "--server.fileWatcherType", "none"],
                            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


def browser():
    from playwright.sync_api import sync_playwright
    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=[
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"])
    return pw, b


def proc_stats() -> dict[int, tuple[str, list[str]]]:
    """Every process: pid -> (name, the fields of /proc/PID/stat after the name: state, parent
    pid, process group, session, ...); the benches and the tests' process checks read this."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        out[int(stat.parent.name)] = (text[text.index("(") + 1:text.rindex(")")],
                                      text[text.rindex(")") + 2:].split())
    return out


def all_procs() -> dict[int, tuple[int, str, float]]:
    """Every process: pid -> (parent pid, name, CPU seconds used so far)."""
    tick = os.sysconf("SC_CLK_TCK")
    return {pid: (int(rest[1]), name, (int(rest[11]) + int(rest[12])) / tick)
            for pid, (name, rest) in proc_stats().items()}


def descendants(root: int, procs: dict | None = None) -> dict[int, str]:
    """Every process below ``root`` (children, their children, ...): pid -> name."""
    procs = all_procs() if procs is None else procs
    found, todo = {}, [root]
    while todo:
        p = todo.pop()
        for child, (ppid, name, _) in procs.items():
            if ppid == p and child not in found:
                found[child] = name
                todo.append(child)
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of one process in MB (VmRSS), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(root: int, names: tuple[str, ...] | None = None, tree: bool = False) -> float:
    """CPU seconds of ``root`` itself, or of its whole tree filtered by name prefix."""
    procs = all_procs()
    if not tree:
        return procs.get(root, (0, "", 0.0))[2]
    return sum(procs[p][2] for p, name in descendants(root, procs).items()
               if names is None or name.startswith(names))
