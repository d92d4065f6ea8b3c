"""Compare: the seed report's AE-vs-VAE table, with measured numbers instead of words."""
import streamlit as st

from genlab.metrics import (
    elbo,
    evaluate_checkpoint,
    format_report,
    knn_accuracy,
    latent_stats,
    reconstruction_metrics,
)
from genlab.metrics.format import compare_column
from pages._ui import BY_FILE, KIND_NAMES, catalog, codes, data_for, frame, label, load

frame("Compare")
st.title("Compare models")
st.markdown(
    "The lab report's table said *AE: reconstruction high, latent space unstructured, generation "
    "limited; VAE: moderate, structured, strong*. Here are the measured numbers for the models you "
    "pick, on the first test images of each model's data set.")

entries = [e for e in catalog() if e.readable and e.kind in ("ae", "vae")]
gans = [e for e in catalog() if e.readable and e.kind == "gan"]
if not entries:
    st.info("No AE or VAE model yet: train one on the **Train** page.")
    st.stop()
paths = [e.key for e in entries + gans]
by_path = {e.key: e for e in entries + gans}
default = ([e.key for e in entries + gans if e.name in ("mnist-ae", "mnist-vae", "mnist-gan")]
           or paths[:2])
chosen = st.multiselect("Models", paths, default=default, key="cmp_models",
                        format_func=lambda p: label(by_path[p]))
n = int(st.slider("Test images", 200, 10000, 2000, 200, key="cmp_n"))


@st.cache_data(show_spinner="Measuring...", max_entries=64, hash_funcs=BY_FILE)
def measure(entry, n: int) -> dict:
    model, meta = load(entry)
    row = {"kind": KIND_NAMES[model.config.kind], "latent": model.config.latent_dim}
    if not model.has_encoder:
        return row
    data = data_for(entry)
    if data is None:
        return row
    x = data.test_x[:n]
    z = codes(entry, len(x))
    s = latent_stats(model, x, z)
    row.update({"n": len(x), "mse": reconstruction_metrics(model, x)["mse"], "active": s["active_units"],
                "kl_agg": s["kl_aggregate"], "kl_post": s["kl_posterior"],
                "knn": knn_accuracy(z, data.test_y[:len(x)].numpy())})
    if model.config.kind == "vae":
        row["elbo"] = elbo(model, x)
    return row


if chosen:
    cols = {}
    for p in chosen:
        cols[by_path[p].name] = compare_column(measure(by_path[p], n), by_path[p].meta)
    names = list(cols)
    rows = [{"measure": k, **{m: cols[m][k] for m in names}} for k in next(iter(cols.values()))]
    st.dataframe(rows, hide_index=True, height=35 * (len(rows) + 1) + 3)
    st.caption(f"Reconstruction and latent rows: measured now on the first {n:,} test images "
               "(fewer if the test split is smaller). Likelihood (IWAE) and generation rows: "
               "measured by `python -m genlab eval` with GenLab's own classifier and stored in "
               "each model's file; '—' means not measured yet or not defined for that kind.")
    with st.expander("How to read this"):
        st.markdown(
            "- **MSE**: an AE usually reconstructs a little better — it is not asked to keep its "
            "codes near the prior.\n- **KL(codes ‖ N(0, I))**: near 0 means samples from the prior "
            "land where real codes are: the VAE's case. An AE's codes can be far away.\n"
            "- **Active units**: dimensions the model actually uses; a VAE switches unneeded ones "
            "off (posterior collapse per dimension).\n- **5-NN accuracy**: how well nearby codes "
            "share a class — structure learned without labels.\n- **Fréchet distance**: how far "
            "the samples' classifier features are from the test images' (0 = the same); "
            "**coverage**: how evenly the samples spread over the classes; **confidence**: how "
            "sure the classifier is that a sample is a digit at all.\n- **An AE's generation**: an AE "
            "has no prior, so its samples are scored twice: decoded from N(0, I), as a VAE is "
            "sampled, and from a Gaussian fitted to its training codes (their mean and covariance). "
            "The first shows why an AE cannot be sampled like a VAE; the second, how much a fitted "
            "code distribution recovers.")

    # Only your own models are measured (and written) here; shipped ones come measured.
    def unmeasured(meta: dict) -> bool:
        m = meta.get("metrics") or {}
        return not m or (m.get("kind") == "ae" and "samples_prior" not in m)  # measured before AE samples
    missing = [p for p in chosen if unmeasured(by_path[p].meta) and by_path[p].origin == "yours"]
    if missing and st.button(f"Measure generation quality of {len(missing)} model(s) now (slow)",
                             key="cmp_eval"):
        for p in missing:
            with st.spinner(f"Evaluating {by_path[p]['name']}..."):
                try:
                    st.text(format_report(evaluate_checkpoint(p, store=True)))
                except Exception as exc:  # report in words, keep the page alive
                    st.error(f"Could not evaluate {by_path[p]['name']}: {exc}")
        st.info("Stored in the models' files; the table shows them on the next refresh.")
