"""A folder or .zip of the user's own images -> ImageDataset.

Class subfolders are optional (``faces/happy/1.png`` -> class ``happy``). Zip members are read
in memory and never extracted, so no path in an archive can write anywhere. Unsafe names,
unreadable or non-image files and images over the pixel cap are skipped and counted.
"""
from __future__ import annotations

import io
import os
import stat
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageOps

from genlab.data.dataset import (
    DataError,
    ImageDataset,
    cache_key,
    from_arrays,
    load_arrays,
    save_arrays,
    split_indices,
)

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
SIZES = (8, 16, 28, 32, 64)
MAX_FILE_BYTES = 64 * 1024**2
MAX_PIXELS = 40_000_000  # per image, before decoding (decompression bombs)
# Caps a server sets through the environment, read at every load (defaults after the name):
# files per folder or zip, uncompressed bytes of all files, and all images' pixels as decoded
# (JPEGs after draft downscaling): a zip of many small files that each declare 40 MP would
# otherwise cost about 0.3 s of CPU per 35 kB file.
CAPS = {"GENLAB_MAX_FILES": 200_000, "GENLAB_MAX_BYTES": 2 * 1024**3,
        "GENLAB_MAX_TOTAL_PIXELS": 8_000_000_000}


def cap(name: str) -> int:
    """The cap ``name`` (a key of CAPS) from the environment, or its default."""
    raw = os.environ.get(name, "").strip().replace("_", "")
    if not raw:
        return CAPS[name]
    if not raw.isdigit() or int(raw) < 1:
        raise DataError(f"{name} must be a whole number above 0, not {raw!r}; fix or unset it.")
    return int(raw)


class Skipped(Exception):
    """An entry that is skipped and counted under ``reason`` instead of loaded."""
    reason = "unreadable"


class TooLarge(Skipped):
    reason = "too large"


def _to_8bit(im: Image.Image) -> Image.Image:
    """16-bit, 32-bit integer and float images scaled to 0..255 (``convert`` would clip them)."""
    if im.mode not in ("I", "F") and not im.mode.startswith("I;16"):
        return im
    a = np.asarray(im, dtype=np.float64)
    top = float(np.nanmax(a)) if a.size and np.isfinite(a).any() else 0.0
    if im.mode == "F" and top <= 1.0:
        a = a * 255.0  # float images in [0, 1]
    elif top > 65535:
        a = a * (255.0 / top)
    elif top > 255:
        a = a / 257.0  # 16-bit range
    a = np.nan_to_num(a, nan=0.0, posinf=255.0, neginf=0.0)
    return Image.fromarray(a.clip(0, 255).round().astype(np.uint8))


def _decode(data: bytes, size: int, channels: int, budget: list[int] | None = None) -> np.ndarray:
    """Any readable image (any mode, size or aspect) -> centre-cropped ``(C, size, size)`` uint8.
    ``budget`` ([pixels left]) is charged before decoding; DataError once it is spent."""
    with Image.open(io.BytesIO(data)) as im:
        w, h = im.size
        if w * h > MAX_PIXELS:
            raise TooLarge(f"{w}x{h} pixels")
        if w < 1 or h < 1:
            raise Skipped("empty image")
        im.draft("L" if channels == 1 else "RGB", (size * 2, size * 2))  # fast JPEG downscale
        if budget is not None:
            budget[0] -= im.size[0] * im.size[1]
            if budget[0] < 0:
                total = cap("GENLAB_MAX_TOTAL_PIXELS")
                raise DataError(f"The images hold more than {total / 1e6:,.6g} megapixels in all; "
                                "use fewer or smaller images.")
        im = _to_8bit(ImageOps.exif_transpose(im))
        if im.mode in ("P", "LA", "RGBA", "PA", "La", "RGBa"):
            im = im.convert("RGBA")
            bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(bg, im)
        im = im.convert("L" if channels == 1 else "RGB")
        w, h = im.size
        side = min(w, h)  # centre square, then resize (what ImageOps.fit does)
        box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
        im = im.resize((size, size), Image.Resampling.BILINEAR, box=box, reducing_gap=2.0)
        arr = np.asarray(im, dtype=np.uint8)
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def _label_parts(names: list[str]) -> list[str]:
    """Class of each relative path: its first folder, after dropping a folder all share."""
    parts = [PurePosixPath(n).parts for n in names]
    while parts and all(len(p) > 1 for p in parts) and len({p[0] for p in parts}) == 1:
        parts = [p[1:] for p in parts]
    return [p[0] if len(p) > 1 else "" for p in parts]


def _folder_files(root: Path):
    """(path, lstat, reason to skip or None) for each file under ``root``, sorted. Links are not
    followed and only regular files are read (a FIFO or device named .png would block or never end)."""
    count, max_files = 0, cap("GENLAB_MAX_FILES")
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            if fn.startswith("."):
                continue
            path = Path(dirpath) / fn
            try:
                st = os.lstat(path)
            except OSError:
                yield path, None, "unreadable"
                continue
            if stat.S_ISLNK(st.st_mode):  # a link could point anywhere on the server
                yield path, st, "link (not followed)"
            elif not stat.S_ISREG(st.st_mode):
                yield path, st, "not a regular file"
            elif path.suffix.lower() not in EXTENSIONS:
                yield path, st, "not an image file"
            else:
                count += 1
                if count > max_files:
                    raise DataError(f"{root} holds more than {max_files:,} images; use a smaller folder.")
                yield path, st, None


def _entries_folder(root: Path, skipped: Counter):
    total, max_bytes = 0, cap("GENLAB_MAX_BYTES")
    for path, st, why in _folder_files(root):
        if why is None and st.st_size > MAX_FILE_BYTES:
            why = "too large"
        if why:
            skipped[why] += 1
            continue
        total += st.st_size
        if total > max_bytes:
            raise DataError(f"{root} holds more than {max_bytes / 1024**3:.1f} GB of images.")
        yield path.relative_to(root).as_posix(), path.read_bytes


def _entries_zip(zf: zipfile.ZipFile, skipped: Counter):
    infos = [i for i in zf.infolist() if not i.is_dir()]
    max_files, max_bytes = cap("GENLAB_MAX_FILES"), cap("GENLAB_MAX_BYTES")
    if len(infos) > max_files:
        raise DataError(f"The zip holds {len(infos):,} files; the limit is {max_files:,}.")
    wanted = []
    for info in sorted(infos, key=lambda i: i.filename):
        name = info.filename.replace("\\", "/")
        p = PurePosixPath(name)
        if name.startswith("/") or ".." in p.parts or (p.parts and ":" in p.parts[0]):
            skipped["unsafe path"] += 1
        elif any(part.startswith(".") or part == "__MACOSX" for part in p.parts):
            continue
        elif p.suffix.lower() not in EXTENSIONS:
            skipped["not an image file"] += 1
        elif info.file_size > MAX_FILE_BYTES:  # zipfile never yields more than the declared size
            skipped["too large"] += 1
        else:
            wanted.append((name, info))
    declared = sum(info.file_size for _, info in wanted)
    if declared > max_bytes:  # refused before anything is decompressed
        raise DataError(f"The zip unpacks to {declared / 1024**2:,.0f} MB of images, over the "
                        f"{max_bytes / 1024**2:,.0f} MB limit (a zip bomb?); refused.")
    budget = [max_bytes]

    def reader(info: zipfile.ZipInfo):
        def read() -> bytes:
            limit = min(MAX_FILE_BYTES, budget[0])
            with zf.open(info) as fh:  # read at most limit+1 bytes whatever the header claims
                data = fh.read(limit + 1)
            budget[0] -= len(data)
            if len(data) > limit:
                if budget[0] < 0:
                    raise DataError("The zip unpacks to more than "
                                    f"{max_bytes / 1024**2:,.0f} MB (a zip bomb?); refused.")
                raise TooLarge(f"{info.filename} unpacks to more than {limit} bytes")
            return data
        return read

    for name, info in wanted:
        yield name, reader(info)


def load_image_source(path: Path, size: int = 28, channels: int = 1,
                      test_fraction: float = 0.1) -> ImageDataset:
    if size not in SIZES:
        raise DataError(f"Image size must be one of {SIZES}, not {size}.")
    if channels not in (1, 3):
        raise DataError("Images are loaded as gray (1 channel) or RGB (3 channels).")
    path = Path(path)
    is_zip = path.is_file()
    info = path.stat()
    key = cache_key("images-v2", path.resolve(), info.st_size, info.st_mtime_ns, size, channels,
                    test_fraction)
    if not is_zip:  # a folder's cache entry depends on its files too
        key = cache_key(key, *((str(p), st.st_size, st.st_mtime_ns) for p, st, why in
                               _folder_files(path) if why is None))
    name = path.stem if is_zip else path.name
    arrays = load_arrays(key)
    if arrays is None:
        arrays = _decode_all(path, is_zip, size, channels, test_fraction)
        save_arrays(key, **arrays)
    classes = [str(c) for c in arrays["classes"]]
    skipped = {str(r): int(n) for r, n in zip(arrays["skip_reasons"], arrays["skip_counts"])}
    kind = "zip" if is_zip else "folder"
    n = len(arrays["x"]) + len(arrays["tx"])
    source = f"your {kind} {path} ({n:,} images, {size}x{size} {'gray' if channels == 1 else 'RGB'})"
    return from_arrays(name, arrays["x"], arrays["y"], arrays["tx"], arrays["ty"], classes,
                       source, skipped)


def _decode_all(path: Path, is_zip: bool, size: int, channels: int, test_fraction: float) -> dict:
    skipped: Counter = Counter()
    images, names = [], []
    if is_zip:
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise DataError(f"{path.name} is not a readable zip file ({exc}).") from exc
        with zf:
            _collect(_entries_zip(zf, skipped), size, channels, images, names, skipped)
    else:
        _collect(_entries_folder(path, skipped), size, channels, images, names, skipped)
    if not images:
        detail = ", ".join(f"{n} {r}" for r, n in sorted(skipped.items())) or "no files"
        raise DataError(f"No readable image in {path.name} ({detail}). Use png, jpg, bmp, gif or "
                        "webp files, optionally in one subfolder per class.")
    labels = _label_parts(names)
    classes = sorted(set(labels))
    y = np.array([classes.index(lb) for lb in labels], dtype=np.int64)
    classes = [c or "all" for c in classes]
    x = np.stack(images)
    train, test = split_indices(len(x), test_fraction, seed=0)
    if len(test) == 0:  # a single image: evaluate on it too
        test = train
    reasons = sorted(skipped)
    return {"x": x[train], "y": y[train], "tx": x[test], "ty": y[test],
            "classes": np.array(classes, dtype=str), "skip_reasons": np.array(reasons, dtype=str),
            "skip_counts": np.array([skipped[r] for r in reasons], dtype=np.int64)}


def _collect(entries, size, channels, images, names, skipped: Counter) -> None:
    budget = [cap("GENLAB_MAX_TOTAL_PIXELS")]
    for name, read in entries:
        try:
            images.append(_decode(read(), size, channels, budget))
            names.append(name)
        except DataError:
            raise
        except Skipped as exc:
            skipped[exc.reason] += 1
        except Image.DecompressionBombError:
            skipped[TooLarge.reason] += 1
        except Exception:  # any decoder failure: a broken or hostile file
            skipped[Skipped.reason] += 1
