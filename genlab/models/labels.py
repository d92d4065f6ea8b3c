"""What conditional models share: class labels as tensors, the default labels, and a view of a
conditional model with its class held fixed.

Every ``GenerativeModel`` call keeps working on a conditional model without labels, so no caller
has to know: ``decode(z)`` / ``sample(n)`` use the **default labels** ``0, 1, ..., K-1, 0, 1, ...``
(image ``i`` is of class ``i % K``, so any batch of K or more covers every class evenly); a cVAE
told no class for an image it encodes uses the class its own ELBO finds most likely
(``ConditionalVAE.guess_labels``).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F


def default_labels(n: int, num_classes: int, device=None) -> torch.Tensor:
    """The labels a conditional model uses when none are given: ``i % num_classes``."""
    return torch.arange(n, device=device) % num_classes


class Conditional:
    """Mixin for a conditional ``GenerativeModel`` (``config.num_classes`` = K > 1)."""

    _given: torch.Tensor | None = None  # the batch's labels while a training step runs

    @property
    def num_classes(self) -> int:
        return int(self.config.num_classes)

    def labels_for(self, n: int, labels=None) -> torch.Tensor:
        """``labels`` (an int for all ``n``, or ``n`` ints) as a long tensor on the model's
        device; None: the labels of the running step, else the default labels."""
        if labels is None:
            labels = self._given if self._given is not None else default_labels(
                n, self.num_classes, self.device)
        y = torch.as_tensor(labels, device=self.device).long().reshape(-1)
        if len(y) == 1 and n != 1:
            y = y.expand(n)
        if len(y) != n:
            raise ValueError(f"Got {len(y)} class labels for {n} images; give one label or one "
                             "per image.")
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
            raise ValueError(f"This model knows the classes 0 to {self.num_classes - 1}; "
                             f"class {int(y.max()) if int(y.max()) >= 0 else int(y.min())} "
                             "does not exist.")
        return y

    def one_hot(self, labels: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        return F.one_hot(labels, self.num_classes).to(dtype)

    @contextmanager
    def given(self, labels: torch.Tensor | None):
        """Within the block, calls without labels use ``labels`` (one per image of the batch):
        how a training step hands its batch's labels to the unconditional code it reuses."""
        old = self._given
        object.__setattr__(self, "_given", labels)
        try:
            yield
        finally:
            object.__setattr__(self, "_given", old)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, labels=None) -> torch.Tensor:
        """``n`` new images of the classes ``labels`` (default: ``i % K``) from the prior."""
        return self.decode(self.prior(n, generator), labels)


class ClassView:
    """A conditional model with its class held fixed: ``decode(z)``, ``sample(n)``,
    ``encode(x)`` and ``reconstruct(x)`` use ``label`` for every image; everything else
    (config, device, prior, ...) is the model's own. ``isinstance`` sees the model's class,
    so code written for the model (sliders, interpolation, grids) works on the view."""

    def __init__(self, model, label: int) -> None:
        model.labels_for(1, int(label))  # refuse a class the model does not know
        self._model, self.label = model, int(label)

    @property
    def __class__(self):  # noqa: D105  (isinstance(view, VAE) is True for a cVAE's view)
        return type(self._model)

    def __getattr__(self, name):
        return getattr(self._model, name)

    def decode(self, z, labels=None):
        return self._model.decode(z, self.label if labels is None else labels)

    def sample(self, n, generator=None, labels=None):
        return self._model.sample(n, generator, self.label if labels is None else labels)

    def encode(self, x, labels=None):
        return self._model.encode(x, self.label if labels is None else labels)

    def posterior(self, x, labels=None):
        return self._model.posterior(x, self.label if labels is None else labels)

    def decode_logits(self, z, labels=None):
        return self._model.decode_logits(z, self.label if labels is None else labels)

    def reconstruct(self, x, labels=None):
        return self._model.reconstruct(x, self.label if labels is None else labels)


def with_class(model, label: int | None):
    """``model`` with its class held at ``label`` (a ``ClassView``); the model itself when it
    is not conditional or ``label`` is None."""
    if label is None or not getattr(model.config, "conditional", False):
        return model
    return ClassView(model, label)


def conditional_refusal(data, num_classes: int) -> str:
    """Why a conditional model with ``num_classes`` classes cannot train on ``data`` (whose
    ``classes`` do not match), in one sentence."""
    if len(data.classes) < 2:
        return (f"The data set {data.name!r} has no classes, so a conditional model cannot learn "
                "from it; turn 'conditional' off (or use a folder with one subfolder per class).")
    return (f"This conditional model knows {num_classes} classes but the data set {data.name!r} "
            f"has {len(data.classes)}; build the model for this data set.")


def conditional_classes(data) -> int:
    """The ``num_classes`` of a conditional model for ``data``; refuses a data set without
    classes in plain words (``ValueError``)."""
    if len(data.classes) < 2:
        raise ValueError(conditional_refusal(data, 0))
    return len(data.classes)
