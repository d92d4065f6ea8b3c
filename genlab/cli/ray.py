"""``python -m genlab train ... --ray ADDRESS``: the same training as the CLI, run as a job on
the Ray cluster at ADDRESS (``genlab.jobs.ray.backend``); progress streams back to this terminal and
the checkpoint is written here (``--out``, or your models folder). Ctrl-C stops it and still
saves what was learned."""
from __future__ import annotations

import signal
import sys
from pathlib import Path


def train_cli_on_ray(args, address: str) -> int:
    """Run ``args`` (parsed by ``genlab.cli.main``'s ``train`` parser) on Ray; returns the exit code
    (0 done or stopped, 1 training failed, 2 it could not start)."""
    try:
        from genlab.jobs.ray.cluster import RayBackendError
    except ImportError:
        print("error: --ray needs Ray: pip install -r requirements-ray.txt", file=sys.stderr)
        return 2
    from genlab.data import DataError
    from genlab.models import ConfigError
    from genlab.store.checkpoint import CheckpointError
    try:
        return _train(args, address)
    except (RayBackendError, DataError, ConfigError, CheckpointError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _spec(args):
    """The job's description: the same settings and configs as the local CLI
    (``genlab.train.recipe``). A folder or .zip of this machine is loaded here and shipped;
    a built-in data set loads on the worker."""
    from genlab.cli.train import run_name, settings_from_args
    from genlab.data import BUILTIN, load_dataset
    from genlab.jobs import JobSpec
    from genlab.train.recipe import configs, data_args
    s = settings_from_args(args)
    load = data_args(s)
    data = None if s["dataset"] in BUILTIN else load_dataset(s["dataset"], **load)
    cfg, tcfg = configs(s, data, device=args.device)
    return JobSpec(s["dataset"], cfg, tcfg, run_name(s), load["image_size"], load["channels"]), data


def _train(args, address: str) -> int:
    from genlab.cli.progress import Progress, fmt
    from genlab.jobs.ray.backend import RayRunner
    from genlab.jobs.ray.cluster import connect
    from genlab.store.catalog import user_models_dir
    from genlab.store.checkpoint import checkpoint_path
    spec, data = _spec(args)
    out = checkpoint_path(Path(args.out) if args.out else user_models_dir() / spec.name)
    connect(address)
    runner = RayRunner(address)
    print(f"Ray: cluster at {address}; this job asks for {runner.cpus:g} CPU and {runner.gpus:g} GPU",
          file=sys.stderr)
    runner.start({"spec": spec, "path": str(out), "data": data, "threads": None})
    previous = signal.signal(signal.SIGINT, lambda *_: runner.stop())

    def where(device: str) -> str:
        node, pid = runner.where() or ("?", 0)
        return f"Ray worker: process {pid} on node {node}; device: {device}"

    progress, final = Progress(args.quiet, where), None
    try:
        while final is None:
            for msg in runner.poll(0.5):
                if msg["kind"] == "final":
                    final = msg
                elif msg["kind"] == "state":
                    print(msg["message"], file=sys.stderr)
                elif msg["kind"] == "event":
                    progress(msg["event"])
    finally:
        signal.signal(signal.SIGINT, previous)
        progress.close()
        runner.close()
    test = progress.test
    print(f"{final['state']}: {final['message']}")
    if test and final.get("path"):
        print(f"test: {fmt(test)}")
    if final.get("path"):
        print(f"saved {final['path']}")
    return 1 if final["state"] == "failed" else 0
