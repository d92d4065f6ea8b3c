"""Data sets as in-memory uint8 tensors ``(N, C, H, W)`` with labels and provenance.

``load_dataset(name)`` is the one entry point. ``name`` is a built-in data set
(``mnist``, ``fashion-mnist``, ``digits``) or the path of a folder or ``.zip`` of
images. Every result says where it came from in ``source``.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F

from genlab.data.builtin import BUILTIN, builtin_status, load_builtin
from genlab.data.dataset import DataError, ImageDataset, one_per_class, to_float
from genlab.data.images import load_image_source

__all__ = [
    "BUILTIN", "DataError", "ImageDataset", "allowed_folder", "available_datasets", "dataset_for_meta",
    "dataset_meta", "load_dataset", "one_per_class", "resize_images", "to_float",
]


def resize_images(x: torch.Tensor, size: int | None = None, channels: int | None = None) -> torch.Tensor:
    """Resize a uint8 ``(N, C, H, W)`` batch to ``size`` and/or ``channels`` (gray <-> RGB)."""
    if channels is not None and channels != x.shape[1]:
        if channels == 3 and x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1).contiguous()
        elif channels == 1 and x.shape[1] == 3:
            w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            x = (x.float() * w).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
        else:
            raise DataError(f"Cannot convert {x.shape[1]} channels to {channels}.")
    if size is not None and size != x.shape[-1]:
        out = []
        for chunk in x.split(4096):
            y = F.interpolate(chunk.float(), size=(size, size), mode="bilinear", antialias=True,
                              align_corners=False)
            out.append(y.round().clamp(0, 255).to(torch.uint8))
        x = torch.cat(out) if out else x.new_zeros((0, x.shape[1], size, size))
    return x


def load_dataset(name: str, *, image_size: int | None = None, channels: int | None = None,
                 allow_download: bool | None = None) -> ImageDataset:
    """Load a data set by name (built-in) or path (folder / .zip of images).

    ``image_size`` and ``channels`` resize/convert the result (built-ins are 28x28 gray,
    digits 8x8 gray). For image folders they choose the decoded size (default 28) and
    mode (default gray).
    """
    key = str(name).strip()
    if key.lower() in BUILTIN:
        ds = load_builtin(key.lower(), allow_download=allow_download)
        if image_size or channels:
            ds.train_x = resize_images(ds.train_x, image_size, channels)
            ds.test_x = resize_images(ds.test_x, image_size, channels)
        return ds
    path = Path(key).expanduser()
    if path.exists():
        return load_image_source(path, size=image_size or 28, channels=channels or 1)
    raise DataError(
        f"Unknown data set {name!r}. Use one of {', '.join(BUILTIN)}, "
        "or the path of a folder or .zip file of images.")


def allowed_folder(path: str) -> Path:
    """A folder the app may read. On a shared server, ``GENLAB_DATA_ROOT`` confines typed folder
    paths to that tree (one student cannot read another's files or the system's)."""
    folder = Path(path).expanduser().resolve()
    root = os.environ.get("GENLAB_DATA_ROOT", "").strip()
    if root and not folder.is_relative_to(Path(root).expanduser().resolve()):
        raise DataError(f"On this server, image folders must be inside {root}.")
    return folder


def dataset_meta(data: ImageDataset, ref: str, label: str | None = None) -> dict:
    """How a checkpoint records its data set; ``ref`` (a built-in name or an absolute path)
    is what ``load_dataset`` needs to load it again, from any working folder."""
    key = str(ref).strip()
    path = None if key.lower() in BUILTIN else str(Path(key).expanduser().resolve())
    return {"name": data.name if path is None else (label or Path(path).name),
            "path": path, "ref": path or key.lower(), "source": data.source,
            "classes": list(data.classes), "image_shape": list(data.shape),
            "train_size": len(data.train_x), "test_size": len(data.test_x)}


def dataset_for_meta(meta: dict, allow_download: bool | None = None) -> ImageDataset:
    """The data set a checkpoint was trained on, again, at its model's image size and channels.

    The one precedence for every reader (pages, ``genlab eval``): the absolute ``path`` the app
    records, then ``ref`` (a built-in name or the path the CLI recorded), then ``name``."""
    cfg = meta.get("model") or {}
    ds = meta.get("dataset") or {}
    ref = str(ds.get("path") or ds.get("ref") or ds.get("name") or "").strip()
    if not ref:
        raise DataError("This model's file does not say which data set it was trained on.")
    if ref.lower() not in BUILTIN and not Path(ref).expanduser().exists():
        raise DataError(f"The images this model was trained on ({ds.get('name') or ref}) are not on "
                        "this computer any more, so there is no test set to show.")
    return load_dataset(ref, image_size=int(cfg.get("image_size", 28)),
                        channels=int(cfg.get("channels", 1)), allow_download=allow_download)


def available_datasets() -> list[dict]:
    """What can be loaded right now and from where (no download is attempted)."""
    return [builtin_status(n) for n in BUILTIN]
