"""How a process that trains beside others uses the CPU, set in one place. Import this module
and call ``quiet_openmp()`` before torch is imported: idle OpenMP threads then sleep instead of
spinning. On a shared 2-core machine spinning threads made concurrent training 5-20x slower
(about 10% slower alone), so every training worker, the weights build and the tests use it;
the web server itself trains nothing and needs no setting."""
from __future__ import annotations

import os

WORKER_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}


def quiet_openmp(env: dict | None = None) -> dict:
    """Set ``WORKER_ENV`` in ``env`` (default: this process's environment) where unset."""
    env = os.environ if env is None else env
    for key, value in WORKER_ENV.items():
        env.setdefault(key, value)
    return env


def name_process(name: str) -> None:
    """The name ``ps`` and ``top`` show for this process (Linux): genlab-spare / genlab-train."""
    try:
        with open("/proc/self/comm", "w") as fh:
            fh.write(name[:15])
    except OSError:
        pass
