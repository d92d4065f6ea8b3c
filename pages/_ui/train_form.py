"""The Train page's settings form: the data widgets and the model widgets, which build the
JobSpec that Start submits. Every widget's key and bounds come from ``train_url.FIELDS`` (the
table that also puts them in the URL)."""
from __future__ import annotations

import os
import time

import streamlit as st

from genlab.data import BUILTIN, DataError, allowed_folder, load_dataset
from genlab.data.dataset import cache_upload
from genlab.jobs import JobSpec
from genlab.models import ConfigError
from genlab.settings import BY_KEY, NATIVE_SIZE, NOISE_KINDS, SIZES, SettingError, default, kind_error, parse
from genlab.store.checkpoint import CheckpointError, safe_name
from genlab.train.recipe import BY_STEPS, configs
from pages._ui import KIND_NAMES
from pages._ui.train_url import SOURCES, chosen, widget


@st.cache_resource(show_spinner="Loading the data set...", max_entries=6)
def _builtin(name: str, size: int | None, channels: int | None):
    return load_dataset(name, image_size=size, channels=channels)


@st.cache_resource(show_spinner="Reading your images...", max_entries=4)
def _images(path: str, size: int, channels: int, stamp: str):
    return load_dataset(path, image_size=size, channels=channels)


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
    native = NATIVE_SIZE.get(src, 28)  # the built-in data sets' own size (the others: 28)
    size = c1.selectbox("Image size", SIZES, key=_seed(f"tr_size_{src}", native))
    mode = c2.radio("Colour", ["gray", "RGB"], horizontal=True, key="tr_mode")
    ch = 1 if mode == "gray" else 3
    try:
        if src in BUILTIN:
            data = _builtin(src, None if size == native else size, None if ch == 1 else ch)
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
            path = str(cache_upload(up.getvalue()))
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
    """The hidden sizes typed in the form; a ValueError in plain words if they are not numbers
    (their bounds are then checked by the model's config, with the settings table's numbers)."""
    parts = [h for h in text.replace(" ", "").split(",") if h]
    if not parts or not all(h.isdigit() for h in parts):
        raise ValueError("The first conv width must be one whole number, for example 32."
                         if arch == "conv" else "Hidden sizes must be whole numbers separated "
                         "by commas, for example 512,256.")
    return tuple(int(h) for h in parts)


def lesson_label() -> str:
    """The lesson (and variant) picked, as saved in the model's meta; "" for none."""
    les, variant = chosen()
    return "" if les is None else les.title + (f" (variant {variant})" if variant else "")


def run_name(kind: str, data, fields: dict) -> str:
    """The default name of the run: lesson, variant and model kind ("ae-vs-vae-mnist-ae"; a
    variant named after the kind is not said twice), else the data set, kind and the time they
    were picked (kept while they stay: a name that changed with the clock would be re-sent to a
    box the user may be typing in)."""
    les, variant = chosen()
    if les is not None:
        return "-".join([les.name, *([variant] if variant and variant != kind else []), kind])
    base = f"{(fields.get('dataset_label') or data.name).split('/')[-1]}-{kind}-"
    before = st.session_state.get("tr_name_auto") or ""
    return before if before.startswith(base) else base + time.strftime("%m%d-%H%M")


def _auto_name(auto: str) -> str:
    """The name box's key, its value set to ``auto`` when the automatic name changes (a lesson,
    variant, data set or kind switch renames the run) unless the user typed a name of their own;
    a name typed by hand is kept, an emptied box gets the automatic one back. The box is
    written only when the name changes: a value set by the script replaces what the browser
    holds, so writing it on every rerun would drop a name typed during an earlier rerun."""
    ss = st.session_state
    if ss.get("tr_name") in (None, "") or (auto != ss.get("tr_name_auto")
                                           and ss.get("tr_name") == ss.get("tr_name_auto")):
        ss["tr_name"] = auto
    ss["tr_name_auto"] = auto
    return "tr_name"


def choose_knobs(kind: str) -> dict:
    """The knobs the health alarms recommend, for the kinds they apply to (settings keys); the
    defaults are the seed recipes."""
    if kind == "vae":
        c1, _ = st.columns([1, 2])
        return {"kl_warmup": float(c1.number_input(step=1.0, key=_seed("tr_kl_warmup", default("kl_warmup")),
                                                   **widget("kl_warmup")))}
    if kind != "gan":
        return {}
    c1, c2, c3 = st.columns(3)
    lr_d = c1.number_input(format="%.0e", key=_seed("tr_lr_d", default("lr_d")),
                           placeholder="same as the learning rate", **widget("lr_d"))
    smooth = c2.number_input(step=0.05, key=_seed("tr_smoothing", default("smoothing")), **widget("smoothing"))
    steps = c3.number_input(key=_seed("tr_d_steps", default("d_steps")), **widget("d_steps"))
    return {"lr_d": None if lr_d is None else float(lr_d), "smoothing": float(smooth), "d_steps": int(steps)}


def choose_model(data, fields) -> JobSpec | None:
    """The model and training widgets (labels, bounds and defaults from the settings table),
    turned into the run's configs by ``genlab.train.recipe``, as the CLI and the lessons do."""
    c1, c2 = st.columns(2)
    kind = c1.radio("Model", list(BY_KEY["kind"].choices), format_func=KIND_NAMES.get, horizontal=True,
                    key=_seed("tr_kind", default("kind")))
    size = data.shape[1]
    archs = ["conv", "mlp"] if size % 4 == 0 and size >= 8 else ["mlp"]
    if kind in NOISE_KINDS:  # a U-Net: conv only
        archs = ["conv"] if "conv" in archs else []
        if not archs:
            st.error(f"A {KIND_NAMES[kind]} model is a U-Net: it needs an image size of 8 or more, "
                     "divisible by 4 (28, 32 or 64).")
            return None
    arch = c2.radio("Architecture", archs, horizontal=True, key="tr_arch")
    at = lambda key: default(key, kind, arch)  # noqa: E731 (this kind's default)
    c1, c2, c3 = st.columns(3)
    s = {"kind": kind, "arch": arch, "channels": data.shape[0], "size": size}
    if kind in NOISE_KINDS:  # the latent is the starting noise: one number per pixel
        s["latent"] = None
        s["schedule"] = (c1.selectbox(options=BY_KEY["schedule"].choices, key=_seed("tr_schedule", at("schedule")),
                                      **widget("schedule")) if kind == "ddpm" else at("schedule"))
    else:
        s["latent"] = c1.number_input(key=_seed(f"tr_latent_{kind}", at("latent")), **widget("latent"))
        s["schedule"] = at("schedule")
    hidden = c2.text_input("Hidden sizes" if arch == "mlp" else "First conv width",
                           key=_seed(f"tr_hidden_{arch}_{kind}", ",".join(map(str, at("hidden")))),
                           help=widget("hidden")["help"])
    s["beta"] = c3.number_input(step=0.1, key=_seed("tr_beta", at("beta")), disabled=kind != "vae",
                                **widget("beta"))
    c1, c2, c3, c4, c5, c6 = st.columns(6)
    s["lr"] = c1.number_input(format="%.0e", key=_seed(f"tr_lr_{kind}", at("lr")), **widget("lr"))
    s["b1"] = c2.number_input(step=0.05, key=_seed(f"tr_b1_{kind}", at("b1")), **widget("b1"))
    s["b2"] = c3.number_input(step=0.001, format="%.4f", key=_seed(f"tr_b2_{kind}", at("b2")), **widget("b2"))
    s["batch"] = c4.number_input(key=_seed(f"tr_batch_{kind}", at("batch")), **widget("batch"))
    s["epochs"] = c5.number_input(key=_seed(f"tr_epochs_{kind}", at("epochs")), **widget("epochs"))
    s["seed"] = c6.number_input(key=_seed("tr_seed", at("seed")), **widget("seed"))
    knobs = {k: default(k) for k in ("kl_warmup", "lr_d", "smoothing", "d_steps")}
    s.update(knobs, **choose_knobs(kind))
    classes = len(data.classes) if kind != "ae" and len(data.classes) >= 2 else 0
    s["conditional"] = st.checkbox(f"Conditional: tell the model each image's class ({classes} classes)"
                                   if classes else "Conditional (needs a VAE or GAN and a data set with classes)",
                                   key=_seed("tr_conditional", False), disabled=not classes,
                                   help="A conditional VAE/GAN learns p(x | class): the Latent explorer "
                                   "and GAN studio then draw any class you ask for.") and bool(classes)
    # no help tooltip: its button would share the label that browser tests find the box by
    name = st.text_input("Save the model as", key=_auto_name(run_name(kind, data, fields)))
    try:
        safe_name(name)
        s.update({k: parse(k, s[k], widget(k)["label"]) for k in
                  ("latent", "beta", "lr", "b1", "b2", "batch", "epochs", "seed") if s[k] is not None},
                 hidden=parse_hidden(hidden, arch))
        why = kind_error(kind, s)
        if why:
            raise SettingError(why)
        # the losses read by the step, never by the clock: the same link and seed give every
        # student the same curves (genlab.train.recipe.BY_STEPS)
        cfg, tc = configs(s, data, **BY_STEPS, grid_every_s=1.0, first_report=True)
    except (ValueError, ConfigError, CheckpointError) as exc:
        st.error(f"This model cannot be built: {exc}")
        return None
    return JobSpec(fields["dataset"], cfg, tc, name, fields.get("image_size"), fields.get("channels"),
                   fields.get("dataset_label", ""), lesson=lesson_label())
