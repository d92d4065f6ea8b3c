"""Keep a share of one core busy in short slices, as a browser drawing a live page does: the
load beside which bench/RESULTS.md (issue 21) measured the CLI's training speed.

    python bench/burn.py 0.2 &          # 0.2 of a core, in 10 ms slices, until killed
    python -m genlab train --model vae --dataset mnist --arch conv --latent-dim 16 \\
        --batch-size 128 --lr 1e-3 --seed 1 --epochs 2 --out /tmp/burn-check --quiet
    kill %1
"""
import sys
import time

duty = float(sys.argv[1])
period = float(sys.argv[2]) if len(sys.argv) > 2 else 0.01
while True:
    t = time.perf_counter()
    while time.perf_counter() - t < duty * period:
        pass
    time.sleep(period * (1 - duty))
