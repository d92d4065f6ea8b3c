"""How a training worker should use the CPU: OpenMP wait policy, GOMP_SPINCOUNT and torch's
thread count, for a lone job and for several jobs sharing the cores.

    nice -n 15 python bench/bench_omp.py                # about 2-4 minutes on 2 cores
    nice -n 15 python bench/bench_omp.py --epochs 2 --jobs 1,2,4

Each case runs the same seeded training (conv VAE, latent 16, offline MNIST, batch 128) in fresh
worker-like processes with the case's environment, ``--jobs`` of them at once, and times the
training loop alone (no imports, no data loading). It prints each case's time as a ratio to
the reference case of the same run (``PASSIVE``, what every worker used before) and the last
loss of each process, so one can see that the setting does not change a seeded run's losses.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# name -> (environment, threads per job: None = the app's share, cores // jobs)
CASES = {
    "PASSIVE (reference)": ({"OMP_WAIT_POLICY": "PASSIVE"}, None),
    "default (spin 300k)": ({}, None),
    "GOMP_SPINCOUNT=10k": ({"GOMP_SPINCOUNT": "10000"}, None),
    "GOMP_SPINCOUNT=100k": ({"GOMP_SPINCOUNT": "100000"}, None),
    "ACTIVE": ({"OMP_WAIT_POLICY": "ACTIVE"}, None),
    "PASSIVE 1 thread": ({"OMP_WAIT_POLICY": "PASSIVE"}, 1),
    "default 1 thread": ({}, 1),
}


def child(epochs: int, threads: int) -> None:
    """One worker-like training: import, load, then time fit() alone; print JSON."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("GENLAB_OFFLINE", "1")
    import torch

    from genlab.data import load_dataset
    from genlab.models import ModelConfig, build_model
    from genlab.train import TrainConfig, fit
    torch.set_num_threads(threads)
    data = load_dataset("mnist")
    model = build_model(ModelConfig(kind="vae", arch="conv", latent_dim=16,
                                    channels=data.shape[0], image_size=data.shape[1]), seed=1)
    cfg = TrainConfig(epochs=epochs, batch_size=128, lr=1e-3, seed=1, device="cpu",
                      test_every_epoch=False, log_every=10, progress_every_s=1e9)  # rows by step
    t0 = time.perf_counter()
    result = fit(model, data, cfg)
    seconds = time.perf_counter() - t0
    last = result.history[-1] if result.history else {}  # the same step in every case
    print(json.dumps({"seconds": seconds, "total": last.get("total"), "step": last.get("step")}))


def run_case(env: dict, threads: int | None, jobs: int, epochs: int) -> tuple[float, list]:
    """``jobs`` processes at once with ``env``; the slowest one's training time and the losses."""
    cores = os.cpu_count() or 1
    n = threads or max(1, cores // jobs)
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    procs = [subprocess.Popen([sys.executable, __file__, "--child", str(epochs), str(n)],
                              env={**base, **env}, stdout=subprocess.PIPE, text=True)
             for _ in range(jobs)]
    outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    return max(o["seconds"] for o in outs), [o["total"] for o in outs]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--jobs", default="1,2,4", help="how many jobs share the cores, comma-separated")
    ap.add_argument("--cases", default=",".join(CASES), help="which cases (names above)")
    ap.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(*args.child)
    names = [c.strip() for c in args.cases.split(",") if c.strip() in CASES]
    print(f"{os.cpu_count()} cores, {args.epochs} epochs per job; time of the slowest job, "
          "ratio to the reference (PASSIVE) in this run: < 1 is faster", flush=True)
    for jobs in [int(j) for j in args.jobs.split(",")]:
        ref = None
        for name in names:
            env, threads = CASES[name]
            seconds, losses = run_case(env, threads, jobs, args.epochs)
            ref = ref or seconds
            print(f"jobs={jobs} {name:<22} {seconds:7.2f} s  ratio {seconds / ref:5.2f}  "
                  f"last total loss {', '.join(f'{v:.3f}' for v in losses)}", flush=True)


if __name__ == "__main__":
    main()
