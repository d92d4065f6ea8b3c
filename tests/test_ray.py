"""Jobs on a Ray cluster (genlab.jobs.ray.backend): a real Ray head on the loopback interface, started
once for this module and stopped at its end with every process it started. Through it: the CLI
trains and the checkpoint lands here, a Job streams progress and obeys Pause / Stop, a SIGKILLed
Ray worker is reported plainly, an image folder is shipped to the worker, the app's manager uses
Ray when GENLAB_RAY_ADDRESS is set (an alarm raised on a Ray worker reaches the Train page), and
without it Ray is never imported.

Skipped only when ray is not installed and CI is not true (.ci/run installs requirements-ray.txt).
"""
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _ray_head import ray_head_fixture, wait_for  # noqa: F401 (the fixture ray_head)
from test_app import configure, job_named, page

from genlab.jobs import JobManager, JobSpec, SessionJobs
from genlab.models import ModelConfig
from genlab.store.catalog import user_models_dir
from genlab.store.checkpoint import load_checkpoint, read_meta
from genlab.train import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
HAVE_RAY = importlib.util.find_spec("ray") is not None
needs_ray = pytest.mark.skipif(not HAVE_RAY and os.environ.get("CI", "").lower() != "true",
                               reason="ray is not installed (pip install -r requirements-ray.txt)")


def spec(name: str, epochs: int = 3000, dataset: str = "digits") -> JobSpec:
    return JobSpec(dataset, ModelConfig("vae", "mlp", latent_dim=4, hidden=(64,)),
                   TrainConfig(epochs=epochs, batch_size=64, seed=0, log_every=5,
                               progress_every_s=0.05, grid_every_s=0.2), name)


@pytest.fixture
def ray_jobs(ray_head):
    """Submit jobs to the head through a manager of RayRunners; whatever a failing test left
    running is stopped, so the next test finds the cluster free."""
    from genlab.jobs.ray.backend import RayRunner
    mgr = JobManager(max_jobs=2, runner_factory=lambda: RayRunner(ray_head))
    yield mgr
    for job in mgr.jobs():
        job.stop()
    for job in mgr.jobs():
        job.wait(60)


def free_cpus() -> float:
    import ray
    return ray.available_resources().get("CPU", 0.0)


@needs_ray
def test_cli_trains_through_the_head_and_the_checkpoint_lands_here(ray_head, tmp_path):
    out = tmp_path / "on-ray"
    # the command a user types: if --ray went missing from the CLI, this fails (argparse exits 2)
    # --conditional: the Ray path builds its configs as the local CLI does (it once dropped the
    # classes and trained an unconditional model)
    cmd = [sys.executable, "-m", "genlab", "train", "--model", "vae", "--dataset", "digits",
           "--epochs", "2", "--conditional", "--out", str(out), "--ray", ray_head]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]
    # the same terminal printer as a local run: each epoch's test numbers, the outcome, the file
    lines = stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["epoch 1", "epoch 2", "done"], stdout
    assert lines[1].startswith("epoch 2: test recon") and lines[2].startswith("done: Finished after 2.00 epochs")
    assert lines[-1] == f"saved {out}.safetensors", stdout
    worker = [line for line in stderr.splitlines() if line.startswith("Ray worker: process ")]
    assert worker and "on node 127.0.0.1" in worker[0]
    assert int(worker[0].split()[3]) != proc.pid  # it trained in a Ray worker, not in the CLI
    model, meta = load_checkpoint(f"{out}.safetensors")
    assert meta["status"] == "done" and meta["epochs"] == 2 and meta["dataset"]["name"] == "digits"
    assert meta["test"]["total"] > 0 and model.config.kind == "vae" and model.config.num_classes == 10
    assert wait_for(lambda: free_cpus() == 2, 30)  # its actor was released


@needs_ray
def test_job_streams_progress_pauses_and_stops(ray_jobs, digits):
    job = ray_jobs.submit(spec("ray-stream"), digits)
    assert wait_for(lambda: len(job.snapshot().history) >= 3 and job.snapshot().grid is not None
                    and job.snapshot().test_history, 180), job.snapshot().message
    snap = job.snapshot()
    assert snap.state == "running" and snap.total_steps > snap.step > 0 and snap.images_per_s > 0
    assert {"recon", "kl", "total"} <= set(snap.history[-1]) and snap.grid.ndim == 3
    # an epoch's checkpoint came back as bytes and was written here, marked incomplete
    assert wait_for(lambda: job.snapshot().saved_path is not None, 60)
    assert job.saved_path.parent == user_models_dir() and job.saved_path.exists()
    assert read_meta(job.saved_path)["status"] == "incomplete"

    job.pause()
    last = [job.snapshot().events, time.perf_counter()]

    def quiet(seconds: float = 1.5) -> bool:  # no event from the worker for `seconds`
        n = job.snapshot().events
        if n != last[0]:
            last[:] = [n, time.perf_counter()]
        return time.perf_counter() - last[1] >= seconds

    assert wait_for(quiet, 20)
    paused = job.snapshot()
    assert paused.state == "paused"
    job.resume()
    assert wait_for(lambda: job.snapshot().step > paused.step, 20)
    job.stop()
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.state == "stopped" and snap.message.startswith("Stopped early"), snap.message
    assert snap.saved_path.parent == user_models_dir()
    model, meta = load_checkpoint(snap.saved_path)
    assert meta["status"] == "stopped" and 0 < meta["epochs"] < 3000 and model.config.latent_dim == 4
    assert wait_for(lambda: free_cpus() == 2, 30)


@needs_ray
def test_a_killed_ray_worker_is_reported_plainly(ray_jobs, digits):
    job = ray_jobs.submit(spec("ray-crash"), digits)
    assert wait_for(lambda: job.snapshot().saved_path is not None, 180), job.snapshot().message
    node, pid = job._runner.where()
    assert node == "127.0.0.1" and pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.state == "failed"
    assert snap.message.startswith("The Ray worker running this training died (its process ended "
                                   "unexpectedly"), snap.message
    assert "(marked incomplete)" in snap.message and "You can start a new run." in snap.message
    assert "Traceback" not in snap.message and "ray." not in snap.message
    model, meta = load_checkpoint(snap.saved_path)  # the last epoch's model is here and loads
    assert meta["status"] == "incomplete" and meta["epochs"] >= 1
    assert wait_for(lambda: free_cpus() == 2, 30)


@needs_ray
def test_an_image_folder_of_this_machine_is_shipped_to_the_worker(ray_head, digits, tmp_path):
    from PIL import Image

    from genlab.jobs.ray.backend import RayRunner
    folder = tmp_path / "mine"
    for i in range(40):  # two classes of real digit images, as a user's folder
        label = int(digits.train_y[i]) % 2
        (folder / f"c{label}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(digits.train_x[i, 0].numpy()).save(folder / f"c{label}" / f"{i}.png")
    runner = RayRunner(ray_head)
    dest = tmp_path / "models" / "from-folder.safetensors"
    runner.start({"spec": spec("from-folder", epochs=2, dataset=str(folder)), "path": str(dest),
                  "data": None, "threads": None})
    shutil.rmtree(folder)  # the worker can only have the images the runner sent it
    msgs: list[dict] = []
    try:
        assert wait_for(lambda: msgs.extend(runner.poll(0.25)) or any(m["kind"] == "final" for m in msgs),
                        180), msgs
    finally:
        runner.close()
    final = msgs[-1]
    assert final["state"] == "done" and final["path"] == str(dest), final["message"]
    meta = read_meta(dest)
    assert meta["dataset"]["train_size"] + meta["dataset"]["test_size"] == 40
    assert meta["dataset"]["image_shape"] == [1, 28, 28] and meta["status"] == "done"


@needs_ray
def test_a_job_the_cluster_cannot_fit_fails_in_words(ray_head):
    from genlab.jobs.ray.backend import RayRunner
    runner = RayRunner(ray_head, cpus=1, gpus=0.25)
    runner.start({"spec": spec("no-gpu"), "path": str(user_models_dir() / "no-gpu"), "data": None,
                  "threads": None})
    (final,) = runner.poll(1)
    assert final["kind"] == "final" and final["state"] == "failed"
    assert final["message"].startswith(f"The Ray cluster at {ray_head} has 2 CPUs and 0 GPUs; a job "
                                       "asks for 1 CPU and 0.25 GPU.")


@needs_ray
def test_the_app_manager_runs_jobs_on_ray_when_the_address_is_set(ray_head, digits, monkeypatch):
    import genlab.jobs.session as jobs_mod
    from genlab.jobs.ray.backend import RayJobManager, RayRunner
    monkeypatch.setenv("GENLAB_RAY_ADDRESS", ray_head)
    monkeypatch.setenv("GENLAB_RAY_CPUS", "1")
    monkeypatch.setattr(jobs_mod, "_MANAGER", None)
    mgr = jobs_mod.get_manager()
    assert isinstance(mgr, RayJobManager) and jobs_mod.get_manager() is mgr
    job = SessionJobs(mgr).submit(spec("app-on-ray", epochs=2), digits)  # as the Train page does
    assert job.wait(180)
    snap = job.snapshot()
    assert snap.state == "done", snap.message
    assert isinstance(job._runner, RayRunner) and snap.saved_path.parent == user_models_dir()
    assert len(snap.test_history) == 2 and snap.history
    assert load_checkpoint(snap.saved_path)[1]["status"] == "done"
    assert mgr.max_jobs == 2  # the 2-CPU cluster fits two 1-CPU jobs


@needs_ray
def test_an_alarm_raised_on_a_ray_worker_reaches_the_page(ray_head, monkeypatch):
    """β = 25 on the digits, started on the Train page of an app whose jobs run on the cluster:
    the posterior-collapse alarm fired in the Ray worker shows on the page, in words."""
    import streamlit as st

    import genlab.jobs.session as jobs_mod
    from genlab.jobs.ray.backend import RayRunner
    monkeypatch.setenv("GENLAB_RAY_ADDRESS", ray_head)
    monkeypatch.setattr(jobs_mod, "_MANAGER", None)
    # AppTest's sessions share the session-scoped cache: an earlier test's SessionJobs would keep
    # the page on the local manager (the job then never reached the cluster)
    st.cache_resource.clear()
    at = configure(page("pages/train.py"), "vae", "mlp", 14, "ray collapse")
    at.number_input(key="tr_latent_vae").set_value(8)
    at.text_input(key="tr_hidden_mlp_vae").set_value("64")
    at.number_input(key="tr_beta").set_value(25.0).run()
    at.button(key="tr_start").click().run()
    job = job_named("ray collapse")
    try:
        assert wait_for(lambda: job.snapshot().alarms or not job.snapshot().active, 180)
        assert job.snapshot().alarms, job.snapshot().message
        assert isinstance(job._runner, RayRunner)
        boxes = [w.value for w in at.run().warning if "Posterior collapse" in w.value]
        assert boxes and "Evidence:" in boxes[0], [w.value for w in at.warning]
    finally:
        job.stop()
        job.wait(60)
        st.cache_resource.clear()  # the next AppTest's page gets the local manager again
    assert wait_for(lambda: free_cpus() == 2, 30)


@needs_ray
def test_a_driver_that_dies_leaves_no_job_on_the_cluster(ray_head):
    script = textwrap.dedent(f"""
        import time
        from genlab.jobs import JobSpec
        from genlab.models import ModelConfig
        from genlab.jobs.ray.backend import RayRunner
        from genlab.train import TrainConfig
        r = RayRunner({ray_head!r})
        r.start({{"spec": JobSpec("digits", ModelConfig("vae", "mlp", latent_dim=4, hidden=(64,)),
                                  TrainConfig(epochs=100000, batch_size=64), "orphan"),
                  "path": "/nonexistent/orphan", "data": None, "threads": None}})
        while not any(m["kind"] == "event" for m in r.poll(0.5)):
            pass
        print("training", flush=True)
        time.sleep(600)
        """)
    driver = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert driver.stdout.readline().strip() == "training"
        assert wait_for(lambda: free_cpus() == 1, 30)  # its job holds one of the two CPUs
    finally:
        driver.kill()
        driver.wait(30)
    assert wait_for(lambda: free_cpus() == 2, 60)  # Ray ended the dead driver's actor


@needs_ray
def test_a_server_ended_by_sigterm_saves_its_ray_jobs_first(ray_head, tmp_path):
    """As Streamlit does on SIGTERM: the process exits normally, and at exit its jobs on the
    cluster are stopped and send back what they learned."""
    script = textwrap.dedent(f"""
        import signal, sys, time
        from genlab.jobs import JobManager, JobSpec
        from genlab.models import ModelConfig
        from genlab.jobs.ray.backend import RayRunner
        from genlab.train import TrainConfig
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        spec = JobSpec("digits", ModelConfig("vae", "mlp", latent_dim=4, hidden=(64,)),
                       TrainConfig(epochs=100000, batch_size=64), "ended-by-sigterm")
        job = JobManager(max_jobs=1, runner_factory=lambda: RayRunner({ray_head!r})).submit(spec)
        while job.snapshot().step == 0:
            time.sleep(0.05)
        print("training", flush=True)
        time.sleep(600)
        """)
    env = {**os.environ, "GENLAB_MODELS": str(tmp_path)}
    server = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert server.stdout.readline().strip() == "training"
        server.send_signal(signal.SIGTERM)
        # it ends after saving; its status is SIGABRT whatever genlab does: Ray's C++ SIGTERM
        # handler with torch loaded aborts at the very end (a driver importing only torch and
        # ray does the same), after Ray has disconnected cleanly
        assert server.wait(60) in (0, -signal.SIGABRT)
    finally:
        server.kill()
    meta = read_meta(tmp_path / "ended-by-sigterm.safetensors")
    assert meta["status"] == "stopped" and meta["epochs"] > 0
    assert wait_for(lambda: free_cpus() == 2, 60)


def test_without_the_address_ray_is_never_imported():
    """The app's pages and the job manager, as a server without GENLAB_RAY_ADDRESS loads them."""
    script = textwrap.dedent("""
        import ast, importlib, pathlib, sys
        mods = set()
        for f in [pathlib.Path("app.py"), *pathlib.Path("pages").glob("*.py")]:
            for node in ast.walk(ast.parse(f.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
                mods.update(n for n in names if n.split(".")[0] == "genlab")
        for m in sorted(mods | {"genlab.jobs", "genlab.jobs.runner", "genlab.jobs.worker", "genlab.cli.main"}):
            importlib.import_module(m)
        import genlab.jobs
        genlab.jobs.get_manager()
        print(len(mods), "ray" in sys.modules)
        """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENLAB_RAY")}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    n, imported = out.stdout.split()
    assert int(n) >= 5 and imported == "False"
