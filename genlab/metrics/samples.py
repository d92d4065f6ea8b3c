"""Sample quality: images a model generates, scored on the features of the data set's metric
classifier with the Fréchet distance, class coverage and confidence, beside the same numbers
for real images (the floor)."""
from __future__ import annotations

import torch

from genlab.metrics.classifier import embed
from genlab.metrics.frechet import class_coverage, class_histogram, confidence, frechet_between


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


