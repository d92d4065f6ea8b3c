"""The Train page's settings form: the data widgets and the model widgets, which build the
JobSpec that Start submits. Every widget's key and bounds come from ``train_url.FIELDS`` (the
table that also puts them in the URL)."""
from __future__ import annotations

import hashlib
import os
import time

import streamlit as st

from genlab.checkpoint import CheckpointError, safe_name
from genlab.data import BUILTIN, DataError, allowed_folder, load_dataset
from genlab.data.dataset import cache_dir
from genlab.defaults import KNOBS, defaults_for
from genlab.jobs import JobSpec
from genlab.lessons import NATIVE_SIZE, train_config
from genlab.models import ConfigError, ModelConfig
from genlab.models.config import DEFAULT_HIDDEN
from pages._ui import KIND_NAMES
from pages._ui.train_url import SIZES, SOURCES, bounds, chosen


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


def _seed(key: str, default) -> str:
    """``key``, its widget's default put in the session state first: the URL and the lessons
    set these widgets through the state, so they take no default ``value`` of their own."""
    if key not in st.session_state:
        st.session_state[key] = default
    return key


def choose_data():
    """(data set or None, spec fields) from the data widgets; errors shown in plain words."""
    src = st.selectbox("Data set", list(SOURCES), format_func=SOURCES.get, key="tr_source")
    c1, c2 = st.columns(2)
    default = NATIVE_SIZE.get(src, 28)  # the built-in data sets' own size (the others: 28)
    size = c1.selectbox("Image size", SIZES, key=_seed(f"tr_size_{src}", default))
    mode = c2.radio("Colour", ["gray", "RGB"], horizontal=True, key="tr_mode")
    ch = 1 if mode == "gray" else 3
    try:
        if src in BUILTIN:
            data = _builtin(src, None if size == default else size, None if ch == 1 else ch)
            st.caption(data.summary())
            if src == "faces":
                st.caption("Faces have no classes. Online: scikit-learn's 400 Olivetti faces (64×64); "
                           "offline: the 100 LFW faces inside scikit-image (25×25, upscaled). You can "
                           "also upload your own face folder or .zip at 64×64.")
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


def choose_knobs(kind: str) -> dict:
    """The knobs the health alarms recommend, for the kinds they apply to (lesson keys, as
    ``genlab.lessons.train_config`` takes them); the defaults are the seed recipes."""
    if kind == "vae":
        c1, _ = st.columns([1, 2])
        warm = c1.number_input("KL warm-up (epochs)", step=1.0, key=_seed("tr_kl_warmup", float(KNOBS["kl_warmup_epochs"])),
                               **bounds("kl_warmup"), help="β rises linearly from 0 to its value over this "
                               "many epochs (0: no warm-up). Against posterior collapse.")
        return {"kl_warmup": float(warm)}
    if kind != "gan":
        return {}
    c1, c2, c3 = st.columns(3)
    lr_d = c1.number_input("D learning rate", format="%.0e", key=_seed("tr_lr_d", KNOBS["lr_d"]),
                           placeholder="same as the learning rate", **bounds("lr_d"),
                           help="The discriminator's own learning rate; empty: the same as the "
                           "generator's. Lower it when the discriminator wins.")
    smooth = c2.number_input("Label smoothing", step=0.05, key=_seed("tr_smoothing", float(KNOBS["label_smoothing"])),
                             **bounds("smoothing"), help="One-sided: the discriminator's target for "
                             "real images is 1 − this (0.1 is usual; 0: none).")
    steps = c3.number_input("D steps per G step", key=_seed("tr_d_steps", int(KNOBS["d_steps"])),
                            **bounds("d_steps"), help="Discriminator updates for each generator update.")
    return {"lr_d": None if lr_d is None else float(lr_d), "smoothing": float(smooth), "d_steps": int(steps)}


def lesson_label() -> str:
    """The lesson (and variant) picked, as saved in the model's meta; "" for none."""
    les, variant = chosen()
    return "" if les is None else les.title + (f" (variant {variant})" if variant else "")


def choose_model(data, fields) -> JobSpec | None:
    c1, c2 = st.columns(2)
    kind = c1.radio("Model", ["ae", "vae", "gan"], format_func=KIND_NAMES.get, horizontal=True,
                    key=_seed("tr_kind", "vae"))
    size = data.shape[1]
    archs = ["conv", "mlp"] if size % 4 == 0 and size >= 8 else ["mlp"]
    arch = c2.radio("Architecture", archs, horizontal=True, key="tr_arch")
    d = defaults_for(kind)  # every default below is the model kind's (genlab.defaults)
    c1, c2, c3 = st.columns(3)
    latent = c1.number_input("Latent size", key=_seed(f"tr_latent_{kind}", d.latent_dim), **bounds("latent"))
    hidden = c2.text_input("Hidden sizes" if arch == "mlp" else "First conv width",
                           key=_seed(f"tr_hidden_{arch}_{kind}", ",".join(map(str, DEFAULT_HIDDEN[(arch, kind)]))))
    beta = c3.number_input("β (KL weight)", step=0.1, key=_seed("tr_beta", 1.0), **bounds("beta"),
                           disabled=kind != "vae", help="VAE only: β > 1 trades reconstruction "
                           "for a more regular latent space; β = 0 is a plain (noisy) AE.")
    c1, c2, c3, c4, c5, c6 = st.columns(6)
    lr = c1.number_input("Learning rate", format="%.0e", key=_seed(f"tr_lr_{kind}", d.lr), **bounds("lr"))
    b1 = c2.number_input("Adam β1", step=0.05, key=_seed(f"tr_b1_{kind}", d.betas[0]), **bounds("b1"))
    b2 = c3.number_input("Adam β2", step=0.001, format="%.4f", key=_seed(f"tr_b2_{kind}", d.betas[1]),
                         **bounds("b2"))
    batch = c4.number_input("Batch size", key=_seed(f"tr_batch_{kind}", d.batch_size), **bounds("batch"))
    epochs = c5.number_input("Epochs", key=_seed(f"tr_epochs_{kind}", d.epochs), **bounds("epochs"))
    seed = c6.number_input("Seed", key=_seed("tr_seed", 1), **bounds("seed"))
    knobs = choose_knobs(kind)
    classes = len(data.classes) if kind != "ae" and len(data.classes) >= 2 else 0
    conditional = st.checkbox(f"Conditional: tell the model each image's class ({classes} classes)"
                              if classes else "Conditional (needs a VAE or GAN and a data set with classes)",
                              key=_seed("tr_conditional", False), disabled=not classes,
                              help="A conditional VAE/GAN learns p(x | class): the Latent explorer and "
                              "GAN studio then draw any class you ask for.")
    les, variant = chosen()
    stem = (f"{les.name}{'-' + variant if variant else ''}" if les else
            (fields.get("dataset_label") or data.name).split("/")[-1])
    name = st.text_input("Save the model as", f"{stem}-{kind}-{time.strftime('%m%d-%H%M')}", key="tr_name")
    try:
        safe_name(name)
        cfg = ModelConfig(kind, arch, data.shape[0], size, int(latent), parse_hidden(hidden, arch),
                          float(beta), num_classes=classes if conditional else 0).validate()
    except (ValueError, ConfigError, CheckpointError) as exc:
        st.error(f"This model cannot be built: {exc}")
        return None
    # the lessons' TrainConfig: losses read every few steps, never by the clock, so the same
    # link and seed give every student the same curves (genlab.lessons.train_config)
    tc = train_config({"kind": kind, "epochs": int(epochs), "batch": int(batch), "lr": float(lr),
                       "seed": int(seed), **knobs}, betas=(float(b1), float(b2)), grid_every_s=1.0,
                      first_report=True)
    return JobSpec(fields["dataset"], cfg, tc, name, fields.get("image_size"), fields.get("channels"),
                   fields.get("dataset_label", ""), lesson=lesson_label())
