"""Train, save and evaluate every model shipped in weights/ — the one reproducible command.

    python weights/build.py                      # everything: mnist, then fashion-mnist
    python weights/build.py --only mnist         # one data set
    python weights/build.py --models vae,gan     # some models (classifier, ae, vae, vae2d, gan,
                                                 # cvae, cgan: the conditional VAE and GAN;
                                                 # cflow: conditional flow matching; ddpm)
    python weights/build.py --eval-only          # re-measure the shipped files
    python weights/build.py --force              # retrain files that already exist

Files that exist are kept unless --force (so an interrupted build resumes). Every model is
trained by genlab's own trainer (genlab.train.fit), saved with genlab.store.checkpoint at half
precision, and measured by genlab.metrics.evaluate_checkpoint, which stores its numbers in the
checkpoint's JSON. MNIST is the offline 5,000-digit subset (GENLAB_OFFLINE=1).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("GENLAB_OFFLINE", "1")  # mnist = the offline 5k subset, no download
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from genlab.jobs.threads import quiet_openmp  # noqa: E402

quiet_openmp()  # before torch

import torch  # noqa: E402

from genlab.data import dataset_meta, load_dataset  # noqa: E402
from genlab.latent.denoise import StripRecorder, save_strip_of  # noqa: E402
from genlab.latent.movie import MovieRecorder, save_movie  # noqa: E402
from genlab.metrics import class_agreement, evaluate_checkpoint, format_report  # noqa: E402
from genlab.metrics.classifier import (  # noqa: E402
    accuracy,
    load_classifier,
    metric_classifier,
    save_classifier,
    train_classifier,
)
from genlab.metrics.format import card_text, num  # noqa: E402
from genlab.models import ModelConfig, build_model  # noqa: E402
from genlab.store.checkpoint import checkpoint_path  # noqa: E402
from genlab.train import TrainConfig, fit, save_trained  # noqa: E402

WEIGHTS = ROOT / "weights"
SEED = 1
DATASETS = ("mnist", "fashion-mnist")
MODELS = ("classifier", "vae", "ae", "vae2d", "gan", "cvae", "cgan", "cflow", "ddpm")

# What is shipped: architecture and training settings per data set. AE/VAE: the seed report's
# Adam 1e-3, batch 128; GAN: Adam 2e-4, β1 0.5, batch 64. Epochs are the seed's 20 where the
# 2-core CPU build allowed it; README.md says where they are fewer and why.
ARCH = {
    "ae": ModelConfig(kind="ae", arch="conv", latent_dim=32, hidden=(32,)),
    "vae": ModelConfig(kind="vae", arch="conv", latent_dim=32, hidden=(32,)),  # genlab's default
    "vae2d": ModelConfig(kind="vae", arch="mlp", latent_dim=2, hidden=(512, 256)),
    "gan": ModelConfig(kind="gan", arch="conv", latent_dim=100, hidden=(32,)),
    # conditional (the data set's 10 classes): the same networks told the class of each image
    "cvae": ModelConfig(kind="vae", arch="mlp", latent_dim=4, hidden=(512, 256), num_classes=10),
    "cgan": ModelConfig(kind="gan", arch="conv", latent_dim=100, hidden=(32,), num_classes=10),
    # the U-Net at the lesson width 16 (97 k weights), not the default 32 (0.94 M): on the shared
    # 2-core CPU a width-32 epoch of 4,000 digits took ~4 min, width 16 about 4x less (README.md);
    # sampled as the app does (flow: 20 Euler steps at the guidance in GUIDANCE, else 2; DDPM: 50
    # ancestral steps)
    "cflow": ModelConfig(kind="flow", arch="conv", hidden=(16,), num_classes=10),
    "ddpm": ModelConfig(kind="ddpm", arch="conv", hidden=(16,)),
}
# training settings that differ from genlab.settings' (Adam 1e-3, batch 128): batch 32 gives
# 4x the steps for the same CPU time, which is what a short CPU budget needs
TRAIN = {"cflow": {"batch_size": 32}, "ddpm": {"batch_size": 32}}
# samples measured (default: as many as test images); Fashion-MNIST's 10,000 test images would
# make 20,000 sampler runs of 20 steps; 2,000 are compared with a floor of the same size
EVAL_N = {("fashion-mnist", "cflow"): 2000}
# the guidance weight a shipped conditional model samples with by default (kept in its file):
# the MNIST flow at 72 epochs, 20 Euler steps, 1,000 samples: Fréchet 2.52x the floor and class
# agreement 0.988 at w = 1.5, 3.35x and 0.992 at 1.75, 4.30x and 0.997 at 2 (genlab's default);
# the longer it trains, the lower the weight where it samples best (36 epochs: 3.65x at 2)
GUIDANCE = {("mnist", "cflow"): 1.5}
EPOCHS = {
    "mnist": {"classifier": 15, "ae": 100, "vae": 60, "vae2d": 100, "gan": 120, "cvae": 30, "cgan": 60,
              "cflow": 72, "ddpm": 6},
    # Fashion-MNIST has 15x MNIST's 4,000 training images: 1 epoch is as many steps as 15 of MNIST
    "fashion-mnist": {"classifier": 6, "ae": 20, "vae": 20, "vae2d": 20, "gan": 15, "cvae": 10, "cgan": 30,
                      "cflow": 1},  # no Fashion-MNIST DDPM is shipped
}


def file_for(data: str, model: str) -> Path:
    return WEIGHTS / (f"classifier-{data}.safetensors" if model == "classifier"
                      else f"{data}-{model}.safetensors")


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def build_classifier(ds, epochs: int, device: str) -> None:
    clf, info = train_classifier(ds, epochs=epochs, seed=SEED, device=device, log=log)
    save_classifier(file_for(ds.name, "classifier"), clf, dtype=torch.float16, **info)
    log(f"classifier-{ds.name}: test accuracy {info['test_accuracy']:.4f}")


def measure_classifier(ds) -> None:
    """Re-measure the shipped (half-precision) classifier file and record that accuracy."""
    path = file_for(ds.name, "classifier")
    clf, meta = load_classifier(path)
    acc = accuracy(clf, ds.test_x, ds.test_y)
    if acc != meta["test_accuracy"]:
        meta.setdefault("test_accuracy_fp32", meta["test_accuracy"])
        meta["test_accuracy"] = acc
        keep = {k: v for k, v in meta.items() if k not in ("format", "name", "config", "created", "versions")}
        save_classifier(path, clf, dtype=torch.float16, **keep)
    log(f"{path.name}: test accuracy of the shipped file {acc:.4f} on {len(ds.test_x):,} test images")


def build_model_file(ds, name: str, epochs: int, device: str) -> None:
    cfg = ModelConfig.from_dict({**ARCH[name].to_dict(), "channels": ds.shape[0],
                                 "image_size": ds.shape[1],
                                 "num_classes": len(ds.classes) if ARCH[name].conditional else 0})
    model = build_model(cfg, seed=SEED)
    tc = TrainConfig(epochs=epochs, seed=SEED, device=device, **TRAIN.get(name, {}))  # the rest:
    # genlab.settings
    load0 = os.getloadavg()[0]
    last = [0.0]
    movie = (MovieRecorder(model, ds.test_x, ds.test_y)
             if MovieRecorder.wants(model) and not cfg.conditional else None)
    strip = StripRecorder(model) if StripRecorder.wants(model) else None  # flow / DDPM
    # a conditional GAN: class agreement (1,000 samples) after each epoch, kept in the build record
    clf = metric_classifier(ds, "cpu") if cfg.conditional and cfg.kind == "gan" else None
    by_epoch: list[list[float]] = []

    def on_event(e):
        if movie is not None:
            movie.on_event(e)
        if strip is not None:
            strip.on_event(e)
        if clf is not None and e.kind == "epoch":
            a = class_agreement(model, clf, n=1000)["agreement"]
            by_epoch.append([round(e.epoch, 2), round(a, 4)])
            log(f"  {ds.name}-{name} epoch {e.epoch:.0f}: class agreement {a:.3f} (1,000 samples)")
        if e.kind == "epoch" or (e.kind == "progress" and time.time() - last[0] > 60):
            last[0] = time.time()
            losses = ", ".join(f"{k} {v:.4g}" for k, v in e.losses.items())
            test = ", ".join(f"{k} {v:.4g}" for k, v in (e.test or {}).items())
            log(f"  {ds.name}-{name} epoch {e.epoch:.2f}/{e.epochs}: {losses}"
                + (f" | test {test}" if test else "") + f" ({e.elapsed_s:.0f} s)")

    res = fit(model, ds, tc, on_event=on_event)
    if res.status != "done":
        raise RuntimeError(f"{ds.name}-{name}: training {res.status}: {res.message}")
    if (ds.name, name) in GUIDANCE:
        model.guidance = GUIDANCE[ds.name, name]
    save_trained(file_for(ds.name, name), model, res, dataset=dataset_meta(ds, ds.name),
                 dtype=torch.float16, build={"command": "python weights/build.py", "load_average": [
                     round(load0, 2), round(os.getloadavg()[0], 2)],
                     **({"agreement_by_epoch": by_epoch} if by_epoch else {})})
    if movie is not None:
        save_movie(file_for(ds.name, name), movie.movie())
    save_strip_of(strip, file_for(ds.name, name))
    log(f"{ds.name}-{name}: trained {res.epochs_done:g} epochs in {res.seconds:.0f} s, test {res.test}")


def arch_text(meta: dict) -> str:
    c = meta["model"]
    model = build_model(ModelConfig.from_dict(c))
    params = sum(p.numel() for p in model.parameters())
    cond = f"conditional ({c['num_classes']} classes) " if c.get("num_classes") else ""
    if c["kind"] in ("flow", "ddpm"):
        return f"{cond}U-Net {c['kind'].upper()}, width {c['hidden'][0]}, {params / 1e6:.2f} M weights"
    return (f"{cond}{c['arch']} {c['kind'].upper()}, hidden {'/'.join(map(str, c['hidden']))}, "
            f"latent {c['latent_dim']}, {params / 1e6:.2f} M weights")


def model_card() -> str:
    """Markdown tables of what is shipped, every number read from the files' recorded metrics."""
    import json

    from genlab.store.checkpoint import read_meta
    out = []
    for data in DATASETS:
        rows = []
        cpath = file_for(data, "classifier").with_suffix(".json")
        if cpath.exists():
            c = json.loads(cpath.read_text())
            t = c["train"]
            rows.append(f"| classifier-{data} | small CNN ({c['config']['width']}/{2 * c['config']['width']} "
                        f"conv, {c['config']['features']}-d features) | {t['epochs']} | "
                        f"{t['seconds']:.0f} s, {t['device']} | test accuracy **{num(c['test_accuracy'], 'accuracy')}** "
                        f"on {c['n_test']:,} ({'≥ 97%' if data == 'mnist' else '≥ 90%'}) |")
        for name in ("ae", "vae", "vae2d", "gan", "cvae", "cgan", "cflow", "ddpm"):
            path = file_for(data, name)
            if not path.exists():
                continue
            meta = read_meta(path)
            bits = card_text(meta.get("metrics", {}))
            rows.append(f"| {path.stem} | {arch_text(meta)} | {meta.get('epochs', 0):g} | "
                        f"{meta.get('seconds', 0):.0f} s, {meta.get('device', '?')} | {bits} |")
        if rows:
            out += [f"### {data}", "", "| file | architecture | epochs | wall time, device | metrics (test split; target) |",
                    "| --- | --- | ---: | --- | --- |", *rows, ""]
    return "\n".join(out)


def write_card() -> None:
    import re
    readme = WEIGHTS / "README.md"
    text = readme.read_text() if readme.exists() else "# Shipped weights\n\n<!-- card:start -->\n<!-- card:end -->\n"
    block = f"<!-- card:start -->\n{model_card()}<!-- card:end -->"
    readme.write_text(re.sub(r"<!-- card:start -->.*<!-- card:end -->", lambda _: block, text, flags=re.S))
    log(f"wrote the model card tables into {readme}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=DATASETS, action="append", help="data set(s) to build")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ",".join(MODELS))
    ap.add_argument("--force", action="store_true", help="retrain files that already exist")
    ap.add_argument("--eval-only", action="store_true", help="only re-measure existing files")
    ap.add_argument("--no-eval", action="store_true", help="train only")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--iwae-k", type=int, default=500)
    ap.add_argument("--card", action="store_true", help="only rewrite README.md's tables from the files")
    ap.add_argument("--no-card", action="store_true", help="leave README.md's tables as they are")
    args = ap.parse_args(argv)
    if args.card:
        write_card()
        return 0
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    bad = set(models) - set(MODELS)
    if bad:
        ap.error(f"unknown models {sorted(bad)}")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    for data in args.only or DATASETS:
        ds = load_dataset(data, allow_download=False)
        log(ds.summary())
        for name in [m for m in MODELS if m in models]:  # the classifier first: eval needs it
            if name not in EPOCHS[data]:
                log(f"no {data}-{name} is shipped: skipped")
                continue
            path = file_for(data, name)
            if not args.eval_only and (args.force or not path.exists()):
                log(f"training {path.name} ({EPOCHS[data][name]} epochs)")
                (build_classifier(ds, EPOCHS[data][name], args.device) if name == "classifier"
                 else build_model_file(ds, name, EPOCHS[data][name], args.device))
        if args.no_eval:
            continue
        if "classifier" in models and file_for(data, "classifier").exists():
            measure_classifier(ds)
        for name in [m for m in MODELS if m in models and m != "classifier"]:
            path = checkpoint_path(file_for(data, name))
            if path.exists():
                t = time.perf_counter()
                metrics = evaluate_checkpoint(path, iwae_k=args.iwae_k, device=args.device,
                                              n_samples=EVAL_N.get((data, name)))
                log(f"{path.name}: evaluated in {time.perf_counter() - t:.0f} s\n" + format_report(metrics))
    if not args.no_card:
        write_card()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
