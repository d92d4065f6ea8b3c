"""Latent explorer: move a code with sliders and watch the decoded image; sample, encode,
interpolate, traverse, and (for 2-D latents) the manifold grid."""
import hashlib

import numpy as np
import streamlit as st

from genlab.latent import codes as latent
from genlab.metrics.samples import prior_code
from genlab.models import noise
from pages._ui import BY_FILE, codes, data_for, fast_sliders, frame, load, pick_model, show
from pages._ui.arithmetic import arithmetic_tab
from pages._ui.classes import class_picker, class_row
from pages._ui.draw import draw_tab

MAX_RAW = 8  # up to this many dimensions: one slider each
N_PC = 6  # otherwise: sliders along this many principal directions

frame("Latent explorer")
st.title("Latent explorer")
entry = pick_model("Model", "ex_model", prefer=("mnist-vae", "mnist-vae2d", "mnist-ae"))
loaded = load(entry) if entry else None
if loaded is None:
    st.stop()
model, meta = loaded
model = class_picker(model, meta, "ex_class")  # conditional models: the class held fixed below
d = model.config.latent_dim
tag = hashlib.sha1(entry.key.encode()).hexdigest()[:8]
data = data_for(entry) if model.has_encoder else None
Z = codes(entry, min(2000, len(data.test_x))) if data is not None else None
ranges = latent.code_ranges(Z, d)  # GAN (or data gone): the prior's
center, sd = ranges.center, ranges.sd


@st.cache_resource(show_spinner=False, max_entries=16, hash_funcs=BY_FILE)
def _pca(entry, n: int, k: int) -> latent.PCA:
    """The codes' principal directions, fitted once per model (read-only, shared)."""
    return latent.fit_pca(codes(entry, n), k)


pca = (_pca(entry, len(Z), N_PC)
       if (Z is not None and d > MAX_RAW) else None)
n_pc = 0 if pca is None else len(pca.variance)
BASE = f"ex_base_{tag}"
if BASE not in st.session_state:
    st.session_state[BASE] = center.astype(np.float32).copy()


def set_base(z: np.ndarray) -> None:
    """Make ``z`` the current code and move every slider to match it."""
    z = np.asarray(z, np.float32)
    st.session_state[BASE] = z
    if pca is not None:
        for k, v in enumerate(pca.sd_units(z, n_pc)):
            st.session_state[f"ex_{tag}_pc{k}"] = float(np.clip(v, -4, 4))
    for j, v in enumerate(ranges.clip(z)):
        st.session_state[f"ex_{tag}_d{j}"] = float(v)


def sample_prior(fitted: bool = False) -> None:
    """N(0, I); for an AE also (``fitted``) a Gaussian fitted to its codes."""
    seed = int(np.random.default_rng().integers(0, 2**31 - 1))
    set_base(prior_code(model.config.kind, d, seed, Z, fitted=fitted))


def from_image() -> None:
    i = int(st.session_state[f"ex_img_{tag}"])
    set_base(latent.encode_images(model, data.test_x[i:i + 1])[0])


SHOWN = f"ex_shown_{tag}"  # the in-browser sliders as last drawn, and where the browser has them


def _rendering(defs: list[dict], start: np.ndarray) -> str:
    """The id of the in-browser sliders' rendering for ``defs`` (values from the session). When
    the session holds what the browser reported, the sliders are drawn as before, so the frame
    is left as it is (no reload, weights not sent again); a server change draws them anew."""
    keys, now = [s["key"] for s in defs], [s["value"] for s in defs]
    shown = st.session_state.get(SHOWN)
    if (shown is None or shown["keys"] != keys or shown["browser"] != now
            or not np.array_equal(shown["start"], start)):
        n = shown["n"] + 1 if shown else 1
        shown = st.session_state[SHOWN] = dict(n=n, keys=keys, drawn=now, browser=now, start=start.copy())
    for s, v in zip(defs, shown["drawn"]):
        s["value"] = v
    return f"{tag}-{shown['n']}"


def _moved(defs: list[dict], values: list[float]) -> None:
    """The browser's slider positions (checked) become the session's."""
    for s, v in zip(defs, values):
        st.session_state[s["key"]] = v
    st.session_state[SHOWN]["browser"] = list(values)
    st.session_state[f"ex_moved_{tag}"] = True


@st.fragment
def explorer() -> None:
    """Sliders and the decoded image: a slider move reruns only this (cached model, codes
    and PCA; one decode and one small image), not the page."""
    c1, c2, c3 = st.columns([1, 1, 2])
    c1.button("Sample from the prior N(0, I)", on_click=sample_prior, key=f"ex_prior_{tag}",
              help="What a VAE is trained to decode. An AE never was: most of its prior samples "
                   "decode to noise.")
    if model.config.kind == "ae":
        c1.button("Sample a Gaussian fitted to its codes", on_click=sample_prior, args=(True,),
                  key=f"ex_fitted_{tag}", help="An AE has no prior of its own: this draws from "
                  "the mean and covariance of its test codes instead.")
    c2.button("Reset to the mean code", on_click=set_base, args=(center,), key=f"ex_reset_{tag}")
    if data is not None:
        with c3:
            a, b = st.columns([2, 1])
            a.number_input("Test image #", 0, len(data.test_x) - 1, 0, key=f"ex_img_{tag}")
            b.button("Start from its code", on_click=from_image, key=f"ex_enc_{tag}")
    base = np.asarray(st.session_state[BASE], np.float32)
    why = fast_sliders.unavailable(entry)
    on_server = why is not None or st.toggle(
        "Decode on the server", key="ex_server",
        help="Off: the sliders decode in your browser as you drag. On: each move asks the server.")
    if why is not None:
        st.caption(f"The sliders decode on the server: {why}")
    left, right = st.columns([3, 2]) if on_server else (st.container(), None)
    with left:
        z = base.copy()
        defs: list[dict] = []  # the sliders, for the in-browser component
        if pca is not None:
            st.caption(f"{d} dimensions: sliders move the code along the top {n_pc} principal "
                       "directions of the encoded test set (in standard deviations).")
            units = pca.sd_units(base, n_pc)
            vals = []
            for k in range(n_pc):
                st.session_state.setdefault(f"ex_{tag}_pc{k}", float(np.clip(units[k], -4, 4)))
                name = f"PC {k + 1} ({pca.explained[k]:.0%} of variance)"
                if on_server:
                    vals.append(st.slider(name, -4.0, 4.0, step=0.05, key=f"ex_{tag}_pc{k}"))
                else:
                    vals.append(st.session_state[f"ex_{tag}_pc{k}"])
                    defs.append(dict(label=name, min=-4.0, max=4.0, step=0.05, value=vals[-1], pc=k,
                                     key=f"ex_{tag}_pc{k}"))
            z = pca.code(base, np.array(vals, np.float32))
        if d > MAX_RAW:
            raw = st.multiselect("Set raw dimensions" if pca is None else "Also set raw dimensions",
                                 list(range(d)), default=list(range(MAX_RAW)) if pca is None else [],
                                 key=f"ex_raw_{tag}", max_selections=MAX_RAW)
        else:
            raw = list(range(d))
        for j in raw:
            st.session_state.setdefault(f"ex_{tag}_d{j}", float(ranges.clip(base)[j]))
            r = ranges.slider(j)
            if on_server:
                z[j] = st.slider(f"z[{j}]", *r, step=0.01, key=f"ex_{tag}_d{j}")
            else:
                z[j] = st.session_state[f"ex_{tag}_d{j}"]
                defs.append(dict(label=f"z[{j}]", min=r[0], max=r[1], step=0.01, value=float(z[j]), dim=j,
                                 key=f"ex_{tag}_d{j}"))
        if not on_server:  # the code before the principal-direction sliders, and their steps
            start = base if pca is None else pca.code(base, np.zeros(n_pc, np.float32))
            steps = None if pca is None else pca.components[:n_pc] * np.sqrt(pca.variance[:n_pc])[:, None]
            id_ = _rendering(defs, start)
            fast_sliders.browser_sliders(entry, defs, start, steps, model.config.image_size,
                                         show_norm=data is not None, key=f"ex_bridge_{tag}",
                                         id_=id_, on_moved=lambda v: _moved(defs, v))
    st.session_state[f"ex_z_{tag}"] = z
    if st.session_state.pop(f"ex_moved_{tag}", False):
        st.rerun(scope="app")  # the code moved in the browser: the tools below follow it
    if on_server:
        with right:
            show(latent.decode_image(model, z), caption="Decoded image", target=280)
            if data is not None:
                st.caption(f"Code norm {np.linalg.norm(z):.2f} (a typical prior sample: "
                           f"{np.sqrt(d):.1f})")


explorer()
z_now = st.session_state.get(f"ex_z_{tag}", st.session_state[BASE])
class_row(model, meta, z_now, "the code above")  # conditional models only
labelled = data is not None and len(data.classes) > 1
names = (["Interpolate", "Traversal"] + (["Arithmetic"] if labelled else []) + ["Draw"]
         + (["Manifold"] if d == 2 else []))
tabs = dict(zip(names, st.tabs(names)))

with tabs["Interpolate"]:
    c1, c2, c3, c4 = st.columns(4)
    if data is not None:
        i = c1.number_input("From test image #", 0, len(data.test_x) - 1, 0, key="ex_from")
        j = c2.number_input("To test image #", 0, len(data.test_x) - 1, 1, key="ex_to")
        za, zb = latent.encode_images(model, data.test_x[[int(i), int(j)]])
    else:
        i = c1.number_input("From noise seed", 0, 10**6, 1, key="ex_from_seed")
        j = c2.number_input("To noise seed", 0, 10**6, 2, key="ex_to_seed")
        za, zb = noise(1, d, i)[0].numpy(), noise(1, d, j)[0].numpy()
    n = c3.slider("Steps", 3, 16, 10, key="ex_steps")
    how = c4.radio("Path", ["linear", "slerp", "both"], horizontal=True, key="ex_how")
    for method in (["linear", "slerp"] if how == "both" else [how]):
        show(latent.interpolate(model, za, zb, int(n), method), caption=f"{method} interpolation",
             nrow=int(n), target=900)

with tabs["Traversal"]:
    order = list(np.argsort(-sd)) if Z is not None else list(range(d))
    c1, c2, c3 = st.columns([3, 1, 1])
    dims = c1.multiselect("Dimensions (one row each)", list(range(d)),
                          default=[int(k) for k in order[:min(8, d)]], key=f"ex_tdims_{tag}")
    span = c2.slider("Span (± standard deviations)", 0.5, 5.0, 3.0, 0.5, key="ex_span")
    steps = c3.slider("Steps", 3, 15, 9, key="ex_tsteps")
    if dims:
        show(latent.traversal(model, z_now, dims, span, int(steps), center, sd), nrow=int(steps),
             caption="Each row sweeps one dimension of the current code; the others stay fixed.",
             target=640)

if labelled:
    with tabs["Arithmetic"]:
        arithmetic_tab(model, data, Z, pca, tag)

with tabs["Draw"]:
    draw_tab(model, meta, entry, data, Z, tag)

if d == 2:
    with tabs["Manifold"]:
        n = st.slider("Grid size", 5, 25, 15, key="ex_grid")
        show(latent.manifold(model, int(n)), nrow=int(n), target=640,
             caption="Codes on a grid of N(0, 1) quantiles (Kingma & Welling, Fig. 4).")
