"""Command line: ``python -m genlab train | eval | datasets | models``.

It runs the same code as the app: genlab.data -> genlab.models -> genlab.train -> genlab.checkpoint.
"""
from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from genlab.defaults import DEFAULTS, KNOBS, knob_kind_error

EPILOG = """examples:
  python -m genlab datasets
  python -m genlab train --model vae --dataset mnist --epochs 2
  python -m genlab train --model vae --arch mlp --hidden 400 --latent-dim 20 \\
      --dataset fashion-mnist --batch-size 128 --seed 1      # = pytorch/examples vae/main.py
  python -m genlab train --model gan --dataset ./faces.zip --image-size 64 --epochs 20
  python -m genlab eval ~/.local/share/genlab/models/vae-mnist-conv-20260101-120000.safetensors
"""


def _int_in(lo: int, hi: int, what: str):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number, not {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be between {lo:,} and {hi:,}, not {v}")
        return v
    return parse


def _float_in(lo: float, hi: float, what: str, lo_open: bool = False, hi_open: bool = False):
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, not {text!r}") from None
        if not ((lo < v if lo_open else lo <= v) and (v < hi if hi_open else v <= hi)):
            raise argparse.ArgumentTypeError(f"{what} must be in {'(' if lo_open else '['}{lo}, "
                                             f"{hi}{')' if hi_open else ']'}, not {text}")
        return v
    return parse


def _hidden(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden takes whole numbers like 400 or 512,256, not {text!r}") from None
    if not sizes or any(not 1 <= s <= 8192 for s in sizes):
        raise argparse.ArgumentTypeError("hidden sizes must be between 1 and 8192")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m genlab", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="GenLab: train and evaluate AEs, VAEs and GANs on real data.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    t = sub.add_parser("train", help="train a model and save a checkpoint",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    t.add_argument("--model", choices=["ae", "vae", "gan"], default="vae", help="model kind")
    t.add_argument("--dataset", default="mnist",
                   help="mnist, fashion-mnist, digits, or a folder / .zip of your images")
    t.add_argument("--arch", choices=["mlp", "conv"], default="conv", help="architecture")
    ae, gan = DEFAULTS["vae"], DEFAULTS["gan"]
    t.add_argument("--epochs", type=_int_in(1, 100_000, "--epochs"), default=None,
                   help=f"epochs (default {ae.epochs}; {gan.epochs} for a GAN)")
    t.add_argument("--latent-dim", type=_int_in(1, 4096, "--latent-dim"), default=None,
                   help=f"latent size (default {ae.latent_dim}; {gan.latent_dim} for a GAN)")
    t.add_argument("--hidden", type=_hidden, default=None,
                   help="MLP: hidden widths, e.g. 400 or 512,256; conv: width of the first layer "
                        "(default: 400 MLP, 32 conv; GAN 256,512 MLP, 64 conv)")
    t.add_argument("--batch-size", type=_int_in(1, 65_536, "--batch-size"), default=None,
                   help=f"batch size (default {ae.batch_size}; {gan.batch_size} for a GAN)")
    t.add_argument("--lr", type=_float_in(0, 1, "--lr", lo_open=True), default=None,
                   help=f"Adam learning rate (default {ae.lr:g}; {gan.lr:g} with beta1 "
                        f"{gan.betas[0]:g} for a GAN)")
    t.add_argument("--beta", type=_float_in(0, 1000, "--beta"), default=1.0, help="VAE: KL weight β")
    t.add_argument("--kl-warmup", type=_float_in(0, 100_000, "--kl-warmup"),
                   default=KNOBS["kl_warmup_epochs"],
                   metavar="EPOCHS", help="VAE: β rises linearly from 0 to its value over this "
                                          "many epochs (0: no warm-up)")
    t.add_argument("--lr-d", type=_float_in(0, 1, "--lr-d", lo_open=True), default=KNOBS["lr_d"],
                   help="GAN: the discriminator's learning rate (None: the same as --lr)")
    t.add_argument("--label-smoothing", type=_float_in(0, 0.5, "--label-smoothing", hi_open=True),
                   default=KNOBS["label_smoothing"], help="GAN: one-sided label smoothing; D's target for real "
                                     "images is 1 - this (e.g. 0.1)")
    t.add_argument("--d-steps", type=_int_in(1, 10, "--d-steps"), default=KNOBS["d_steps"],
                   help="GAN: discriminator updates per generator update")
    t.add_argument("--conditional", action="store_true",
                   help="VAE/GAN: tell the model each image's class (a data set with classes)")
    t.add_argument("--seed", type=_int_in(0, 2**31 - 1, "--seed"), default=1)
    t.add_argument("--image-size", type=int, choices=[28, 32, 64], default=None,
                   help="resize images to this size (own images default to 28)")
    t.add_argument("--channels", type=int, choices=[1, 3], default=None, help="1 gray, 3 RGB")
    t.add_argument("--device", default="auto", help="auto (CUDA > MPS > CPU), cpu, cuda, mps")
    t.add_argument("--out", default=None, help="checkpoint path (default: your models folder)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--ray", metavar="ADDRESS", default=None,
                   help="train on the Ray cluster at ADDRESS (host:port) instead of this machine")
    e = sub.add_parser("eval", help="measure a checkpoint on its test split and store the metrics")
    e.add_argument("checkpoint")
    e.add_argument("--iwae-k", type=_int_in(1, 100_000, "--iwae-k"), default=500)
    e.add_argument("--device", default="auto")
    e.add_argument("--no-store", action="store_true", help="do not write the metrics into the checkpoint")
    sub.add_parser("datasets", help="list the data sets available here and where they come from")
    sub.add_parser("models", help="list shipped models and yours")
    from genlab.report.cli import add_report_parser
    add_report_parser(sub)
    return p


def cmd_datasets(_args) -> int:
    from genlab.data import available_datasets
    for d in available_datasets():
        mark = "yes" if d["available"] else "NO "
        print(f"{d['name']:<14} {mark}  {d['source']}")
    print("your own:      yes  any folder or .zip of png/jpg/bmp/gif/webp images "
          "(--dataset PATH; one subfolder per class is optional)")
    return 0


def cmd_models(_args) -> int:
    from genlab.catalog import list_models
    for m in list_models():
        meta = m.meta or {}
        cfg = meta.get("model", {})
        what = (f"{cfg.get('kind', '?')}/{cfg.get('arch', '?')} latent {cfg.get('latent_dim', '?')} "
                f"on {meta.get('dataset', {}).get('name', '?')}") if meta else (m.error or "")
        print(f"{m.origin:<8} {m.name:<32} {what}  ({m.path})")
    return 0


def _fmt(metrics: dict) -> str:
    return ", ".join(f"{k} {'missing' if v is None else format(v, '.4g')}" for k, v in metrics.items())


def knobs(args) -> dict:
    """The TrainConfig knobs the health alarms recommend, from the train flags."""
    return {"kl_warmup_epochs": args.kl_warmup, "lr_d": args.lr_d,
            "label_smoothing": args.label_smoothing, "d_steps": args.d_steps}


def cmd_train(args) -> int:
    if args.ray:
        from genlab.ray_cli import train_cli_on_ray
        return train_cli_on_ray(args, args.ray)
    from genlab.catalog import user_models_dir
    from genlab.data import dataset_meta, load_dataset
    from genlab.models import ModelConfig, build_model
    from genlab.models.labels import conditional_classes
    from genlab.movie import MovieRecorder, save_movie
    from genlab.train import TrainConfig, TrainControl, fit, save_trained

    data = load_dataset(args.dataset, image_size=args.image_size, channels=args.channels)
    print(f"Data: {data.summary()}", file=sys.stderr)
    c, h, _ = data.shape
    cfg = ModelConfig(kind=args.model, arch=args.arch, channels=c, image_size=h,
                      latent_dim=args.latent_dim, hidden=args.hidden or (), beta=args.beta,
                      num_classes=conditional_classes(data) if args.conditional else 0).validate()
    tcfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                       device=args.device, **knobs(args)).resolved(args.model)
    tcfg.validate_for(args.model)
    if tcfg.batch_size > len(data.train_x):
        print(f"Note: batch size {tcfg.batch_size} is larger than the {len(data.train_x)} training "
              f"images; using {len(data.train_x)}.", file=sys.stderr)
        tcfg.batch_size = len(data.train_x)
    model = build_model(cfg, seed=args.seed)
    out = Path(args.out) if args.out else user_models_dir() / (
        f"{args.model}-{data.name}-{args.arch}-{time.strftime('%Y%m%d-%H%M%S')}")
    movie = MovieRecorder(model, data.test_x, data.test_y) if MovieRecorder.wants(model) else None
    control = TrainControl()
    previous = signal.signal(signal.SIGINT, lambda *_: control.stop())
    bar = None

    def on_event(ev) -> None:
        nonlocal bar
        if movie is not None:
            movie.on_event(ev)
        if ev.kind == "start":
            print(f"Device: {ev.message}", file=sys.stderr)
            if not args.quiet:
                from tqdm import tqdm
                bar = tqdm(total=ev.total_steps, unit="step", dynamic_ncols=True, file=sys.stderr)
        elif ev.kind == "alarm":  # once per alarm: the trainer fires each at most once
            (bar.write if bar is not None else print)(f"ALARM {ev.message}", file=sys.stderr)
        elif bar is not None and ev.kind == "evaluating":
            bar.set_description("evaluating on the test set")
        elif bar is not None and ev.kind in ("progress", "epoch"):
            bar.update(ev.step - bar.n)
            post = {k: f"{v:.4g}" for k, v in ev.losses.items()}
            if ev.kind == "progress":
                post["img/s"] = f"{ev.images_per_s:,.0f}"
            bar.set_postfix(post, refresh=False)
            bar.set_description(f"epoch {min(int(ev.epoch) + 1, ev.epochs)}/{ev.epochs}")
            if ev.kind == "epoch" and ev.test:
                bar.write(f"epoch {int(ev.epoch)}: test {_fmt(ev.test)}")

    try:
        result = fit(model, data, tcfg, control, on_event)
    finally:
        signal.signal(signal.SIGINT, previous)
        if bar is not None:
            bar.close()
    path = save_trained(out, model, result, dataset=dataset_meta(data, args.dataset))
    if movie is not None and movie.movie() is not None:
        save_movie(path, movie.movie())
    print(f"{result.status}: {result.epochs_done:.2f} epochs in {result.seconds:.1f} s "
          f"({result.images_per_s:,.0f} images/s on {result.device})")
    if result.message:
        print(result.message)
    if result.alarms:
        print(f"health alarms: {', '.join(a['name'] for a in result.alarms)} (stored in the checkpoint)")
    if result.test:
        print(f"test ({len(data.test_x):,} images): {_fmt(result.test)}")
    print(f"saved {path}")
    return 1 if result.status == "failed" else 0


def cmd_eval(args) -> int:
    from genlab.metrics import evaluate_checkpoint, format_report
    from genlab.metrics.report import stderr_progress
    progress, close = stderr_progress()
    try:
        metrics = evaluate_checkpoint(args.checkpoint, iwae_k=args.iwae_k, device=args.device,
                                      store=not args.no_store, progress=progress)
    finally:
        close()
    print(format_report(metrics))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # before importing torch: bad arguments answer at once
    why = knob_kind_error(args.model, **knobs(args)) if args.command == "train" else None
    if why:
        print(f"error: {why}", file=sys.stderr)
        return 2
    from genlab.checkpoint import CheckpointError
    from genlab.data import DataError
    from genlab.models import ConfigError
    from genlab.report.cli import cmd_report
    commands = {"train": cmd_train, "eval": cmd_eval, "datasets": cmd_datasets, "models": cmd_models,
                "report": cmd_report}
    try:
        return commands[args.command](args)
    except (DataError, ConfigError, CheckpointError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: this machine ran out of memory; use a smaller data set, image size, batch "
              "size or model.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
