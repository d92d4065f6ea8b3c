"""Quality against the number of sampler steps, for a flow-matching or DDPM model: the same
numbers as every other family (Fréchet distance on GenLab's classifier features, beside the
train-vs-test floor; class agreement for a conditional model), and the time to sample."""
from __future__ import annotations

import time

import torch

from genlab.metrics.classifier import embed
from genlab.metrics.frechet import class_coverage, frechet_between
from genlab.models.labels import default_labels

STEPS = (2, 5, 10, 20, 50)


@torch.no_grad()
def quality_vs_steps(model, data, clf, sampler: str, steps=STEPS, n: int = 200, seed: int = 0,
                     guidance: float | None = None) -> list[dict]:
    """One row per step count: ``frechet`` of ``n`` samples against the test split,
    ``frechet_floor`` (``n`` real training images against the same), ``coverage`` (how evenly
    the samples spread over the classes), ``agreement`` (share of
    samples the classifier puts in the asked class; conditional models) and ``seconds`` to
    sample them. Every row samples the same noise (and the same classes)."""
    n = int(min(n, len(data.test_x), len(data.train_x)))
    test_f, _ = embed(clf, data.test_x)
    idx = torch.randperm(len(data.train_x), generator=torch.Generator().manual_seed(seed))[:n]
    floor = frechet_between(embed(clf, data.train_x[idx])[0], test_f)
    noise = model.prior(n, generator=torch.Generator(device=model.device).manual_seed(seed))
    k = model.config.num_classes
    labels = default_labels(n, k).to(model.device) if k else None
    was = model.training
    model.eval()
    rows = []
    try:
        for s in steps:
            t0 = time.perf_counter()
            images = model.decode(noise, labels, sampler=sampler, steps=int(s), guidance=guidance)
            seconds = time.perf_counter() - t0
            f, p = embed(clf, images.float().cpu())
            row = {"steps": int(s), "frechet": frechet_between(f, test_f), "frechet_floor": floor,
                   "coverage": class_coverage(p.argmax(1), p.shape[1]), "seconds": seconds, "n": n}
            if k:
                row["agreement"] = float((p.argmax(1) == labels.cpu()).float().mean())
            rows.append(row)
    finally:
        model.train(was)
    return rows
