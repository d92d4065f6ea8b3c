"""Where models live: shipped weights in ``weights/`` and the user's own in a data folder."""
from __future__ import annotations

import os
from pathlib import Path

from genlab.checkpoint import SUFFIX, CheckpointError, read_meta

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
CLASSIFIER_PREFIX = "classifier-"  # weights/classifier-<dataset>: the metrics' feature networks


def user_models_dir() -> Path:
    """``GENLAB_MODELS`` or ``~/.local/share/genlab/models`` (created on demand)."""
    root = os.environ.get("GENLAB_MODELS") or os.path.join(
        os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share"),
        "genlab", "models")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def list_models(include_user: bool = True) -> list[dict]:
    """Every readable checkpoint: dicts with path, origin ('shipped' / 'yours') and meta.
    Unreadable files are listed with an ``error`` instead of being hidden."""
    out = []
    dirs = [("shipped", WEIGHTS_DIR)] + ([("yours", user_models_dir())] if include_user else [])
    for origin, folder in dirs:
        if not folder.exists():
            continue
        for p in sorted(folder.glob(f"*{SUFFIX}")):
            if p.name.startswith(CLASSIFIER_PREFIX):  # metric classifiers are not generative models
                continue
            try:
                out.append({"path": p, "name": p.stem, "origin": origin, "meta": read_meta(p)})
            except CheckpointError as exc:
                out.append({"path": p, "name": p.stem, "origin": origin, "meta": None,
                            "error": str(exc)})
    return out
