"""``python -m genlab train``: the settings of the command line (checked by the settings table)
-> the model and training configs (``genlab.train.recipe``, as the app and the lessons) ->
training here, or on a Ray cluster with ``--ray ADDRESS`` (``genlab.cli.ray``)."""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from genlab.settings import DATASETS, TABLE, resolve


def settings_from_args(args) -> dict:
    """The run's settings from parsed arguments: what was given, the rest the defaults of the
    kind, architecture and data set. A folder or .zip as the data set is kept as given."""
    raw = {s.key: getattr(args, s.key) for s in TABLE
           if getattr(args, s.key) not in (None, False) and s.key != "dataset"}
    ds = args.dataset.strip()
    own = ds.lower() not in DATASETS
    s = resolve(raw if own else {**raw, "dataset": ds.lower()})
    if own:
        s["dataset"] = ds
    return s


def run_name(s: dict) -> str:
    what = s["dataset"].lower() if s["dataset"].lower() in DATASETS else Path(s["dataset"]).stem
    return f"{s['kind']}-{what}-{s['arch']}-{time.strftime('%Y%m%d-%H%M%S')}"


def cmd_train(args) -> int:
    from genlab.cli.progress import Progress, fmt
    from genlab.data import dataset_meta, load_dataset
    from genlab.latent.movie import MovieRecorder, save_movie
    from genlab.models import build_model
    from genlab.store.catalog import user_models_dir
    from genlab.train import Callbacks, TrainControl, fit, save_trained
    from genlab.train.recipe import configs, data_args

    s = settings_from_args(args)
    data = load_dataset(s["dataset"], **data_args(s))
    print(f"Data: {data.summary()}", file=sys.stderr)
    cfg, tcfg = configs(s, data, device=args.device)
    tcfg = tcfg.resolved(cfg.kind)
    tcfg.validate_for(cfg.kind)
    if tcfg.batch_size > len(data.train_x):
        print(f"Note: batch size {tcfg.batch_size} is larger than the {len(data.train_x)} training "
              f"images; using {len(data.train_x)}.", file=sys.stderr)
        tcfg.batch_size = len(data.train_x)
    model = build_model(cfg, seed=s["seed"])
    out = Path(args.out) if args.out else user_models_dir() / run_name(s)
    movie = MovieRecorder(model, data.test_x, data.test_y) if MovieRecorder.wants(model) else None
    control = TrainControl()
    previous = signal.signal(signal.SIGINT, lambda *_: control.stop())
    progress = Progress(args.quiet)
    try:
        result = fit(model, data, tcfg, control, Callbacks([movie, progress]))
    finally:
        signal.signal(signal.SIGINT, previous)
        progress.close()
    path = save_trained(out, model, result, dataset=dataset_meta(data, s["dataset"]))
    if movie is not None and movie.movie() is not None:
        save_movie(path, movie.movie())
    print(f"{result.status}: {result.epochs_done:.2f} epochs in {result.seconds:.1f} s "
          f"({result.images_per_s:,.0f} images/s on {result.device})")
    if result.message:
        print(result.message)
    if result.alarms:
        print(f"health alarms: {', '.join(a['name'] for a in result.alarms)} (stored in the checkpoint)")
    if result.test:
        print(f"test ({len(data.test_x):,} images): {fmt(result.test)}")
    print(f"saved {path}")
    return 1 if result.status == "failed" else 0
