"""The class gallery: the models trained on this server, each private to the browser session
that trained it (``owner`` in the checkpoint's meta) unless its owner ticked "share with the
class" (``shared: true``); who sees what is decided in ``genlab.store.catalog``. A row holds the
model's lesson and key numbers, as text formatted by ``genlab.metrics.format`` and as raw numbers
to sort by."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from genlab.metrics.format import MISSING, num, stored_samples
from genlab.store.catalog import ModelEntry, list_models, user_models_dir
from genlab.store.checkpoint import CheckpointError, load_checkpoint, update_meta

# sort orders: label -> (row key, largest first); missing numbers always go last
SORTS = {"newest first": ("created", True), "name": ("name", False),
         "reconstruction error (MSE)": ("mse", False), "test −ELBO": ("elbo", False),
         "Fréchet distance of samples": ("frechet", False), "epochs": ("epochs", True)}


def _in_user_folder(path: Path) -> bool:
    return path.resolve().parent == user_models_dir().resolve()


def set_shared(path: str | os.PathLike, shared: bool, viewer: str | None = None,
               owner_name: str = "") -> dict:
    """Tick or untick "share with the class" for one of ``viewer``'s models (a session id;
    None: the machine's user), stored in its meta as ``shared``, atomically, with the name its
    owner gave (``owner_name``, shown in the gallery) when sharing. Shipped models and other
    sessions' models cannot be shared or unshared. Returns the meta."""
    p = Path(path)
    if not _in_user_folder(p):
        raise CheckpointError(f"{p.name} is not one of the models trained here, so it cannot be "
                              "shared or unshared.")
    if not ModelEntry.read(p).seen_by(viewer).writable:
        raise CheckpointError(f"{p.name} belongs to another browser session: only the session "
                              "that trained it can share or unshare it.")
    name = " ".join(str(owner_name).split())[:40]
    return update_meta(p, shared=bool(shared), **({"owner_name": name} if shared and name else {}))


def _number(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def row(path: Path, meta: dict, own: bool) -> dict:
    """One gallery row: who, what, lesson and key numbers (text and raw)."""
    cfg, ds = meta.get("model") or {}, meta.get("dataset") or {}
    test, m = meta.get("test") or {}, meta.get("metrics") or {}
    mse = _number((m.get("recon") or {}).get("mse", test.get("mse")))
    elbo = _number((m.get("elbo") or {}).get("total", test.get("total")))
    frechet = _number(stored_samples(meta).get("frechet", stored_samples(meta).get("fitted_frechet")))
    return {"path": str(path), "name": str(meta.get("name") or path.stem), "own": own,
            "shared": bool(meta.get("shared")), "owner_name": str(meta.get("owner_name") or ""),
            "kind": str(cfg.get("kind", "?")).upper(),
            "dataset": str(ds.get("name", "?")), "lesson": str(meta.get("lesson") or MISSING),
            "latent": cfg.get("latent_dim"), "epochs": _number(meta.get("epochs")),
            "created": str(meta.get("created") or ""), "mse": mse, "elbo": elbo, "frechet": frechet,
            "mse_text": num(mse, "mse"), "elbo_text": num(elbo, "nats"), "frechet_text": num(frechet, "frechet")}


def gallery_rows(viewer: str | None) -> list[dict]:
    """The models trained on this server that ``viewer`` (a browser session's id) may see: every
    shared one and the viewer's own, shared or not. Shipped models and unshared models with no
    owner recorded (the CLI's) are not class work and are left out."""
    out = []
    for m in list_models(viewer=viewer):
        is_own = m.origin == "yours" and m.owner is not None
        if m.readable and m.origin != "shipped" and (is_own or m.shared):
            out.append(row(m.path, m.meta, is_own))
    return out


def sort_rows(rows: list[dict], how: str) -> list[dict]:
    """``rows`` in the order ``how`` (a key of SORTS); rows without that number go last."""
    key, reverse = SORTS[how]
    have = [r for r in rows if r.get(key) not in (None, "")]
    rest = [r for r in rows if r.get(key) in (None, "")]
    return sorted(have, key=lambda r: r[key], reverse=reverse) + rest


@torch.inference_mode()
def preview(path: str | os.PathLike, n: int = 16) -> torch.Tensor:
    """``n`` images for a model's gallery card: samples from the prior (VAE, GAN; seed 0) or,
    for an AE (which has no prior), reconstructions of test images (one per class) when they
    are here, else decodings of N(0, I)."""
    from genlab.data import DataError, dataset_for_meta, one_per_class, to_float
    from genlab.metrics.samples import generate
    model, meta = load_checkpoint(path, device="cpu")
    if model.config.kind == "ae":
        try:
            data = dataset_for_meta(meta, allow_download=False)
            x = to_float(data.test_x[one_per_class(data.test_y, n // 2)])
            return torch.cat([x, model.reconstruct(x).float()])
        except DataError:
            pass
    return generate(model, n, 0)


def preview_grid(path: str | os.PathLike, n: int = 16) -> np.ndarray:
    """The card image as uint8 (H, W, 3)."""
    from genlab.images import make_grid
    return make_grid(preview(path, n), nrow=8)
