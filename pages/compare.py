"""Compare: the seed report's AE-vs-VAE table, with measured numbers instead of words."""
import streamlit as st

from genlab import latent
from genlab.train import evaluate
from pages._ui import KIND_NAMES, _load, _mtime, catalog, codes, data_for, frame, label, sample_metrics

frame("Compare")
st.title("Compare models")
st.markdown(
    "The lab report's table said *AE: reconstruction high, latent space unstructured, generation "
    "limited; VAE: moderate, structured, strong*. Here are the measured numbers for the models you "
    "pick, on the first test images of each model's data set.")

entries = [e for e in catalog() if e.get("meta") and e["meta"]["model"]["kind"] in ("ae", "vae")]
gans = [e for e in catalog() if e.get("meta") and e["meta"]["model"]["kind"] == "gan"]
if not entries:
    st.info("No AE or VAE model yet: train one on the **Train** page.")
    st.stop()
paths = [e["path"] for e in entries + gans]
by_path = {e["path"]: e for e in entries + gans}
default = ([e["path"] for e in entries + gans if e["name"] in ("mnist-ae", "mnist-vae", "mnist-gan")]
           or paths[:2])
chosen = st.multiselect("Models", paths, default=default, key="cmp_models",
                        format_func=lambda p: label(by_path[p]))
n = int(st.slider("Test images", 200, 10000, 2000, 200, key="cmp_n"))


@st.cache_data(show_spinner="Measuring...", max_entries=64)
def measure(path: str, mtime: int, n: int) -> dict:
    model, meta = _load(path, mtime)
    row = {"kind": KIND_NAMES[model.config.kind], "latent": model.config.latent_dim}
    if not model.has_encoder:
        return row
    data = data_for({"path": path, "name": meta.get("name", path)})
    if data is None:
        return row
    x = data.test_x[:n]
    z = codes({"path": path}, len(x))
    s = latent.latent_stats(model, x, z)
    row.update({"n": len(x), "mse": latent.recon_mse(model, x), "active": s["active_units"],
                "kl_agg": s["kl_aggregate"], "kl_post": s["kl_posterior"],
                "knn": latent.knn_accuracy(z, data.test_y[:len(x)].numpy())})
    if model.config.kind == "vae":
        row["elbo"] = evaluate(model, x)
    return row


if chosen:
    cols = {}
    for p in chosen:
        meta = by_path[p]["meta"]
        r = measure(p, _mtime(p), n)
        nm = lambda v, f="{:.4f}": "—" if v is None else f.format(v)  # noqa: E731
        elbo = r.get("elbo") or {}
        q = sample_metrics(meta)
        cols[by_path[p]["name"]] = {
            "Kind": f"{r['kind']} (latent {r['latent']})",
            "Reconstruction: MSE per pixel (lower is better)": nm(r.get("mse"), "{:.5f}"),
            "Reconstruction: −log p(x|z) nats (VAE)": nm(elbo.get("recon"), "{:.1f}"),
            "Latent: KL(codes ‖ N(0, I)), nats": nm(r.get("kl_agg"), "{:.1f}"),
            "Latent: mean posterior KL, nats (VAE)": nm(r.get("kl_post"), "{:.1f}"),
            "Latent: active units": "—" if "active" not in r else f"{r['active']} / {r['latent']}",
            "Latent: 5-NN class accuracy of codes": nm(r.get("knn"), "{:.1%}"),
            "Likelihood: −ELBO nats (VAE, lower is better)": nm(elbo.get("total"), "{:.1f}"),
            "Likelihood: IWAE −log p(x), k=500 (VAE)": nm(q.get("iwae_nll"), "{:.1f}"),
            "Generation: Fréchet distance of samples (lower is better)": nm(q.get("frechet"), "{:.1f}"),
            "Generation: class coverage of samples": nm(q.get("coverage"), "{:.1%}"),
            "Generation: classifier confidence on samples": nm(q.get("confidence"), "{:.1%}"),
        }
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
            "sure the classifier is that a sample is a digit at all.")

    # Only your own models are measured (and written) here; shipped ones come measured.
    missing = [p for p in chosen if not by_path[p]["meta"].get("metrics")
               and by_path[p]["origin"] == "yours"]
    if missing and st.button(f"Measure generation quality of {len(missing)} model(s) now (slow)",
                             key="cmp_eval"):
        try:
            from genlab.metrics import evaluate_checkpoint, format_report
        except ImportError as exc:
            st.error(f"The metrics module is not available in this installation ({exc}).")
        else:
            for p in missing:
                with st.spinner(f"Evaluating {by_path[p]['name']}..."):
                    try:
                        st.text(format_report(evaluate_checkpoint(p, store=True)))
                    except Exception as exc:  # report in words, keep the page alive
                        st.error(f"Could not evaluate {by_path[p]['name']}: {exc}")
            st.info("Stored in the models' files; the table shows them on the next refresh.")
