"""Worker processes end with their owner: a browser session that ends, and a server that dies
without any chance to clean up (SIGKILL). No worker process is left running, none is left a
zombie of ours, and what was learned is saved."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from _helpers import eventually
from app_procs import proc_stats

from genlab.jobs import JobManager, JobSpec, SessionJobs
from genlab.models import ModelConfig
from genlab.store.checkpoint import read_meta
from genlab.train import TrainConfig

ROOT = Path(__file__).resolve().parent.parent


def spec(name: str, epochs: int = 5000) -> JobSpec:
    return JobSpec("digits", ModelConfig("vae", "mlp", latent_dim=4, hidden=(64,)),
                   TrainConfig(epochs=epochs, batch_size=64, progress_every_s=0.05), name)


def proc_state(pid: int) -> tuple[str, int] | None:
    """(state letter, parent pid) of a process, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = text[text.rindex(")") + 2:].split()
    return rest[0], int(rest[1])


def children(pid: int) -> list[int]:
    return [child for child, (_, rest) in proc_stats().items() if int(rest[1]) == pid]


def running(pid: int) -> bool:
    st = proc_state(pid)
    return st is not None and st[0] not in "ZX"


def test_ending_the_session_ends_its_worker_and_reaps_it():
    mgr = JobManager(max_jobs=2)
    session = SessionJobs(mgr)
    job = session.submit(spec("session-ends"))
    try:
        _session_ends(session, job)
    finally:
        job.stop()
        job.wait(60)


def _session_ends(session: SessionJobs, job) -> None:
    assert eventually(lambda: job.snapshot().step > 0, 60), job.snapshot().message
    pid = job.pid
    assert proc_state(pid)[1] == os.getpid() and Path(f"/proc/{pid}/comm").read_text().strip() == "genlab-train"
    session.close()
    assert job.wait(60) and job.snapshot().state == "stopped"
    assert eventually(lambda: proc_state(pid) is None, 10), f"worker {pid} left: {proc_state(pid)}"
    assert read_meta(job.snapshot().saved_path)["status"] == "stopped"

    def left() -> dict[int, str]:  # multiprocessing's own resource tracker aside
        return {p: Path(f"/proc/{p}/comm").read_text().strip() for p in children(os.getpid())
                if running(p) and b"resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes()}
    # at most the warm spare (named once its Python has started)
    assert eventually(lambda: list(left().values()) in ([], ["genlab-spare"]), 60), left()


PARENT = textwrap.dedent("""
    import json, sys, time
    from genlab.jobs import JobManager, JobSpec
    from genlab.models import ModelConfig
    from genlab.train import TrainConfig
    if __name__ == "__main__":
        mgr = JobManager(max_jobs=1)
        job = mgr.submit(JobSpec("digits", ModelConfig("vae", "mlp", latent_dim=4, hidden=(64,)),
                                 TrainConfig(epochs=5000, batch_size=64, progress_every_s=0.05),
                                 "orphaned"))
        while job.snapshot().step == 0 and job.snapshot().active:
            time.sleep(0.05)
        print(json.dumps({"worker": job.pid, "state": job.snapshot().state}), flush=True)
        time.sleep(600)
""")


def test_workers_end_by_themselves_when_the_server_is_killed(tmp_path):
    """SIGKILL the parent (no atexit, no signal handler runs): its worker notices its control
    pipe closed, stops, saves what it learned, and exits; the warm spare exits too."""
    script = tmp_path / "server.py"
    script.write_text(PARENT)
    models = tmp_path / "models"
    env = {**os.environ, "GENLAB_MODELS": str(models), "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(parent.stdout.readline())
        assert info["state"] == "running", info
        kids = children(parent.pid)
        assert info["worker"] in kids
    finally:
        parent.kill()
        parent.wait(10)
    assert eventually(lambda: not any(running(p) for p in kids), 20), \
        {p: proc_state(p) for p in kids}
    target = models / "orphaned.safetensors"
    assert eventually(target.exists, 5)
    meta = read_meta(target)
    assert meta["status"] == "stopped" and meta["history"], meta["status"]
