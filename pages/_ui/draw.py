"""Latent explorer, "Draw" tab: draw a digit or a garment, see it encoded (reconstruction, its
place on the latent map with a VAE's 2-σ ellipse, the five nearest test images), or for a GAN
the noise whose image best matches it. Render only: the work is in genlab.latent.sketch / latent_ops."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import streamlit as st

from genlab.latent import codes as latent
from genlab.latent import ops as latent_ops
from genlab.latent import sketch
from genlab.models import VAE
from pages._ui import show
from pages._ui.charts import image_scatter, marker_layer, thumbs

CANVAS = 280


def _canvas(key: str):
    """The drawing canvas, or None (with the reason shown) when the package cannot load."""
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception as exc:  # not installed, or a Streamlit it cannot register with
        st.warning("The drawing canvas needs the `streamlit-drawable-canvas` package (0.13): "
                   f"`pip install -r requirements.txt`. It could not be loaded ({exc}).")
        return None
    return st_canvas(stroke_width=18, stroke_color="#ffffff", background_color="#000000",
                     height=CANVAS, width=CANVAS, drawing_mode="freedraw",
                     return_image_data=True, key=key)


def draw_tab(model, meta: dict, entry, data, Z: np.ndarray | None, tag: str) -> None:
    ds = (meta.get("dataset") or {}).get("name", "")
    style = sketch.style_for(getattr(data, "name", "") or ds)
    what = "a garment" if style == "fit" else "a digit"
    size, ch = model.config.image_size, model.config.channels
    left, right = st.columns([1, 2])
    with left:
        st.caption(f"Draw {what} (white on black); the bin icon clears it. It is "
                   + ("scaled to fill the image, like Fashion-MNIST." if style == "fit" else
                      "boxed to 20×20 and centred by its centre of mass, like MNIST."))
        res = _canvas(f"dr_canvas_{tag}")
    strokes = bool(res is not None and res.json_data and res.json_data.get("objects"))
    if not strokes:
        return
    try:
        x = sketch.prepare(sketch.to_gray(res.image_data), size, ch, style)
    except ValueError as exc:
        right.info(str(exc))
        return
    with right:
        if model.has_encoder and Z is not None:
            _encoded(model, entry, data, Z, x)
        else:
            _inverted(model, x, tag)


def _encoded(model, entry, data, Z: np.ndarray, x) -> None:
    if isinstance(model, VAE):
        mu, lv = latent.posterior_stats(model, x)
        z, var = mu[0], np.exp(lv[0])
    else:
        z, var = latent.encode_images(model, x)[0], None
    a, b = st.columns(2)
    with a:
        show(x.float() / 255, caption="what the model sees", target=168)
    with b:
        show(latent.decode(model, z), caption="its reconstruction", target=168)
    y = data.test_y[:len(Z)].numpy()
    if Z.shape[1] >= 2:
        coords, p = latent.pca(Z, 2)
        here = p.transform(z[None])[0]
        ell = (latent_ops.projected_ellipse(p, z, var, 2.0) if var is not None else None)
        label = "your drawing" + (" (posterior mean; dashed: 2 σ)" if var is not None else "")
        st.altair_chart(image_scatter(coords, y, data.classes, "Where it lands (PCA 2-D of the "
                                      "test codes)", thumbs(entry, len(Z)),
                                      extra=marker_layer(here, label, ell), height=360),
                        key="dr_map")
    idx, dist = latent_ops.nearest(Z, z, 5)
    names = [data.classes[int(y[i])] if int(y[i]) < len(data.classes) else str(y[i]) for i in idx]
    show(data.test_x[idx].float() / 255, nrow=5, target=420,
         caption="The five nearest test images in latent space: " + ", ".join(
             f"#{i} ({n}, {d:.2f})" for i, n, d in zip(idx, names, dist)))


def _inverted(model, x, tag: str) -> None:
    digest = hashlib.sha1(x.numpy().tobytes()).hexdigest()[:12]
    key = f"dr_inv_{tag}"
    c1, c2 = st.columns([2, 1])
    steps = c1.slider("Adam steps on z", 50, 500, 200, 50, key=f"dr_steps_{tag}")
    go = c2.button("Find the noise", key=f"dr_go_{tag}", type="primary",
                   help="A GAN has no encoder: search for the z whose image matches the drawing.")
    a, b, c = st.columns(3)
    with a:
        show(x.float() / 255, caption="what the model sees", target=168)
    img_slot, curve_slot = b.empty(), c.empty()

    def progress(step: int, losses: list[float], img) -> None:
        with img_slot.container():
            show(img, caption=f"G(z) after {step} steps", target=168)
        curve_slot.line_chart(pd.DataFrame({"pixel MSE": losses}), height=200, x_label="step")

    if go:
        with st.spinner("Searching the noise..."):
            out = sketch.invert_gan(model, x.float() / 255, steps=int(steps), starts=4,
                                    callback=progress, every=10)
        st.session_state[key] = {"digest": digest, **out}
    out = st.session_state.get(key)
    if out is None or out["digest"] != digest:
        st.caption("Press **Find the noise** to fit this drawing.")
        return
    progress(len(out["losses"]) - 1, out["losses"], out["image"])
    st.caption(f"Pixel MSE {out['start_loss']:.4f} at the best random start → "
               f"{out['losses'][-1]:.4f}; ‖z‖ = {np.linalg.norm(out['z']):.1f} "
               f"(a typical prior sample: {np.sqrt(len(out['z'])):.1f}).")
