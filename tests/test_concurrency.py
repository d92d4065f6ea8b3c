"""A classroom on one server: 8 browser sessions (AppTest) press Start at once. All finish or
wait in the queue with a visible position, none crashes, histories do not mix, no thread is left
behind; an out-of-memory error in one job is reported to its owner and the others go on."""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import re
import threading
import time
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.local_script_runner import LocalScriptRunner

from genlab.checkpoint import read_meta
from genlab.jobs import JobManager, JobSpec, SessionJobs, get_manager
from genlab.models import ModelConfig
from genlab.train import TrainConfig

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SESSIONS = 8


def _texts(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "success", "info", "warning", "error")
             for e in at.get(kind) if isinstance(getattr(e, "value", None), str)]
    return "\n".join(parts + [p.text for p in at.get("progress")])


def _wait(cond, timeout):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


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
    at.number_input(key="tr_epochs").set_value(2 + i)  # each session its own length
    at.number_input(key="tr_seed").set_value(100 + i)
    at.text_input(key="tr_name").set_value(f"class-{i}")
    at.run()
    return at


def test_eight_sessions_train_at_once(distinct_sessions):
    before = {t.ident for t in threading.enumerate()}
    sessions = [_start(i) for i in range(SESSIONS)]
    for at in sessions:  # everyone presses Start
        at.button(key="tr_start").click().run()
    manager = get_manager()
    jobs = {}
    for i in range(SESSIONS):
        jobs[i] = [j for j in manager.jobs() if j.spec.name == f"class-{i}"][-1]
    owners = {j.owner for j in jobs.values()}
    assert len(owners) == SESSIONS  # each job belongs to its own session
    assert manager.running_count() <= manager.max_jobs
    queued = [i for i, j in jobs.items() if j.snapshot().state == "queued"]
    if queued:  # a waiting student sees where they stand
        at = sessions[queued[-1]]
        at.run()
        assert re.search(r"position \d+ in the queue", _texts(at)), _texts(at)
    assert _wait(lambda: all(not j.snapshot().active for j in jobs.values()), 300)
    for i, at in enumerate(sessions):
        snap = jobs[i].snapshot()
        assert snap.state == "done", snap.message
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert f"class-{i}" in _texts(at)
        meta = read_meta(snap.saved_path)
        assert meta["train"]["seed"] == 100 + i and meta["train"]["epochs"] == 2 + i
        steps = [r["step"] for r in meta["history"]]
        assert steps == sorted(steps) and steps[-1] == snap.total_steps  # its own run only
        assert meta["epochs"] == 2 + i
    assert _wait(lambda: not [t for t in threading.enumerate()
                              if t.name.startswith("genlab-job-") and t.ident not in before], 10)


def test_out_of_memory_in_one_job_is_reported_and_the_others_go_on(digits, monkeypatch):
    import genlab.jobs as jobs_module

    real_fit = jobs_module.fit

    def fit_with_oom(model, data, cfg, control=None, on_event=None):
        if cfg.seed == 666:  # this student's GPU runs out of memory mid-epoch
            calls = {"n": 0}

            def hook(*_):
                calls["n"] += 1
                if calls["n"] > 5:
                    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            model.decoder.register_forward_hook(hook)
        return real_fit(model, data, cfg, control, on_event)

    monkeypatch.setattr(jobs_module, "fit", fit_with_oom)
    mgr = JobManager(max_jobs=2)
    a, b = SessionJobs(mgr), SessionJobs(mgr)
    cfg = ModelConfig("vae", "mlp", latent_dim=4, hidden=(32,))
    bad = a.submit(JobSpec("digits", cfg, TrainConfig(epochs=3, seed=666), "oom"), digits)
    good = b.submit(JobSpec("digits", cfg, TrainConfig(epochs=3, seed=1), "fine"), digits)
    assert bad.wait(60) and good.wait(60)
    assert bad.snapshot().state == "failed" and "ran out of memory" in bad.snapshot().message
    assert good.snapshot().state == "done" and good.snapshot().saved_path.exists()
