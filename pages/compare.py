"""Compare: the seed report's AE-vs-VAE table, with measured numbers instead of words."""
import streamlit as st
import torch

from genlab.images import make_grid, upscale
from genlab.metrics import evaluate_checkpoint, format_report, unmeasured
from genlab.metrics.codes import IN_USE_NATS
from genlab.metrics.format import compare_column
from genlab.metrics.samples import generate
from genlab.report import find_browser, measure_row, report_bytes
from pages._ui import BY_FILE, catalog, codes, data_for, frame, label, load
from pages._ui.alarms import alarm_text
from pages._ui.leaderboard import leaderboard

SAMPLES = 16  # per model, a 4 x 4 grid
frame("Compare")
st.title("Compare models")
st.markdown(
    "The lab report's table said *AE: reconstruction high, latent space unstructured, generation "
    "limited; VAE: moderate, structured, strong*. Here are the measured numbers for the models you "
    "pick, on the first test images of each model's data set.")

leaderboard(catalog())  # every family on one data set, the same numbers

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
# the slider goes as far as the smallest test split of the models chosen (MNIST's offline
# subset has 1,000 test images, not 10,000)
def _test_size(entry) -> int:
    stored = (entry.meta.get("dataset") or {}).get("test_size")
    data = None if stored else data_for(entry)
    return int(stored) if stored else len(data.test_x) if data is not None else 10000


sizes = [_test_size(by_path[p]) for p in chosen]
n_max = max(200, min(sizes, default=10000) // 100 * 100)
if st.session_state.get("cmp_n", 0) > n_max:
    st.session_state["cmp_n"] = n_max
n = int(st.slider("Test images", 100, n_max, min(2000, n_max), 100, key="cmp_n",
                  help=f"At most {n_max:,}: the smallest test split of the models chosen."))


@st.cache_data(show_spinner="Measuring...", max_entries=64, hash_funcs=BY_FILE)
def measure(entry, n: int) -> dict:
    model, _ = load(entry)
    data = data_for(entry) if model.has_encoder else None
    z = codes(entry, min(n, len(data.test_x))) if data is not None else None
    return measure_row(model, data, n, z)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=BY_FILE)
def _samples(entry, seed: int):
    model, _ = load(entry)
    with torch.inference_mode():
        return upscale(make_grid(generate(model, SAMPLES, seed), nrow=4), 240)


def samples_side_by_side(chosen_entries: list) -> None:
    """A grid of samples from N(0, I) per model, one column each, the same noise (seed) for
    all: an AE's decode to blur or noise, a VAE's and a GAN's to digits."""
    st.markdown(f"**{SAMPLES} samples from the prior N(0, I)** (the same noise, seed 0, for models "
                "of the same latent size): an AE was never trained to decode such codes.")
    for col, entry in zip(st.columns(max(len(chosen_entries), 3)), chosen_entries):
        col.image(_samples(entry, 0), caption=f"{entry.name} ({entry.kind.upper()})",
                  width="stretch", output_format="PNG")


@st.cache_data(show_spinner=False, max_entries=8)
def _report(paths: tuple[str, ...], mtimes: tuple[int, ...], fmt: str) -> bytes:
    return report_bytes(list(paths), fmt)


if chosen:
    cols = {}
    for p in chosen:
        cols[by_path[p].name] = compare_column(measure(by_path[p], n), by_path[p].meta)
    names = list(cols)
    rows = [{"measure": k, **{m: cols[m][k] for m in names}} for k in next(iter(cols.values()))]
    # each column as wide as its longest cell (an AE's generation cells hold both samplers):
    # a cell is never cut off; many models scroll sideways
    wide = {c: st.column_config.TextColumn(width=max(80, int(6.5 * max(len(str(r[c])) for r in rows + [{c: c}]) + 24)))
            for c in rows[0]}
    st.dataframe(rows, hide_index=True, height=35 * (len(rows) + 1) + 3, column_config=wide)
    st.caption(f"Reconstruction and latent rows: measured now on the first {n:,} test images "
               "(fewer if the test split is smaller). Likelihood (IWAE) and generation rows: "
               "measured by `python -m genlab eval` with GenLab's own classifier and stored in "
               "each model's file; '—' means not measured yet or not defined for that kind.")
    samples_side_by_side([by_path[p] for p in chosen])
    with st.expander("How to read this"):
        st.markdown(
            "- **MSE**: an AE usually reconstructs a little better — it is not asked to keep its "
            "codes near the prior.\n- **KL(codes ‖ N(0, I))**: near 0 means samples from the prior "
            "land where real codes are: the VAE's case. An AE's codes can be far away.\n"
            "- **Active units**: dimensions the model actually uses; a VAE switches unneeded ones "
            "off (posterior collapse per dimension).\n- **Units in use**: dimensions whose KL term is "
            f"above {IN_USE_NATS:g} nats, the ones that carry information; a larger β switches more of them off "
            "(the β-VAE lesson) even while their codes still move a little.\n- **5-NN accuracy**: how well nearby codes "
            "share a class — structure learned without labels.\n- **Fréchet distance**: how far "
            "the samples' classifier features are from the test images' (0 = the same); "
            "**coverage**: how evenly the samples spread over the classes; **confidence**: how "
            "sure the classifier is that a sample is a digit at all.\n- **An AE's generation**: an AE "
            "has no prior, so its samples are scored twice: decoded from N(0, I), as a VAE is "
            "sampled, and from a Gaussian fitted to its training codes (their mean and covariance). "
            "The first shows why an AE cannot be sampled like a VAE; the second, how much a fitted "
            "code distribution recovers.")

    st.subheader("Training-health alarms")
    st.caption("What GenLab's health checks said while each model trained (posterior collapse, "
               "discriminator wins, mode collapse, overfitting, divergence, nothing learned).")
    for p in chosen:
        fired = [a for a in by_path[p].meta.get("alarms") or [] if isinstance(a, dict)]
        with st.expander(f"{by_path[p].name}: " + (", ".join(a.get("name", "alarm") for a in fired)
                                                  if fired else "no alarm fired"),
                         expanded=bool(fired)):
            for a in fired:
                st.markdown(alarm_text(a))
            if not fired:
                st.markdown("No health alarm fired while it trained" + (
                    "." if "alarms" in by_path[p].meta else
                    " (trained before GenLab recorded alarms, so none are stored)."))

    st.subheader("Lab report")
    formats = {"html": "HTML (one file)", "md": "Markdown + figures (zip)"}
    files = {"html": ("html", "text/html"), "md": ("zip", "application/zip"), "pdf": ("pdf", "application/pdf")}
    if find_browser() is not None:
        formats["pdf"] = "PDF"
    r1, r2 = st.columns([1, 2])
    fmt = r1.radio("Format", list(formats), format_func=formats.get, key="cmp_report_fmt")
    r2.download_button(
        f"Download the lab report of these {len(chosen)} model(s)",
        data=lambda: _report(tuple(chosen), tuple(by_path[p].mtime_ns for p in chosen), fmt),
        file_name=f"genlab-report.{files[fmt][0]}", mime=files[fmt][1],
        key="cmp_report", on_click="ignore", icon=":material/download:",
        help="What was trained, training curves, reconstructions and samples, latent plots, "
             "metrics with their meaning, alarms and this table, with figures inline. Takes "
             "seconds per model to build.")

    # Only your own models are measured (and written) here; shipped ones come measured, and a
    # classmate's shared model is read only (its owner measures it).
    missing = [p for p in chosen if unmeasured(by_path[p].meta) and by_path[p].writable]
    theirs = [by_path[p].name for p in chosen if unmeasured(by_path[p].meta) and by_path[p].origin == "shared"]
    if theirs:
        st.caption(f"Not measured yet: {', '.join(theirs)}, shared by a classmate. A shared model is "
                   "read only here; its owner can measure it.")
    if missing and st.button(f"Measure generation quality of {len(missing)} model(s) now (slow)",
                             key="cmp_eval"):
        for p in missing:
            with st.spinner(f"Evaluating {by_path[p].name}..."):
                try:
                    st.text(format_report(evaluate_checkpoint(p, store=True)))
                except Exception as exc:  # report in words, keep the page alive
                    st.error(f"Could not evaluate {by_path[p].name}: {exc}")
        st.info("Stored in the models' files; the table shows them on the next refresh.")
