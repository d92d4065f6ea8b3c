"""The report's words: what was trained (from a checkpoint's meta), the first lab report's
sentence with this model's numbers, and each metric with its meaning. Every number goes through
``genlab.metrics.format`` so it reads exactly as in the app and ``python -m genlab eval``."""
from __future__ import annotations

from genlab.metrics.format import LABELS, MISSING, num, summarize

# what each headline metric (a label of ``summarize``) means, in a line
MEANINGS = {
    LABELS["mse"]: "Mean squared error per pixel between the test images and their reconstructions "
                   "(pixels in [0, 1]); lower is better.",
    LABELS["pca_ratio"]: "The AE's MSE divided by that of a PCA with as many components as latent "
                         "units: below 1 means the network beats the linear baseline.",
    LABELS["elbo"]: "Negative evidence lower bound per test image: reconstruction −log p(x|z) plus "
                    "KL(q(z|x) ‖ N(0, I)), in nats; lower is better.",
    "IWAE": "Importance-weighted bound with k samples per image: a tighter upper bound on the "
            "model's negative log-likelihood −log p(x), in nats; lower is better.",
    LABELS["active"]: "Latent dimensions whose code varies across test images (variance > 0.01); "
                      "the others carry no information (collapsed to the prior).",
    LABELS["frechet"]: "Fréchet distance between the classifier features of samples and of test "
                       "images (0 = the same distribution); in brackets the floor, the same "
                       "distance for real training images; lower is better.",
    LABELS["coverage"]: "How evenly the samples spread over the classes according to GenLab's "
                        "classifier (1 = every class equally often).",
    LABELS["confidence"]: "How sure the classifier is, on average, that a sample belongs to one "
                          "class; real test images set the level to compare with.",
}
GAN_NOTE = ("The discriminator's output is the probability it gives an image of being real: "
            "D(x) on real images, D(G(z)) on generated ones.")


def meaning(label: str) -> str:
    for key in sorted(MEANINGS, key=len, reverse=True):
        if label.startswith(key):
            return MEANINGS[key]
    return ""


def metric_rows(meta: dict) -> list[tuple[str, str, str]]:
    """(metric, value, meaning) for every headline number ``genlab eval`` stored."""
    m = meta.get("metrics") or {}
    return [(label, value, meaning(label)) for label, value in summarize(m).items()]


def epochs_text(meta: dict) -> str:
    e = meta.get("epochs")
    if not isinstance(e, (int, float)):
        return MISSING
    return f"{int(e)}" if float(e).is_integer() else f"{e:.2f}"


def _last(rows: list[dict], key: str):
    for r in reversed(rows or []):
        if isinstance(r.get(key), (int, float)):
            return r[key]
    return None


def blanks_paragraph(meta: dict) -> tuple[str, str]:
    """The first lab report's sentence with this model's numbers filled in, and a line that
    says where the numbers come from."""
    kind = (meta.get("model") or {}).get("kind")
    n = epochs_text(meta)
    m = meta.get("metrics") or {}
    n_test = m.get("n_test") or (meta.get("dataset") or {}).get("test_size")
    where = (f"Per image, on the {n_test:,} test images, as measured by `python -m genlab eval` "
             "and stored in the model's file" if m and isinstance(n_test, int) else
             "Per image on the test split at the end of training (not measured by `python -m "
             "genlab eval` yet)")
    if kind == "vae":
        e = m.get("elbo") or meta.get("test") or {}
        text = (f"After training the model for {n} epochs, we manage to obtain a reconstruction "
                f"error of {num(e.get('recon'), 'nats')} nats and the value for the Kullback–Leibler "
                f"(KL) divergence is {num(e.get('kl'), 'nats')} nats. The following graphic shows "
                f"its evolution during the {n} training epochs.")
        return text, f"{where}; the reconstruction error is −log p(x|z) under the Bernoulli decoder."
    if kind == "ae":
        mse = (m.get("recon") or {}).get("mse", (meta.get("test") or {}).get("mse"))
        text = (f"After training the model for {n} epochs, we manage to obtain a reconstruction "
                f"error of {num(mse, 'mse')} (MSE per pixel). The following graphic shows its "
                f"evolution during the {n} training epochs.")
        return text, f"{where}. An autoencoder has no KL term."
    hist = meta.get("history") or []
    text = (f"After training the model for {n} epochs, the discriminator's loss is "
            f"{num(_last(hist, 'd_loss'), 'ratio')} and the generator's loss is "
            f"{num(_last(hist, 'g_loss'), 'ratio')}, with D(x) = {num(_last(hist, 'd_x'), 'share')} "
            f"and D(G(z)) = {num(_last(hist, 'd_g_z'), 'share')}. The following graphic shows their "
            f"evolution during the {n} training epochs.")
    return text, f"Averaged over the last logged training batches. {GAN_NOTE}"


def _hidden(cfg: dict) -> str:
    h = ", ".join(str(x) for x in cfg.get("hidden") or [])
    return f"hidden layers {h}" if cfg.get("arch") == "mlp" else f"first conv layer width {h}"


def _value(v) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(_value(x) for x in v)
    if isinstance(v, float):
        return f"{v:g}"
    return MISSING if v is None else str(v)


def trained_facts(meta: dict, n_params: int | None = None) -> list[tuple[str, str]]:
    """What was trained, from the checkpoint's meta: data set and provenance, model, every
    training setting, seed, device, time and library versions."""
    cfg, ds, tr = meta.get("model") or {}, meta.get("dataset") or {}, meta.get("train") or {}
    shape = f"{cfg.get('channels')}×{cfg.get('image_size')}×{cfg.get('image_size')}"
    rows = [("Data set", str(ds.get("name", MISSING))), ("Provenance", str(ds.get("source", MISSING)))]
    if isinstance(ds.get("train_size"), int):
        rows.append(("Split", f"{ds['train_size']:,} training / {ds.get('test_size', 0):,} test images"))
    if ds.get("classes"):
        rows.append(("Classes", f"{len(ds['classes'])}: {', '.join(map(str, ds['classes'][:20]))}"))
    model = (f"{str(cfg.get('kind', '?')).upper()}, {cfg.get('arch')}, latent size {cfg.get('latent_dim')}, "
             f"{_hidden(cfg)}, images {shape}")
    if cfg.get("kind") == "vae":
        model += f", β = {_value(cfg.get('beta'))}"
    rows.append(("Model", model))
    if n_params:
        rows.append(("Parameters", f"{n_params:,}"))
    if meta.get("lesson"):
        rows.append(("Lesson", str(meta["lesson"])))
    rows.append(("Seed", _value(tr.get("seed"))))
    settings = ", ".join(f"{k} {_value(v)}" for k, v in tr.items() if k not in ("seed",))
    rows.append(("Training settings", settings or MISSING))
    rows.append(("Epochs trained", epochs_text(meta)))
    rows.append(("Status", _value(meta.get("status")) + (f" ({meta['message']})" if meta.get("message") else "")))
    rows.append(("Device", _value(meta.get("device"))))
    if isinstance(meta.get("seconds"), (int, float)):
        speed = meta.get("images_per_s")
        rows.append(("Training time", f"{meta['seconds']:.1f} s" + (
            f" ({speed:,.0f} images/s)" if isinstance(speed, (int, float)) else "")))
    rows.append(("Saved", _value(meta.get("created"))))
    versions = meta.get("versions") or {}
    rows.append(("Library versions", ", ".join(f"{k} {v}" for k, v in versions.items()) or MISSING))
    return rows


def alarm_lines(meta: dict) -> list[str]:
    """The health alarms that fired during training (meta ``alarms``, see ``genlab.train.health``):
    name, step, diagnosis, evidence and what to try, one line each; [] when none."""
    out = []
    for a in meta.get("alarms") or []:
        if isinstance(a, dict):
            step = f" (step {a['step']:,})" if isinstance(a.get("step"), int) else ""
            extra = "".join(f" {pre}{a[k]}" for k, pre in (("evidence", ""), ("advice", "Try: "))
                            if isinstance(a.get(k), str) and a[k])
            out.append(f"{a.get('name', 'alarm')}{step}: {a.get('message', '')}{extra}".strip())
    return out
