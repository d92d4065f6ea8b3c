"""How metrics read, in one place: the headline labels and the number format of each quantity,
for the terminal (``genlab eval``), the app's pages and the model cards of weights/.

Every function takes the records ``genlab.metrics`` writes (``evaluate_checkpoint``'s result,
stored under ``meta["metrics"]``; the trainer's ``meta["test"]``) and never fails on a partial
or older record: a missing number reads as ``—``.
"""
from __future__ import annotations

import math

MISSING = "—"
# one number format per quantity
FORMATS = {"mse": ".5f", "nats": ".1f", "frechet": ".2f", "ratio": ".2f", "share": ".3f",
           "pca_ratio": ".3f", "percent": ".1%", "accuracy": ".2%"}
# headline labels (summaries, the Home page, the Compare page)
LABELS = {
    "mse": "recon MSE/pixel", "pca_ratio": "AE / PCA MSE", "elbo": "test −ELBO",
    "iwae": "IWAE −log p(x)", "active": "active units", "frechet": "Fréchet (floor)",
    "coverage": "class coverage", "confidence": "confidence", "agreement": "class agreement",
}
# AE generation: samples decoded from two code distributions, stored as metrics["samples_NAME"]
# (see genlab.metrics.samples): name -> (what it is, short name for a table cell)
AE_SAMPLERS = {"prior": ("N(0, I)", "N(0, I)"),
               "fitted": ("a Gaussian fitted to the training codes", "fitted Gaussian")}


def num(v, kind: str) -> str:
    """``v`` in the format of ``kind`` (a key of FORMATS); ``—`` when it is not a number."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return MISSING
    return format(v, FORMATS[kind])


def _get(m: dict, *keys):
    for k in keys:
        m = m.get(k) if isinstance(m, dict) else None
    return m


def _samples(s: dict) -> str:
    return f"{num(s.get('frechet'), 'frechet')} ({num(s.get('frechet_floor'), 'frechet')})"


def summarize(m: dict) -> dict[str, str]:
    """The headline numbers of ``evaluate_checkpoint``'s result as label -> text, for a table
    cell or a tooltip (the full record stays in the checkpoint's JSON)."""
    out: dict[str, str] = {}
    if "recon" in m:
        out[LABELS["mse"]] = num(_get(m, "recon", "mse"), "mse")
    if "pca" in m:
        out[LABELS["pca_ratio"]] = num(_get(m, "pca", "ratio"), "pca_ratio")
    if "elbo" in m:
        out[LABELS["elbo"]] = elbo_text(m["elbo"])
    if "iwae" in m:
        out[f"IWAE-{_get(m, 'iwae', 'k')} −log p(x)"] = f"≤ {num(_get(m, 'iwae', 'nll'), 'nats')} nats"
    if "active_units" in m:
        out[LABELS["active"]] = f"{_get(m, 'active_units', 'active')}/{_get(m, 'active_units', 'of')}"
    s = m.get("samples") or {}
    if "frechet" in s:
        out[LABELS["frechet"]] = _samples(s)
        out[LABELS["coverage"]] = num(s.get("coverage"), "share")
        out[LABELS["confidence"]] = num(s.get("confidence"), "share")
    for name, (_, short) in AE_SAMPLERS.items():
        s = m.get(f"samples_{name}") or {}
        if "frechet" in s:
            out[f"{LABELS['frechet']} from {short}"] = _samples(s)
            out[f"{LABELS['coverage']} from {short}"] = num(s.get("coverage"), "share")
    if "class_agreement" in m:
        out[LABELS["agreement"]] = num(_get(m, "class_agreement", "agreement"), "share")
    return out


def elbo_text(e: dict) -> str:
    return (f"{num(e.get('total'), 'nats')} (recon {num(e.get('recon'), 'nats')} + KL "
            f"{num(e.get('kl'), 'nats')}) nats")


def _bold(text: str) -> str:
    return f"**{text}**"


def _sample_line(s: dict, title: str, md: bool, target: str = "") -> str:
    if "skipped" in s:
        return f"{title}: not measured ({s['skipped']})"
    b = _bold if md else str
    return (f"{title} (n={s.get('n', 0):,}, seed {s.get('seed')}): Fréchet {num(s.get('frechet'), 'frechet')} "
            f"vs floor {num(s.get('frechet_floor'), 'frechet')} "
            f"({b(num(s.get('frechet_ratio'), 'ratio') + '×')}), coverage {b(num(s.get('coverage'), 'share'))}, "
            f"confidence {num(s.get('confidence'), 'share')} (real: {num(s.get('test_confidence'), 'share')})"
            + target)


def lines(m: dict, md: bool = False) -> list[str]:
    """One phrase per measured block of ``evaluate_checkpoint``'s result (``md``: Markdown,
    key numbers in bold), shared by the terminal report and the model cards."""
    b = _bold if md else str
    out = []
    if "recon" in m:
        out.append(f"recon MSE/pixel {num(_get(m, 'recon', 'mse'), 'mse')}, BCE "
                   f"{num(_get(m, 'recon', 'bce'), 'nats')} nats")
    if "pca" in m:
        p = m["pca"]
        out.append(f"PCA-{p.get('components')} MSE/pixel {num(p.get('mse'), 'mse')}, "
                   f"{b('AE/PCA ' + num(p.get('ratio'), 'pca_ratio'))} (≤ 0.25)")
    if "elbo" in m:
        out.append(f"−ELBO {elbo_text(m['elbo'])}")
    if "iwae" in m:
        w = m["iwae"]
        out.append(f"IWAE-{w.get('k')} −log p(x) ≤ {num(w.get('nll'), 'nats')} (first {w.get('n', 0):,} test "
                   f"images; −ELBO there {num(w.get('elbo_same_images'), 'nats')})")
    if "active_units" in m:
        a = m["active_units"]
        collapse = isinstance(a.get("active"), int) and a["active"] < max(1, a.get("of", 0) // 4)
        out.append(f"active units {a.get('active')}/{a.get('of')}" + (" (posterior collapse)" if collapse else ""))
    if m.get("samples"):
        out.append(_sample_line(m["samples"], "samples", md,
                                " (≥ 0.95; ≤ 3× floor)" if m.get("kind") == "gan" else ""))
    for name, (what, _) in AE_SAMPLERS.items():
        if m.get(f"samples_{name}"):
            out.append(_sample_line(m[f"samples_{name}"], f"samples from {what}", md))
    if "class_agreement" in m:
        a = m["class_agreement"]
        out.append(f"class agreement {b(num(a.get('agreement'), 'share'))} (the metric classifier "
                   f"names the requested class; n={a.get('n', 0):,}, seed {a.get('seed')}"
                   + ("; ≥ 0.90)" if m.get("kind") == "gan" else ")"))
    return out


def format_report(m: dict) -> str:
    """Plain-text report of ``evaluate_checkpoint``'s result, for the terminal."""
    out = [f"{str(m.get('kind', '?')).upper()} on {m.get('dataset')} ({m.get('n_test')} test images; "
           f"{m.get('data_source')}); per image, on the test split:"]
    out += [f"  {line}" for line in lines(m)]
    if "classifier" in m:
        c = m["classifier"]
        out.append(f"  metric classifier {c.get('file')}: test accuracy {num(c.get('test_accuracy'), 'accuracy')}")
    if m.get("note"):
        out.append(f"  note: {m['note']}")
    out.append(f"  measured in {m.get('seconds')} s on {m.get('device')}")
    return "\n".join(out)


def stored_samples(meta: dict) -> dict:
    """The stored sample-quality numbers of a checkpoint, flattened: ``frechet``,
    ``frechet_floor``, ``coverage``, ``confidence`` (VAE, GAN: samples from the prior), the
    same with ``prior_`` and ``fitted_`` in front (AE: N(0, I) and the fitted Gaussian), and
    ``iwae_nll``; only the numbers that are there."""
    m = meta.get("metrics") or {}
    out = {"iwae_nll": _get(m, "iwae", "nll")}
    for prefix, key in [("", "samples")] + [(f"{n}_", f"samples_{n}") for n in AE_SAMPLERS]:
        s = m.get(key) or {}
        for k in ("frechet", "frechet_floor", "coverage", "confidence"):
            out[prefix + k] = s.get(k)
    return {k: v for k, v in out.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def metrics_text(meta: dict) -> str:
    """The stored quality metrics in a line, or 'not measured yet'."""
    if not meta.get("metrics"):
        return "not measured yet"
    heads = summarize(meta["metrics"])
    keep = [k for k in heads if k.startswith((LABELS["frechet"], LABELS["coverage"], "IWAE",
                                              LABELS["pca_ratio"]))]
    return ", ".join(f"{k} {heads[k]}" for k in keep) or "measured (see the model's JSON file)"


def test_text(meta: dict) -> str:
    """The test-split numbers saved at the end of training (``test_metrics``), short."""
    t = meta.get("test") or {}
    if {"total", "recon", "kl"} <= set(t):
        return f"−ELBO {num(t['total'], 'nats')} = recon {num(t['recon'], 'nats')} + KL {num(t['kl'], 'nats')} nats"
    if "mse" in t:
        return f"MSE/pixel {num(t['mse'], 'mse')}"
    return MISSING


def card_text(m: dict) -> str:
    """The metrics cell of a model card row in weights/README.md (targets in brackets)."""
    return "; ".join(lines(m, md=True))


def _generation(q: dict, key: str, kind: str) -> str:
    """A generation cell: VAE/GAN samples from the prior; AE both of its samplers."""
    if key in q:
        return num(q[key], kind)
    both = [f"{short}: {num(q[f'{n}_{key}'], kind)}" for n, (_, short) in AE_SAMPLERS.items()
            if f"{n}_{key}" in q]
    return " · ".join(both) or MISSING


def compare_column(row: dict, meta: dict) -> dict[str, str]:
    """One model's column of the Compare page: ``row`` holds what the page measured now
    (``kind``, ``latent``, ``mse``, ``kl_agg``, ``kl_post``, ``active``, ``knn``, ``elbo``), the
    rest comes from the metrics stored in ``meta``."""
    from genlab.metrics.codes import IN_USE_NATS  # (torch: imported by the callers anyway)
    e, q = row.get("elbo") or {}, stored_samples(meta)
    return {
        "Kind": f"{row.get('kind')} (latent {row.get('latent')})",
        "Reconstruction: MSE per pixel (lower is better)": num(row.get("mse"), "mse"),
        "Reconstruction: −log p(x|z) nats (VAE)": num(e.get("recon"), "nats"),
        "Latent: KL(codes ‖ N(0, I)), nats": num(row.get("kl_agg"), "nats"),
        "Latent: mean posterior KL, nats (VAE)": num(row.get("kl_post"), "nats"),
        "Latent: active units": MISSING if "active" not in row else f"{row['active']} / {row['latent']}",
        f"Latent: units in use, KL > {IN_USE_NATS:g} nats (VAE)": MISSING if row.get("in_use") is None
        else f"{row['in_use']} / {row['latent']}",
        "Latent: 5-NN class accuracy of codes": num(row.get("knn"), "percent"),
        "Likelihood: −ELBO nats (VAE, lower is better)": num(e.get("total"), "nats"),
        "Likelihood: IWAE −log p(x), k=500 (VAE)": num(q.get("iwae_nll"), "nats"),
        "Generation: Fréchet distance of samples (lower is better)": _generation(q, "frechet", "frechet"),
        "Generation: class coverage of samples": _generation(q, "coverage", "share"),
        "Generation: classifier confidence on samples": _generation(q, "confidence", "share"),
    }
