"""The 2-D playground's targets (issue 23), measured:
1. fit: each family trains 15 s (one thread, the worker's setting) on 8 Gaussians and on two
   moons with its default settings; JS divergence (bits, genlab.playground.divergence) against
   the real-vs-real floor (target for flow and DDPM: JS <= floor + 0.05); the GAN's modes
   covered on 8 Gaussians in each of 5 seeds (target: >= 7 of 8 in every seed).
2. page: the page in headless Chromium, playing, per family: frames shown per second by the
   canvas (target >= 10), CPU cores used by the server process (the worker, a child process that
   trains, is counted apart; target <= 0.15) and by Chromium (target <= 0.3).
Run: python bench/bench_playground.py [--seconds 15] [--seeds 5] [--skip-fit] [--skip-page]
     [--families flow,ddpm] [--set ema=0]   (fits only: a setting changed, e.g. the raw weights)"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from app_procs import browser, cpu_seconds, start_server  # noqa: E402

from genlab.playground import data2d  # noqa: E402
from genlab.playground.config import resolve  # noqa: E402
from genlab.playground.divergence import SAMPLES, js_bits, modes_covered  # noqa: E402

FAMILIES = ("gan", "vae", "flow", "ddpm")


SET: dict[str, str] = {}  # --set KEY=VALUE: settings other than the defaults (e.g. ema=0)


def fit(family: str, data: str, seconds: float, seed: int = 1) -> dict:
    import torch

    from genlab.playground.trainer import Trainer
    torch.set_num_threads(1)
    s = resolve({**SET, "family": family, "data": data, "seed": seed})
    tr = Trainer(s)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        tr.step()
    x = tr.sample(SAMPLES, seed=7)
    real = data2d.sample(data, SAMPLES, seed + 1000)
    floor = js_bits(real, data2d.sample(data, SAMPLES, seed + 2000))
    return {"iterations": tr.iterations, "js": js_bits(real, x), "floor": floor,
            "modes": modes_covered(x) if data == "gaussians8" else None}


def page(seconds: float) -> dict[str, dict]:
    env = dict(os.environ, GENLAB_OFFLINE="1", GENLAB_MODELS=tempfile.mkdtemp())
    server, url = start_server(env)
    pw, b = browser()
    out = {}
    try:
        for family in FAMILIES:
            pg = b.new_page(viewport={"width": 1366, "height": 768})
            for _ in range(120):
                try:
                    pg.goto(f"{url}/playground?family={family}")
                    break
                except Exception:
                    time.sleep(1)
            pg.wait_for_function("Object.values(window.genlabPlayground || {}).some(s => s.shown > 0)",
                                 timeout=180_000)
            pg.get_by_role("button", name="▶ Play").click()
            time.sleep(3)  # warm: the first batches in
            shown = "Object.values(window.genlabPlayground)[0].shown"
            n0, c_srv, c_chr, t0 = pg.evaluate(shown), cpu_seconds(server.pid), \
                cpu_seconds(os.getpid(), ("chrom",), tree=True), time.perf_counter()
            time.sleep(seconds)
            dt = time.perf_counter() - t0
            out[family] = {"fps": (pg.evaluate(shown) - n0) / dt,
                           "server": (cpu_seconds(server.pid) - c_srv) / dt,
                           "chromium": (cpu_seconds(os.getpid(), ("chrom",), tree=True) - c_chr) / dt}
            pg.get_by_role("button", name="❚❚ Pause").click()
            pg.close()
    finally:
        b.close()
        pw.stop()
        server.terminate()
        server.wait(20)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--page-seconds", type=float, default=10.0)
    ap.add_argument("--skip-fit", action="store_true")
    ap.add_argument("--skip-page", action="store_true")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args()
    SET.update(kv.split("=", 1) for kv in a.set)
    print(f"load average at the start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    if not a.skip_fit:
        print(f"\n| family | data | iterations in {a.seconds:g} s | JS (bits) | floor | JS - floor | modes |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for family in a.families.split(","):
            for data in ("gaussians8", "moons"):
                r = fit(family, data, a.seconds)
                print(f"| {family} | {data} | {r['iterations']} | {r['js']:.3f} | {r['floor']:.4f} | "
                      f"{r['js'] - r['floor']:.3f} | {r['modes'] if r['modes'] is not None else ''} |",
                      flush=True)
        modes = [fit("gan", "gaussians8", a.seconds, seed)["modes"] for seed in range(1, a.seeds + 1)
                 if "gan" in a.families.split(",")]
        if modes:
            print(f"\nGAN modes covered on 8 Gaussians, seeds 1..{a.seeds}: {modes} "
                  f"(target >= 7 in every seed: {'met' if min(modes) >= 7 else 'missed'})")
    if not a.skip_page:
        print("\n| family | frames/s in Chromium | server cores | Chromium cores |\n|---|---:|---:|---:|")
        for family, r in page(a.page_seconds).items():
            print(f"| {family} | {r['fps']:.1f} | {r['server']:.3f} | {r['chromium']:.3f} |", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
