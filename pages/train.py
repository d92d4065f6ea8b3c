"""Train: pick data and a model, start / pause / stop, watch curves and images live."""
import hashlib
import time

import numpy as np
import streamlit as st

from pages._ui import KIND_NAMES, LOSS_LABELS, curves, frame, session_jobs, show  # isort: skip

from genlab.checkpoint import CheckpointError, safe_name
from genlab.data import BUILTIN, DataError, allowed_folder, load_dataset
from genlab.data.dataset import cache_dir
from genlab.defaults import defaults_for
from genlab.jobs import JobSpec
from genlab.models import ConfigError, ModelConfig
from genlab.models.config import DEFAULT_HIDDEN
from genlab.train import TrainConfig
from pages._ui.movie import live_frame_figure

frame("Train")
st.title("Train a model")
jobs = session_jobs()
SOURCES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "digits": "8×8 digits (tiny, fast)",
           "upload": "Upload a .zip of images", "folder": "A folder on this computer"}


@st.cache_resource(show_spinner="Loading the data set...", max_entries=6)
def _builtin(name: str, size: int | None, channels: int | None):
    return load_dataset(name, image_size=size, channels=channels)


@st.cache_resource(show_spinner="Reading your images...", max_entries=4)
def _images(path: str, size: int, channels: int, stamp: str):
    return load_dataset(path, image_size=size, channels=channels)


def _save_upload(upload) -> str:
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:20]
    target = cache_dir() / "uploads" / f"{digest}.zip"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    return str(target)


def choose_data():
    """(data set or None, spec fields) from the data widgets; errors shown in plain words."""
    src = st.selectbox("Data set", list(SOURCES), format_func=SOURCES.get, key="tr_source")
    c1, c2 = st.columns(2)
    sizes = [8, 16, 28, 32, 64]
    default = 8 if src == "digits" else 28
    size = c1.selectbox("Image size", sizes, index=sizes.index(default), key=f"tr_size_{src}")
    mode = c2.radio("Colour", ["gray", "RGB"], horizontal=True, key="tr_mode")
    ch = 1 if mode == "gray" else 3
    try:
        if src in BUILTIN:
            native = 8 if src == "digits" else 28
            data = _builtin(src, None if size == native else size, None if ch == 1 else ch)
            st.caption(data.summary())
            return data, {"dataset": src, "image_size": size, "channels": ch}
        if src == "upload":
            up = st.file_uploader("A .zip of images (class subfolders optional)", type=["zip"],
                                  key="tr_upload")
            if up is None:
                st.info("Upload a .zip file of PNG/JPEG images to train on them.")
                return None, {}
            path = _save_upload(up)
            data = _images(path, size, ch, path)
            label = up.name
        else:
            path = st.text_input("Folder of images", key="tr_folder",
                                 placeholder="/home/me/faces (class subfolders optional)")
            if not path.strip():
                st.info("Type the path of a folder of images on this computer.")
                return None, {}
            import os
            path = str(allowed_folder(path.strip()))
            stamp = str(os.stat(path).st_mtime_ns) if os.path.isdir(path) else ""
            data = _images(path, size, ch, stamp)
            label = path.strip()
    except (DataError, OSError, ValueError) as exc:
        st.error(f"That data cannot be used: {exc}")
        return None, {}
    st.success(data.summary())
    return data, {"dataset": path, "image_size": size, "channels": ch, "dataset_label": label}


def parse_hidden(text: str, arch: str) -> tuple[int, ...]:
    """The hidden sizes typed in the form; a ValueError in plain words if they are not numbers."""
    parts = [h for h in text.replace(" ", "").split(",") if h]
    if not parts or not all(h.isdigit() for h in parts):
        raise ValueError("The first conv width must be one whole number, for example 32."
                         if arch == "conv" else "Hidden sizes must be whole numbers separated "
                         "by commas, for example 512,256.")
    return tuple(int(h) for h in parts)


def choose_model(data, fields):
    c1, c2 = st.columns(2)
    kind = c1.radio("Model", ["ae", "vae", "gan"], index=1, format_func=KIND_NAMES.get,
                    horizontal=True, key="tr_kind")
    size = data.shape[1]
    archs = ["conv", "mlp"] if size % 4 == 0 and size >= 8 else ["mlp"]
    arch = c2.radio("Architecture", archs, horizontal=True, key="tr_arch")
    d = defaults_for(kind)  # every default below is the model kind's (genlab.defaults)
    c1, c2, c3 = st.columns(3)
    latent = c1.number_input("Latent size", 1, 512, d.latent_dim, key=f"tr_latent_{kind}")
    hidden = c2.text_input("Hidden sizes" if arch == "mlp" else "First conv width",
                           ",".join(map(str, DEFAULT_HIDDEN[(arch, kind)])), key=f"tr_hidden_{arch}_{kind}")
    beta = c3.number_input("β (KL weight)", 0.0, 100.0, 1.0, 0.1, key="tr_beta",
                           disabled=kind != "vae", help="VAE only: β > 1 trades reconstruction "
                           "for a more regular latent space; β = 0 is a plain (noisy) AE.")
    c1, c2, c3, c4, c5, c6 = st.columns(6)
    lr = c1.number_input("Learning rate", 1e-6, 1.0, d.lr, format="%.0e", key=f"tr_lr_{kind}")
    b1 = c2.number_input("Adam β1", 0.0, 0.999, d.betas[0], 0.05, key=f"tr_b1_{kind}")
    b2 = c3.number_input("Adam β2", 0.0, 0.9999, d.betas[1], 0.001, format="%.4f", key=f"tr_b2_{kind}")
    batch = c4.number_input("Batch size", 1, 4096, d.batch_size, key=f"tr_batch_{kind}")
    epochs = c5.number_input("Epochs", 1, 1000, d.epochs, key=f"tr_epochs_{kind}")
    seed = c6.number_input("Seed", 0, 2**31 - 1, 1, key="tr_seed")
    name = st.text_input("Save the model as", f"{(fields.get('dataset_label') or data.name).split('/')[-1]}"
                         f"-{kind}-{time.strftime('%m%d-%H%M')}", key="tr_name")
    try:
        safe_name(name)
        cfg = ModelConfig(kind, arch, data.shape[0], size, int(latent), parse_hidden(hidden, arch),
                          float(beta)).validate()
    except (ValueError, ConfigError, CheckpointError) as exc:
        st.error(f"This model cannot be built: {exc}")
        return None
    return JobSpec(fields["dataset"], cfg, TrainConfig(
        epochs=int(epochs), batch_size=int(batch), lr=float(lr), betas=(float(b1), float(b2)),
        seed=int(seed), grid_every_s=1.0), name, fields.get("image_size"), fields.get("channels"),
        fields.get("dataset_label", ""))


current = jobs.current()
busy = current is not None and current.snapshot(max_rows=1).active
with st.expander("Settings", expanded=not busy):
    data, fields = choose_data()
    spec = choose_model(data, fields) if data is not None else None
    # The spec is built in the run that the click starts, so it has every value just typed
    # (an on_click callback would get the values of the run before).
    if st.button("Start training", type="primary", disabled=spec is None or busy, key="tr_start",
                 help="One training per browser session at a time." if busy else None):
        try:
            jobs.submit(spec, data)
            st.session_state.pop("tr_error", None)
        except RuntimeError as exc:
            st.session_state["tr_error"] = str(exc)
        st.rerun()
if "tr_error" in st.session_state:
    st.error(st.session_state["tr_error"])


def _fmt(s: float) -> str:
    return f"{int(s // 60)} min {int(s % 60):02d} s" if s >= 60 else f"{s:.0f} s"


@st.fragment(run_every=1.0)
def live():
    job = jobs.current()
    if job is None:
        st.caption("No training yet in this session.")
        return
    snap = job.snapshot(max_rows=300)
    c1, c2, c3 = st.columns([1, 1, 4])
    if snap.state == "paused":
        c1.button("Resume", on_click=job.resume, key="tr_resume", type="primary")
    else:
        c1.button("Pause", on_click=job.pause, key="tr_pause", disabled=snap.state != "running")
    c2.button("Stop", on_click=job.stop, key="tr_stop", disabled=not snap.active)
    c3.markdown(f"**{snap.name}** ({KIND_NAMES[snap.kind]}) — *{snap.state}*")
    if snap.state == "queued":
        st.info(f"Waiting for a free training slot: position {snap.queue_position} in the queue."
                if snap.queue_position else "A training slot is free: starting the training process...")
    elif snap.state == "failed":
        st.error(snap.message)
    elif snap.state in ("done", "stopped"):
        st.success(snap.message) if snap.saved_path else st.warning(snap.message)
    else:
        st.caption(snap.message)
    text = (f"step {snap.step:,} / {snap.total_steps:,} · epoch {snap.epoch:.2f} / {snap.epochs} · "
            f"{snap.images_per_s:,.0f} images/s · ETA {_fmt(snap.eta_s)} · elapsed {_fmt(snap.elapsed_s)}")
    st.progress(snap.fraction, text=text)
    left, right = st.columns([3, 2])
    if snap.history:
        # While training, a static chart: redrawn every second, it costs the browser far less CPU
        # (the machine that trains) than an interactive one; interactive again when finished.
        left.plotly_chart(curves(snap.history, snap.kind, "Training losses (live)"), key="tr_curves",
                          config={"staticPlot": snap.active})
    else:
        left.caption("Curves appear after the first steps.")
    if snap.grid is not None:
        with right:
            what = "fixed-noise samples" if snap.kind == "gan" else "test images (top) and reconstructions"
            show(snap.grid, caption=f"Live: {what}", target=480)
    if snap.latent is not None:  # the latent movie's current frame: how the space is forming
        epoch, z, labels, classes = snap.latent
        left.plotly_chart(live_frame_figure(z.astype(np.float32), labels, classes, epoch),
                          key="tr_latent", config={"staticPlot": snap.active})
    if snap.test_history:  # a table redrawn every second is costly for the browser: text while live
        last = snap.test_history[-1]
        st.caption(f"Test set after epoch {last['epoch']:.0f}: " + ", ".join(
            f"{LOSS_LABELS.get(k, k)} {v:.4g}" for k, v in last.items() if k != "epoch"))
        if not snap.active:
            st.dataframe(snap.test_history, hide_index=True, height=150)
    was = st.session_state.get("tr_seen_active")
    st.session_state["tr_seen_active"] = snap.id if snap.active else None
    if was == snap.id and not snap.active:
        st.rerun()  # the new model appears in every picker


st.subheader("Progress")
live()
