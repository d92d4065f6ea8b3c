"""The Sampling studio under AppTest, with a flow model and a DDPM of the user's own (trained by
the CLI on the 8x8 digits into GENLAB_MODELS): every control changes what is drawn, the
trajectory switch shows x_t or x0-hat, and quality against steps is measured on a model with a
metric classifier (quality_vs_steps, unit level)."""
import os
from pathlib import Path

import pytest
from _helpers import run_genlab
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(scope="module")
def own_models():
    folder = Path(os.environ["GENLAB_MODELS"])
    paths = {}
    for kind, extra in (("flow", ["--conditional"]), ("ddpm", ["--schedule", "cosine"])):
        out = folder / f"studio-{kind}"
        r = run_genlab("train", "--model", kind, "--dataset", "digits", "--hidden", "8", "--epochs", "1",
                       "--quiet", "--out", str(out), *extra)
        assert r.returncode == 0, r.stderr
        paths[kind] = str(out) + ".safetensors"
    return paths


def images(at) -> list[str]:
    return [im.value[0] for im in at.image]


def studio(path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page("pages/sampling_studio.py").run()
    at.selectbox(key="ss_model").set_value(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_every_control_changes_the_samples(own_models):
    at = studio(own_models["flow"])
    before = images(at)
    assert len(before) == 4  # samples, every sampler, the trajectory, the interpolation
    for widget, value in ((at.radio(key="ss_sampler"), "heun"), (at.slider(key="ss_steps"), 3),
                          (at.number_input(key="ss_seed"), 7), (at.slider(key="ss_w"), 5.0),
                          (at.selectbox(key="ss_class"), 3)):
        widget.set_value(value).run()
        assert not at.exception, [e.value for e in at.exception]
        now = images(at)
        assert now[0] != before[0], widget  # the samples were drawn again, differently
        before = now
    at.radio(key="ss_view").set_value(at.radio(key="ss_view").options[1]).run()
    assert images(at)[2] != before[2]  # x0-hat instead of x_t


def test_a_ddpm_offers_its_samplers_and_explains_interpolation(own_models):
    at = studio(own_models["ddpm"])
    assert at.radio(key="ss_sampler").options == ["ddpm", "ddim"]
    assert any("adds fresh noise at every step" in c.value for c in at.caption)
    at.radio(key="ss_sampler").set_value("ddim").run()
    assert not at.exception and len(images(at)) == 4  # DDIM: interpolation drawn


def test_quality_against_steps_measures_each_step_count(mnist):
    import torch

    from genlab.metrics.classifier import metric_classifier
    from genlab.metrics.steps import quality_vs_steps
    from genlab.models import ModelConfig, build_model
    model = build_model(ModelConfig("flow", "conv", 1, 28, hidden=(8,), num_classes=10), seed=0)
    rows = quality_vs_steps(model, mnist, metric_classifier(mnist, "cpu"), "euler", steps=(1, 3), n=40)
    assert [r["steps"] for r in rows] == [1, 3]
    assert all(r["frechet"] > r["frechet_floor"] > 0 and 0 <= r["agreement"] <= 1 for r in rows)
    assert all(r["n"] == 40 and torch.isfinite(torch.tensor(r["seconds"])) for r in rows)


@pytest.mark.parametrize("kind", ["flow", "ddpm"])
def test_a_job_trains_saves_and_reports_a_denoising_model(kind, digits):
    """Through the app's job machinery (as Start does, run inline): the snapshot's preview grid,
    the saved checkpoint and the lab report with the model's samples."""
    from genlab.jobs import Job, JobSpec
    from genlab.models import ModelConfig
    from genlab.report import report_bytes
    from genlab.store.checkpoint import read_meta
    from genlab.train import TrainConfig
    job = Job(JobSpec("digits", ModelConfig(kind, "conv", 1, 8, hidden=(8,), num_classes=10),
                      TrainConfig(epochs=1, grid_every_s=1.0), f"job-{kind}"), digits)
    job.run()
    snap = job.snapshot()
    assert snap.state == "done", snap.message
    assert snap.grid is not None and {"loss"} <= set(snap.history[-1])
    meta = read_meta(job.saved_path)
    assert meta["model"]["kind"] == kind and meta["model"]["num_classes"] == 10
    html = report_bytes([str(job.saved_path)], "html").decode()
    assert "64 samples from N(0, I) noise by the model&#x27;s default sampler" in html or \
        "64 samples from N(0, I) noise by the model's default sampler" in html
