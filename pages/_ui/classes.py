"""Class pickers for conditional models (GAN studio, Latent explorer): "show me a 7" (the model
with its class held fixed, so every grid and slider below draws that class), and one code drawn
as every class in a row (the same noise or code, only the class changes). Nothing is drawn for
an unconditional model."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from genlab.images import upscale
from genlab.latent import codes as latent
from genlab.models import with_class

EVERY = -1  # the picker's first option: no class held (image i is of class i % K)


def class_names(model, meta: dict) -> list[str]:
    """The names of a conditional model's classes (its data set's), else ``0..K-1``."""
    k = model.config.num_classes
    names = [str(c) for c in ((meta.get("dataset") or {}).get("classes") or [])]
    return names if len(names) == k else [str(i) for i in range(k)]


def class_picker(model, meta: dict, key: str):
    """A "Show me" selectbox for a conditional model; returns the model with the chosen class
    held fixed (a ``genlab.models.ClassView``), or the model itself (every class, or an
    unconditional model: nothing is drawn)."""
    if not model.config.conditional:
        return model
    names = class_names(model, meta)
    pick = st.selectbox(
        "Show me", [EVERY, *range(len(names))], key=key,
        format_func=lambda i: "every class in turn (0, 1, 2, …)" if i == EVERY else f"a {names[i]}",
        help="This model is conditional: it was told the class of each training image, so you "
             "choose the class of what it draws. Everything below uses this class; the noise or "
             "code only sets the style (thickness, slant, shape).")
    return model if pick == EVERY else with_class(model, pick)


def class_row(model, meta: dict, z: np.ndarray, what: str = "the same noise") -> None:
    """``z`` (one code) decoded as every class of a conditional model: one row of K images."""
    if not model.config.conditional:
        return
    base = getattr(model, "_model", model)  # a ClassView: the row shows every class anyway
    names = class_names(base, meta)
    k = len(names)
    codes = torch.as_tensor(np.asarray(z, np.float32).reshape(1, -1), device=base.device)
    with torch.inference_mode():
        images = base.decode(codes.expand(k, -1), torch.arange(k, device=base.device)).float().cpu()
    st.caption(f"{what[:1].upper() + what[1:]}, drawn as each of the {k} classes:")
    st.image([upscale(latent.to_uint8_image(im), 84) for im in images], caption=names, output_format="PNG")
