"""``evaluate_checkpoint``: every quality number that applies to a model's kind, stored in the
checkpoint's JSON; ``format_report``: the same as plain text for the terminal.

AE and VAE: reconstruction MSE per pixel and BCE in nats per image on the test split (and, for
an AE, the PCA baseline with as many components as it has latent units). VAE: test ELBO split
into reconstruction and KL, the IWAE bound with ``iwae_k`` samples, active units. VAE and GAN:
sample quality on the features of the data set's metric classifier (weights/classifier-NAME):
Fréchet distance to the test split beside the train-vs-test floor of the same size, class
coverage and confidence. Each block records the settings that reproduce it.
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path

import torch

from genlab.catalog import WEIGHTS_DIR
from genlab.checkpoint import CheckpointError, checkpoint_path, load_checkpoint, source_path, update_meta
from genlab.data import DataError, load_dataset
from genlab.metrics.classifier import embed, load_classifier
from genlab.metrics.frechet import class_coverage, class_histogram, confidence, frechet_between
from genlab.metrics.likelihood import active_units, elbo, iwae_bound
from genlab.metrics.recon import pca_baseline, reconstruction_metrics
from genlab.train import describe_device, select_device

METRICS_VERSION = 1


def classifier_path(dataset: str, folder: Path = WEIGHTS_DIR) -> Path:
    return folder / f"classifier-{dataset}.safetensors"


@torch.no_grad()
def sample_quality(samples: torch.Tensor, clf, test_feats: torch.Tensor, n_classes: int) -> dict:
    """Fréchet distance of ``samples`` to the test features, coverage and confidence."""
    f, p = embed(clf, samples)
    pred = p.argmax(1)
    return {"frechet": frechet_between(f, test_feats), "coverage": class_coverage(pred, n_classes),
            "confidence": confidence(p), "class_histogram": class_histogram(pred, n_classes)}


@torch.no_grad()
def generate(model, n: int, seed: int, batch: int = 1000) -> torch.Tensor:
    """``n`` samples from the prior (eval mode, as the app draws them), reproducible by seed."""
    gen = torch.Generator(device=model.device).manual_seed(seed)
    return torch.cat([model.sample(min(batch, n - i), generator=gen).float().cpu()
                      for i in range(0, n, batch)])


def sample_metrics(model, clf, data, n: int, seed: int = 0,
                   test_embedding: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict:
    """Sample quality of ``n`` generated images against the test split, beside the floor (the
    same numbers for ``n`` real train images) and the classifier on the test split itself.
    ``test_embedding``: ``embed(clf, data.test_x)`` when the caller already has it."""
    n = int(min(n, len(data.test_x), len(data.train_x)))
    test_f, test_p = test_embedding or embed(clf, data.test_x)
    k = len(data.classes)
    idx = torch.randperm(len(data.train_x), generator=torch.Generator().manual_seed(seed))[:n]
    floor = sample_quality(data.train_x[idx], clf, test_f, k)
    out = sample_quality(generate(model, n, seed), clf, test_f, k)
    out.update(n=n, seed=seed, frechet_floor=floor["frechet"], floor_coverage=floor["coverage"],
               floor_confidence=floor["confidence"],
               frechet_ratio=out["frechet"] / max(floor["frechet"], 1e-12),
               test_confidence=confidence(test_p),
               test_coverage=class_coverage(test_p.argmax(1), k))
    return out


def evaluate_model(model, data, *, iwae_k: int = 500, iwae_n: int = 1000,
                   n_samples: int | None = None, seed: int = 0, clf=None, clf_meta=None) -> dict:
    """All the numbers for an already loaded model and data set (no file access)."""
    kind = model.config.kind
    t0 = time.perf_counter()
    m: dict = {"version": METRICS_VERSION, "kind": kind, "dataset": data.name,
               "data_source": data.source, "n_test": len(data.test_x)}
    if kind in ("ae", "vae"):
        m["recon"] = reconstruction_metrics(model, data.test_x)
    if kind == "ae":
        m["pca"] = pca_baseline(data.train_x, data.test_x, model.config.latent_dim)
        m["pca"]["ratio"] = m["recon"]["mse"] / max(m["pca"]["mse"], 1e-12)
    if kind == "vae":
        m["elbo"] = {**elbo(model, data.test_x, seed=seed), "seed": seed}
        if iwae_k and iwae_k > 0:
            n = min(iwae_n, len(data.test_x))
            bound = iwae_bound(model, data.test_x[:n], k=iwae_k, seed=seed)
            one = elbo(model, data.test_x[:n], seed=seed)["total"]
            m["iwae"] = {"k": iwae_k, "n": n, "seed": seed, "log_px": float(bound.mean()),
                         "nll": -float(bound.mean()), "elbo_same_images": one,
                         "gap": one + float(bound.mean())}
        m["active_units"] = active_units(model, data.test_x)
    if kind in ("vae", "gan"):
        if clf is None:
            m["samples"] = {"skipped": f"no metric classifier for {data.name!r} in weights/"}
        else:
            n = n_samples or len(data.test_x)
            test_embedding = embed(clf, data.test_x)
            m["samples"] = sample_metrics(model, clf, data, n, seed, test_embedding)
            m["samples"]["quick"] = sample_metrics(model, clf, data, min(500, n), seed, test_embedding)
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
                        seed: int = 0, data=None, classifier: str | os.PathLike | None = None) -> dict:
    """Measure the checkpoint at ``path`` on its data set's test split; with ``store`` the
    result goes under ``meta["metrics"]`` in the checkpoint (and its JSON). ``n_samples``
    defaults to the test split's size; IWAE uses the first ``iwae_n`` test images."""
    p = source_path(path)
    dev = select_device(device)
    model, meta = load_checkpoint(p, device=dev)
    if data is None:
        d = meta.get("dataset") or {}
        name = d.get("ref") or d.get("name")
        if not name:
            raise CheckpointError(f"{p.name} does not say which data set it was trained on.")
        try:
            data = load_dataset(str(name), image_size=model.config.image_size,
                                channels=model.config.channels, allow_download=False)
        except DataError as exc:
            raise CheckpointError(f"Cannot evaluate {p.name}: {exc}") from exc
    if tuple(data.shape) != model.config.image_shape:
        raise CheckpointError(f"{p.name} expects {model.config.image_shape} images, the data "
                              f"set has {data.shape}.")
    clf = clf_meta = None
    cpath = Path(classifier) if classifier else classifier_path(data.name)
    if model.config.kind != "ae" and checkpoint_path(cpath).exists():
        clf, clf_meta = load_classifier(cpath, device=dev)
        if (clf.config.channels, clf.config.image_size, clf.config.n_classes) != (
                data.shape[0], data.shape[1], len(data.classes)):
            clf = clf_meta = None
    m = evaluate_model(model, data, iwae_k=iwae_k, iwae_n=iwae_n, n_samples=n_samples,
                       seed=seed, clf=clf, clf_meta=clf_meta)
    recorded = (meta.get("dataset") or {}).get("source")
    if recorded and recorded != data.source:
        m["note"] = (f"trained on '{recorded}' but measured on '{data.source}': the numbers are "
                     "not those of the training data's own test split.")
    if store:
        update_meta(p, metrics=m)
    return m


def summarize(m: dict) -> dict[str, str]:
    """The headline numbers of ``evaluate_checkpoint``'s result as label -> text, for a table
    cell or a tooltip in the app (the full record stays in the checkpoint's JSON)."""
    out: dict[str, str] = {}
    if "recon" in m:
        out["recon MSE/pixel"] = _f(m["recon"]["mse"], 5)
    if "pca" in m:
        out["AE / PCA MSE"] = _f(m["pca"]["ratio"], 3)
    if "elbo" in m:
        e = m["elbo"]
        out["test −ELBO"] = f"{_f(e['total'], 1)} (recon {_f(e['recon'], 1)} + KL {_f(e['kl'], 1)}) nats"
    if "iwae" in m:
        out[f"IWAE-{m['iwae']['k']} −log p(x)"] = f"≤ {_f(m['iwae']['nll'], 1)} nats"
    if "active_units" in m:
        out["active units"] = f"{m['active_units']['active']}/{m['active_units']['of']}"
    s = m.get("samples") or {}
    if "frechet" in s:
        out["Fréchet (floor)"] = f"{_f(s['frechet'], 1)} ({_f(s['frechet_floor'], 1)})"
        out["class coverage"] = _f(s["coverage"], 3)
        out["confidence"] = _f(s["confidence"], 3)
    return out


def _f(v, nd=4):
    return "n/a" if v is None else (f"{v:.{nd}f}" if isinstance(v, float) else str(v))


def format_report(m: dict) -> str:
    """Plain-text report of ``evaluate_checkpoint``'s result."""
    lines = [f"{m.get('kind', '?').upper()} on {m.get('dataset')} ({m.get('n_test')} test images; "
             f"{m.get('data_source')})"]
    if "recon" in m:
        r = m["recon"]
        lines.append(f"  reconstruction   MSE/pixel {_f(r['mse'], 5)}   BCE {_f(r['bce'], 2)} nats/image")
    if "pca" in m:
        p = m["pca"]
        lines.append(f"  PCA baseline     {p['components']} components: MSE/pixel {_f(p['mse'], 5)}  "
                     f"(AE / PCA = {_f(p['ratio'], 3)}; target <= 0.25)")
    if "elbo" in m:
        e = m["elbo"]
        lines.append(f"  test -ELBO       {_f(e['total'], 2)} nats/image = recon {_f(e['recon'], 2)} "
                     f"+ KL {_f(e['kl'], 2)}")
    if "iwae" in m:
        w = m["iwae"]
        lines.append(f"  IWAE (k={w['k']})    -log p(x) <= {_f(w['nll'], 2)} nats/image on {w['n']} test "
                     f"images (-ELBO there {_f(w['elbo_same_images'], 2)}, gap {_f(w['gap'], 2)})")
    if "active_units" in m:
        a = m["active_units"]
        lines.append(f"  active units     {a['active']} of {a['of']} (posterior-mean variance > "
                     f"{a['threshold']}){'  <- posterior collapse' if a['active'] < max(1, a['of'] // 4) else ''}")
    s = m.get("samples")
    if s and "skipped" in s:
        lines.append(f"  samples          not measured: {s['skipped']}")
    elif s:
        lines += [
            f"  samples (n={s['n']}, seed {s['seed']}) on the metric classifier's features:",
            f"    Fréchet distance  {_f(s['frechet'], 2)}   floor (train vs test, same n) "
            f"{_f(s['frechet_floor'], 2)}   ratio {_f(s['frechet_ratio'], 2)}",
            f"    class coverage    {_f(s['coverage'], 3)}   (real train images {_f(s['floor_coverage'], 3)})",
            f"    confidence        {_f(s['confidence'], 3)}   (real test images {_f(s['test_confidence'], 3)})"]
    if "classifier" in m:
        c = m["classifier"]
        lines.append(f"  metric classifier {c['file']}: test accuracy {_f(c['test_accuracy'], 4)}")
    if m.get("note"):
        lines.append(f"  note: {m['note']}")
    lines.append(f"  measured in {m.get('seconds')} s on {m.get('device')}")
    return "\n".join(lines)
