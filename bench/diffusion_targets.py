"""The flow / DDPM targets of issue 22, measured on the shipped files and written to
bench/QUALITY.md (with --write) and assets/diffusion-quality-vs-steps.png:

- each shipped flow / DDPM model's Fréchet distance and class agreement as `genlab eval` stored
  them (the verdicts against the targets: agreement >= 0.97, Fréchet <= 3x the floor);
- quality against the number of steps (genlab.metrics.steps, the Sampling studio's numbers) for
  each sampler of each shipped model;
- a conditional flow at guidance 0 / 1 / 1.5 / 2 / 3 / 7 (20 Euler steps): agreement, coverage, Fréchet,
  and the share of pixels overshooting [0, 1] (the "saturated samples" alarm's number);
- the time to sample 64 images with guidance at 20 steps (genlab.metrics.leaderboard) at the
  lesson width 16 and the default width 32, with the machine's load.

    python bench/diffusion_targets.py --write [--n 300]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("GENLAB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from genlab.jobs.threads import quiet_openmp  # noqa: E402

quiet_openmp()

import torch  # noqa: E402

from genlab.data import load_dataset  # noqa: E402
from genlab.metrics.classifier import metric_classifier  # noqa: E402
from genlab.metrics.leaderboard import SAMPLE_N, sample_seconds  # noqa: E402
from genlab.metrics.steps import STEPS, quality_vs_steps  # noqa: E402
from genlab.models import ModelConfig, build_model  # noqa: E402
from genlab.store.checkpoint import load_checkpoint, read_meta  # noqa: E402
from genlab.train.denoise_health import OVERSHOOT  # noqa: E402

WEIGHTS = ROOT / "weights"
SHIPPED = ("mnist-cflow", "fashion-mnist-cflow", "mnist-ddpm")
GUIDANCE = (0.0, 1.0, 1.5, 2.0, 3.0, 7.0)  # the lesson's 0 / 1 / 3 / 7, and the defaults
PNG = ROOT / "assets" / "diffusion-quality-vs-steps.png"


def stored_rows() -> list[str]:
    out = ["| model | Fréchet (floor, ×) | coverage | class agreement | verdict |",
           "| --- | --- | ---: | ---: | --- |"]
    for name in SHIPPED:
        p = WEIGHTS / f"{name}.safetensors"
        if not p.exists():
            out.append(f"| {name} | not built | | | |")
            continue
        m = read_meta(p).get("metrics") or {}
        s, a = m.get("samples") or {}, (m.get("class_agreement") or {}).get("agreement")
        ratio = s["frechet"] / s["frechet_floor"]
        verdict = []
        if a is not None:
            verdict.append(f"agreement {'meets' if a >= 0.97 else 'misses'} ≥ 0.97")
        verdict.append(f"Fréchet {'meets' if ratio <= 3 else 'misses'} ≤ 3× floor")
        out.append(f"| {name} | {s['frechet']:.2f} ({s['frechet_floor']:.2f}, {ratio:.1f}×) | "
                   f"{s['coverage']:.3f} | {'—' if a is None else f'{a:.3f}'} | {'; '.join(verdict)} "
                   f"(n = {s['n']:,}) |")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300, help="samples per quality measurement")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    load0 = os.getloadavg()[0]
    lines = ["### Flow matching and DDPM (issue 22)", "",
             f"`python bench/diffusion_targets.py --n {args.n} --write`, {time.strftime('%Y-%m-%d %H:%M')}, "
             f"{os.cpu_count()} CPU cores, {torch.get_num_threads()} torch threads, load average "
             "LOAD (a machine shared with other work: the times are under that load).", "",
             "Shipped models, as `python -m genlab eval` stored them:", "", *stored_rows(), ""]
    curves, own = {}, {}  # own: each conditional model's guidance, as its file says
    datasets = {}
    for name in SHIPPED:
        p = WEIGHTS / f"{name}.safetensors"
        if not p.exists():
            continue
        model, meta = load_checkpoint(p, device="cpu")
        dname = meta["dataset"]["name"]
        data = datasets.setdefault(dname, load_dataset(dname, allow_download=False))
        clf = metric_classifier(data, "cpu")
        if model.config.conditional:
            own[name] = model.guidance
        for sampler in model.samplers:
            rows = quality_vs_steps(model, data, clf, sampler, STEPS, n=args.n)
            curves[(name, sampler)] = rows
            print(name, sampler, [(r["steps"], round(r["frechet"], 2), r.get("agreement")) for r in rows],
                  flush=True)
        if model.config.conditional and name == "mnist-cflow":
            lines += [f"Guidance on {name} (20 Euler steps, {args.n} samples, classes 0-9 in turn):", "",
                      "| guidance w | class agreement | coverage | Fréchet (floor) | pixels overshooting [0, 1] by > "
                      f"{OVERSHOOT:g} |", "| ---: | ---: | ---: | ---: | ---: |"]
            from genlab.models import noise
            from genlab.models.labels import default_labels
            z, y = noise(args.n, model.config.latent_dim, 0), default_labels(args.n, 10)
            for w in GUIDANCE:
                r = quality_vs_steps(model, data, clf, "euler", (20,), n=args.n, guidance=w)[0]
                with torch.no_grad():
                    raw = model.decode(z, y, guidance=w, clamp=False)
                over = float(((raw < -OVERSHOOT) | (raw > 1 + OVERSHOOT)).float().mean())
                lines.append(f"| {w:g} | {r['agreement']:.3f} | {r['coverage']:.3f} | "
                             f"{r['frechet']:.2f} ({r['frechet_floor']:.2f}) | {over:.3f} |")
                print("guidance", w, r, over, flush=True)
            lines.append("")
    if curves:
        lines += [f"Quality against steps ({args.n} samples per point; Fréchet on the metric classifier's "
                  "features; the floor is as many real training images; agreement for conditional models, "
                  "sampled at the guidance their files name: " + ", ".join(f"{k} w = {w:g}" for k, w in own.items())
                  + "):", "",
                  "| model | sampler | " + " | ".join(f"{s} steps" for s in STEPS) + " |",
                  "| --- | --- | " + " | ".join("---:" for _ in STEPS) + " |"]
        for (name, sampler), rows in curves.items():
            cells = [f"{r['frechet']:.1f}" + (f" / {r['agreement']:.2f}" if "agreement" in r else "")
                     for r in rows]
            lines.append(f"| {name} | {sampler} | " + " | ".join(cells) + " |")
        lines += ["", "Cells: Fréchet distance (/ class agreement). Floor: " + ", ".join(
            f"{name} {rows[0]['frechet_floor']:.2f}" for (name, s), rows in curves.items()
            if s == next(iter(k[1] for k in curves if k[0] == name))) + ".",
            f"![quality against steps](../assets/{PNG.name})", ""]
        chart(curves)
    lines += [f"Time to sample {SAMPLE_N} images, 20 Euler steps, guidance 2 (two network calls per "
              "step), conditional flow, untrained weights (the time does not depend on them), "
              "`genlab.metrics.leaderboard.sample_seconds`, median of 3:", "",
              "| U-Net width | weights | seconds |", "| ---: | ---: | ---: |"]
    for width in (16, 32):
        m = build_model(ModelConfig("flow", "conv", hidden=(width,), num_classes=10).validate(), seed=0)
        secs = sorted(sample_seconds(m) for _ in range(3))[1]
        lines.append(f"| {width} | {sum(p.numel() for p in m.parameters()):,} | {secs:.2f} |")
        print("sample seconds", width, secs, flush=True)
    lines.append("")
    text = "\n".join(lines).replace("LOAD", f"{load0:.1f} at the start and {os.getloadavg()[0]:.1f} at the end")
    print(text)
    if args.write:
        q = ROOT / "bench" / "QUALITY.md"
        body = q.read_text()
        block = f"<!-- quality:diffusion-measured -->\n{text}<!-- /quality:diffusion-measured -->"
        if "<!-- quality:diffusion-measured -->" in body:
            body = re.sub(r"<!-- quality:diffusion-measured -->.*<!-- /quality:diffusion-measured -->", lambda _: block,
                          body, flags=re.S)
        else:
            body = body.rstrip() + "\n\n" + block + "\n"
        q.write_text(body)
    return 0


def chart(curves: dict) -> None:
    from matplotlib.figure import Figure
    fig = Figure(figsize=(9, 3.6), dpi=100)
    ax1, ax2 = fig.subplots(1, 2)
    for (name, sampler), rows in curves.items():
        x = [r["steps"] for r in rows]
        ax1.plot(x, [r["frechet"] for r in rows], marker="o", label=f"{name} {sampler}")
        if "agreement" in rows[0]:
            ax2.plot(x, [r["agreement"] for r in rows], marker="o", label=f"{name} {sampler}")
    for ax, title in ((ax1, "Fréchet distance (lower is better)"), (ax2, "class agreement")):
        ax.set_xscale("log")
        ax.set_xticks(list(STEPS), [str(s) for s in STEPS])
        ax.minorticks_off()
        ax.set_xlabel("sampler steps")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    ax1.set_yscale("log")
    ax1.minorticks_off()
    ax1.set_yticks([10, 20, 50, 100, 200, 400], ["10", "20", "50", "100", "200", "400"])
    ax1.legend(fontsize=7)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    PNG.parent.mkdir(exist_ok=True)
    fig.savefig(PNG)


if __name__ == "__main__":
    raise SystemExit(main())
