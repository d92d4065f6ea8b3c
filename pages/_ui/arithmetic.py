"""Latent explorer, "Arithmetic" tab: class means, "the same style, another class", and a
traversal grid along a chosen direction. Render only: the maths is in genlab.latent.ops."""
from __future__ import annotations

import numpy as np
import streamlit as st

from genlab.latent import codes as latent
from genlab.latent import ops as latent_ops
from pages._ui import show


def arithmetic_tab(model, data, Z: np.ndarray, pca: latent.PCA | None, tag: str) -> None:
    """``Z``: codes of the first len(Z) test images; ``data``: their data set (with labels)."""
    y = data.test_y[:len(Z)].numpy().astype(int)
    classes = list(data.classes) or [str(c) for c in range(int(y.max()) + 1)]
    if len(set(y.tolist())) < 2:
        st.info("Latent arithmetic needs test images of at least two classes; this model's data "
                "set has one.")
        return
    means = latent_ops.class_means(Z, y, len(classes))
    have = [c for c in range(len(classes)) if not np.isnan(means[c]).any()]
    st.markdown("**The same style, another class**: a test image's code, minus its class's mean "
                "code, plus another class's mean, decoded.")
    c1, c2, c3 = st.columns([1, 1, 1])
    i = int(c1.number_input("Test image #", 0, len(Z) - 1, 0, key=f"ar_img_{tag}"))
    src = int(y[i])
    others = [c for c in have if c != src]
    tgt = c2.selectbox("Make it a", others, index=0, key=f"ar_to_{tag}",
                       format_func=lambda c: classes[c])
    strength = c3.slider("Strength", 0.0, 2.0, 1.0, 0.1, key=f"ar_k_{tag}",
                         help="0: the image's own code; 1: exactly its class mean swapped.")
    z = Z[i]
    moved = latent_ops.analogy(z, means, src, int(tgt), strength)
    a, b, c = st.columns(3)
    with a:
        show(data.test_x[i:i + 1].float() / 255, caption=f"original ({classes[src]})", target=168)
    with b:
        show(latent.decode(model, z), caption="reconstruction", target=168)
    with c:
        show(latent.decode(model, moved), caption=f"as a {classes[int(tgt)]}", target=168)
    row = np.stack([latent_ops.analogy(z, means, src, k, strength) for k in have])
    show(latent.decode(model, row), nrow=len(have), target=840,
         caption="…and as every class: " + ", ".join(classes[k] for k in have))

    st.markdown("**Traversal along a direction**: each row starts from a test image and walks "
                "the same direction (the β-VAE traversal).")
    d = Z.shape[1]
    sd = np.maximum(Z.std(0), 1e-3)
    kinds = ["class difference", "principal direction", "raw dimension"]
    c1, c2, c3, c4 = st.columns([2, 2, 1, 1])
    how = c1.radio("Direction", kinds, horizontal=True, key=f"ar_dir_{tag}")
    if how == "class difference":
        a_, b_ = c2.columns(2)
        ca = a_.selectbox("From", have, index=0, key=f"ar_da_{tag}", format_func=lambda k: classes[k])
        cb = b_.selectbox("To", have, index=min(1, len(have) - 1), key=f"ar_db_{tag}",
                          format_func=lambda k: classes[k])
        direction, span0 = latent_ops.class_direction(means, int(ca), int(cb)), 1.0
        what = f"from the mean {classes[int(ca)]} to the mean {classes[int(cb)]}"
    elif how == "principal direction":
        p = pca if pca is not None else latent.fit_pca(Z, min(d, 10))
        k = int(c2.number_input("Principal direction", 1, len(p.variance), 1, key=f"ar_pc_{tag}"))
        direction, span0 = latent_ops.pca_direction(p, k - 1), 3.0
        what = f"principal direction {k} ({p.explained[k - 1]:.0%} of variance), in standard deviations"
    else:
        j = int(c2.number_input("Dimension", 0, d - 1, int(np.argmax(sd)), key=f"ar_raw_{tag}"))
        direction, span0 = latent_ops.raw_direction(d, j, float(sd[j])), 3.0
        what = f"z[{j}], in standard deviations of the codes"
    span = c3.number_input("Span ±", 0.1, 10.0, span0, 0.5, key=f"ar_span_{tag}_{how}")
    steps = int(c4.number_input("Steps", 3, 15, 9, key=f"ar_steps_{tag}"))
    rows = [i] + [int(k) for k in np.flatnonzero(np.arange(len(Z)) != i)[:4]]
    show(latent_ops.traverse(model, Z[rows], direction, float(span), steps), nrow=steps, target=760,
         caption=f"Rows: test images #{', #'.join(map(str, rows))}; columns: −{span:g} to +{span:g} "
                 f"× the direction {what}.")
