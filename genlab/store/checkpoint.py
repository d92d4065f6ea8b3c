"""Checkpoints: one safetensors file whose header carries the JSON description, plus a readable
``.json`` copy beside it. Writes are atomic (temporary file + rename); loading validates the
header, the config and every tensor's name and shape, and never unpickles anything.
"""
from __future__ import annotations

import json
import math
import os
import platform
import re
import struct
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from genlab import __version__
from genlab.models import ConfigError, GenerativeModel, ModelConfig, build_model

FORMAT = "genlab-checkpoint/1"
SUFFIX = ".safetensors"
MAX_HEADER = 50 * 1024**2
MAX_FILE = 2 * 1024**3
FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32)


class CheckpointError(ValueError):
    """A checkpoint could not be read or written; the message says why and what to do."""


def checkpoint_path(path: str | os.PathLike) -> Path:
    p = Path(path).expanduser()
    return p if p.suffix == SUFFIX else p.with_name(p.name + SUFFIX)


def source_path(path: str | os.PathLike) -> Path:
    """The file to read: the path as given when it is a file (``model.pt`` too), else + suffix."""
    p = Path(path).expanduser()
    return p if p.is_file() else checkpoint_path(p)


STALE_TMP_S = 3600  # temporary files of a killed writer older than this are removed


def atomic_write(target: Path, data: bytes) -> None:
    """Write a temporary file beside ``target``, fsync it, then rename it over ``target``: a
    reader (or a crash at any moment) sees the old file or the new one, never a part."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            raise IsADirectoryError(f"{target} is a folder")
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise CheckpointError(f"Cannot write {target}: {exc.strerror or exc}.") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise CheckpointError(f"Cannot write {target}: {exc.strerror or exc}; the previous "
                                  "file, if any, is unchanged.") from exc
        raise
    try:  # make the rename itself durable, and sweep temporary files of killed writers
        dfd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        for old in target.parent.glob(f".{target.name}.*.tmp"):
            if time.time() - old.stat().st_mtime > STALE_TMP_S:
                old.unlink(missing_ok=True)
    except OSError:
        pass




def write_described(path: str | os.PathLike, tensors: dict[str, torch.Tensor], info: dict) -> Path:
    """Write ``tensors`` with the JSON description ``info`` in the safetensors header, and a
    readable ``.json`` copy beside it, atomically (for files that are not models, such as
    the metric classifier)."""
    target = checkpoint_path(path)
    text = json.dumps(info, allow_nan=False)
    atomic_write(target, st_save(tensors, metadata={"genlab": text}))
    atomic_write(target.with_suffix(".json"), json.dumps(info, indent=1).encode())
    return target


def read_described(path: str | os.PathLike, fmt: str) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, description) of a GenLab safetensors file whose description has format
    ``fmt``, with the same checks as a checkpoint (size, pickles, header); never unpickles."""
    p = source_path(path)
    data, meta = _read(p, fmt)
    try:
        return st_load(data), meta
    except Exception as exc:  # malformed tensor table
        raise CheckpointError(f"{p.name} has corrupt tensor data ({exc}).") from exc


def versions() -> dict:
    import safetensors
    return {"genlab": __version__, "torch": torch.__version__, "safetensors": safetensors.__version__,
            "python": platform.python_version()}


def downsample(rows: list[dict], limit: int = 1000) -> list[dict]:
    if len(rows) <= limit:
        return list(rows)
    stride = len(rows) / limit
    return [rows[int(i * stride)] for i in range(limit - 1)] + [rows[-1]]


def save_checkpoint(path: str | os.PathLike, model: GenerativeModel, *,
                    dtype: torch.dtype | None = None, **meta) -> Path:
    """Write ``model`` and ``meta`` (dataset, train, history, test, metrics, ...) atomically.
    ``dtype=torch.float16`` stores floating tensors at half size (shipped weights)."""
    target = checkpoint_path(path)
    info = {"format": FORMAT, "name": target.stem, "model": model.config.to_dict(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "versions": versions(),
            **model.sampling_meta(), **meta}
    if "history" in info:
        info["history"] = downsample(info["history"])
    try:
        text = json.dumps(info, allow_nan=False, default=_jsonable)
    except ValueError as exc:  # NaN / infinity: refuse before anything is written
        raise CheckpointError(f"Cannot save {target.name}: its description holds NaN or infinite "
                              f"values ({exc}); nothing was written.") from exc
    tensors = {k: v.detach().to("cpu", dtype if (dtype and v.is_floating_point()) else v.dtype)
               .contiguous() for k, v in model.state_dict().items()}
    for k, v in tensors.items():  # a file that could never be loaded again is not written
        if v.is_floating_point() and not bool(torch.isfinite(v).all()):
            why = (f"does not fit in {str(dtype).replace('torch.', '')}" if dtype and bool(
                torch.isfinite(model.state_dict()[k]).all()) else "holds NaN or infinite values")
            raise CheckpointError(f"Cannot save {target.name}: tensor {k} {why}; nothing was written.")
    atomic_write(target, st_save(tensors, metadata={"genlab": text}))
    atomic_write(target.with_suffix(".json"), json.dumps(json.loads(text), indent=1).encode())
    return target


def finite_or_none(value):
    """``value`` with every NaN or infinite number inside it (dicts, lists) replaced by None:
    a metric that is not a number is stored as missing (JSON null)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


def _jsonable(o):
    if isinstance(o, (tuple, set)):
        return list(o)
    if hasattr(o, "item"):
        return o.item()
    return str(o)


def _read(path: Path, fmt: str = FORMAT) -> tuple[bytes, dict]:
    if not path.exists():
        raise CheckpointError(f"No checkpoint at {path}.")
    if not path.is_file():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file.")
    try:
        size = path.stat().st_size
        if size > MAX_FILE:
            raise CheckpointError(f"{path.name} is {size / 1024**3:.1f} GB; that is not a GenLab model.")
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    n = struct.unpack("<Q", data[:8])[0] if len(data) >= 8 else -1
    looks_safetensors = 0 <= n <= MAX_HEADER and 8 + n <= len(data) and data[8:9] == b"{"
    if not looks_safetensors and (data[:1] == b"\x80" or data[:2] == b"PK"):
        raise CheckpointError(
            f"{path.name} is a PyTorch pickle (torch.save), not safetensors. GenLab never unpickles "
            "files because unpickling can run arbitrary code; save the weights with safetensors.")
    if len(data) < 8:
        raise CheckpointError(f"{path.name} is empty or truncated; it is not a GenLab checkpoint.")
    if not looks_safetensors:
        raise CheckpointError(f"{path.name} is truncated or not a safetensors file (GenLab opens "
                              "only safetensors checkpoints, never pickles such as .pt/.pth).")
    try:
        header = json.loads(data[8:8 + n])
        meta = json.loads(header.get("__metadata__", {}).get("genlab", "null"))
    except (ValueError, AttributeError, TypeError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise CheckpointError(f"{path.name} has an unreadable header ({why}).") from exc
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise CheckpointError(f"{path.name} is a safetensors file but not a GenLab checkpoint "
                              "(its header has no GenLab description).")
    return data, meta


META_TYPES = {"name": str, "dataset": dict, "train": dict, "history": list, "test_history": list,
              "test": dict, "metrics": dict, "status": str, "message": str}


def _check_meta(p: Path, meta: dict) -> ModelConfig:
    """The config, and the keys readers rely on, have the types they expect."""
    try:
        cfg = ModelConfig.from_dict(meta.get("model"))
    except ConfigError as exc:
        raise CheckpointError(f"{p.name}: {exc}") from exc
    for key, kind in META_TYPES.items():
        if meta.get(key) is not None and not isinstance(meta[key], kind):
            raise CheckpointError(f"{p.name}: its description's {key!r} should be a "
                                  f"{kind.__name__}, not {type(meta[key]).__name__}.")
    for key in ("history", "test_history"):
        if not all(isinstance(row, dict) for row in meta.get(key) or []):
            raise CheckpointError(f"{p.name}: its description's {key!r} rows should be objects.")
    return cfg


def read_meta(path: str | os.PathLike) -> dict:
    """The JSON description of a checkpoint, validated, without building the model."""
    p = source_path(path)
    _, meta = _read(p)
    _check_meta(p, meta)
    return meta


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu"
                    ) -> tuple[GenerativeModel, dict]:
    """Rebuild the model from its config and load its weights; (model in eval mode, meta)."""
    p = source_path(path)
    data, meta = _read(p)
    cfg = _check_meta(p, meta)
    try:
        with torch.device("meta"):  # shapes only, no memory: a hostile config allocates nothing
            expected = build_model(cfg).state_dict()
    except ConfigError as exc:
        raise CheckpointError(f"{p.name}: {exc}") from exc
    try:
        tensors = st_load(data)
    except Exception as exc:  # malformed tensor table
        raise CheckpointError(f"{p.name} has corrupt tensor data ({exc}).") from exc
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise CheckpointError(f"{p.name} does not match its config: missing {missing[:3]}, "
                              f"unexpected {extra[:3]}.")
    for k, v in expected.items():
        if v.is_floating_point() and tensors[k].dtype in FLOAT_DTYPES:
            tensors[k] = tensors[k].to(v.dtype)  # weights may be stored at half precision
        if tensors[k].shape != v.shape or tensors[k].dtype != v.dtype:
            raise CheckpointError(f"{p.name}: tensor {k} is {tuple(tensors[k].shape)} "
                                  f"{tensors[k].dtype}, the config needs {tuple(v.shape)} {v.dtype}.")
        if v.is_floating_point() and not bool(torch.isfinite(tensors[k]).all()):
            raise CheckpointError(f"{p.name}: tensor {k} holds NaN or infinite values; these "
                                  "weights cannot be used.")
    model = build_model(cfg)
    model.load_state_dict(tensors)
    try:
        model.use_sampling_meta(meta)
    except ValueError as exc:
        raise CheckpointError(f"{p.name}: {exc}") from exc
    return model.to(device).eval(), meta


def update_meta(path: str | os.PathLike, **updates) -> dict:
    """Merge ``updates`` into a checkpoint's description (e.g. metrics), atomically."""
    p = checkpoint_path(path)
    model, meta = load_checkpoint(p)
    stored = {t.get("dtype") for k, t in _header(p).items() if k != "__metadata__"}
    half = {"F16": torch.float16, "BF16": torch.bfloat16}
    dtype = half.get(next(iter(stored & set(half)), ""), None)  # keep half-precision storage
    meta.update(updates)
    meta = {k: v for k, v in meta.items() if k not in ("format", "model", "versions")}
    save_checkpoint(p, model, dtype=dtype,
                    **{k: v for k, v in meta.items() if k not in ("name", "created")},
                    created=meta.get("created"))
    return read_meta(p)


def _header(p: Path) -> dict:
    data, _ = _read(p)
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n])


def safe_name(name: str) -> str:
    """A user-given model name reduced to a safe file stem (no folders, no dots in front)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(name)).strip(".-")[:80]
    if not stem:
        raise CheckpointError("Give the model a name made of letters, digits, '-', '_' or '.'.")
    return stem
