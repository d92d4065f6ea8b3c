"""bench_app.py --only refresh: the server work of one refresh of the Train page's live view,
piece by piece, on a job fed a realistic state, inside a Streamlit script run (AppTest)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from genlab.data import load_dataset

ROOT = Path(__file__).resolve().parent.parent

REFRESH_STATE = "GENLAB_BENCH_REFRESH_STATE"  # the bench folder, for the AppTest script


def _refresh_body() -> None:
    """Runs inside AppTest: times the pieces of the Train page's live fragment (pages/train.py)."""
    import os
    import sys
    import time

    import numpy as np
    import streamlit as st
    sys.path.insert(0, os.environ["GENLAB_BENCH_REFRESH_STATE"])
    from app_refresh import refresh_job

    from genlab.images import png, upscale
    from pages._ui import curves, show
    from pages._ui.movie import live_frame_figure
    job = refresh_job()
    snap, reps, out = job.snapshot(300), 20, {}

    def timed(name, fn):
        t0 = time.perf_counter()
        for i in range(reps):
            fn(i)
        out[name] = (time.perf_counter() - t0) / reps * 1000

    epoch, z, labels, classes = snap.latent
    fig, frame = curves(snap.history, snap.kind, "Training losses"), None
    timed("Job.snapshot(300), unchanged job (cached)", lambda i: job.snapshot(300))
    timed("Job.snapshot(300), after a new message (rebuilt)",
          lambda i: job._apply({"kind": "state", "state": "running", "message": "x"}) or job.snapshot(300))
    timed("curves(history): the Plotly dict", lambda i: curves(snap.history, snap.kind, "Training losses"))
    timed("st.plotly_chart(curves dict)", lambda i: st.plotly_chart(fig, key=f"c{i}", config={"staticPlot": True}))
    timed("live_frame_figure(latent): the dict",
          lambda i: live_frame_figure(z.astype(np.float32), labels, classes, epoch))
    frame = live_frame_figure(z.astype(np.float32), labels, classes, epoch)
    timed("st.plotly_chart(latent dict)", lambda i: st.plotly_chart(frame, key=f"l{i}", config={"staticPlot": True}))
    timed("show(grid): enlarge + PNG encode + st.image", lambda i: show(snap.grid, caption="grid", target=480))
    timed("png(upscale(grid)): the encode Job.grid_png does once per new grid",
          lambda i: png(upscale(snap.grid, 480), fast=True))
    cached = job.grid_png(480)
    timed("st.image(Job.grid_png(480)): cached PNG", lambda i: st.image(cached, caption="grid"))
    # the live view as it is now (pages/_ui/live): the chart gets the rows since its cursor,
    # the grid travels only when it changed, the ticker is a few bytes
    from genlab.models.config import LOSS_LABELS, LOSS_PANELS
    from pages._ui.live import live_chart, live_image, ticker
    row = {"kind": "event", "event": {
        "kind": "progress", "step": 3000, "total_steps": 4000, "epoch": 7.5, "epochs": 10,
        "images_per_s": 1500.0, "eta_s": 10.0, "elapsed_s": 5.0, "test": None, "grid": None,
        "losses": {"recon": 100.0, "kl": 20.0, "total": 120.0}, "message": "CPU"}}
    chart = {"panels": LOSS_PANELS["vae"], "stream": job.id, "labels": LOSS_LABELS}
    timed("live_chart: first draw (1,000 rows)", lambda i: live_chart(f"f{i}", job.history_since, **chart))
    seen = dict(st.session_state["_live_f0"])

    def appended(i):  # what the page already has, then two new progress rows
        st.session_state[f"_live_a{i}"] = dict(seen)
        job._apply(row)
        job._apply(row)
        live_chart(f"a{i}", job.history_since, **chart)
        seen.update(st.session_state[f"_live_a{i}"])
    timed("live_chart: a refresh (rows since the cursor)", appended)
    live_image("g", cached, caption="grid")
    shown = dict(st.session_state["_live_g"])

    def same_grid(i):
        st.session_state[f"_live_g{i}"] = dict(shown)
        live_image(f"g{i}", cached, caption="grid")
    timed("live_image: unchanged grid (its hash only)", same_grid)
    timed("ticker", lambda i: ticker(f"t{i}", job.version))
    st.session_state["refresh_ms"] = out


def refresh_job():
    """A job in the state of a MNIST conv VAE run well under way: 3,000 loss rows, the live
    grid (16 test images over their reconstructions), 1,000 latent codes of the movie."""
    from genlab.images import make_grid
    from genlab.jobs import JobSpec
    from genlab.jobs.job import Job
    from genlab.models import ModelConfig
    from genlab.train import TrainConfig
    data, rng = load_dataset("mnist"), np.random.default_rng(0)
    job = Job(JobSpec("mnist", ModelConfig("vae", "conv", latent_dim=16), TrainConfig(epochs=10), "bench"))
    grid = make_grid(data.test_x[:32].float() / 255, nrow=8)
    for step in range(3000):
        job._apply({"kind": "event", "event": {
            "kind": "start" if step == 0 else "progress", "step": step, "total_steps": 4000,
            "epoch": step / 400, "epochs": 10, "images_per_s": 1500.0, "eta_s": 10.0, "elapsed_s": 5.0,
            "losses": {"recon": 100 + rng.random(), "kl": 20 + rng.random(), "total": 120 + rng.random()},
            "test": None, "grid": grid if step % 50 == 0 else None, "message": "CPU"}})
    job._apply({"kind": "frame", "epoch": 7.5, "codes": rng.standard_normal((1000, 16)).astype(np.float16),
                "labels": data.test_y[:1000].numpy(), "classes": list(data.classes)})
    return job


def refresh_ms() -> dict[str, float]:
    """Milliseconds per piece of one live-view refresh, timed inside a Streamlit script run."""
    from streamlit.testing.v1 import AppTest
    os.environ[REFRESH_STATE] = str(ROOT / "bench")
    at = AppTest.from_function(_refresh_body, default_timeout=600)
    at.run()
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    return dict(at.session_state["refresh_ms"])
