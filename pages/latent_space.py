"""Latent space: an AE and a VAE side by side on the same test images — PCA, t-SNE, prior
overlay, per-dimension statistics; choosing a point decodes it."""
import time

import numpy as np
import streamlit as st

from genlab.latent import codes as latent
from genlab.metrics import latent_stats
from pages._ui import BY_FILE, bars, codes, data_for, frame, load, pick_model, scatter, show
from pages._ui.charts import TOOLTIP_CSS, image_scatter, picked_index, thumbs
from pages._ui.movie import show_movie

frame("Latent space")
st.title("Latent space: AE vs VAE")
st.markdown(
    "The same test images encoded by an autoencoder and by a VAE. A VAE is trained to keep its "
    "codes close to the prior N(0, I), so its cloud is compact, centred and overlaps the prior "
    "samples (×); an AE's codes can sit anywhere, so decoding a prior sample often gives "
    "nonsense. Hover a point (2-D views) to see its image; click it, or type an index, to "
    "decode it.")
st.html(TOOLTIP_CSS)

c1, c2 = st.columns(2)
with c1:
    ae = pick_model("Autoencoder", "ls_ae", kinds=("ae",), prefer=("mnist-ae",))
with c2:
    vae = pick_model("VAE", "ls_vae", kinds=("vae",), prefer=("mnist-vae",))
sides = [(col, e) for col, e in ((c1, ae), (c2, vae)) if e is not None]
if not sides:
    st.stop()
datas = {e.key: data_for(e) for _, e in sides}
sides = [(col, e) for col, e in sides if datas[e.key] is not None]
if not sides:
    st.stop()
names = {datas[e.key].name for _, e in sides}
if len(names) > 1:
    st.warning(f"The two models were trained on different data ({', '.join(sorted(names))}); "
               "each is shown on its own test images.")
n_max = min(len(datas[e.key].test_x) for _, e in sides)

o1, o2, o3, o4 = st.columns([2, 2, 1, 1])
view = o1.radio("View", ["PCA 2-D", "PCA 3-D", "t-SNE"], horizontal=True, key="ls_view")
n = (int(o2.slider("Test images", 100, n_max, min(2000, n_max), 100, key="ls_n")) if n_max > 100
     else n_max)
prior_on = o3.checkbox("Prior samples", True, key="ls_prior", disabled=view == "t-SNE",
                       help="500 samples of N(0, I) projected with the same PCA.")
same = o3.checkbox("Same scale", True, key="ls_same", disabled=view == "t-SNE",
                   help="Both PCA plots on the same axis ranges (latent units), so the sizes of "
                        "the two clouds, and of the prior, compare at a glance.")
seed = int(o4.number_input("t-SNE seed", 0, 10**6, 0, key="ls_seed", disabled=view != "t-SNE"))
perplexity = 30.0
if view == "t-SNE":
    st.caption("⚠️ t-SNE keeps neighbours, not scale or distances: a tight, well-separated map "
               "says nothing about where the codes lie or how far apart; use PCA to compare "
               "the AE's spread with the VAE's and the prior.")


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=BY_FILE)
def _tsne(entry, n: int, seed: int, perplexity: float):
    return latent.tsne(codes(entry, n), seed=seed, perplexity=perplexity,
                       key=latent.tsne_key(entry.key, n, seed, perplexity))


@st.cache_data(show_spinner="Computing latent statistics...", max_entries=32, hash_funcs=BY_FILE)
def _stats(entry, n: int) -> dict:
    model, _ = load(entry)
    return latent_stats(model, datas[entry.key].test_x[:n], codes(entry, n))


def run_tsne() -> None:
    st.session_state["ls_tsne_go"] = True


def _pca(entry, dims: int):
    coords, p = latent.pca(codes(entry, n), dims)
    return coords, (p.prior(500, dims) if prior_on else None), p


def _span(points: list) -> list[tuple[float, float]]:
    """Axis ranges holding every point given, padded by 5%."""
    pts = np.concatenate([q for q in points if q is not None])
    lo, hi = pts.min(0), pts.max(0)
    pad = (hi - lo) * 0.05 + 1e-6
    return [(float(a), float(b)) for a, b in zip(lo - pad, hi + pad)]


dims = 3 if view == "PCA 3-D" else 2
pcas = {e.key: _pca(e, dims) for _, e in sides} if view.startswith("PCA") else {}
shared = _span([q for c, pr, _ in pcas.values() for q in (c, pr)]) if pcas and same else None

for side, (col, entry) in enumerate(sides):
    model, meta = load(entry)
    data = datas[entry.key]
    Z = codes(entry, n)
    y = data.test_y[:n].numpy()
    kind = model.config.kind.upper()
    with col:
        coords, prior = None, None
        if view.startswith("PCA"):
            coords, prior, p = pcas[entry.key]
            title = f"{kind}: PCA ({', '.join(f'{v:.0%}' for v in p.explained[:dims])} of variance)"
        else:
            key = latent.tsne_key(entry.key, n, seed, perplexity)
            if latent.tsne_cache_path(key).exists() or st.session_state.get("ls_tsne_go"):
                t0 = time.perf_counter()
                with st.spinner(f"t-SNE of {n:,} codes (cached afterwards)..."):
                    coords, cached = _tsne(entry, n, seed, perplexity)
                how = "from the cache" if cached else f"computed in {time.perf_counter() - t0:.1f} s"
                title = f"{kind}: t-SNE (seed {seed}, {how})"
            else:
                st.button(f"Compute t-SNE of {n:,} codes", key=f"ls_tsne_{side}", on_click=run_tsne,
                          help="Takes seconds to a minute on a CPU; the result is cached on disk.")
        picked = None
        if coords is not None:
            if coords.shape[1] == 2:
                axes = ("PC 1", "PC 2") if view.startswith("PCA") else ("t-SNE 1", "t-SNE 2")
                chart = image_scatter(coords, y, data.classes, title, thumbs(entry, n), prior,
                                      axes=axes, extent=shared)
                event = st.altair_chart(chart, key=f"ls_fig_{side}", on_select="rerun",
                                        selection_mode="pick")
                picked = picked_index(event)
            else:
                st.plotly_chart(scatter(coords, y, data.classes, title, prior, extent=shared),
                                key=f"ls_fig3_{side}")
            if view.startswith("PCA"):
                st.caption(f"{kind} codes span " + ", ".join(
                    f"PC {i + 1} {lo:+.1f} to {hi:+.1f}" for i, (lo, hi) in
                    enumerate(zip(coords.min(0), coords.max(0)))) + " (latent units; the prior "
                    "N(0, I) spans about ±3).")
        idx = int(st.number_input("Decode test image #", 0, n - 1, picked if picked is not None else 0,
                                  key=f"ls_pick_{side}_{picked}"))
        a, b = st.columns(2)
        with a:
            show(data.test_x[idx:idx + 1].float() / 255, caption=f"test image #{idx} "
                 f"({data.classes[int(y[idx])]})", target=140)
        with b:
            show(latent.decode(model, Z[idx]), caption="decoded from its code", target=140)
        s = _stats(entry, n)
        # one wrapping line, not st.metric columns: metrics in a half-page column cut their
        # numbers off ("154...") at 1366 px, the projector's width
        st.markdown(
            f"**Active units** {s['active_units']} / {s['latent_dim']} · "
            f"**KL(codes ‖ prior)** {s['kl_aggregate']:,.1f} nats · **Mean posterior KL** "
            + ("— (VAE only)" if s["kl_posterior"] is None else f"{s['kl_posterior']:,.1f} nats"),
            help="Active units: dimensions whose code varies across images (variance > 0.01). "
                 "KL(codes ‖ prior): from a Gaussian fitted to all codes to N(0, I); 0 means the "
                 "codes look like the prior that sampling assumes. Mean posterior KL: the KL term "
                 "of a VAE's ELBO, averaged over the images.")
        st.plotly_chart(bars(s, f"{kind}: per-dimension mean and variance of the codes"),
                        key=f"ls_bars_{side}")

st.subheader("How the space formed: the latent movie")
st.markdown(
    "While a model trains, GenLab encodes the same 1,000 test images (100 per class) at the "
    "start, three times in the first epoch and after every epoch. Press **Play**: the points move "
    "in one fixed frame (the principal axes of the final codes), so you see the classes pull apart "
    "as the model learns. The VAE's cloud also settles onto the prior (×); the AE's need not.")
for (_, entry), col in zip(sides, st.columns(len(sides))):
    with col:
        show_movie(entry.key, entry.meta, f"{entry.kind.upper()} {entry.name}", key=f"ls_movie_{entry.name}")
