"""The small convolutional classifier behind the sample-quality metrics.

It is not a GenerativeModel, so its description has its own format (``genlab-classifier/1``);
the file is written and read by ``genlab.store.checkpoint`` (safetensors with the JSON description in
its header, a readable ``.json`` copy, atomic writes, never unpickled); loading here checks the
config and every tensor.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from genlab.data import ImageDataset, to_float
from genlab.device import describe_device, select_device
from genlab.store.catalog import WEIGHTS_DIR
from genlab.store.checkpoint import (
    CheckpointError,
    checkpoint_path,
    read_described,
    versions,
    write_described,
)

FORMAT = "genlab-classifier/1"


@dataclass
class ClassifierConfig:
    channels: int = 1
    image_size: int = 28
    n_classes: int = 10
    width: int = 32  # channels of the first conv; the second has twice as many
    features: int = 128  # width of the penultimate layer (the Fréchet features)
    dropout: float = 0.3

    def validate(self) -> ClassifierConfig:
        if self.channels not in (1, 3) or self.image_size % 4 or not 8 <= self.image_size <= 256:
            raise ValueError("The classifier takes 1 or 3 channels and an image size divisible by 4.")
        if not 2 <= self.n_classes <= 1000 or not 1 <= self.width <= 512 or not 1 <= self.features <= 4096:
            raise ValueError("Classifier sizes out of range.")
        return self


class Classifier(nn.Module):
    """conv3-BN-ReLU-pool ×2 -> fc(features)-ReLU -> dropout -> fc(classes). ~0.4 M weights."""

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        c = self.config = config.validate()
        w, s = c.width, c.image_size // 4
        self.body = nn.Sequential(
            nn.Conv2d(c.channels, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(2 * w * s * s, c.features), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(c.features, c.n_classes))

    def features(self, x01: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features of images in [0, 1]."""
        return self.body(x01 * 2 - 1)

    def forward(self, x01: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x01))


@torch.no_grad()
def embed(clf: Classifier, images: torch.Tensor, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """(features, softmax probabilities) on the CPU for uint8 or [0, 1] float images."""
    clf.eval()
    dev = next(clf.parameters()).device
    feats, probs = [], []
    for i in range(0, len(images), batch):
        xb = images[i:i + batch].to(dev)
        xb = to_float(xb) if xb.dtype == torch.uint8 else xb.float()
        f = clf.features(xb)
        feats.append(f.float().cpu())
        probs.append(F.softmax(clf.head(f).float(), 1).cpu())
    return torch.cat(feats), torch.cat(probs)


def accuracy(clf: Classifier, x_u8: torch.Tensor, y: torch.Tensor) -> float:
    _, p = embed(clf, x_u8)
    return float((p.argmax(1) == y.cpu()).float().mean()) if len(y) else float("nan")


def _shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by up to ``max_shift`` pixels (zero fill)."""
    if max_shift <= 0:
        return x
    b, _, h, w = x.shape
    p = F.pad(x, (max_shift,) * 4)
    off = torch.randint(0, 2 * max_shift + 1, (2, b), generator=gen, device=x.device)
    rows = off[0][:, None] + torch.arange(h, device=x.device)
    cols = off[1][:, None] + torch.arange(w, device=x.device)
    idx = torch.arange(b, device=x.device)[:, None, None]
    return p.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def train_classifier(data: ImageDataset, epochs: int = 10, batch_size: int = 128, lr: float = 1e-3,
                     seed: int = 0, device: str = "auto", max_shift: int = 2, width: int = 16,
                     features: int = 128, log=print) -> tuple[Classifier, dict]:
    """Train the metric classifier on ``data``'s train split (Adam, one-cycle lr, random
    shifts); returns the model (eval mode) and its description (test accuracy, timings)."""
    dev = select_device(device)
    cfg = ClassifierConfig(data.shape[0], data.shape[1], len(data.classes), width, features)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        clf = Classifier(cfg)
    clf.to(dev).train()
    gen = torch.Generator(device=dev).manual_seed(seed)
    X, Y = data.train_x.to(dev), data.train_y.to(dev)
    n = len(X)
    steps = math.ceil(n / batch_size)
    opt = torch.optim.Adam(clf.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps)
    t0 = time.perf_counter()
    history = []
    for epoch in range(epochs):
        perm = torch.randperm(n, generator=gen, device=dev)
        total = torch.zeros((), device=dev)
        for i in range(steps):
            idx = perm[i * batch_size:(i + 1) * batch_size]
            if len(idx) < 2:
                continue
            xb = _shift(to_float(X[idx]), max_shift, gen)
            loss = F.cross_entropy(clf(xb), Y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.detach() * len(idx)
        acc = accuracy(clf, data.test_x, data.test_y)
        clf.train()
        history.append({"epoch": epoch + 1, "loss": float(total) / n, "test_accuracy": acc})
        if log:
            log(f"  classifier epoch {epoch + 1}/{epochs}: loss {float(total) / n:.4f}, "
                f"test accuracy {acc:.4f} ({time.perf_counter() - t0:.0f} s)")
    clf.eval()
    info = {"dataset": data.name, "data_source": data.source, "classes": list(data.classes),
            "train": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "schedule": "one-cycle",
                      "seed": seed, "max_shift": max_shift, "n_train": n,
                      "seconds": round(time.perf_counter() - t0, 1), "device": describe_device(dev)},
            "test_accuracy": history[-1]["test_accuracy"] if history else float("nan"),
            "n_test": len(data.test_x), "history": history}
    return clf, info


def save_classifier(path: str | os.PathLike, clf: Classifier, *, dtype: torch.dtype | None = None,
                    **meta) -> Path:
    info = {"format": FORMAT, "name": checkpoint_path(path).stem, "config": asdict(clf.config),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "versions": versions(), **meta}
    tensors = {k: v.detach().to("cpu", dtype if (dtype and v.is_floating_point()) else v.dtype)
               .contiguous() for k, v in clf.state_dict().items()}
    return write_described(path, tensors, info)


def load_classifier(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[Classifier, dict]:
    """Rebuild a saved classifier (eval mode) and its description; never unpickles."""
    tensors, meta = read_described(path, FORMAT)
    name = checkpoint_path(path).name
    try:
        clf = Classifier(ClassifierConfig(**meta["config"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{name} is not a readable GenLab classifier ({exc}).") from exc
    expected = clf.state_dict()
    if set(expected) != set(tensors):
        raise CheckpointError(f"{name} does not match its config (tensor names differ).")
    for k, v in expected.items():
        t = tensors[k].to(v.dtype) if v.is_floating_point() else tensors[k]
        if t.shape != v.shape or t.dtype != v.dtype:
            raise CheckpointError(f"{name}: tensor {k} is {tuple(t.shape)}, expected {tuple(v.shape)}.")
        tensors[k] = t
    clf.load_state_dict(tensors)
    return clf.to(device).eval(), meta


def classifier_path(dataset: str, folder: Path = WEIGHTS_DIR) -> Path:
    return folder / f"classifier-{dataset}.safetensors"


def metric_classifier(data: ImageDataset, device) -> Classifier | None:
    """The data set's metric classifier (weights/classifier-NAME) when one exists for images of
    this shape (the training health check's class coverage); None otherwise."""
    path = classifier_path(data.name)
    if not path.is_file():
        return None
    try:
        clf, _ = load_classifier(path, device=device)
    except (CheckpointError, OSError):
        return None
    c = clf.config
    return clf if (c.channels, c.image_size, c.image_size) == tuple(data.shape) else None
