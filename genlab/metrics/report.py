"""``evaluate_checkpoint``: every quality number that applies to a model's kind, stored in the
checkpoint's JSON (``genlab.metrics.format`` writes them out for people).

AE and VAE: reconstruction MSE per pixel and BCE in nats per image on the test split (and, for
an AE, the PCA baseline with as many components as it has latent units). VAE: test ELBO split
into reconstruction and KL, the IWAE bound with ``iwae_k`` samples, active units. Sample
quality on the features of the data set's metric classifier (weights/classifier-NAME): Fréchet
distance to the test split beside the train-vs-test floor of the same size, class coverage and
confidence — for a VAE and a GAN of samples from the prior (``samples``), for an AE of samples
decoded from N(0, I) (``samples_prior``) and from a Gaussian fitted to its training codes
(``samples_fitted``). Each block records the settings that reproduce it.
"""
from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from genlab.data import DataError, dataset_for_meta
from genlab.device import describe_device, select_device
from genlab.metrics.agreement import class_agreement
from genlab.metrics.classifier import classifier_path, embed, load_classifier
from genlab.metrics.codes import active_units
from genlab.metrics.likelihood import elbo, iwae_bound
from genlab.metrics.recon import pca_baseline, reconstruction_metrics
from genlab.metrics.samples import fit_code_gaussian, sample_metrics
from genlab.store.checkpoint import (
    CheckpointError,
    checkpoint_path,
    load_checkpoint,
    source_path,
    update_meta,
)

METRICS_VERSION = 1
# progress(stage, done, total): ``stage`` says in words what is being measured now; ``done`` of
# ``total`` work units are finished (one per stage, one per batch of IWAE images)
Progress = Callable[[str, int, int], None]


class _Steps:
    """Counts work units and reports them to a ``Progress`` callback (or to nothing)."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def __call__(self, stage: str, units: int = 1) -> None:
        self.done += units
        if self.progress is not None:
            self.progress(stage, min(self.done, self.total), self.total)


def _plan(kind: str, iwae_k: int, iwae_n: int, n_test: int, blocks: list[str]) -> int:
    """The work units of one evaluation, for the progress count."""
    per = max(1, 50_000 // iwae_k) if iwae_k and iwae_k > 0 else 0
    iwae_batches = -(-min(iwae_n, n_test) // per) if per and kind == "vae" else 0
    fixed = {"ae": 2, "vae": 3}.get(kind, 0)  # recon (+ pca for an AE; elbo, active units)
    return fixed + iwae_batches + 2 * len(blocks)


def evaluate_model(model, data, *, iwae_k: int = 500, iwae_n: int = 1000,
                   n_samples: int | None = None, seed: int = 0, clf=None, clf_meta=None,
                   progress: Progress | None = None) -> dict:
    """All the numbers for an already loaded model and data set (no file access);
    ``progress`` hears about every stage (see ``Progress``)."""
    kind = model.config.kind
    t0 = time.perf_counter()
    blocks = ["samples_prior", "samples_fitted"] if kind == "ae" else ["samples"]
    conditional = model.config.conditional
    step = _Steps(progress, _plan(kind, iwae_k, iwae_n, len(data.test_x), blocks) + conditional)
    given = {"labels": data.test_y} if conditional else {}  # a cVAE is told each image's class
    m: dict = {"version": METRICS_VERSION, "kind": kind, "dataset": data.name,
               "data_source": data.source, "n_test": len(data.test_x)}
    if kind in ("ae", "vae"):
        m["recon"] = reconstruction_metrics(model, data.test_x, **given)
        step("reconstruction error")
    if kind == "ae":
        m["pca"] = pca_baseline(data.train_x, data.test_x, model.config.latent_dim)
        m["pca"]["ratio"] = m["recon"]["mse"] / max(m["pca"]["mse"], 1e-12)
        step("PCA baseline")
    if kind == "vae":
        m["elbo"] = {**elbo(model, data.test_x, seed=seed, **given), "seed": seed}
        step("test ELBO")
        if iwae_k and iwae_k > 0:
            n = min(iwae_n, len(data.test_x))
            first = {"labels": data.test_y[:n]} if conditional else {}
            bound = iwae_bound(model, data.test_x[:n], k=iwae_k, seed=seed, **first,
                               progress=lambda done, of: step(f"IWAE k={iwae_k}: {done:,}/{of:,} images"))
            one = elbo(model, data.test_x[:n], seed=seed, **first)["total"]
            m["iwae"] = {"k": iwae_k, "n": n, "seed": seed, "log_px": float(bound.mean()),
                         "nll": -float(bound.mean()), "elbo_same_images": one,
                         "gap": one + float(bound.mean())}
        m["active_units"] = active_units(model, data.test_x)
        step("active units")
    # samples: VAE and GAN from their prior; an AE has no prior, so from N(0, I) and from a
    # Gaussian fitted to its training codes (samples_prior / samples_fitted)
    test_embedding = embed(clf, data.test_x) if clf is not None else None
    for key in blocks:
        if clf is None:
            m[key] = {"skipped": f"no metric classifier for {data.name!r} in weights/"}
            step(f"{key}: skipped", 2)
            continue
        codes = fit_code_gaussian(model, data.train_x) if key == "samples_fitted" else None
        n = n_samples or len(data.test_x)
        m[key] = sample_metrics(model, clf, data, n, seed, test_embedding, codes)
        step(f"{key}: {n:,} samples")
        m[key]["quick"] = sample_metrics(model, clf, data, min(500, n), seed, test_embedding, codes)
        step(f"{key}: {min(500, n):,} samples")
        if codes is not None:
            m[key]["fitted_on"] = f"the codes of the {codes.n:,} training images (mean, full covariance)"
    if conditional and clf is not None and clf.config.n_classes == model.config.num_classes:
        m["class_agreement"] = class_agreement(model, clf, n_samples or len(data.test_x), seed)
        step("class agreement")
    if clf is not None:
        m["classifier"] = {"file": clf_meta.get("name"), "test_accuracy": clf_meta.get("test_accuracy"),
                           "train_epochs": clf_meta.get("train", {}).get("epochs"),
                           "data_source": clf_meta.get("data_source")}
    m["seconds"] = round(time.perf_counter() - t0, 1)
    m["device"] = describe_device(model.device)
    m["measured"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return _finite(m)


def _finite(o):
    """JSON-safe: NaN / inf become None (the checkpoint JSON allows no NaN)."""
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_finite(v) for v in o]
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


def evaluate_checkpoint(path: str | os.PathLike, iwae_k: int = 500, n_samples: int | None = None,
                        device: str = "auto", store: bool = True, *, iwae_n: int = 1000,
                        seed: int = 0, data=None, classifier: str | os.PathLike | None = None,
                        progress: Progress | None = None) -> dict:
    """Measure the checkpoint at ``path`` on its data set's test split; with ``store`` the
    result goes under ``meta["metrics"]`` in the checkpoint (and its JSON). ``n_samples``
    defaults to the test split's size; IWAE uses the first ``iwae_n`` test images.
    ``progress(stage, done, total)`` is told about every stage (``stderr_progress()`` prints
    a bar)."""
    p = source_path(path)
    dev = select_device(device)
    model, meta = load_checkpoint(p, device=dev)
    if data is None:
        try:
            data = dataset_for_meta(meta, allow_download=False)
        except DataError as exc:
            raise CheckpointError(f"Cannot evaluate {p.name}: {exc}") from exc
    if tuple(data.shape) != model.config.image_shape:
        raise CheckpointError(f"{p.name} expects {model.config.image_shape} images, the data "
                              f"set has {data.shape}.")
    clf = clf_meta = None
    cpath = Path(classifier) if classifier else classifier_path(data.name)
    if checkpoint_path(cpath).exists():
        clf, clf_meta = load_classifier(cpath, device=dev)
        if (clf.config.channels, clf.config.image_size, clf.config.n_classes) != (
                data.shape[0], data.shape[1], len(data.classes)):
            clf = clf_meta = None
    m = evaluate_model(model, data, iwae_k=iwae_k, iwae_n=iwae_n, n_samples=n_samples,
                       seed=seed, clf=clf, clf_meta=clf_meta, progress=progress)
    recorded = (meta.get("dataset") or {}).get("source")
    if recorded and recorded != data.source:
        m["note"] = (f"trained on '{recorded}' but measured on '{data.source}': the numbers are "
                     "not those of the training data's own test split.")
    if store:
        update_meta(p, metrics=m)
    return m


def unmeasured(meta: dict) -> bool:
    """Whether a checkpoint lacks the numbers ``evaluate_checkpoint`` stores: never measured,
    or an AE measured before its samples were scored from N(0, I) and a fitted Gaussian."""
    m = meta.get("metrics") or {}
    return not m or (m.get("kind") == "ae" and "samples_prior" not in m)


def stderr_progress(file=None):
    """A ``Progress`` callback for the terminal: a tqdm bar on stderr that names the stage
    (``python -m genlab eval`` passes it). Returns (callback, close)."""
    from tqdm import tqdm
    bar = None

    def progress(stage: str, done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="step", dynamic_ncols=True, file=file or sys.stderr,
                       desc="measuring", leave=False)
        bar.set_postfix_str(stage, refresh=False)
        bar.update(done - bar.n)
        bar.refresh()  # few, slow stages: show each one

    def close() -> None:
        if bar is not None:
            bar.close()
    return progress, close
