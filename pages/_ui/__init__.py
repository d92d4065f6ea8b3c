"""Shared page helpers: the frame every page draws first (page settings, navigation, device,
job status), cached loaders over typed model entries, the model picker, Plotly figures. Render
code only; every computation is a call into ``genlab``.

A package, not a module: Streamlit's ``pages/`` convention lists every ``pages/*.py`` file as a
page, and this is not one."""
from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st
import torch

from genlab.data import DataError, dataset_for_meta
from genlab.images import make_grid, upscale
from genlab.jobs import SessionJobs, get_manager
from genlab.latent import codes as latent
from genlab.metrics import format as metric_format
from genlab.models.config import LOSS_LABELS, LOSS_PANELS
from genlab.palette import PRIOR_COLOUR, class_colour
from genlab.store.catalog import KIND_NAMES, WEIGHTS_DIR, ModelEntry, list_models, user_models_dir, visible
from genlab.store.checkpoint import CheckpointError, load_checkpoint
from pages._ui.projector import projector, projector_layout, projector_toggle, sidebar_state

if TYPE_CHECKING:
    import plotly.graph_objects as go

# Grad mode is per thread and Streamlit runs each script run in a thread of its own: pages switch
# gradients off where they use a model (torch.no_grad), never process-wide at import.
# Everything imported so far (torch, Streamlit, plotly...) lives as long as the server: moved out
# of the garbage collector's generations, so the collections that the reruns of many sessions
# trigger on the server's event loop do not walk it again each time.
gc.freeze()

# The navigation: (script, label, icon). app.py is Home; the others follow Streamlit's pages/
# convention, so a deep link (/train) opens its page on a freshly started server too.
NAV = [("app.py", "Home", ":material/home:"),
       ("pages/train.py", "Train", ":material/model_training:"),
       ("pages/explorer.py", "Latent explorer", ":material/tune:"),
       ("pages/latent_space.py", "Latent space", ":material/scatter_plot:"),
       ("pages/gan_studio.py", "GAN studio", ":material/palette:"),
       ("pages/sampling_studio.py", "Sampling studio", ":material/blur_on:"),
       ("pages/playground.py", "2-D playground", "🕹️"),
       ("pages/compare.py", "Compare", ":material/compare:"),
       ("pages/gallery.py", "Class gallery", ":material/groups:")]


def frame(title: str) -> None:
    """What every page shares: the browser tab's title, the wide layout, and the sidebar with
    the pages, the device and this session's training. Each page calls it first."""
    st.set_page_config(page_title="GenLab" if title == "Home" else f"{title} · GenLab",
                       page_icon="🧪", layout="wide", initial_sidebar_state=sidebar_state())
    with st.sidebar:
        for script, name, icon in NAV:
            st.page_link(script, label=name, icon=icon)
        st.divider()
        projector_toggle()
        st.caption(f"Device: {device_text()}")
        job = session_jobs().current()
        if title != "Train" and job is not None:  # the Train page's live view says it all
            (job_status if job.snapshot(max_rows=1).active else _job_line)()


def _job_line() -> bool:
    """This session's training in one line; whether it is still running or queued."""
    snap = session_jobs().current().snapshot(max_rows=1)
    st.caption(f"Training '{snap.name}': {snap.state}"
               + (f", {snap.fraction:.0%}" if snap.active and snap.total_steps else ""))
    return snap.active


@st.fragment(run_every=2.0)
def job_status() -> None:
    """The line, refreshed every 2 s while the training runs (and only then: a session with
    nothing running polls nothing, which a classroom of browsers on one server needs)."""
    if not _job_line():
        st.rerun()  # ended: the new model appears in the page's pickers; the polling stops


@st.cache_resource(scope="session", on_release=lambda jobs: jobs.close(), show_spinner=False)
def session_jobs() -> SessionJobs:
    """This browser session's jobs; released (and stopped) when the session ends."""
    return SessionJobs(get_manager())


def _folder_signature() -> tuple:
    sig = []
    for d in (WEIGHTS_DIR, user_models_dir()):
        if d.exists():
            sig += [(str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(d.glob("*.safetensors"))]
    return tuple(sig)


@st.cache_data(show_spinner=False, max_entries=8)
def _catalog(signature: tuple) -> list[ModelEntry]:
    return list_models()  # every file (shared by all sessions); catalog() filters per viewer


def viewer() -> str:
    """This browser session's id: the owner recorded in the models its jobs save."""
    return session_jobs().owner


def catalog() -> list[ModelEntry]:
    """The models this browser session may see (shipped, its own, those shared with the class:
    ``genlab.store.catalog``) with their meta; the folder is re-read only when a file changes."""
    return visible(_catalog(_folder_signature()), viewer())


def label(entry: ModelEntry) -> str:
    return entry.label


def pick_model(title: str, key: str, kinds: tuple[str, ...] = ("ae", "vae", "gan"),
               prefer: tuple[str, ...] = ()) -> ModelEntry | None:
    """A selectbox over readable models of ``kinds``; None (with a hint) if there is none."""
    entries = [e for e in catalog() if e.readable and e.kind in kinds]
    if not entries:
        st.info(f"No {' / '.join(KIND_NAMES[k] for k in kinds)} model yet. Train one on the "
                "**Train** page (or add shipped weights to `weights/`).")
        return None
    by_key = {e.key: e for e in entries}
    index = next((i for p in prefer for i, e in enumerate(entries) if e.name == p), 0)
    path = st.selectbox(title, list(by_key), index=index, key=key,
                        format_func=lambda k: by_key[k].label)
    return by_key[path]


def _stamp(entry: ModelEntry) -> tuple[str, int]:
    return entry.key, entry.mtime_ns


BY_FILE = {ModelEntry: _stamp}  # cache keys: the file and its modification time


@st.cache_resource(show_spinner="Loading the model...", max_entries=16, hash_funcs=BY_FILE)
def _model(entry: ModelEntry):
    return load_checkpoint(entry.path, device="cpu")


def load(entry: ModelEntry) -> tuple | None:
    """(model in eval mode on CPU, meta) — shared read-only across sessions; None (with the
    reason shown) if the file cannot be loaded."""
    try:
        return _model(entry)
    except (CheckpointError, OSError) as exc:
        st.error(f"Could not load {entry.name}: {exc}")
        return None


@st.cache_resource(show_spinner="Loading the test images...", max_entries=8, hash_funcs=BY_FILE)
def _data(entry: ModelEntry):
    return dataset_for_meta(entry.meta)


def data_for(entry: ModelEntry):
    """The data set the model was trained on, or None (with the reason shown)."""
    try:
        return _data(entry)
    except DataError as exc:
        st.warning(str(exc))
        return None


@st.cache_data(show_spinner="Encoding the test images...", max_entries=16, hash_funcs=BY_FILE)
def _codes(entry: ModelEntry, n: int) -> np.ndarray:
    model, _ = _model(entry)
    return latent.encode_images(model, _data(entry).test_x[:n])


def codes(entry: ModelEntry, n: int) -> np.ndarray:
    """The codes of the first ``n`` test images (cached per file)."""
    return _codes(entry, n)


def sample_metrics(meta: dict) -> dict:
    """The generative-quality numbers stored by ``genlab eval``, flattened; {} if none."""
    return metric_format.stored_samples(meta)


def metrics_text(meta: dict) -> str:
    """The stored quality metrics in a line, or 'not measured yet'."""
    return metric_format.metrics_text(meta)


def test_text(meta: dict) -> str:
    """The test-split numbers saved at the end of training, short."""
    return metric_format.test_text(meta)


def show(img: np.ndarray | torch.Tensor, caption: str | None = None, nrow: int = 8,
         target: int = 360) -> None:
    """A uint8 image, or a float batch (N, C, H, W) drawn as a grid, enlarged with crisp pixels
    to about ``target`` pixels wide."""
    if isinstance(img, torch.Tensor):
        img = make_grid(img, nrow=nrow)
    st.image(upscale(img, int(target * 1.5) if projector() else target), caption=caption,
             output_format="PNG")  # Streamlit's "auto" is JPEG: blurred pixel edges


# -- figures ------------------------------------------------------------------------------------
def curves(history: list[dict], kind: str, title: str = "", x: str = "epoch") -> dict:
    """Training curves: AE MSE; VAE recon, KL, total; GAN losses and D outputs. A plain
    Plotly figure spec: the Train page redraws it every second, and building it this way costs
    the server about 7 ms instead of 56 ms for make_subplots (measured with 300 points)."""
    groups = LOSS_PANELS[kind]
    xs = [r.get(x, 0) for r in history]
    n, gap = len(groups), 0.12
    width = (1 - gap * (n - 1)) / n
    data, layout = [], {}
    for c, keys in enumerate(groups):
        sfx = "" if c == 0 else str(c + 1)
        layout[f"xaxis{sfx}"] = {"domain": [c * (width + gap), c * (width + gap) + width],
                                 "anchor": f"y{sfx}", "title": {"text": x}}
        layout[f"yaxis{sfx}"] = {"anchor": f"x{sfx}"}
        data += [{"type": "scatter", "mode": "lines", "x": xs, "y": [r.get(k) for r in history],
                  "name": LOSS_LABELS[k], "xaxis": f"x{sfx}", "yaxis": f"y{sfx}"} for k in keys]
    layout.update(height=300, margin=dict(l=10, r=10, t=40 if title else 20, b=10),
                  legend=dict(orientation="h", y=-0.25), **({"title": {"text": title}} if title else {}))
    if projector():  # thick lines; larger type needs more room under the axes for the legend
        for trace in data:
            trace["line"] = {"width": 4}
        layout.update(height=360, legend=dict(orientation="h", y=-0.42, yanchor="top"),
                      margin=dict(l=10, r=10, t=40 if title else 20, b=10))
    return {"data": data, "layout": projector_layout(layout)}


def scatter(coords: np.ndarray, labels: np.ndarray, classes: list[str], title: str,
            prior: np.ndarray | None = None, idx: np.ndarray | None = None,
            extent: list[tuple[float, float]] | None = None) -> go.Figure:
    """Codes coloured by class (``genlab.palette``); hover names the image; optional prior
    samples overlaid; axes with their scale (PC 1..3), ``extent`` fixing their ranges."""
    import plotly.graph_objects as go
    three = coords.shape[1] == 3
    fig = go.Figure()
    idx = np.arange(len(coords)) if idx is None else idx
    for c in np.unique(labels):
        m = labels == c
        name = classes[int(c)] if int(c) < len(classes) else str(c)
        hover = [f"test image #{i} — {name}" for i in idx[m]]
        kw = dict(mode="markers", name=name, text=hover, hoverinfo="text", customdata=idx[m],
                  marker=dict(size=3 if three else 5, opacity=0.8, color=class_colour(int(c))))
        fig.add_trace(go.Scatter3d(x=coords[m, 0], y=coords[m, 1], z=coords[m, 2], **kw) if three
                      else go.Scattergl(x=coords[m, 0], y=coords[m, 1], **kw))
    if prior is not None:
        kw = dict(mode="markers", name="prior N(0, I)", hoverinfo="name",
                  marker=dict(size=3 if three else 4, color=PRIOR_COLOUR, symbol="x"))
        fig.add_trace(go.Scatter3d(x=prior[:, 0], y=prior[:, 1], z=prior[:, 2], **kw) if three
                      else go.Scattergl(x=prior[:, 0], y=prior[:, 1], **kw))
    axes = [dict(title=f"PC {i + 1}", **({"range": list(extent[i])} if extent else {}))
            for i in range(coords.shape[1])]
    if three:
        fig.update_layout(scene=dict(xaxis=axes[0], yaxis=axes[1], zaxis=axes[2],
                                     aspectmode="cube" if extent else "auto"))
    else:
        fig.update_layout(xaxis=axes[0], yaxis=axes[1])
    fig.update_layout(title=title, height=460, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(itemsizing="constant"))
    return _styled(fig)


def bars(stats: dict, title: str) -> go.Figure:
    import plotly.graph_objects as go
    d = np.arange(stats["latent_dim"])
    fig = go.Figure([go.Bar(x=d, y=stats["mean"], name="mean"),
                     go.Bar(x=d, y=stats["var"], name="variance")])
    fig.add_hline(y=1.0, line_dash="dot", annotation_text="prior variance 1")
    fig.update_layout(title=title, barmode="group", height=260, xaxis_title="latent dimension",
                      margin=dict(l=10, r=10, t=40, b=10), legend=dict(x=1.02, y=0.5))  # clear of the axis title
    return _styled(fig)


def _styled(fig: go.Figure) -> go.Figure:
    if projector():
        fig.update_layout(projector_layout({"xaxis": {}, "yaxis": {}}))
    return fig


@st.cache_data(show_spinner=False)
def device_text() -> str:
    """The device training uses: GPU name, or CPU with its thread count."""
    from genlab.train import describe_device
    return describe_device()
