"""The terminal's view of a training run, local or on Ray: one progress bar (tqdm) fed the
trainer's events (a ``TrainEvent``'s fields, or the same as a dict from a Ray worker), each
health alarm printed once, and the test numbers at every epoch's end."""
from __future__ import annotations

import sys


def fmt(metrics: dict) -> str:
    return ", ".join(f"{k} {'missing' if v is None else format(v, '.4g')}" for k, v in metrics.items())


class Progress:
    """A training callback (``genlab.train.callbacks``) for the terminal; it also takes the
    events of a Ray worker as dicts."""
    name = "progress"

    def __init__(self, quiet: bool = False, where=None) -> None:
        self.quiet, self.where = quiet, where  # where(): "device" text of a remote worker
        self.bar, self.test = None, None

    def on_event(self, ev) -> None:
        self.event(ev if isinstance(ev, dict) else vars(ev))

    __call__ = on_event

    def write(self, text: str) -> None:
        (self.bar.write if self.bar is not None else print)(text, file=sys.stderr)

    def event(self, ev: dict) -> None:
        kind, bar = ev["kind"], self.bar
        if kind == "start":
            print(self.where(ev["message"]) if self.where else f"Device: {ev['message']}",
                  file=sys.stderr)
            if not self.quiet:
                from tqdm import tqdm
                self.bar = tqdm(total=ev["total_steps"], unit="step", dynamic_ncols=True, file=sys.stderr)
        elif kind == "alarm":  # once per alarm: the trainer fires each at most once
            self.write(f"ALARM {ev['message']}")
        elif bar is not None and kind == "evaluating":
            bar.set_description("evaluating on the test set")
        if kind == "epoch" and ev.get("test"):
            self.test = ev["test"]
        if bar is not None and kind in ("progress", "epoch"):
            bar.update(ev["step"] - bar.n)
            post = {k: f"{v:.4g}" for k, v in ev["losses"].items()}
            if kind == "progress":
                post["img/s"] = f"{ev['images_per_s']:,.0f}"
            bar.set_postfix(post, refresh=False)
            bar.set_description(f"epoch {min(int(ev['epoch']) + 1, ev['epochs'])}/{ev['epochs']}")
            if kind == "epoch" and ev.get("test"):
                bar.write(f"epoch {int(ev['epoch'])}: test {fmt(ev['test'])}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
