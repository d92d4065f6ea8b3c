"""Where models live: shipped weights in ``weights/`` and the user's own in a data folder.
Each model is a :class:`ModelEntry`: its file, where it comes from and its stored description.

Who sees which model (one server, many browser sessions: a class). A job started by a browser
session records that session's id in the model's meta (``owner``); its owner may tick "share with
the class" (``shared: true``). For a *viewer* (a session's id):

- shipped models (``weights/``): everyone sees them, nobody writes them;
- a model with an owner: only its owner sees it (labelled 'yours', and may measure, share or
  unshare it) until it is shared; then everyone sees it, labelled 'shared', read only;
- a model with no owner recorded (trained by the CLI or a script into the models folder, or
  saved before owners were recorded): the machine user's, seen and written by every session as
  'yours', as before. On a single-user laptop that is the user; on a class server, models the
  teacher trains by the CLI are the class's.

``viewer=None`` is the machine's user (the CLI, scripts, tests): every model, as 'yours'."""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from genlab.latent.movie import MOVIE_SUFFIX
from genlab.store.checkpoint import SUFFIX, CheckpointError, read_meta

WEIGHTS_DIR = Path(__file__).resolve().parent.parent.parent / "weights"
CLASSIFIER_PREFIX = "classifier-"  # weights/classifier-<dataset>: the metrics' feature networks
KIND_NAMES = {"ae": "AE", "vae": "VAE", "gan": "GAN", "flow": "Flow matching", "ddpm": "DDPM"}


def user_models_dir() -> Path:
    """``GENLAB_MODELS`` or ``~/.local/share/genlab/models`` (created on demand)."""
    root = os.environ.get("GENLAB_MODELS") or os.path.join(
        os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share"),
        "genlab", "models")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class ModelEntry:
    """One checkpoint file. ``meta`` is its stored description, or None (with ``error``) when
    the file cannot be read; unreadable files are listed, not hidden."""
    path: Path
    name: str
    origin: str  # 'shipped' (weights/), 'yours' or 'shared' (another session's, read only)
    meta: dict | None
    error: str | None = None
    mtime_ns: int = 0  # the file's modification time when listed: a cache key for loaders

    @classmethod
    def read(cls, path: str | Path, origin: str = "yours") -> ModelEntry:
        """The entry of one checkpoint file (its description read, the weights not loaded)."""
        p = Path(path)
        try:
            mtime = p.stat().st_mtime_ns
        except OSError:
            mtime = 0
        try:
            return cls(p, p.stem, origin, read_meta(p), None, mtime)
        except CheckpointError as exc:
            return cls(p, p.stem, origin, None, str(exc), mtime)

    @property
    def key(self) -> str:
        """The path as text: what a picker stores and caches are keyed by."""
        return str(self.path)

    @property
    def readable(self) -> bool:
        return self.meta is not None

    @property
    def config(self) -> dict:
        return (self.meta or {}).get("model") or {}

    @property
    def kind(self) -> str | None:
        """'ae', 'vae' or 'gan'; None for an unreadable file."""
        return self.config.get("kind")

    @property
    def arch(self) -> str | None:
        return self.config.get("arch")

    @property
    def latent_dim(self) -> int | None:
        return self.config.get("latent_dim")

    @property
    def dataset(self) -> str:
        """The name of the data set it was trained on ('?' if not recorded)."""
        return ((self.meta or {}).get("dataset") or {}).get("name", "?")

    @property
    def status(self) -> str | None:
        """How its training ended: 'done', 'stopped', 'incomplete' (a checkpoint saved while
        training still ran) or 'failed'; None if not recorded."""
        return (self.meta or {}).get("status")

    @property
    def incomplete(self) -> bool:
        return self.status == "incomplete"

    @property
    def owner(self) -> str | None:
        """The id of the browser session whose job trained it; None if not recorded."""
        owner = (self.meta or {}).get("owner")
        return owner if isinstance(owner, str) and owner else None

    @property
    def shared(self) -> bool:
        """Whether its owner ticked "share with the class"."""
        return (self.meta or {}).get("shared") is True

    @property
    def writable(self) -> bool:
        """Whether its viewer may write its file (measure it, share it): only their own."""
        return self.origin == "yours"

    def visible_to(self, viewer: str | None) -> bool:
        """Whether ``viewer`` (a session id; None: the machine's user) may see it (module doc)."""
        return (viewer is None or self.origin == "shipped" or self.owner is None
                or self.owner == viewer or self.shared)

    def seen_by(self, viewer: str | None) -> ModelEntry:
        """This entry as ``viewer`` sees it: another session's shared model is 'shared'."""
        if viewer is None or self.origin == "shipped" or self.owner in (None, viewer):
            return self
        return replace(self, origin="shared")

    @property
    def label(self) -> str:
        """One line for a picker: name, kind, architecture, latent size, data set, origin."""
        if not self.readable:
            return f"{self.name} (unreadable)"
        who = {"shipped": "shipped", "shared": "shared by a classmate"}.get(self.origin, "yours")
        return (f"{self.name}{' (incomplete)' if self.incomplete else ''} — "
                f"{KIND_NAMES.get(self.kind, '?')} {self.arch or ''}, latent {self.latent_dim}, "
                f"{self.dataset} ({who})")


def visible(entries: Iterable[ModelEntry], viewer: str | None) -> list[ModelEntry]:
    """The entries ``viewer`` may see, as they see them (``ModelEntry.seen_by``)."""
    return [e.seen_by(viewer) for e in entries if e.visible_to(viewer)]


def list_models(include_user: bool = True, viewer: str | None = None) -> list[ModelEntry]:
    """The checkpoints ``viewer`` may see (module doc; None: every one), shipped first, then
    the models folder's; each sorted by name."""
    out = []
    dirs = [("shipped", WEIGHTS_DIR)] + ([("yours", user_models_dir())] if include_user else [])
    for origin, folder in dirs:
        if not folder.exists():
            continue
        for p in sorted(folder.glob(f"*{SUFFIX}")):
            if p.name.startswith(CLASSIFIER_PREFIX) or p.name.endswith(MOVIE_SUFFIX):
                continue  # the metrics' classifiers and latent movies are not generative models
            out.append(ModelEntry.read(p, origin))
    return visible(out, viewer)
