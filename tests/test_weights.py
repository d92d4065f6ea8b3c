"""Every shipped checkpoint in weights/ loads and still measures what its JSON records.

The recorded numbers come from ``python weights/build.py`` (evaluate_checkpoint); here the cheap
ones are recomputed: reconstruction and ELBO on the full test split (deterministic, seeded),
sample quality on the recorded 500-sample ``quick`` block, the classifiers' test accuracy."""
from __future__ import annotations

import json

import pytest
import torch
from setup_check import require

from genlab.data import load_dataset
from genlab.metrics import elbo, iwae_bound, reconstruction_metrics, sample_metrics
from genlab.metrics.classifier import accuracy, load_classifier
from genlab.metrics.samples import fit_code_gaussian
from genlab.store.catalog import WEIGHTS_DIR
from genlab.store.checkpoint import load_checkpoint, read_meta

DATASETS = ("mnist", "fashion-mnist")
MODELS = ("ae", "vae", "vae2d", "gan")
SHIPPED = [f"{d}-{m}" for d in DATASETS for m in MODELS]
NOISE = ["mnist-cflow", "fashion-mnist-cflow", "mnist-ddpm"]  # flow matching and DDPM (issue 22)


@pytest.fixture(scope="module")
def datasets():
    return {d: load_dataset(d) for d in DATASETS}


def same_data(meta: dict, data) -> None:
    src = meta["dataset"]["source"]
    require(src == data.source, f"recorded on '{src}', this machine loads '{data.source}'")


def test_weights_folder_is_small_and_complete():
    files = list(WEIGHTS_DIR.iterdir())
    total = sum(f.stat().st_size for f in files if f.is_file())
    assert total <= 60 * 1024**2, f"weights/ is {total / 1024**2:.1f} MB"
    names = {f.name for f in files}
    conditional = [f"{d}-{m}" for d in DATASETS for m in ("cvae", "cgan")]
    for stem in SHIPPED + conditional + NOISE + [f"classifier-{d}" for d in DATASETS]:
        assert f"{stem}.safetensors" in names and f"{stem}.json" in names, stem
    assert "README.md" in names and "build.py" in names
    assert not [n for n in names if n.endswith((".pt", ".pth", ".pkl", ".ckpt"))]


@pytest.mark.parametrize("stem", SHIPPED + NOISE)
def test_checkpoint_loads_and_records_its_metrics(stem):
    path = WEIGHTS_DIR / f"{stem}.safetensors"
    model, meta = load_checkpoint(path)
    assert meta == read_meta(path)
    assert json.loads(path.with_suffix(".json").read_text()) == meta  # the readable copy agrees
    m = meta["metrics"]
    kind = model.config.kind
    assert m["kind"] == kind and m["dataset"] == meta["dataset"]["name"]
    assert meta["status"] == "done" and meta["epochs"] >= 1
    assert all(v.dtype == torch.float32 for v in model.state_dict().values() if v.is_floating_point())
    if kind in ("ae", "vae"):
        assert 0 < m["recon"]["mse"] < 0.1
    if kind == "ae":
        assert m["pca"]["mse"] > 0 and m["pca"]["components"] == model.config.latent_dim
    if kind == "vae":
        assert m["elbo"]["total"] == pytest.approx(m["elbo"]["recon"] + m["elbo"]["kl"])
        assert m["iwae"]["k"] >= 100
        assert m["iwae"]["nll"] <= m["iwae"]["elbo_same_images"]  # IWAE bound is tighter
        assert 1 <= m["active_units"]["active"] <= model.config.latent_dim
    blocks = ["samples_prior", "samples_fitted"] if kind == "ae" else ["samples"]
    for s in (m[b] for b in blocks):
        assert s["frechet"] >= 0 and s["frechet_floor"] > 0 and 0 <= s["coverage"] <= 1
        assert 0 < s["n"] <= m["n_test"] and s["quick"]["n"] <= s["n"]
    if kind == "ae":  # an AE's codes are not N(0, I): a Gaussian fitted to them samples better
        assert m["samples_fitted"]["frechet"] < m["samples_prior"]["frechet"]
    if model.config.conditional:
        assert 0.1 < m["class_agreement"]["agreement"] <= 1
    if kind in ("flow", "ddpm"):  # its denoising strip ships beside it
        from genlab.latent.denoise import load_strip
        strip = load_strip(path)
        assert strip is not None and strip.epochs[-1] == meta["epochs"]


@pytest.mark.parametrize("stem", [s for s in SHIPPED if not s.endswith("gan")])
def test_reconstruction_and_elbo_reproduce(stem, datasets):
    model, meta = load_checkpoint(WEIGHTS_DIR / f"{stem}.safetensors")
    data = datasets[meta["dataset"]["name"]]
    same_data(meta, data)
    m = meta["metrics"]
    r = reconstruction_metrics(model, data.test_x)
    assert r["mse"] == pytest.approx(m["recon"]["mse"], rel=1e-3)
    assert r["bce"] == pytest.approx(m["recon"]["bce"], rel=1e-3)
    if model.config.kind == "vae":
        e = elbo(model, data.test_x, seed=m["elbo"]["seed"])
        assert e["total"] == pytest.approx(m["elbo"]["total"], rel=1e-3)
        x = data.test_x[:64]  # a cheap IWAE: between the ELBO and the recorded k=500 number
        small = float(iwae_bound(model, x, k=20, seed=0).mean())
        assert small >= -elbo(model, x, seed=0)["total"] - 0.5


@pytest.mark.parametrize("stem,block", [(s, "samples") for s in SHIPPED if not s.endswith("-ae")]
                         + [(s, b) for s in SHIPPED if s.endswith("-ae") for b in ("samples_prior", "samples_fitted")])
def test_sample_quality_reproduces(stem, block, datasets):
    model, meta = load_checkpoint(WEIGHTS_DIR / f"{stem}.safetensors")
    data = datasets[meta["dataset"]["name"]]
    same_data(meta, data)
    q = meta["metrics"][block]["quick"]
    clf, _ = load_classifier(WEIGHTS_DIR / f"classifier-{data.name}.safetensors")
    codes = fit_code_gaussian(model, data.train_x) if block == "samples_fitted" else None
    s = sample_metrics(model, clf, data, q["n"], q["seed"], codes=codes)
    assert s["frechet"] == pytest.approx(q["frechet"], rel=0.02)
    assert s["frechet_floor"] == pytest.approx(q["frechet_floor"], rel=0.02)
    assert s["coverage"] == pytest.approx(q["coverage"], abs=0.01)
    assert s["confidence"] == pytest.approx(q["confidence"], abs=0.01)


@pytest.mark.parametrize("name,target", [("mnist", 0.97), ("fashion-mnist", 0.90)])
def test_metric_classifiers_meet_their_accuracy(name, target, datasets):
    clf, meta = load_classifier(WEIGHTS_DIR / f"classifier-{name}.safetensors")
    data = datasets[name]
    same_data({"dataset": {"source": meta["data_source"]}}, data)
    acc = accuracy(clf, data.test_x, data.test_y)
    assert acc == pytest.approx(meta["test_accuracy"], abs=0.002)
    assert acc >= target
