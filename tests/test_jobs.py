"""Background training jobs: live history, stop/pause within a second, the queue, session
end, safe model names — on real data (scikit-learn's digits)."""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: see app.py

import time

import pytest

from genlab import jobs as jobs_mod
from genlab.catalog import list_models, user_models_dir
from genlab.checkpoint import load_checkpoint, save_checkpoint
from genlab.jobs import Job, JobManager, JobSpec, SessionJobs, unique_model_path
from genlab.models import ModelConfig, build_model
from genlab.train import TrainConfig


def spec(name="job-test", kind="vae", epochs=3, dataset="digits", **kw) -> JobSpec:
    cfg = ModelConfig(kind, "mlp", latent_dim=kw.pop("latent", 4), hidden=(64,))
    return JobSpec(dataset, cfg, TrainConfig(epochs=epochs, batch_size=64, seed=0, log_every=5,
                                             progress_every_s=0.05, grid_every_s=0.2, **kw), name)


def wait_for(cond, timeout=30.0, step=0.02):
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
    assert snap.saved_path.stem in {m["name"] for m in list_models()}


def test_stop_and_pause_take_effect_within_a_second(digits):
    job = JobManager(max_jobs=1).submit(spec("stop-me", epochs=5000), digits)
    assert wait_for(lambda: job.snapshot().step > 20)
    job.pause()
    time.sleep(0.3)  # let the current batch finish
    s1 = job.snapshot()
    time.sleep(0.6)
    s2 = job.snapshot()
    assert s2.state == "paused" and s2.step == s1.step
    job.resume()
    assert wait_for(lambda: job.snapshot().step > s2.step, timeout=1.0)
    t0 = time.perf_counter()
    job.stop()
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
    assert b.wait(10)


def test_session_end_stops_its_jobs_only(digits):
    mgr = JobManager(max_jobs=2)
    mine, other = SessionJobs(mgr), SessionJobs(mgr)
    job = mine.submit(spec("session-a", epochs=5000), digits)
    keep = other.submit(spec("session-b", epochs=5000), digits)
    assert wait_for(lambda: job.snapshot().step > 0 and keep.snapshot().step > 0)
    assert mine.current() is job and other.jobs() == [keep]
    mine.close()
    assert job.wait(5) and job.snapshot().state == "stopped"
    assert keep.snapshot().active
    with pytest.raises(RuntimeError, match="session has ended"):
        mine.submit(spec("late"), digits)
    keep.stop()
    assert keep.wait(10)


def test_names_are_sanitized_and_never_overwrite(tmp_path, monkeypatch):
    shipped = tmp_path / "weights"
    model = build_model(ModelConfig("ae", "mlp", 1, 8, 2, (8,)))
    save_checkpoint(shipped / "mnist-vae", model)
    monkeypatch.setattr(jobs_mod, "WEIGHTS_DIR", shipped)
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
    monkeypatch.setenv("GENLAB_MAX_JOBS", "3")
    assert JobManager().max_jobs == 3
    monkeypatch.delenv("GENLAB_MAX_JOBS")
    assert jobs_mod.default_max_jobs() >= 1
