"""The denoising strip on the pages: the live frame of a flow / DDPM model that is training (the
same fixed noise sampled with the current weights: x_t and x0-hat at several t), and the
recorded strip played back (an animated GIF, and an epoch slider for one frame). Render code
only; the frames come from ``genlab.latent.denoise``."""
from __future__ import annotations

import numpy as np
import streamlit as st

from genlab.images import png, upscale
from genlab.latent.denoise import Strip, StripError, load_strip, strip_gif, strip_image, strip_path
from genlab.store.checkpoint import CheckpointError, read_meta
from pages._ui.live.image import live_image

WIDTH = 560  # the strip's width on the page (crisp pixels)


def _times(kind: str, t) -> str:
    if kind == "ddpm":
        return ", ".join(f"{int(round(float(v)))}" for v in t) + " (the DDPM step: 999 is noise)"
    return ", ".join(f"{float(v):.2f}" for v in t) + " (0 is noise, 1 the image)"


def _rows(labels: np.ndarray, classes: list[str]) -> str:
    if (labels < 0).all():
        return "one fixed noise image per row"
    names = [classes[c] if 0 <= c < len(classes) else str(c) for c in labels.tolist()]
    return "rows asked for: " + ", ".join(names)


def frame_png(xt: np.ndarray, x0: np.ndarray) -> bytes:
    return png(upscale(strip_image(xt, x0), WIDTH), fast=True)


def live_strip(snap, where=None) -> bool:
    """The strip's latest frame of the run in ``snap`` (a job snapshot) while it trains, and the
    recorded strip of its saved model once it has finished. False when there is none."""
    where = where if where is not None else st.container()
    if snap.kind not in ("flow", "ddpm"):
        return False
    with where:
        if not snap.active and snap.saved_path is not None:
            try:
                classes = list((read_meta(snap.saved_path).get("dataset") or {}).get("classes") or [])
            except (CheckpointError, OSError):
                classes = []
            return show_strip(str(snap.saved_path), snap.kind, classes, key="tr_denoise")
        s = snap.strip
        if s is None:
            st.caption("The denoising strip appears when the first frame is sampled.")
            return False
        # sent to the browser only when a new frame came (pages/_ui/live), not every second
        live_image("tr_live_strip", frame_png(s["xt"], s["x0"]),
                   caption=f"Live denoising strip, epoch {s['epoch']:.2f}: x_t (left) and the "
                           f"model's clean-image guess x0-hat (right) at t = {_times(snap.kind, s['t'])}")
    return True


def show_strip(path: str, kind: str, classes: list[str], key: str) -> bool:
    """The strip recorded beside checkpoint ``path``: played as an animation, or one epoch at a
    time with a slider. A caption when the model has none."""
    try:
        strip = load_strip(path)
    except StripError as exc:
        st.warning(str(exc))
        return False
    if strip is None:
        st.caption("No denoising strip was recorded for this model (flow and DDPM models "
                   "trained by GenLab record one).")
        return False
    mode = st.radio("Denoising strip", ["▶ Play", "One epoch"], horizontal=True, key=f"{key}_mode",
                    help="The same noise, sampled after each epoch: watch noise turn into images.")
    if mode == "▶ Play":
        st.image(_gif(path, strip), width=WIDTH)
    else:
        labels = [f"{e:.2f}" for e in strip.epochs]
        pick = st.select_slider("Epoch", labels, value=labels[-1], key=f"{key}_epoch")
        i = labels.index(pick)
        st.image(frame_png(strip.xt[i], strip.x0[i]), output_format="PNG")
    st.caption(f"{len(strip)} frames from epoch 0 to {strip.epochs[-1]:g}; x_t (left) and x0-hat "
               f"(right) at t = {_times(kind, strip.t)}; {_rows(strip.labels, classes)}.")
    return True


@st.cache_data(max_entries=8, show_spinner=False)
def _gif_bytes(path: str, mtime: float, _strip: Strip) -> bytes:
    return strip_gif(_strip, scale=1)


def _gif(path: str, strip: Strip) -> bytes:
    p = strip_path(path)
    return _gif_bytes(str(p), p.stat().st_mtime, strip)
