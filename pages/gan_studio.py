"""GAN studio: samples from fixed and fresh noise, noise interpolation, training curves; for a
conditional GAN, a class picker and the same noise drawn as every class."""
from pages._ui import curves, frame, load, pick_model, show  # isort: skip  (first: it sets up torch)
from pages._ui.classes import class_picker, class_row  # isort: skip

import numpy as np
import streamlit as st

from genlab.latent import codes as latent
from genlab.models import noise

frame("GAN studio")
st.title("GAN studio")
entry = pick_model("GAN", "gs_model", kinds=("gan",), prefer=("mnist-gan", "fashion-mnist-gan"))
loaded = load(entry) if entry else None
if loaded is None:
    st.stop()
base, meta = loaded
d = base.config.latent_dim
model = class_picker(base, meta, "gs_class")  # conditional: the class of every grid below


def fresh() -> None:
    st.session_state["gs_fresh"] = int(np.random.default_rng().integers(0, 2**31 - 1))


left, right = st.columns(2)
with left:
    st.subheader("Fixed noise")
    seed = st.number_input("Noise seed", 0, 2**31 - 1, int((meta.get("train") or {}).get("seed", 1)),
                           key="gs_seed", help="The same seed always gives the same 64 codes.")
    show(latent.decode(model, noise(64, d, seed)), nrow=8, target=420,
         caption=f"64 samples from fixed noise (seed {seed})")
with right:
    st.subheader("Fresh noise")
    st.button("New samples", on_click=fresh, key="gs_new", type="primary")
    st.session_state.setdefault("gs_fresh", 12345)
    show(latent.decode(model, noise(64, d, st.session_state["gs_fresh"])), nrow=8, target=420,
         caption=f"64 samples from fresh noise (seed {st.session_state['gs_fresh']})")

if base.config.conditional:
    st.subheader("The same noise, every class")
    class_row(base, meta, noise(1, d, seed)[0], f"noise seed {seed}")

st.subheader("Interpolate between two noise vectors")
c1, c2, c3, c4 = st.columns(4)
a = c1.number_input("From seed", 0, 2**31 - 1, 1, key="gs_a")
b = c2.number_input("To seed", 0, 2**31 - 1, 2, key="gs_b")
n = int(c3.slider("Steps", 3, 16, 10, key="gs_n"))
how = c4.radio("Path", ["linear", "slerp"], index=1, horizontal=True, key="gs_how",
               help="Slerp keeps the codes at the norm typical of N(0, I); a straight line "
                    "passes closer to the origin, where a GAN rarely saw codes.")
za, zb = noise(1, d, a)[0].numpy(), noise(1, d, b)[0].numpy()
show(latent.interpolate(model, za, zb, n, how), nrow=n, target=900,
     caption=f"{how} interpolation from seed {a} to seed {b}")

st.subheader("Training curves")
hist = meta.get("history") or []
if hist:
    st.plotly_chart(curves(hist, "gan", f"{entry.name}: losses and discriminator outputs"),
                    key="gs_curves")
    last = hist[-1]
    st.caption(f"At the end: D(x) = {last.get('d_x', float('nan')):.2f}, D(G(z)) = "
               f"{last.get('d_g_z', float('nan')):.2f}, D loss {last.get('d_loss', float('nan')):.2f}, "
               f"G loss {last.get('g_loss', float('nan')):.2f}.")
else:
    st.info("This model's file has no training history.")
with st.expander("Reading GAN curves"):
    st.markdown(
        "- **Balance**: D(x) a bit above 0.5 and D(G(z)) a bit below, losses that wobble without "
        "trending, samples that improve.\n"
        "- **The discriminator wins**: D loss near 0, D(x) ≈ 1 and D(G(z)) ≈ 0; the generator gets "
        "no useful gradient and its loss climbs. Try a lower learning rate for D or a smaller D.\n"
        "- **Mode collapse**: the fixed-noise grid shows the same few images for different noise; "
        "G loss may drop suddenly. Restart with another seed, a lower learning rate or a "
        "larger batch.")
