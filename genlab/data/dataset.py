"""The ImageDataset container, the disk cache and helpers shared by all sources."""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch


class DataError(ValueError):
    """A data set could not be loaded; the message says why and what to do."""


def to_float(xb: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
    """uint8 pixels (N, C, H, W) -> float in [0, 1], the form every model takes."""
    x = xb.float().div_(255.0)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def one_per_class(labels: torch.Tensor, n: int = 10) -> list[int]:
    """Indices of the first image of each class, in class order (up to ``n``), then the first
    other images until ``n``: the fixed examples that the live preview and the report show. A
    test split sorted by class (MNIST's offline subset) then shows one digit of each kind, not
    eight zeros; a data set without classes shows its first ``n`` images."""
    first: dict[int, int] = {}
    for i, c in enumerate(labels.tolist()):
        first.setdefault(int(c), i)
    idx = [first[c] for c in sorted(first)][:n]
    taken = set(idx)
    idx += [i for i in range(min(len(labels), n + len(idx))) if i not in taken][:n - len(idx)]
    return idx


@dataclass
class ImageDataset:
    name: str
    train_x: torch.Tensor  # uint8 (N, C, H, W)
    train_y: torch.Tensor  # int64 (N,)
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: list[str]
    source: str  # human-readable provenance, shown in UI and CLI
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count (image sources)

    def __post_init__(self) -> None:
        """Refuse what the trainer cannot use: non-uint8 or NaN pixels, mismatched shapes."""
        for split, x, y in (("training", self.train_x, self.train_y), ("test", self.test_x, self.test_y)):
            if not isinstance(x, torch.Tensor) or x.dim() != 4:
                raise DataError(f"The {split} images must be a 4-D tensor (N, C, H, W).")
            if x.is_floating_point() and len(x) and not bool(torch.isfinite(x).all()):
                bad = int((~torch.isfinite(x)).sum())
                raise DataError(f"The {split} images contain {bad:,} NaN or infinite values; "
                                "fix or drop those images before training.")
            if x.dtype != torch.uint8:
                raise DataError(f"The {split} images must be uint8 pixels 0-255, not {x.dtype}.")
            if not isinstance(y, torch.Tensor) or y.shape != (len(x),):
                raise DataError(f"The {split} split has {len(x):,} images but labels of shape "
                                f"{tuple(getattr(y, 'shape', ()))}.")
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= max(len(self.classes), 1)):
                raise DataError(f"The {split} labels must lie in 0..{len(self.classes) - 1}.")
        if len(self.test_x) and self.test_x.shape[1:] != self.train_x.shape[1:]:
            raise DataError(f"Training images are {tuple(self.train_x.shape[1:])} but test images "
                            f"are {tuple(self.test_x.shape[1:])}.")

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self.train_x) + len(self.test_x)

    def summary(self) -> str:
        c, h, w = self.shape
        text = (f"{self.name}: {len(self.train_x):,} train / {len(self.test_x):,} test, "
                f"{c}x{h}x{w}, {len(self.classes)} classes — {self.source}")
        if self.skipped:
            text += " — skipped " + ", ".join(f"{n} {r}" for r, n in sorted(self.skipped.items()))
        return text


def cache_dir() -> Path:
    """User cache folder (``GENLAB_CACHE`` overrides)."""
    root = os.environ.get("GENLAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "genlab")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_key(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:24]


def cache_upload(data: bytes, suffix: str = ".zip") -> Path:
    """An uploaded file kept in the cache folder under the hash of its bytes (written once,
    atomically): the same upload gives the same path, so what was read from it is reused."""
    target = cache_dir() / "uploads" / f"{hashlib.sha256(data).hexdigest()[:20]}{suffix}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    return target


def save_arrays(key: str, **arrays: np.ndarray) -> None:
    """Atomically store decoded arrays (never pickled) under the cache folder."""
    target = cache_dir() / f"{key}.npz"
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, target)
    except OSError:
        Path(tmp).unlink(missing_ok=True)  # a cache that cannot be written is not an error


def load_arrays(key: str) -> dict[str, np.ndarray] | None:
    path = cache_dir() / f"{key}.npz"
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception:  # corrupt cache entry: drop it and decode again
        path.unlink(missing_ok=True)
        return None


def split_indices(n: int, test_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic shuffled split; the test part is never empty when n >= 2."""
    perm = np.random.default_rng(seed).permutation(n)
    n_test = max(1, int(round(n * test_fraction))) if n >= 2 else 0
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def from_arrays(name: str, x: np.ndarray, y: np.ndarray, tx: np.ndarray, ty: np.ndarray,
                classes: list[str], source: str, skipped: dict | None = None) -> ImageDataset:
    def t(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        return torch.from_numpy(np.array(a, copy=True)).to(dtype)
    return ImageDataset(name, t(x, torch.uint8), t(y, torch.int64), t(tx, torch.uint8),
                        t(ty, torch.int64), list(classes), source, dict(skipped or {}))
