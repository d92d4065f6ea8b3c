"""The Streamlit app under AppTest: every page renders, training from the page shows live
progress, a latent slider changes the decoded image, a bad upload shows an error.

AppTest never fires ``run_every``, so the tests wait on the job itself and call ``at.run()``.
Pages use the shipped weights when ``weights/`` has them, plus small models trained here on
real digits (so every page has something to show even before weights are shipped)."""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: see app.py

import hashlib
import io
import re
import time
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from genlab.catalog import list_models
from genlab.jobs import Job, JobSpec, get_manager
from genlab.models import ModelConfig
from genlab.train import TrainConfig

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = {"app.py": "GenLab", "pages/train.py": "Train a model",
         "pages/explorer.py": "Latent explorer", "pages/latent_space.py": "Latent space: AE vs VAE",
         "pages/gan_studio.py": "GAN studio", "pages/compare.py": "Compare models"}
TIMEOUT = 180


def make_models() -> dict[str, Path]:
    """Small real models on digits in the user model folder (once per test session)."""
    have = {m["name"]: Path(m["path"]) for m in list_models()}
    specs = {"t-ae": ("ae", 8), "t-vae": ("vae", 8), "t-vae2d": ("vae", 2), "t-gan": ("gan", 16)}
    for name, (kind, d) in specs.items():
        if name not in have:
            job = Job(JobSpec("digits", ModelConfig(kind, "mlp", latent_dim=d, hidden=(128,)),
                              TrainConfig(epochs=8, batch_size=64, seed=0), name))
            job.run()
            assert job.snapshot().state == "done", job.snapshot().message
            have[name] = job.saved_path
    return have


@pytest.fixture(scope="module")
def models():
    return make_models()


def page(path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    if path != "app.py":
        at.switch_page(path)
        at.run()
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "success", "info", "warning", "error")
             for e in at.get(kind) if isinstance(getattr(e, "value", None), str)]
    return "\n".join(parts + [p.text for p in at.get("progress")])


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_renders(models, path):
    at = page(path)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title and at.title[0].value == PAGES[path]
    assert not at.error, [e.value for e in at.error]
    if path == "app.py":
        table = str(at.dataframe[1].value)
        assert "t-vae" in table and "t-gan" in table


def test_training_from_the_page_shows_live_progress(models):
    at = page("pages/train.py")
    at.selectbox(key="tr_source").set_value("digits").run()
    at.radio(key="tr_kind").set_value("vae")
    at.radio(key="tr_arch").set_value("mlp")
    at.number_input(key="tr_epochs").set_value(1000)
    at.text_input(key="tr_name").set_value("apptest run")
    at.run()
    assert not at.exception and not at.error
    at.button(key="tr_start").click().run()
    job = [j for j in get_manager().jobs() if j.spec.name == "apptest run"][-1]
    t0 = time.perf_counter()
    while len(job.snapshot().history) < 2 and time.perf_counter() - t0 < 60:
        time.sleep(0.1)
    at.run()
    shown = texts(at)
    first = int(re.search(r"step ([\d,]+) /", shown).group(1).replace(",", ""))
    assert first > 0 and at.get("plotly_chart"), shown
    assert job.wait(1.0) is False, job.snapshot().message  # still training between reruns
    at.run()
    second = int(re.search(r"step ([\d,]+) /", texts(at)).group(1).replace(",", ""))
    assert second > first  # the history grew and the page shows it
    at.button(key="tr_stop").click().run()
    assert job.wait(5) and job.snapshot().state == "stopped"
    at.run()
    assert "saved as 'apptest-run'" in texts(at)
    assert any(m["name"] == "apptest-run" for m in list_models())


def _decoded(at: AppTest) -> str:
    return next(im.value[0] for im in at.image if im.captions and im.captions[0] == "Decoded image")


def test_moving_a_slider_changes_the_decoded_image(models):
    at = page("pages/explorer.py")
    path = str(models["t-vae2d"])
    at.selectbox(key="ex_model").set_value(path).run()
    assert not at.exception
    tag = hashlib.sha1(path.encode()).hexdigest()[:8]
    before = _decoded(at)
    at.slider(key=f"ex_{tag}_d0").set_value(2.5).run()
    after = _decoded(at)
    assert after != before
    at.slider(key=f"ex_{tag}_d1").set_value(-2.5).run()
    assert _decoded(at) not in (before, after)
    assert len(at.get("tab")) == 3  # Interpolate, Traversal and the 2-D manifold


def test_bad_upload_shows_an_error(models):
    at = page("pages/train.py")
    at.selectbox(key="tr_source").set_value("upload").run()
    at.file_uploader(key="tr_upload").upload("photos.zip", b"this is not a zip file", "application/zip")
    at.run()
    assert not at.exception
    assert at.error and "cannot be used" in at.error[0].value
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("notes/readme.txt", "no images in here")
    at.file_uploader(key="tr_upload").upload("empty.zip", buf.getvalue(), "application/zip")
    at.run()
    assert at.error and "cannot be used" in at.error[0].value
    assert at.button(key="tr_start").disabled
