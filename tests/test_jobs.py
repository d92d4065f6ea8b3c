"""Background training jobs: live history, stop/pause within a second, the queue, session
end, safe model names — on real data (scikit-learn's digits)."""
import os
import signal
import time

import pytest

import genlab.jobs as jobs_mod
import genlab.jobs.spec as spec_mod
from genlab.jobs import Job, JobManager, JobSpec, SessionJobs, unique_model_path
from genlab.jobs import runner as runners
from genlab.models import ModelConfig, build_model
from genlab.store.catalog import list_models, user_models_dir
from genlab.store.checkpoint import load_checkpoint, read_meta, save_checkpoint
from genlab.train import TrainConfig


def spec(name="job-test", kind="vae", epochs=3, dataset="digits", **kw) -> JobSpec:
    cfg = ModelConfig(kind, "mlp", latent_dim=kw.pop("latent", 4), hidden=(64,))
    return JobSpec(dataset, cfg, TrainConfig(epochs=epochs, batch_size=64, seed=0, log_every=5,
                                             progress_every_s=0.05, grid_every_s=0.2, **kw), name)


@pytest.fixture(autouse=True)
def no_job_outlives_its_test(monkeypatch):
    """Whatever a test asserts, its jobs end with it (a failure must not load the next tests)."""
    managers = []
    init = JobManager.__init__

    def tracked(self, *args, **kwargs):
        init(self, *args, **kwargs)
        managers.append(self)
    monkeypatch.setattr(JobManager, "__init__", tracked)
    yield
    jobs = [j for m in managers for j in m.jobs()]
    for j in jobs:
        j.stop()
    for j in jobs:
        j.wait(60)


def wait_for(cond, timeout=60.0, step=0.02):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if cond():
            return True
        time.sleep(step)
    return False


def test_job_history_grows_then_model_is_saved(digits):
    job = JobManager(max_jobs=1).submit(spec("digits-vae-job", epochs=4), digits)
    assert wait_for(lambda: len(job.snapshot().history) >= 1)
    first = job.snapshot()
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.state == "done", snap.message
    assert len(snap.history) > len(first.history) and snap.step == snap.total_steps
    assert {"recon", "kl", "total", "images_per_s"} <= set(snap.history[-1])
    assert snap.grid is not None and snap.grid.ndim == 3 and len(snap.test_history) == 4
    assert snap.saved_path.parent == user_models_dir() and "saved as 'digits-vae-job" in snap.message
    model, meta = load_checkpoint(snap.saved_path)
    assert meta["dataset"]["name"] == "digits" and meta["status"] == "done"
    assert meta["history"] and meta["test"]["total"] > 0 and model.config.latent_dim == 4
    assert snap.saved_path.stem in {m.name for m in list_models()}


def frozen(job, seconds: float):
    """A condition: the step count did not move over the last ``seconds`` of polling."""
    seen: list[tuple[float, int]] = []

    def check() -> bool:
        now, step = time.perf_counter(), job.snapshot().step
        if seen and seen[-1][1] != step:
            seen.clear()
        seen.append((now, step))
        return now - seen[0][0] >= seconds
    return check


def test_stop_and_pause_take_effect_within_a_second(digits):
    job = JobManager(max_jobs=1).submit(spec("stop-me", epochs=5000), digits)
    assert wait_for(lambda: job.snapshot().step > 20)
    job.pause()
    assert job.snapshot().state == "paused"
    assert wait_for(frozen(job, 0.8), timeout=10), "the step count kept moving after Pause"
    s2 = job.snapshot()
    assert s2.state == "paused"
    job.resume()
    assert wait_for(lambda: job.snapshot().step > s2.step, timeout=1.0)
    t0 = time.perf_counter()
    job.stop()
    now = job.snapshot()  # said at once, before the worker has saved and ended
    assert now.state == "stopped" or now.message.startswith("Stopping"), now.message
    assert wait_for(lambda: job.snapshot().state == "stopped", timeout=5.0)
    assert time.perf_counter() - t0 < 1.0, "Stop must take effect within a second"
    snap = job.snapshot()
    assert snap.saved_path is not None and "Stopped early" in snap.message


def test_queue_caps_concurrent_jobs_and_shows_position(digits):
    mgr = JobManager(max_jobs=1)
    a = mgr.submit(spec("queue-a", epochs=5000), digits)
    b = mgr.submit(spec("queue-b", epochs=5000), digits)
    c = mgr.submit(spec("queue-c", epochs=5000), digits)
    assert wait_for(lambda: a.snapshot().state == "running")
    assert b.snapshot().state == "queued" and b.snapshot().queue_position == 1
    assert c.snapshot().queue_position == 2 and mgr.running_count() == 1
    c.stop()  # leaving the queue never trains
    assert wait_for(lambda: c.snapshot().state == "stopped") and c.snapshot().step == 0
    a.stop()
    assert wait_for(lambda: b.snapshot().state == "running")
    assert a.snapshot().state == "stopped" and mgr.running_count() == 1
    b.stop()
    assert b.wait(60)


def test_session_end_stops_its_jobs_only(digits):
    mgr = JobManager(max_jobs=2)
    mine, other = SessionJobs(mgr), SessionJobs(mgr)
    job = mine.submit(spec("session-a", epochs=5000), digits)
    keep = other.submit(spec("session-b", epochs=5000), digits)
    assert wait_for(lambda: job.snapshot().step > 0 and keep.snapshot().step > 0)
    assert mine.current() is job and other.jobs() == [keep]
    mine.close()
    assert job.wait(30) and job.snapshot().state == "stopped"
    assert keep.snapshot().active
    with pytest.raises(RuntimeError, match="session has ended"):
        mine.submit(spec("late"), digits)
    keep.stop()
    assert keep.wait(60)


def test_names_are_sanitized_and_never_overwrite(tmp_path, monkeypatch):
    shipped = tmp_path / "weights"
    model = build_model(ModelConfig("ae", "mlp", 1, 8, 2, (8,)))
    save_checkpoint(shipped / "mnist-vae", model)
    monkeypatch.setattr(spec_mod, "WEIGHTS_DIR", shipped)
    assert unique_model_path("mnist-vae").name == "mnist-vae-2.safetensors"
    assert unique_model_path("MNIST-VAE").stem == "MNIST-VAE-2"  # case-insensitive file systems
    path = unique_model_path("../../etc/my model!")
    assert path.parent == user_models_dir() and path.stem == "etc-my-model"
    save_checkpoint(path, model)
    assert unique_model_path("../../etc/my model!").stem == "etc-my-model-2"


def test_failures_are_reported_in_words(tmp_path):
    bad = Job(spec("bad-data", dataset=str(tmp_path / "nowhere")))
    bad.run()
    snap = bad.snapshot()
    assert snap.state == "failed" and "Unknown data set" in snap.message and snap.saved_path is None
    broken = Job(JobSpec("digits", ModelConfig("vae", "conv", latent_dim=4), TrainConfig(epochs=1),
                         "bad-conv", image_size=10))
    broken.run()
    assert broken.snapshot().state == "failed" and "divisible by 4" in broken.snapshot().message


def test_default_cap_is_sized_to_the_machine(monkeypatch):
    import torch
    monkeypatch.setenv("GENLAB_MAX_JOBS", "3")
    assert JobManager().max_jobs == 3
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for cores, cap in [(1, 1), (2, 1), (3, 1), (8, 4), (None, 1)]:  # one job per two cores
        monkeypatch.setattr(os, "cpu_count", lambda c=cores: c)
        monkeypatch.setenv("GENLAB_MAX_JOBS", "abc")  # not a number: the machine decides
        assert jobs_mod.default_max_jobs() == cap
        monkeypatch.delenv("GENLAB_MAX_JOBS")
        assert jobs_mod.default_max_jobs() == cap
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    assert jobs_mod.default_max_jobs() == 6  # two per GPU
    monkeypatch.setenv("GENLAB_MAX_JOBS", "0")
    assert jobs_mod.default_max_jobs() == 1


def test_a_diverging_job_fails_and_saves_the_last_good_weights(digits, monkeypatch):
    """The loss turns NaN after 20 training steps (a poisoned decoder output): the job ends
    failed, says why, and the saved model is the last good weights, loadable."""
    import torch

    import genlab.jobs.worker as worker
    real_fit, good = worker.fit, {}

    def poisoned_fit(model, data, cfg, control=None, on_event=None):
        calls = {"n": 0}

        def hook(module, args, out):
            if module.training:
                calls["n"] += 1
                if calls["n"] > 20:
                    return out * float("nan")
        model.decoder.register_forward_hook(hook)

        def spy(ev):  # a progress event is sent only after finite losses: these weights are good
            if ev.kind == "progress":
                good["state"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
                good["step"] = ev.step
            on_event(ev)
        return real_fit(model, data, cfg, control, spy)

    monkeypatch.setattr(worker, "fit", poisoned_fit)
    job = Job(spec("diverges", epochs=50), digits)
    job.run()
    snap = job.snapshot()
    assert snap.state == "failed" and "became NaN or infinite" in snap.message, snap.message
    assert snap.saved_path is not None and f"Saved as '{snap.saved_path.stem}'" in snap.message
    model, meta = load_checkpoint(snap.saved_path)
    assert meta["status"] == "failed" and "lower learning rate" in meta["message"]
    assert 0 < good["step"] <= 20 and meta["history"][-1]["step"] == good["step"]
    saved = model.state_dict()
    assert saved.keys() == good["state"].keys()
    assert all(torch.equal(saved[k], good["state"][k]) for k in saved)


def test_a_killed_worker_is_reported_and_the_others_go_on(digits):
    """SIGKILL one student's training process mid-run: its owner is told in words what happened
    and what was kept (the model of the last finished epoch, marked incomplete); the other
    student's job goes on; the owner starts a new run at once; no zombie is left."""
    mgr = JobManager(max_jobs=2)
    mine, other = SessionJobs(mgr), SessionJobs(mgr)
    job = mine.submit(spec("crash-me", epochs=5000), digits)
    keep = other.submit(spec("crash-other", epochs=5000), digits)
    assert wait_for(lambda: keep.snapshot().step > 0, timeout=180), keep.snapshot().message
    assert wait_for(lambda: job.snapshot().epoch >= 2 and job.snapshot().saved_path is not None,
                    timeout=180), job.snapshot().message
    partial = job.snapshot().saved_path
    assert read_meta(partial)["status"] == "incomplete"
    pid = job.pid
    os.kill(pid, signal.SIGKILL)
    assert job.wait(30)
    snap = job.snapshot()
    assert snap.state == "failed" and not snap.active
    assert "The training process died (it was killed by signal 9 (SIGKILL)" in snap.message
    assert f"is kept as '{partial.stem}' (marked incomplete)" in snap.message
    assert "start a new run" in snap.message and snap.saved_path == partial
    model, meta = load_checkpoint(partial)  # the partial model loads
    assert meta["status"] == "incomplete" and meta["epochs"] >= 1 and meta["history"]
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=30), "a zombie was left"
    before = keep.snapshot().step
    assert wait_for(lambda: keep.snapshot().step > before, timeout=30) and keep.snapshot().active
    again = mine.submit(spec("crash-again", epochs=2), digits)  # at once: no slot is held
    assert again.wait(60) and again.snapshot().state == "done", again.snapshot().message
    keep.stop()
    assert keep.wait(60) and keep.snapshot().state == "stopped"


def test_a_checkpoint_written_but_not_announced_is_still_kept_in_the_message(tmp_path):
    """A worker killed between saving its checkpoint and sending the message (a busy machine
    makes that window wide): the owner is told what is on disk, not "nothing was saved"."""
    from genlab.jobs.live import Live
    model = build_model(ModelConfig(kind="ae", arch="mlp", image_size=8, channels=1, latent_dim=2))
    path = save_checkpoint(tmp_path / "unannounced", model, status="incomplete", epochs=3.0)
    live = Live()
    live.apply({"kind": "crash", "code": -signal.SIGKILL, "path": str(path)})
    assert live.state == "failed" and live.saved_path == path
    assert "The model saved after epoch 3 is kept as 'unannounced' (marked incomplete)" in live.message
    nothing = Live()  # a path with no checkpoint, or a finished model's file, is not claimed
    nothing.apply({"kind": "crash", "code": -signal.SIGKILL, "path": str(tmp_path / "none.safetensors")})
    assert "Nothing was saved" in nothing.message and nothing.saved_path is None


def test_evaluating_is_said_and_the_rate_is_smoothed():
    """The shown images/s is the median of recent training rates (an outlier reading does not
    move it), and the test-set evaluation is announced while it runs."""
    job = Job(spec("rates"))

    def ev(kind, rate=0.0, step=1):
        return {"kind": "event", "event": {
            "kind": kind, "step": step, "total_steps": 100, "epoch": step / 10, "epochs": 10,
            "losses": {"total": 1.0}, "test": None, "images_per_s": rate, "eta_s": 1.0,
            "elapsed_s": 1.0, "grid": None, "message": "CPU"}}
    job._apply(ev("start"))
    for i, rate in enumerate([2000, 2100, 150, 1900, 2050, 9000, 2000]):
        job._apply(ev("progress", rate, i + 1))
    assert 1900 <= job.snapshot().images_per_s <= 2100
    job._apply(ev("evaluating", step=8))
    assert job.snapshot().message == "Evaluating on the test set..."
    job._apply(ev("progress", 2000, 9))
    assert job.snapshot().message == "Training on CPU." and job.snapshot().state == "running"


def test_the_job_after_a_queued_wait_starts_on_the_warm_spare(digits):
    """While a job waits in the queue, a spare worker imports torch beside the running job; when
    the slot frees, the waiting job is handed that warm process, not a cold one."""
    mgr = JobManager(max_jobs=1)
    first = mgr.submit(spec("warm-first", epochs=5000), digits)
    second = mgr.submit(spec("warm-second", epochs=2), digits)
    assert wait_for(lambda: first.snapshot().step > 0, 180), first.snapshot().message
    assert second.snapshot().state == "queued" and second.snapshot().queue_position == 1
    assert wait_for(lambda: runners.spare() is not None and runners.spare().warm(0.1), 180), \
        "no warm spare was prepared for the waiting job"
    spare_pid = runners.spare().pid
    assert spare_pid != first.pid
    first.stop()
    assert second.wait(120) and second.snapshot().state == "done", second.snapshot().message
    assert second.pid == spare_pid and second._runner.from_spare
    assert first.snapshot().state == "stopped"


def test_a_snapshot_is_rebuilt_only_when_the_job_changed():
    """Pages ask every second: an unchanged job gives the same data without rebuilding it; a
    new message or a pause gives fresh data; the grid's PNG is encoded once per grid."""
    import io

    import numpy as np
    from PIL import Image
    job = Job(spec("cached"))
    grid = np.zeros((10, 20, 3), np.uint8)
    grid[:, :10] = 255

    def ev(kind, step, grid=None):
        return {"kind": "event", "event": {
            "kind": kind, "step": step, "total_steps": 10, "epoch": step / 10, "epochs": 1,
            "losses": {"total": 1.0}, "test": None, "images_per_s": 5.0, "eta_s": 1.0,
            "elapsed_s": 1.0, "grid": grid, "message": "CPU"}}
    job._apply(ev("start", 0))
    a, b = job.snapshot(300), job.snapshot(300)
    assert a is not b and a.history is b.history and a.state == "running"  # copies, one build
    job._apply(ev("progress", 1, grid))
    c = job.snapshot(300)
    assert c.history is not a.history and len(c.history) == 1 and c.step == 1
    job.pause()
    assert job.snapshot(300).state == "paused" and job.snapshot(300).history == c.history
    job.resume()
    assert job.snapshot(300).state == "running"
    png = job.grid_png(target=80)
    assert png is job.grid_png(target=80)  # encoded once for this grid
    img = np.asarray(Image.open(io.BytesIO(png)))
    assert img.shape == (40, 80, 3) and img[0, 0].tolist() == [255] * 3 and img[0, -1].tolist() == [0] * 3
    job._apply(ev("progress", 2, grid[:, ::-1].copy()))
    assert job.grid_png(target=80) != png
