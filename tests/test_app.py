"""The Streamlit app under AppTest: every page renders with its content, training from the page
shows live progress and obeys Pause / Resume / Stop, the page trains every kind and architecture
with the kind's defaults, refuses bad values in plain words, and a model trained there appears on
every other page.

AppTest never fires ``run_every``, so the tests wait on the job itself (with timeouts) and call
``at.run()``. Pages use the shipped weights when ``weights/`` has them, plus small models trained
here on real digits (so every page has something to show even before weights are shipped)."""
import hashlib
import io
import json
import re
import time
import zipfile
from pathlib import Path

import pytest
from _helpers import asleep_for, wait_until
from streamlit.testing.v1 import AppTest

from genlab.jobs import Job, JobSpec, get_manager
from genlab.models import ModelConfig
from genlab.settings import defaults_for
from genlab.store.catalog import list_models
from genlab.store.checkpoint import read_meta
from genlab.train import TrainConfig

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = {"app.py": "GenLab", "pages/train.py": "Train a model",
         "pages/explorer.py": "Latent explorer", "pages/latent_space.py": "Latent space: AE vs VAE",
         "pages/gan_studio.py": "GAN studio", "pages/compare.py": "Compare models",
         "pages/gallery.py": "Class gallery"}
TIMEOUT = 180


def make_models() -> dict[str, Path]:
    """Small real models on digits in the user model folder (once per test session)."""
    have = {m.name: m.path for m in list_models()}
    specs = {"t-ae": ("ae", 8), "t-vae": ("vae", 8), "t-vae2d": ("vae", 2), "t-gan": ("gan", 16),
             "t-vae16": ("vae", 16)}
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
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "success", "info", "warning", "error")
             for e in at.get(kind) if isinstance(getattr(e, "value", None), str)]
    return "\n".join(parts + [p.text for p in at.get("progress")])


def wait_for(cond, timeout: float = 120.0, what: str = "the condition") -> None:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(0.05)


def job_named(name: str) -> Job:
    return [j for j in get_manager().jobs() if j.spec.name == name][-1]


def step_shown(at: AppTest) -> int:
    return int(re.search(r"step ([\d,]+) /", texts(at)).group(1).replace(",", ""))


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_renders(models, path):
    at = page(path)
    assert at.title and at.title[0].value == PAGES[path]
    assert not at.error, [e.value for e in at.error]


def test_home_lists_data_sets_and_models_with_numbers(models):
    at = page("app.py")
    datasets = at.dataframe[0].value
    assert {"mnist", "digits", "your images"} <= set(datasets["data set"])
    assert datasets.set_index("data set").loc["digits", "available"] == "yes"
    table = at.dataframe[1].value.set_index("model")
    vae = table.loc["t-vae"]
    assert (vae["kind"], vae["origin"], vae["data set"], vae["epochs"]) == ("VAE", "yours", "digits", "8")
    meta = read_meta(models["t-vae"])
    assert f"−ELBO {meta['test']['total']:.1f}" in vae["test"]  # the stored test numbers
    assert table.loc["t-ae", "test"] == f"MSE/pixel {read_meta(models['t-ae'])['test']['mse']:.5f}"
    assert table.loc["t-gan", "kind"] == "GAN" and "latent 16" in table.loc["t-gan", "details"]


def configure(at: AppTest, kind: str, arch: str, epochs: int, name: str, ok: bool = True) -> AppTest:
    at.selectbox(key="tr_source").set_value("digits").run()
    at.radio(key="tr_kind").set_value(kind).run()
    at.radio(key="tr_arch").set_value(arch).run()
    at.number_input(key=f"tr_epochs_{kind}").set_value(epochs)
    at.text_input(key="tr_name").set_value(name)
    at.run()
    assert not at.exception and (not ok or not at.error), [e.value for e in at.error]
    return at


def observe_steps(at: AppTest, job: Job, seconds: float) -> set[int]:
    """The steps the page shows over a window of ``seconds`` (refreshed as run_every would)."""
    seen, t0 = set(), time.monotonic()
    while time.monotonic() - t0 < seconds:
        at.run()
        seen.add(step_shown(at))
        job.wait(0.25)
    return seen


def test_training_from_the_page_is_live_and_obeys_pause_resume_stop(models):
    at = configure(page("pages/train.py"), "vae", "mlp", 1000, "apptest run")
    at.button(key="tr_start").click().run()
    job = job_named("apptest run")
    wait_for(lambda: len(job.snapshot().history) >= 2 and job.snapshot().grid is not None, 120,
             "the first progress events")
    at.run()
    shown = texts(at)
    m = re.search(r"epoch [\d.]+ / 1000 · ([\d,]+) images/s · ETA (\d+ min \d\d s|\d+ s)", shown)
    assert m and int(m.group(1).replace(",", "")) > 0, shown
    live = {e.proto.component_name: json.loads(e.proto.json) for e in at.get("bidi_component")}
    assert live["genlab.live_chart"]["rows"], "no live loss curves"  # pages/_ui/live
    grid = live["genlab.live_image"]
    assert grid["caption"].startswith("Live:") and grid["src"].startswith("data:image/png"), \
        "no live image grid"
    first = step_shown(at)
    wait_for(lambda: job.snapshot().step > first, 60, "training to go on between reruns")
    at.run()
    assert step_shown(at) > first

    at.button(key="tr_pause").click().run()
    wait_for(lambda: job.snapshot().state == "paused", 10, "the pause")
    at.run()
    assert "paused" in texts(at) and at.button(key="tr_resume")
    # the batch (or epoch end) in flight when Pause came may still report: wait until the
    # worker process really waits (every thread asleep), then the step must stay put
    wait_until(lambda: asleep_for(job.pid), 30, "the worker to stop computing after Pause")
    frozen = job.snapshot().step
    assert observe_steps(at, job, 2.0) == {frozen}, "the step count moved while paused"
    at.button(key="tr_resume").click().run()
    wait_for(lambda: job.snapshot().step > frozen, 60, "training to resume")
    at.run()
    assert step_shown(at) > frozen

    at.button(key="tr_stop").click().run()
    assert job.wait(30), "Stop did not end the training"
    assert job.snapshot().state == "stopped"
    at.run()
    assert "saved as 'apptest-run'" in texts(at)
    meta = read_meta(job.snapshot().saved_path)
    assert meta["status"] == "stopped" and 0 < meta["epochs"] < 1000

    # The new model is offered on every other page, and listed on Home.
    saved = str(job.snapshot().saved_path)
    for path, key in (("pages/explorer.py", "ex_model"), ("pages/latent_space.py", "ls_vae")):
        picker = page(path).selectbox(key=key)
        assert any(o.startswith("apptest-run — VAE mlp") for o in picker.options), picker.options
        assert picker.set_value(saved).run().selectbox(key=key).value == saved  # and it opens
    assert any("apptest-run" in o for o in page("pages/compare.py").multiselect(key="cmp_models").options)
    assert "apptest-run" in set(page("app.py").dataframe[1].value["model"])


@pytest.mark.parametrize("kind,arch", [("ae", "mlp"), ("ae", "conv"), ("vae", "conv"),
                                       ("gan", "mlp"), ("gan", "conv")])
def test_the_page_trains_every_kind_and_architecture_with_its_defaults(models, kind, arch):
    name = f"page {kind} {arch}"
    at = configure(page("pages/train.py"), kind, arch, 1, name)
    d = defaults_for(kind)
    assert at.number_input(key=f"tr_latent_{kind}").value == d.latent_dim
    assert at.number_input(key=f"tr_lr_{kind}").value == pytest.approx(d.lr)
    assert at.number_input(key=f"tr_batch_{kind}").value == d.batch_size
    at.button(key="tr_start").click().run()
    job = job_named(name)
    assert job.wait(300), "one epoch of 8x8 digits did not finish"
    snap = job.snapshot()
    assert snap.state == "done", snap.message
    meta = read_meta(snap.saved_path)
    assert (meta["model"]["kind"], meta["model"]["arch"]) == (kind, arch)
    assert meta["model"]["latent_dim"] == d.latent_dim
    assert meta["train"]["lr"] == pytest.approx(d.lr) and meta["train"]["batch_size"] == d.batch_size
    assert tuple(meta["train"]["betas"]) == pytest.approx(d.betas)
    at.run()
    assert f"saved as '{snap.saved_path.stem}'" in texts(at)
    if kind == "gan":
        options = page("pages/gan_studio.py").selectbox(key="gs_model").options
        assert any(snap.saved_path.stem in o for o in options)


@pytest.mark.parametrize("arch,hidden,words", [
    ("mlp", "abc", "Hidden sizes must be whole numbers separated by commas"),
    ("mlp", "512, -3", "Hidden sizes must be whole numbers separated by commas"),
    ("mlp", "0", "Hidden sizes must be whole numbers between 1 and 8192"),
    ("mlp", "9,9,9,9,9,9,9,9,9", "At most 8 hidden layers"),
    ("conv", "wide", "The first conv width must be one whole number"),
    ("conv", "32,64", "A conv model takes one hidden size"),
])
def test_bad_model_settings_are_refused_in_plain_words(models, arch, hidden, words):
    at = configure(page("pages/train.py"), "vae", arch, 1, "refused")
    at.text_input(key=f"tr_hidden_{arch}_vae").set_value(hidden).run()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith(f"This model cannot be built: {words}")
    assert "invalid literal" not in at.error[0].value and "Traceback" not in at.error[0].value
    assert at.button(key="tr_start").disabled


def test_a_name_without_letters_is_refused(models):
    at = configure(page("pages/train.py"), "ae", "mlp", 1, "...", ok=False)
    assert at.error and "Give the model a name" in at.error[0].value
    assert at.button(key="tr_start").disabled


def _image_folder(folder: Path, digits) -> Path:
    from PIL import Image
    for i in range(40):
        sub = folder / f"class{int(digits.train_y[i]) % 2}"
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(digits.train_x[i, 0].numpy()).save(sub / f"{i}.png")
    return folder


def test_data_root_confines_typed_folders(models, digits, tmp_path, monkeypatch):
    root = tmp_path / "shared"
    inside = _image_folder(root / "alice" / "digits", digits)
    outside = _image_folder(tmp_path / "elsewhere", digits)
    monkeypatch.setenv("GENLAB_DATA_ROOT", str(root))
    at = page("pages/train.py")
    at.selectbox(key="tr_source").set_value("folder").run()
    at.text_input(key="tr_folder").set_value(str(outside)).run()
    assert at.error and at.error[0].value == ("That data cannot be used: On this server, image "
                                              f"folders must be inside {root}.")
    assert at.button(key="tr_start").disabled
    at.text_input(key="tr_folder").set_value(str(root / "alice" / ".." / ".." / "elsewhere")).run()
    assert at.error and "must be inside" in at.error[0].value  # no way out through '..'
    at.text_input(key="tr_folder").set_value(str(inside)).run()
    assert not at.error, [e.value for e in at.error]
    # the folder's summary (a finished run of this AppTest session shows its own result first)
    summary = [e.value for e in at.success if "saved as" not in e.value]
    assert summary and "40" in summary[0]
    assert not at.button(key="tr_start").disabled


def _decoded(at: AppTest) -> str:
    return next(im.value[0] for im in at.image if im.captions and im.captions[0] == "Decoded image")


def test_moving_a_slider_changes_the_decoded_image(models):
    at = page("pages/explorer.py")
    path = str(models["t-vae2d"])
    at.selectbox(key="ex_model").set_value(path).run()
    assert not at.exception
    at.toggle(key="ex_server").set_value(True).run()  # the default decodes in the browser
    tag = hashlib.sha1(path.encode()).hexdigest()[:8]
    before = _decoded(at)
    at.slider(key=f"ex_{tag}_d0").set_value(2.5).run()
    after = _decoded(at)
    assert after != before
    at.slider(key=f"ex_{tag}_d1").set_value(-2.5).run()
    assert _decoded(at) not in (before, after)
    assert {t.label for t in at.get("tab")} >= {"Interpolate", "Traversal", "Manifold"}  # 2-D: manifold


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


def test_a_health_alarm_shows_beside_the_live_curves_and_marks_them(models):
    """β = 25 on the digits: the posterior collapses, and the Train page says so in words."""
    at = configure(page("pages/train.py"), "vae", "mlp", 14, "collapse run")
    at.number_input(key="tr_latent_vae").set_value(8)
    at.text_input(key="tr_hidden_mlp_vae").set_value("64")
    at.number_input(key="tr_beta").set_value(25.0)
    at.run()
    at.button(key="tr_start").click().run()
    job = job_named("collapse run")
    wait_for(lambda: job.snapshot().alarms, 180, "the posterior-collapse alarm")
    at.run()
    boxes = [w.value for w in at.warning if "Posterior collapse" in w.value]
    assert boxes and "Evidence:" in boxes[0] and "KL warm-up" in boxes[0], [w.value for w in at.warning]
    alarm = job.snapshot().alarms[0]
    if job.snapshot().active:  # while it trains: the live chart (pages/_ui/live) marks the epoch
        live = {e.proto.component_name: json.loads(e.proto.json) for e in at.get("bidi_component")}
        marks = live["genlab.live_chart"]["marks"]
        assert any(m["label"] == "Posterior collapse" and m["x"] == alarm["epoch"] for m in marks), marks
    job.stop()
    assert job.wait(60)
    at.run()  # the run has ended: the interactive Plotly curves carry the same mark
    layout = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]
    assert any(a["text"] == "Posterior collapse" for a in layout["annotations"])
    assert any(sh["x0"] == alarm["epoch"] and sh["line"]["dash"] == "dot" for sh in layout["shapes"])


def test_a_flow_runs_live_denoising_strip_is_sent_only_when_a_new_frame_comes(models):
    """A flow model trained on the page: its denoising strip shows while it trains (the live
    image piece: its bytes travel once per new frame, an unchanged frame sends its hash only)."""
    at = configure(page("pages/train.py"), "flow", "conv", 1000, "strip run")
    at.button(key="tr_start").click().run()
    job = job_named("strip run")
    wait_for(lambda: job.snapshot().strip is not None, 180, "the strip's first frame")
    at.run()

    def strip():
        live = [json.loads(e.proto.json) for e in at.get("bidi_component")
                if e.proto.component_name == "genlab.live_image"]
        return next(d for d in live if d["caption"].startswith("Live denoising strip"))
    first = strip()
    assert first["src"].startswith("data:image/png") and first["id"]
    at.run()  # a refresh with the same frame: its hash, no bytes
    again = strip()
    if again["id"] == first["id"]:
        assert again["src"] is None
    job.stop()
    assert job.wait(60)
