"""README claims that no other test held the app to (issue 19, item 6), each checked here on real
models, data and processes: the Draw tab's latent map with a VAE's 2-σ ellipse and a GAN
inversion's loss curve; the queue position a waiting page shows is the job's real place in the
queue; the lab report's latent movie, t-SNE and GAN figures; no warm spare beside a training on
fewer than 4 cores.

The Draw tab's canvas is a browser component that AppTest cannot draw on: the drawing it hands
the page is replaced by a real test digit (white on black, the canvas's size). Everything after
the canvas is the page's own code."""
import base64
import hashlib
import io
import json
import os
import re
import sys
import time

import numpy as np
import pytest
from _helpers import eventually
from PIL import Image
from streamlit.testing.v1 import AppTest
from test_app import configure, page, texts
from test_concurrency import distinct_sessions, worker_children  # noqa: F401 (a fixture)

from genlab.data import dataset_for_meta
from genlab.jobs import JobManager, JobSpec, get_manager
from genlab.jobs import runner as runners
from genlab.models import ModelConfig
from genlab.store.catalog import WEIGHTS_DIR
from genlab.store.checkpoint import read_meta
from genlab.train import TrainConfig

VAE, GAN = WEIGHTS_DIR / "mnist-vae.safetensors", WEIGHTS_DIR / "mnist-gan.safetensors"


# -- the Draw tab ---------------------------------------------------------------------------------
@pytest.fixture
def draw_a_digit(monkeypatch):
    """``draw(at)``: the canvas (loaded by the page's first run, as in a browser) hands the page a
    real MNIST test digit, drawn white on black at 280x280 (a PNG data URL, as the browser sends
    it); the page runs again."""
    data = dataset_for_meta(read_meta(VAE))
    digit = data.test_x[int((data.test_y == 7).nonzero()[0, 0]), 0].numpy()
    big = np.asarray(Image.fromarray(digit).resize((280, 280), Image.NEAREST))
    buf = io.BytesIO()
    Image.fromarray(np.dstack([big, big, big, np.full_like(big, 255)])).save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()  # as the browser sends it

    def draw(at: AppTest) -> AppTest:
        assert "The drawing canvas needs" not in texts(at)  # the component loaded
        canvas = sys.modules["streamlit_drawable_canvas"]
        drawn = canvas.CanvasResult({"objects": [{"type": "path"}]}, url, True)
        monkeypatch.setattr(canvas, "st_canvas", lambda **kw: drawn)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at
    return draw


def vega_charts(at: AppTest) -> list[tuple[dict, dict[str, list[dict]]]]:
    """Each Vega-Lite chart on the page: its spec and its data sets (name -> rows)."""
    out = []
    for el in at.get("vega_lite_chart"):
        spec = json.loads(el.proto.spec)
        sets = {d.name: _rows(d.data.data) for d in el.proto.datasets}
        if el.proto.data.data:
            sets[""] = _rows(el.proto.data.data)
        out.append((spec, sets))
    return out


def _rows(arrow: bytes) -> list[dict]:
    import pyarrow as pa
    return pa.ipc.open_stream(arrow).read_all().to_pylist()


def explorer_on(path) -> tuple[AppTest, str]:
    at = page("pages/explorer.py")
    at.selectbox(key="ex_model").set_value(str(path)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at, hashlib.sha1(str(path).encode()).hexdigest()[:8]


def test_a_drawing_lands_on_the_latent_map_with_its_two_sigma_ellipse(draw_a_digit):
    at = draw_a_digit(explorer_on(VAE)[0])
    maps = [(s, d) for s, d in vega_charts(at) if "Where it lands" in json.dumps(s.get("title"))]
    assert len(maps) == 1, "the Draw tab shows no latent map for the drawing"
    spec, sets = maps[0]
    layers = spec["layer"]
    marks = [json.dumps(layer["mark"]) for layer in layers]
    star = next((i for i, m in enumerate(marks) if '"diamond"' in m), None)
    ring = next((i for i, m in enumerate(marks) if '"line"' in m and "strokeDash" in m), None)
    assert star is not None and ring is not None, f"no marker or no dashed ellipse: {marks}"
    rows = {i: sets[layers[i]["data"]["name"]] for i in (0, star, ring)}
    assert len(rows[0]) == 1000  # the test codes, one point each
    assert "2 σ" in rows[star][0]["what"]
    here = np.array([rows[star][0]["x"], rows[star][0]["y"]])
    ring_xy = np.array([[r["x"], r["y"]] for r in rows[ring]])
    assert len(ring_xy) > 20 and np.allclose(ring_xy[0], ring_xy[-1], atol=1e-4)  # a closed curve
    radius = np.linalg.norm(ring_xy - here, axis=1)
    spread = np.ptp([[r["x"], r["y"]] for r in rows[0]], axis=0).max()
    # around the drawing's code, a visible size on the map, not the whole cloud
    assert np.allclose(ring_xy.mean(0), here, atol=0.05 * spread), (ring_xy.mean(0), here)
    assert 0.002 * spread < radius.min() <= radius.max() < spread, (radius.min(), radius.max(), spread)
    assert any("The five nearest test images" in c for im in at.image for c in im.captions)


def test_a_drawing_on_a_gan_finds_its_noise_with_a_falling_loss_curve(draw_a_digit):
    at, tag = explorer_on(GAN)
    draw_a_digit(at)
    assert "Press **Find the noise**" in texts(at)
    at.slider(key=f"dr_steps_{tag}").set_value(50)
    at.button(key=f"dr_go_{tag}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    curves = [d for s, d in vega_charts(at) for rows in d.values() for r in rows[:1] if "pixel MSE" in json.dumps(r)]
    assert len(curves) == 1, "no loss curve after 'Find the noise'"
    rows = next(iter(curves[0].values()))
    losses = [r["value"] if "value" in r else r["pixel MSE"] for r in rows]
    assert len(losses) == 51 and losses[-1] < 0.8 * losses[0], losses[::10]
    assert re.search(r"Pixel MSE [\d.]+ at the best random start → [\d.]+", texts(at))
    assert any(c.startswith("G(z) after 50 steps") for im in at.image for c in im.captions)


# -- the queue ------------------------------------------------------------------------------------
def test_the_queue_position_shown_is_the_jobs_real_place(distinct_sessions, monkeypatch):  # noqa: F811
    """Three students press Start on a server that trains one job at a time: the pages of the two
    waiting say 1 and 2; when the first of them leaves the queue the other says 1, and the one
    showing 1 is the one that starts when the slot frees."""
    manager = get_manager()
    monkeypatch.setattr(manager, "max_jobs", 1)
    assert eventually(lambda: not any(j.snapshot().active for j in manager.jobs()), 120)  # an empty queue
    pages = []
    for name in ("queue-a", "queue-b", "queue-c"):
        at = configure(page("pages/train.py"), "vae", "mlp", 5000, name)
        at.button(key="tr_start").click().run()
        pages.append(at)
    a, b, c = ([j for j in manager.jobs() if j.spec.name == n][-1] for n in ("queue-a", "queue-b", "queue-c"))
    try:
        assert eventually(lambda: a.snapshot().state == "running", 120), a.snapshot().message

        def shown(at: AppTest) -> int | None:
            at.run()
            m = re.search(r"position (\d+) in the queue", texts(at))
            return int(m.group(1)) if m else None
        assert (shown(pages[1]), shown(pages[2])) == (1, 2)
        pages[1].button(key="tr_stop").click().run()  # b leaves the queue
        assert eventually(lambda: b.snapshot().state == "stopped", 10)
        assert shown(pages[2]) == 1
        pages[0].button(key="tr_stop").click().run()  # the slot frees: c, shown first, starts
        assert eventually(lambda: c.snapshot().state == "running", 120), c.snapshot().message
        assert shown(pages[2]) is None and b.snapshot().step == 0
    finally:
        for job in (a, b, c):
            job.stop()
        for job in (a, b, c):
            job.wait(60)


# -- the warm spare -------------------------------------------------------------------------------
def _spares() -> list[str]:
    return [n for n in worker_children().values() if n.startswith("genlab-spare")]


def test_no_warm_spare_beside_a_training_on_fewer_than_4_cores(digits, monkeypatch):
    """README: on fewer than 4 cores no spare is started while jobs train and none waits (one
    is warmed as soon as a job waits in the queue); with 4 cores or more one is always kept."""
    spec = JobSpec("digits", ModelConfig("vae", "mlp", latent_dim=4, hidden=(64,)),
                   TrainConfig(epochs=5000, batch_size=64, progress_every_s=0.05), "spare-test")
    jobs = []
    assert eventually(lambda: not any(j.snapshot().active for j in get_manager().jobs()), 120)  # none but ours

    def training(cores: int):
        monkeypatch.setattr(os, "cpu_count", lambda: cores)
        mgr = JobManager(max_jobs=1)
        jobs.append(job := mgr.submit(spec, digits))
        assert eventually(lambda: job.snapshot().step > 0, 120), job.snapshot().message
        return mgr
    try:
        mgr = training(2)
        t0, seen = time.monotonic(), []
        while time.monotonic() - t0 < 2.0:  # watched for a while: none is started
            seen.append((runners.spare() is not None, _spares()))
            time.sleep(0.05)
        assert not any(s or n for s, n in seen), seen[-1]
        jobs.append(mgr.submit(spec, digits))  # a job waits in the queue: a spare is warmed now
        assert runners.spare() is not None, "no spare while a job waits"
        for job in jobs:
            job.stop()
            job.wait(60)
        training(4)
        assert runners.spare() is not None, "no spare kept beside a training on 4 cores"
    finally:
        for job in jobs:
            job.stop()
        for job in jobs:
            job.wait(60)


# -- the lab report -------------------------------------------------------------------------------
def test_the_lab_report_has_the_movie_tsne_and_gan_figures():
    from genlab.report import build_report, to_html
    report = build_report([VAE, GAN], tsne=True)
    figs = {f.name: f for f in report.figures()}
    for name in ("m0-vae-tsne", "m0-vae-movie", "m1-gan-curves", "m1-gan-samples"):
        assert name in figs, sorted(figs)
        img = np.asarray(Image.open(io.BytesIO(figs[name].png)).convert("L"))
        assert img.shape[1] > 200 and len(np.unique(img)) > 16, name  # a drawn figure, not blank
    movie = np.asarray(Image.open(io.BytesIO(figs["m0-vae-movie"].png)).convert("L"), np.int16)
    half = movie.shape[1] // 2
    assert np.abs(movie[:, :half] - movie[:, half:2 * half]).mean() > 1  # first and last frame differ
    assert "at the start and at the end of training" in figs["m0-vae-movie"].caption
    page = to_html(report)
    for name in ("m0-vae-tsne", "m0-vae-movie", "m1-gan-curves", "m1-gan-samples"):
        assert f'data-name="{name}"' in page
    assert "AE vs VAE vs GAN: measured" in page
