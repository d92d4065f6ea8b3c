"""GenLab: `streamlit run app.py`. This file is the Home page: what GenLab is, the device, the
data sets and every model with its numbers. The other pages are the files in pages/ (Streamlit's
pages/ convention); each, like this one, draws the shared sidebar with ``pages._ui.frame``."""
import streamlit as st

# The first lines draw before torch loads (seconds on a cold start): pages._ui imports it.
st.set_page_config(page_title="GenLab", page_icon="🧪", layout="wide")
st.title("GenLab")
st.markdown(
    "A hands-on lab for deep generative models. **Train** an autoencoder (AE), a variational "
    "autoencoder (VAE) or a GAN on MNIST, Fashion-MNIST or your own images and watch it learn; "
    "move through a model's **latent space** with sliders; see why a VAE's codes are organised "
    "and an AE's are not; sample and interpolate in the **GAN studio**; **compare** models with "
    "measured numbers. Everything runs on this computer, offline.")

from genlab.data import available_datasets  # noqa: E402
from genlab.jobs import get_manager  # noqa: E402
from pages._ui import KIND_NAMES, catalog, device_text, frame, metrics_text, test_text  # noqa: E402

frame("Home")
st.page_link("pages/train.py", label="First step: start the AE-vs-VAE lesson", icon="▶️",
             query_params={"lesson": "ae-vs-vae-mnist"},
             help="Opens the Train page with the lesson's settings: train the VAE, then its AE "
                  "variant, then put them side by side on Latent space and Compare.")
c1, c2 = st.columns(2)
c1.metric("Device", device_text())
mgr = get_manager()
c2.metric("Training slots", f"{mgr.running_count()} of {mgr.max_jobs} busy",
          help="How many trainings may run at once on this machine (GENLAB_MAX_JOBS).")

st.subheader("Data sets")
rows = [{"data set": d["name"], "available": "yes" if d["available"] else "no",
         "classes": str(d["classes"]),
         "from": d["source"] + (" (in use)" if d["in_use"] else "")} for d in available_datasets()]
rows.append({"data set": "your images", "available": "yes", "classes": "by subfolder",
             "from": "a .zip upload or a folder on this computer (Train page)"})
st.dataframe(rows, hide_index=True)
st.caption("'from' is where each data set comes from now: where this server loaded it (in use), "
           "else the first source that is present; nothing is downloaded when GENLAB_OFFLINE=1.")

st.subheader("Models")
# Shipped files that are not generative models (e.g. the metrics classifier) are not listed.
models = [m for m in catalog() if not (m.origin == "shipped" and not m.readable)]
if not models:
    st.info("No models yet: the shipped weights are missing from `weights/` and you have not "
            "trained one. Start on the **Train** page.")
else:
    rows = []
    for m in models:
        if not m.readable:
            rows.append({"model": m.name, "origin": m.origin, "kind": "unreadable",
                         "details": m.error or ""})
            continue
        cfg = m.config
        rows.append({
            "model": m.name, "origin": m.origin, "kind": KIND_NAMES[m.kind],
            "details": f"{m.arch}, latent {m.latent_dim}"
                       + (f", β {cfg['beta']:g}" if m.kind == "vae" else ""),
            "data set": m.dataset,
            "epochs": (f"{ep:g}" if isinstance(ep := m.meta.get("epochs"), (int, float)) else "?")
                      + (" (incomplete)" if m.incomplete else ""),
            "test": test_text(m.meta), "metrics": metrics_text(m.meta)})
    st.dataframe(rows, hide_index=True)
    st.caption("'shipped' models come with GenLab (`weights/`); 'yours' are trained here and "
               "kept in your model folder, private to this browser session until you share them "
               "(Class gallery); 'shared' ones a classmate trained and shared with the class (read "
               "only). Metrics are measured by `python -m genlab eval`.")
