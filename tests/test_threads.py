"""The CPU policy of a training worker (genlab.jobs.threads): which OpenMP policy a worker gets,
and that neither the policy nor the thread count changes what a seeded run learns (the policy:
not at all; the thread count: only at the level of float rounding)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _helpers import eventually

from genlab.jobs.threads import POLICIES, quiet_openmp, worker_policy

ROOT = Path(__file__).resolve().parent.parent
RUN = """
import json, torch
from genlab.data import load_dataset
from genlab.models import ModelConfig, build_model
from genlab.train import TrainConfig, fit
torch.set_num_threads({threads})
data = load_dataset("digits")
model = build_model(ModelConfig(kind="vae", arch="conv", latent_dim=4, channels=data.shape[0],
                                image_size=data.shape[1]), seed=3)
res = fit(model, data, TrainConfig(epochs=2, batch_size=64, seed=3, device="cpu",
                                   log_every=5, progress_every_s=1e9))
print(json.dumps([r["total"] for r in res.history] + [res.test.get("total")]))
"""


def losses(policy: str, threads: int) -> list[float]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env = quiet_openmp({**env, "PYTHONPATH": str(ROOT), "GENLAB_OFFLINE": "1"}, policy)
    out = subprocess.run([sys.executable, "-c", RUN.format(threads=threads)], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_policy_follows_the_situation():
    assert worker_policy(0, load=0.1, n_cores=2) == "lone"  # alone on an idle machine
    assert worker_policy(1, load=0.1, n_cores=2) == "shared"  # another job trains
    assert worker_policy(0, load=3.0, n_cores=2) == "shared"  # a busy machine
    env = quiet_openmp({}, "shared")
    assert env == {"OMP_WAIT_POLICY": "PASSIVE"} and quiet_openmp({}, "lone") == POLICIES["lone"]
    assert quiet_openmp({"OMP_WAIT_POLICY": "ACTIVE"}, "shared") == {"OMP_WAIT_POLICY": "ACTIVE"}


def test_the_machine_counts_as_busy_from_other_processes_not_this_one():
    """A spinning process elsewhere makes the machine busy; this process's own work (the server
    itself) does not; a job that ended a second ago weighs nothing (no 1-minute average)."""
    import threading
    import time

    from genlab.jobs.threads import busy_elsewhere
    spin = subprocess.Popen([sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() - t < 30: pass"])
    try:
        assert eventually(lambda: busy_elsewhere(0.3) >= 0.7, 20), "a spinning process not seen"
    finally:
        spin.kill()
        spin.wait()
    stop = threading.Event()

    def own():
        while not stop.is_set():
            sum(range(10_000))
    th = threading.Thread(target=own)
    th.start()
    try:
        time.sleep(0.2)
        assert eventually(lambda: busy_elsewhere(0.3) < 0.7, 20), "this process counted as other load"
    finally:
        stop.set()
        th.join()
    assert eventually(lambda: worker_policy(0, n_cores=2) == "lone", 20)  # a second after the spin


@pytest.mark.slow
def test_the_policy_and_thread_count_do_not_change_a_seeded_run():
    shared, lone = losses("shared", 2), losses("lone", 2)
    assert len(shared) > 5 and shared == lone  # the wait policy: the very same numbers
    one = losses("shared", 1)  # another reduction order: float rounding, not another run
    assert len(one) == len(shared)
    assert one == pytest.approx(shared, rel=1e-3)
