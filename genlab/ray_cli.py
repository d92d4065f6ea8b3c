"""``python -m genlab train ... --ray ADDRESS``: the same training as the CLI, run as a job on
the Ray cluster at ADDRESS (``genlab.ray_backend``); progress streams back to this terminal and
the checkpoint is written here (``--out``, or your models folder). Ctrl-C stops it and still
saves what was learned."""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path


def train_cli_on_ray(args, address: str) -> int:
    """Run ``args`` (parsed by ``genlab.cli``'s ``train`` parser) on Ray; returns the exit code
    (0 done or stopped, 1 training failed, 2 it could not start)."""
    try:
        from genlab.ray_cluster import RayBackendError
    except ImportError:
        print("error: --ray needs Ray: pip install -r requirements-ray.txt", file=sys.stderr)
        return 2
    from genlab.checkpoint import CheckpointError
    from genlab.data import DataError
    from genlab.models import ConfigError
    try:
        return _train(args, address)
    except (RayBackendError, DataError, ConfigError, CheckpointError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _spec(args):
    """The job's description, with the defaults of ``genlab.defaults`` like the local CLI."""
    from genlab.data import BUILTIN, load_dataset
    from genlab.defaults import defaults_for
    from genlab.jobs import JobSpec
    from genlab.models import ModelConfig
    from genlab.train import TrainConfig
    d = defaults_for(args.model)
    builtin = args.dataset.strip().lower() in BUILTIN
    # a folder or .zip of this machine is loaded here and shipped; built-ins load on the worker
    data = None if builtin else load_dataset(args.dataset, image_size=args.image_size,
                                             channels=args.channels)
    c, h = (data.shape[0], data.shape[1]) if data is not None else (1, 28)
    cfg = ModelConfig(kind=args.model, arch=args.arch, channels=c, image_size=h,
                      latent_dim=args.latent_dim or d.latent_dim, hidden=args.hidden or (),
                      beta=args.beta)
    from genlab.cli import knobs
    tcfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size or d.batch_size, lr=args.lr,
                       seed=args.seed, device=args.device, **knobs(args))
    what = args.dataset.strip().lower() if builtin else Path(args.dataset).stem
    name = f"{args.model}-{what}-{args.arch}-{time.strftime('%Y%m%d-%H%M%S')}"
    return JobSpec(args.dataset, cfg, tcfg, name, args.image_size, args.channels), data


def _train(args, address: str) -> int:
    from genlab.catalog import user_models_dir
    from genlab.checkpoint import checkpoint_path
    from genlab.ray_backend import RayRunner
    from genlab.ray_cluster import connect
    spec, data = _spec(args)
    out = checkpoint_path(Path(args.out) if args.out else user_models_dir() / spec.name)
    connect(address)
    runner = RayRunner(address)
    print(f"Ray: cluster at {address}; this job asks for {runner.cpus:g} CPU and {runner.gpus:g} GPU",
          file=sys.stderr)
    runner.start({"spec": spec, "path": str(out), "data": data, "threads": None})
    previous = signal.signal(signal.SIGINT, lambda *_: runner.stop())
    bar, final, test = None, None, None
    try:
        while final is None:
            for msg in runner.poll(0.5):
                kind = msg["kind"]
                if kind == "final":
                    final = msg
                elif kind == "state":
                    print(msg["message"], file=sys.stderr)
                elif kind == "event":
                    ev = msg["event"]
                    if ev["kind"] == "start":
                        node, pid = runner.where() or ("?", 0)
                        print(f"Ray worker: process {pid} on node {node}; device: {ev['message']}",
                              file=sys.stderr)
                        if not args.quiet:
                            from tqdm import tqdm
                            bar = tqdm(total=ev["total_steps"], unit="step", dynamic_ncols=True,
                                       file=sys.stderr)
                    elif ev["kind"] == "epoch" and ev["test"]:
                        test = ev["test"]
                    elif ev["kind"] == "alarm":  # as the local CLI: each health alarm once
                        (bar.write if bar is not None else print)(f"ALARM {ev['message']}",
                                                                  file=sys.stderr)
                    if bar is not None and ev["kind"] in ("progress", "epoch"):
                        bar.update(ev["step"] - bar.n)
                        bar.set_postfix({k: f"{v:.4g}" for k, v in ev["losses"].items()}, refresh=False)
                        bar.set_description(f"epoch {min(int(ev['epoch']) + 1, ev['epochs'])}/{ev['epochs']}")
    finally:
        signal.signal(signal.SIGINT, previous)
        if bar is not None:
            bar.close()
        runner.close()
    print(f"{final['state']}: {final['message']}")
    if test and final.get("path"):
        print("test: " + ", ".join(f"{k} {v:.4g}" for k, v in test.items()))
    if final.get("path"):
        print(f"saved {final['path']}")
    return 1 if final["state"] == "failed" else 0
