"""The divergence guard: a run whose loss, weights or test metrics become NaN or infinite stops,
and the model goes back to the last weights whose metrics are all finite, ultimately to the
initial weights, so a divergence never loses the model."""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import torch

from genlab.models import GenerativeModel

State = dict[str, torch.Tensor]


def all_finite(metrics: dict | None) -> bool:
    """True when every value of ``metrics`` is a finite number."""
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in (metrics or {}).values())


class Diverged(Exception):
    """Raised inside the trainer when something checked is NaN or infinite."""

    ADVICE = ("Try a lower learning rate (for example a tenth of it) or check the data for "
              "broken values.")

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what  # loss | weights | test

    def describe(self, last_checked: int, step: int) -> str:
        if self.what == "test":
            return (f"The test metrics became NaN or infinite at step {step:,}, so training "
                    "stopped.")
        return (f"The {'loss' if self.what == 'loss' else 'weights'} became NaN or infinite "
                f"between steps {last_checked:,} and {step:,}, so training stopped.")


def _snapshot(model: GenerativeModel) -> State:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _finite(state: State) -> bool:
    flags = [torch.isfinite(v).all() for v in state.values() if v.is_floating_point()]
    return bool(torch.stack(flags).all()) if flags else True


class LastGood:
    """The weights to go back to: the initial ones, the last ``keep`` checked states and the
    last state whose test metrics were seen finite."""

    def __init__(self, model: GenerativeModel, keep: int = 2) -> None:
        self.model = model
        self.initial = (0, _snapshot(model))
        self.recent: deque[tuple[int, State]] = deque(maxlen=keep)
        self.tested: tuple[int, State] | None = None

    def check(self, step: int) -> bool:
        """Keep the model's weights at ``step`` if they are finite; False if they are not."""
        state = _snapshot(self.model)
        if not _finite(state):
            return False
        self.recent.append((step, state))
        return True

    def verified(self, step: int) -> None:
        """The weights checked at ``step`` gave finite test metrics."""
        if self.recent and self.recent[-1][0] == step:
            self.tested = self.recent[-1]

    def restore(self, measure: Callable[[], dict]) -> tuple[dict, int, list[int]]:
        """Load the newest kept weights whose ``measure()`` (test metrics) is all finite, else
        the initial weights. Returns (their metrics, their step, the steps passed over)."""
        newest_first: dict[int, State] = {}
        for step, state in sorted([*self.recent, *([self.tested] if self.tested else [])],
                                  key=lambda s: -s[0]):
            newest_first.setdefault(step, state)
        skipped = []
        for step, state in [*newest_first.items(), self.initial]:
            self.model.load_state_dict(state)
            try:
                metrics = measure()
            except torch.OutOfMemoryError:
                metrics = {}
            if all_finite(metrics) or step == 0:
                break
            skipped.append(step)
        return metrics, step, skipped
