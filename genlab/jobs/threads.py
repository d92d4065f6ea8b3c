"""How a training process uses the CPU, chosen in one place, once per process (so it is fixed
for the life of a job): OpenMP reads its wait policy when torch loads, so ``quiet_openmp`` must
run before torch is imported, and a warm spare worker gets its policy when it starts.

Two policies (``bench/bench_omp.py`` measures them, ratios in the same run):
- ``"lone"``: libgomp's default, idle threads spin a moment before sleeping. Alone on a quiet
  machine that trains fastest (issue 21: 9.0 s instead of 11.7 s for 10 epochs of the conv VAE
  with PASSIVE, 2 cores), but spinning threads that compete with other busy processes make
  everything slower (bench_omp under load: 2-4x slower than PASSIVE).
- ``"shared"``: ``OMP_WAIT_POLICY=PASSIVE``, idle threads sleep at once: what protects several
  jobs (or a busy machine) sharing few cores.
``worker_policy`` picks "lone" only when no other job trains and the machine is idle. The policy
does not change a seeded run's numbers; the thread count (the job's share of the cores, see
``genlab.jobs.manager``) changes them only at the level of float rounding (tests/test_threads.py).
A policy set in the environment by whoever starts the server (``OMP_WAIT_POLICY``,
``GOMP_SPINCOUNT``) is always kept."""
from __future__ import annotations

import os
import time

POLICIES = {"lone": {}, "shared": {"OMP_WAIT_POLICY": "PASSIVE"}}
WORKER_ENV = POLICIES["shared"]  # scripts and tests that train beside others
IDLE_LOAD = 0.5  # the machine counts as idle below this 1-minute load per core


def cores() -> int:
    """The CPU cores this process may use (its affinity; a container's limit)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_policy(busy_jobs: int, load: float | None = None, n_cores: int | None = None) -> str:
    """"lone" when no job trains now and the machine is idle (other processes than this one
    keep under ``IDLE_LOAD`` per core busy now), else "shared"."""
    if busy_jobs > 0:
        return "shared"
    if load is None:
        load = busy_elsewhere()
        if load is None:
            return "shared"
    return "lone" if load < IDLE_LOAD * (n_cores or cores()) else "shared"


def busy_elsewhere(window: float = 0.2) -> float | None:
    """How many cores processes other than this one keep busy now, over ``window`` seconds
    (/proc/stat less this process's own time); the 1-minute load average where there is no
    /proc. Not the load average where there is: a job that has just ended keeps it high for a
    minute, and the next job would get the policy for a busy machine."""
    def read() -> tuple[int, int, float]:
        with open("/proc/stat") as fh:
            ticks = [int(v) for v in fh.readline().split()[1:]]
        t = os.times()
        return sum(ticks), ticks[3] + ticks[4], t.user + t.system  # all, idle + iowait, own s
    try:
        a = read()
        time.sleep(window)
        b = read()
    except (OSError, ValueError, IndexError):
        try:
            return os.getloadavg()[0]
        except (AttributeError, OSError):
            return None
    total = b[0] - a[0]
    if total <= 0:
        return None
    busy = (total - (b[1] - a[1])) / total * (os.cpu_count() or 1)  # cores busy, all processes
    return max(0.0, busy - (b[2] - a[2]) / window)


def quiet_openmp(env: dict | None = None, policy: str = "shared") -> dict:
    """Set ``policy``'s variables in ``env`` (default: this process's environment) where unset."""
    env = os.environ if env is None else env
    for key, value in POLICIES[policy].items():
        env.setdefault(key, value)
    return env


def name_process(name: str) -> None:
    """The name ``ps`` and ``top`` show for this process (Linux): genlab-spare / genlab-train."""
    try:
        with open("/proc/self/comm", "w") as fh:
            fh.write(name[:15])
    except OSError:
        pass
