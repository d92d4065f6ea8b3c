"""Class agreement: how often the metric classifier sees, in a conditional model's samples, the
class they were requested for (defined once here; ``evaluate_checkpoint`` stores it)."""
from __future__ import annotations

import torch

from genlab.metrics.classifier import embed
from genlab.models import default_labels


@torch.no_grad()
def class_agreement(model, clf, n: int = 1000, seed: int = 0, batch: int = 500) -> dict:
    """Share of ``n`` samples of a conditional model (requested classes ``i % K``, so every
    class ``n / K`` times; noise from the prior seeded with ``seed``) that the metric classifier
    assigns to the requested class; ``per_class``: the same share for each class. The model is
    sampled in eval mode and left in the mode it was in."""
    k = model.config.num_classes
    if not k:
        raise ValueError("Class agreement is defined for conditional models only.")
    was = model.training  # sampled in eval mode; a model in training goes on training after
    model.eval()
    gen = torch.Generator(device=model.device).manual_seed(seed)
    wanted = default_labels(n, k)
    preds = []
    try:
        for i in range(0, n, batch):
            y = wanted[i:i + batch]
            images = model.decode(model.prior(len(y), generator=gen), y.to(model.device)).float().cpu()
            preds.append(embed(clf, images)[1].argmax(1))
    finally:
        model.train(was)
    hit = torch.cat(preds) == wanted if preds else torch.zeros(0, dtype=torch.bool)
    per_class = [float(hit[wanted == c].float().mean()) if bool((wanted == c).any()) else None
                 for c in range(k)]
    return {"agreement": float(hit.float().mean()) if len(hit) else None, "n": n, "seed": seed,
            "per_class": per_class, "requested": "class i % K for sample i"}
