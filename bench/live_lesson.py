"""Live in a lesson (issue 22): the "guidance" lesson's conditional flow (lesson-size U-Net,
width 16) trained from scratch on offline MNIST as the Train page trains it, with the class
agreement of its samples measured against minutes of training. Target: >= 0.8 within 10 minutes
on 2 CPU cores.

    python bench/live_lesson.py                      # 10 minutes, agreement every epoch
    python bench/live_lesson.py --minutes 3 --n 300  # shorter

Agreement: ``n`` samples (classes 0..9 in turn, 20 Euler steps, the default guidance 2) read
by GenLab's MNIST classifier; measured at every epoch end, outside the training clock (the
minutes are the trainer's own elapsed training time). Prints a table and, with --write, puts it
in bench/QUALITY.md between the live-lesson markers, with the command and the machine's load.
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

from genlab.classroom.lessons import load_lesson  # noqa: E402
from genlab.data import load_dataset  # noqa: E402
from genlab.metrics import class_agreement  # noqa: E402
from genlab.metrics.classifier import metric_classifier  # noqa: E402
from genlab.models import build_model  # noqa: E402
from genlab.train import TrainControl, fit  # noqa: E402
from genlab.train.recipe import configs  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--n", type=int, default=500, help="samples per agreement measurement")
    ap.add_argument("--lesson", default="guidance")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    lesson = load_lesson(args.lesson)
    data = load_dataset(lesson.settings["dataset"], allow_download=False)
    mc, tc = configs({**lesson.settings, "epochs": 1000}, data)  # stopped by the clock
    model = build_model(mc, seed=tc.seed)
    clf = metric_classifier(data, "cpu")
    control = TrainControl()
    rows: list[tuple[float, float, float]] = []  # (epoch, training minutes, agreement)
    load0 = os.getloadavg()
    t0, measuring = time.time(), [0.0]  # the trainer's clock counts our measuring: taken off

    def agreement() -> float:
        t = time.perf_counter()
        a = class_agreement(model, clf, n=args.n)["agreement"]
        measuring[0] += time.perf_counter() - t
        return a

    def on_event(e):
        if e.kind == "start":
            rows.append((0.0, 0.0, agreement()))
        if e.kind != "epoch":
            return
        minutes = (e.elapsed_s - measuring[0]) / 60  # training (and the trainer's own test pass)
        a = agreement()
        rows.append((e.epoch, minutes, a))
        print(f"epoch {e.epoch:g}: {minutes:.2f} min of training, agreement {a:.3f} "
              f"(wall {(time.time() - t0) / 60:.1f} min)", flush=True)
        if minutes >= args.minutes:
            control.stop()

    res = fit(model, data, tc, control, on_event)
    load1 = os.getloadavg()
    hit = next((r for r in rows if r[2] >= 0.8), None)
    table = ["| epoch | minutes of training | class agreement |", "| ---: | ---: | ---: |",
             *[f"| {e:g} | {m:.2f} | {a:.3f} |" for e, m, a in rows]]
    verdict = (f"agreement >= 0.8 after {hit[1]:.2f} min of training (epoch {hit[0]:g})" if hit else
               f"agreement did not reach 0.8 in {rows[-1][1]:.2f} min (best {max(r[2] for r in rows):.3f})")
    text = "\n".join([
        f"### Live in a lesson: the '{lesson.title}' lesson's conditional flow on offline MNIST",
        "", f"`python bench/live_lesson.py --minutes {args.minutes:g} --n {args.n}` on "
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPU cores, load average "
        f"{load0[0]:.1f} at the start and {load1[0]:.1f} at the end (a shared machine). "
        f"{mc.hidden[0]}-wide U-Net, batch {tc.batch_size}, Adam {tc.lr:g}; agreement of "
        f"{args.n} samples at 20 Euler steps, guidance 2. Result: {verdict}; training {res.status}.",
        "", *table, ""])
    print(text)
    if args.write:
        q = ROOT / "bench" / "QUALITY.md"
        body = q.read_text()
        block = f"<!-- quality:live-lesson -->\n{text}<!-- /quality:live-lesson -->"
        if "<!-- quality:live-lesson -->" in body:
            body = re.sub(r"<!-- quality:live-lesson -->.*<!-- /quality:live-lesson -->",
                          lambda _: block, body, flags=re.S)
        else:
            body = body.rstrip() + "\n\n" + block + "\n"
        q.write_text(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
