"""A classroom on one server: 8 browser sessions (AppTest) press Start at once. All finish or
wait in the queue with a visible position, none crashes, histories do not mix, no thread is left
behind; an out-of-memory error in one job is reported to its owner and the others go on."""
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import torch
from _helpers import eventually
from app_procs import proc_stats
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.local_script_runner import LocalScriptRunner

from genlab.jobs import JobManager, JobSpec, SessionJobs, get_manager
from genlab.models import ModelConfig
from genlab.store.checkpoint import read_meta
from genlab.train import TrainConfig

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SESSIONS = 8


def _texts(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "success", "info", "warning", "error")
             for e in at.get(kind) if isinstance(getattr(e, "value", None), str)]
    return "\n".join(parts + [p.text for p in at.get("progress")])


@pytest.fixture
def distinct_sessions(monkeypatch):
    """AppTest runs every instance under the one id "test session id"; a real server gives each
    browser tab its own. Restore that, so session-scoped resources are per AppTest instance."""
    original = LocalScriptRunner.__init__

    def init(self, script_path, session_state, *args, **kwargs):
        original(self, script_path, session_state, *args, **kwargs)
        self._session_id = f"apptest-{id(session_state)}"

    monkeypatch.setattr(LocalScriptRunner, "__init__", init)


def _start(i: int) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("pages/train.py")
    at.run()
    at.selectbox(key="tr_source").set_value("digits").run()
    at.radio(key="tr_kind").set_value("vae")
    at.radio(key="tr_arch").set_value("mlp")
    at.number_input(key="tr_epochs_vae").set_value(2 + i)  # each session its own length
    at.number_input(key="tr_seed").set_value(100 + i)
    at.text_input(key="tr_name").set_value(f"class-{i}")
    at.run()
    return at


def worker_children() -> dict[int, str]:
    """This process's child processes that are GenLab workers: pid -> name (``ps`` shows it)."""
    return {pid: f"{name} ({rest[0]})" for pid, (name, rest) in proc_stats().items()
            if int(rest[1]) == os.getpid() and name.startswith("genlab-")}


def test_eight_sessions_train_at_once(distinct_sessions, monkeypatch):
    before = {t.ident for t in threading.enumerate()}
    manager = get_manager()
    monkeypatch.setattr(manager, "max_jobs", 1)  # so some students surely wait in the queue
    sessions = [_start(i) for i in range(SESSIONS)]
    for at in sessions:  # everyone presses Start
        at.button(key="tr_start").click().run()
    jobs = {}
    for i in range(SESSIONS):
        jobs[i] = [j for j in manager.jobs() if j.spec.name == f"class-{i}"][-1]
    owners = {j.owner for j in jobs.values()}
    assert len(owners) == SESSIONS  # each job belongs to its own session
    assert manager.running_count() <= manager.max_jobs
    queued = [i for i, j in jobs.items() if j.snapshot().state == "queued"]
    assert queued  # seven runs cannot all be over by the time the last student pressed Start
    at = sessions[queued[-1]]  # a waiting student sees where they stand
    at.run()
    assert re.search(r"position \d+ in the queue", _texts(at)), _texts(at)
    assert eventually(lambda: all(not j.snapshot().active for j in jobs.values()), 300)
    for i, at in enumerate(sessions):
        snap = jobs[i].snapshot()
        assert snap.state == "done", [(k, j.snapshot().state, j.snapshot().message, j.pid) for k, j in jobs.items()]
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert f"class-{i}" in _texts(at)
        meta = read_meta(snap.saved_path)
        assert meta["train"]["seed"] == 100 + i and meta["train"]["epochs"] == 2 + i
        steps = [r["step"] for r in meta["history"]]
        assert steps == sorted(steps) and steps[-1] == snap.total_steps  # its own run only
        assert meta["epochs"] == 2 + i
    assert eventually(lambda: not [t for t in threading.enumerate()
                              if t.name.startswith("genlab-job-") and t.ident not in before], 10)
    # every training process has ended and was reaped; at most the one warm spare waits
    assert eventually(lambda: len(worker_children()) <= 1 and all(
        n.startswith("genlab-spare") for n in worker_children().values()), 30), worker_children()


def test_out_of_memory_in_one_job_is_reported_and_the_others_go_on(digits, monkeypatch):
    """The worker-side code (genlab.worker.run_training, run here in this process so that its
    ``fit`` can be patched) turns an out-of-memory error into words and keeps the last good
    weights; meanwhile another student's job in its worker process finishes."""
    import genlab.jobs.worker as worker
    from genlab.jobs import Job

    real_fit = worker.fit

    def fit_with_oom(model, data, cfg, control=None, on_event=None):
        calls = {"n": 0}

        def hook(*_):  # this student's GPU runs out of memory mid-epoch
            calls["n"] += 1
            if calls["n"] > 5:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        model.decoder.register_forward_hook(hook)
        return real_fit(model, data, cfg, control, on_event)

    monkeypatch.setattr(worker, "fit", fit_with_oom)
    mgr = JobManager(max_jobs=2)
    cfg = ModelConfig("vae", "mlp", latent_dim=4, hidden=(32,))
    good = SessionJobs(mgr).submit(JobSpec("digits", cfg, TrainConfig(epochs=3, seed=1), "fine"), digits)
    bad = Job(JobSpec("digits", cfg, TrainConfig(epochs=3, seed=666, log_every=2), "oom"), digits)
    bad.run()
    assert good.wait(60)
    assert bad.snapshot().state == "failed" and "ran out of memory" in bad.snapshot().message
    assert good.snapshot().state == "done" and good.snapshot().saved_path.exists()


SERVER_WITH_A_QUEUE = textwrap.dedent("""
    import json, time
    from genlab.jobs import runner
    from genlab.jobs import JobManager, JobSpec
    from genlab.models import ModelConfig
    from genlab.train import TrainConfig
    if __name__ == "__main__":
        mgr = JobManager(max_jobs=1)
        cfg = ModelConfig("vae", "mlp", latent_dim=4, hidden=(32,))
        jobs = [mgr.submit(JobSpec("digits", cfg, TrainConfig(epochs=5000, progress_every_s=0.05),
                                   f"queued-{i}")) for i in range(3)]
        while jobs[0].snapshot().step == 0 and jobs[0].snapshot().active:
            time.sleep(0.05)
        spare = runner.spare()
        while spare is not None and not spare.warm(0.1):
            pass
        print(json.dumps({"states": [j.snapshot().state for j in jobs], "worker": jobs[0].pid,
                          "spare": spare.pid if spare else None}), flush=True)
        # the end of the script: the interpreter exits as a stopped server does (atexit)
""")


def genlab_processes(models: Path) -> list[str]:
    """Processes, anywhere, started with this GENLAB_MODELS (the server and its workers)."""
    found = []
    for env in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"GENLAB_MODELS={models}".encode() in env.read_bytes().split(b"\0"):
                found.append(f"{env.parent.name} {(env.parent / 'comm').read_text().strip()}")
        except OSError:
            continue
    return found


def test_a_server_that_stops_with_jobs_in_the_queue_leaves_no_process(tmp_path):
    """The server exits (atexit, as after Ctrl-C or SIGTERM) while one job trains, two wait and
    a spare is warm: the running job saves what it learned, nothing new is started, and no
    worker process is left."""
    script, models = tmp_path / "server.py", tmp_path / "models"
    script.write_text(SERVER_WITH_A_QUEUE)
    env = {**os.environ, "GENLAB_MODELS": str(models), "GENLAB_OFFLINE": "1",
           "PYTHONPATH": str(Path(APP).parent)}
    server = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                            text=True, timeout=300)
    assert server.returncode == 0, server.stderr[-3000:]
    info = json.loads(server.stdout.splitlines()[0])
    assert info["states"] == ["running", "queued", "queued"] and info["spare"], info
    assert eventually(lambda: not genlab_processes(models), 30), genlab_processes(models)
    meta = read_meta(models / "queued-0.safetensors")
    assert meta["status"] == "stopped" and meta["history"]
    assert {p.name.split(".")[0] for p in models.iterdir()} == {"queued-0"}  # no other run began
