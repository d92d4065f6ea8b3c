"""A real Ray head for tests/test_ray.py: ``ray start --head`` on the loopback interface, in its
own session, started once per module and stopped at its end with every process it started."""
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from app_procs import proc_stats


def wait_for(cond, timeout: float, step: float = 0.05) -> bool:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if cond():
            return True
        time.sleep(step)
    return cond()


def session_members(sid: int, running_only: bool = True) -> list[int]:
    """Processes of session ``sid`` (the head and everything it started); zombies left out."""
    return [pid for pid, (_, rest) in proc_stats().items()
            if int(rest[3]) == sid and not (running_only and rest[0] in "ZX")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", name="ray_head")
def ray_head_fixture():
    """``ray start --head`` on 127.0.0.1 with 2 CPUs, in its own session so that exactly the
    processes it started are stopped afterwards (``ray stop`` would stop every Ray on the machine)."""
    mp = pytest.MonkeyPatch()
    # Ray swaps 127.0.0.1 for the machine's address unless told it runs alone: keep it on loopback
    # (read when ray is imported: set before that, here and in every process the tests start)
    mp.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    # only this test's processes may use the cluster: token authentication with a fresh token,
    # and a Ray call without a connection fails instead of starting a private cluster
    mp.setenv("RAY_AUTH_MODE", "token")
    mp.setenv("RAY_AUTH_TOKEN", secrets.token_hex(16))
    mp.setenv("RAY_ENABLE_AUTO_CONNECT", "0")
    import ray  # under CI=true a missing ray fails here
    mp.delenv("GENLAB_RAY_ADDRESS", raising=False)
    for var in ("GENLAB_RAY_CPUS", "GENLAB_RAY_GPUS", "GENLAB_MAX_JOBS"):
        mp.delenv(var, raising=False)
    temp = tempfile.mkdtemp(prefix="glray-", dir="/tmp")  # short: Ray's socket paths are limited
    port = free_port()
    log = open(os.path.join(temp, "head.log"), "w")
    # The network guard still blocks every outside connection in Ray's processes, but records
    # them apart: Ray's own dashboard probes the cloud metadata address 169.254.169.254 at start,
    # which is Ray's doing, not GenLab's. Checked below: nothing else is ever reached for.
    ray_net = os.path.join(temp, "ray-network.log")
    head_env = {**os.environ, "GENLAB_NETGUARD_LOG": ray_net}
    head = subprocess.Popen(
        [sys.executable, "-c", "from ray.scripts.scripts import main; main()", "start", "--head",
         f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2", "--include-dashboard=false",
         "--disable-usage-stats", "--block", f"--temp-dir={temp}"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=temp, env=head_env)
    started = wait_for(lambda: "Ray runtime started" in Path(log.name).read_text() or head.poll() is not None,
                       timeout=240, step=0.2)
    try:
        assert started and head.poll() is None, "the Ray head did not start:\n" + Path(log.name).read_text()[-3000:]
        from genlab.jobs.ray import cluster as ray_cluster
        ray_cluster.connect(f"127.0.0.1:{port}")  # this process is a driver too (free_cpus)
        yield f"127.0.0.1:{port}"
    finally:
        from genlab.jobs.ray import cluster as ray_cluster
        ray.shutdown()
        ray_cluster._CONNECTED = None
        for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            for pid in session_members(head.pid):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            if wait_for(lambda: not session_members(head.pid), grace, 0.2):
                break
        head.wait(10)
        log.close()
        left = session_members(head.pid)
        reached = Path(ray_net).read_text().splitlines() if os.path.exists(ray_net) else []
        shutil.rmtree(temp, ignore_errors=True)
        mp.undo()
        assert not left, f"Ray processes left running: {left}"
        others = [r for r in reached if not ("ray/dashboard" in r and "169.254.169.254" in r)]
        assert not others, f"Ray's processes reached for the network: {others}"
