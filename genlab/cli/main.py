"""Command line: ``python -m genlab train | eval | datasets | models``.

It runs the same code as the app: genlab.data -> genlab.models -> genlab.train -> genlab.store.checkpoint.
"""
from __future__ import annotations

import argparse
import sys

from genlab.settings import TABLE, SettingError, kind_error, parse

EPILOG = """examples:
  python -m genlab datasets
  python -m genlab train --model vae --dataset mnist --epochs 2
  python -m genlab train --model vae --arch mlp --hidden 400 --latent-dim 20 \\
      --dataset fashion-mnist --batch-size 128 --seed 1      # = pytorch/examples vae/main.py
  python -m genlab train --model gan --dataset ./faces.zip --image-size 64 --epochs 20
  python -m genlab eval ~/.local/share/genlab/models/vae-mnist-conv-20260101-120000.safetensors
"""


def _checked(key: str, flag: str):
    """The argparse type of setting ``key``: the settings table's parser, named as the flag."""
    def check(text: str):
        try:
            return parse(key, text, flag)
        except SettingError as exc:
            raise argparse.ArgumentTypeError(str(exc).rstrip(".")) from None
    return check


def _checked_count(flag: str, hi: int = 100_000):
    def check(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} must be a whole number, not {text!r}") from None
        if not 1 <= v <= hi:
            raise argparse.ArgumentTypeError(f"{flag} must be between 1 and {hi:,}, not {v}")
        return v
    return check


def _help(s) -> str:
    """A setting's help with its default (the kind's where it depends on the kind)."""
    if s.default == "kind":
        from genlab.settings import default
        v, g = default(s.key, "vae"), default(s.key, "gan")
        return f"{s.help} (default {v:g}; {g:g} for a GAN)"
    if s.default in ("hidden", "size") or s.type == "bool":
        return s.help
    return f"{s.help} (default {'the same as --lr' if s.default is None else s.default})"


def add_settings(t: argparse.ArgumentParser) -> None:
    """One argument per row of the settings table (genlab.settings.TABLE)."""
    for s in TABLE:
        if s.type == "bool":
            t.add_argument(s.flag, action="store_true", dest=s.key, help=_help(s))
        elif s.key == "dataset":  # a built-in name, or the path of your images
            t.add_argument(s.flag, dest=s.key, default=s.default, help=_help(s))
        else:
            t.add_argument(s.flag, dest=s.key, type=_checked(s.key, s.flag), default=None,
                           metavar="{" + ",".join(map(str, s.choices)) + "}" if s.choices else
                           s.flag[2:].upper().replace("-", "_"), help=_help(s))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m genlab", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="GenLab: train and evaluate AEs, VAEs and GANs on real data.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    t = sub.add_parser("train", help="train a model and save a checkpoint")
    add_settings(t)
    t.add_argument("--device", default="auto", help="auto (CUDA > MPS > CPU), cpu, cuda, mps")
    t.add_argument("--out", default=None, help="checkpoint path (default: your models folder)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--ray", metavar="ADDRESS", default=None,
                   help="train on the Ray cluster at ADDRESS (host:port) instead of this machine")
    e = sub.add_parser("eval", help="measure a checkpoint on its test split and store the metrics")
    e.add_argument("checkpoint")
    e.add_argument("--iwae-k", type=_checked_count("--iwae-k"), default=500)
    e.add_argument("--device", default="auto")
    e.add_argument("--no-store", action="store_true", help="do not write the metrics into the checkpoint")
    sub.add_parser("datasets", help="list the data sets available here and where they come from")
    sub.add_parser("models", help="list shipped models and yours")
    from genlab.cli.report import add_report_parser
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
    from genlab.store.catalog import list_models
    for m in list_models():
        meta = m.meta or {}
        cfg = meta.get("model", {})
        what = (f"{cfg.get('kind', '?')}/{cfg.get('arch', '?')} latent {cfg.get('latent_dim', '?')} "
                f"on {meta.get('dataset', {}).get('name', '?')}") if meta else (m.error or "")
        who = ("" if m.owner is None else "  [shared with the class]" if m.shared
               else "  [private to the browser session that trained it]")
        print(f"{m.origin:<8} {m.name:<32} {what}  ({m.path}){who}")
    return 0


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
    why = (kind_error(args.kind, {k: v for k, v in vars(args).items() if v is not None})
           if args.command == "train" else None)
    if why:
        print(f"error: {why}", file=sys.stderr)
        return 2
    from genlab.cli.ray import train_cli_on_ray
    from genlab.cli.report import cmd_report
    from genlab.cli.train import cmd_train
    from genlab.data import DataError
    from genlab.models import ConfigError
    from genlab.store.checkpoint import CheckpointError
    commands = {"train": lambda a: train_cli_on_ray(a, a.ray) if a.ray else cmd_train(a), "eval": cmd_eval, "datasets": cmd_datasets, "models": cmd_models,
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
