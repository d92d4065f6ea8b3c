"""Settings, events and the thread-safe control object of a training run."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

import numpy as np

from genlab.defaults import KNOBS, defaults_for, knob_kind_error


@dataclass
class TrainConfig:
    """Training settings; None means the model kind's default from ``genlab.defaults``."""
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    betas: tuple[float, float] | None = None
    seed: int = 1
    device: str = "auto"
    log_every: int = 50  # steps between reads of the losses (host syncs)
    progress_every_s: float = 0.5  # ... or this often, whichever comes first
    grid_every_s: float | None = None  # also send a sample grid this often (the app uses 1 s)
    amp: bool = True  # bf16 autocast on CUDA
    test_every_epoch: bool = True
    first_report: bool = False  # also read the losses after the very first step (the app: the
    # first step shows at once; still the same steps in every run, so links give the same curves)
    # the knobs the health alarms recommend (genlab.alarms); these defaults are the seed recipes
    kl_warmup_epochs: float = KNOBS["kl_warmup_epochs"]  # VAE: β rises linearly from 0 over N epochs
    lr_d: float | None = KNOBS["lr_d"]  # GAN: the discriminator's learning rate (None: lr's)
    label_smoothing: float = KNOBS["label_smoothing"]  # GAN: one-sided, real target 1 - this
    d_steps: int = KNOBS["d_steps"]  # GAN: discriminator updates per generator update
    alarms: bool = True  # watch the run's health (genlab.alarms)

    def resolved(self, kind: str) -> TrainConfig:
        """A copy with every None replaced by the defaults of model ``kind``."""
        d = defaults_for(kind)
        pick = lambda v, default: default if v is None else v  # noqa: E731
        return replace(self, epochs=pick(self.epochs, d.epochs),
                       batch_size=pick(self.batch_size, d.batch_size), lr=pick(self.lr, d.lr),
                       betas=tuple(self.betas or d.betas))

    def validate_for(self, kind: str) -> None:
        """Refuse a knob set away from its default for a model kind it does not apply to."""
        why = knob_kind_error(kind, **self.__dict__)
        if why:
            raise ValueError(why)

    def validate(self, n_train: int) -> None:
        """Refuse settings that cannot train (call on the resolved config)."""
        if not 1 <= self.epochs <= 100_000:
            raise ValueError(f"Epochs must be between 1 and 100,000, not {self.epochs}.")
        if self.batch_size < 1:
            raise ValueError(f"Batch size must be at least 1, not {self.batch_size}.")
        if self.lr is not None and not (0 < self.lr <= 1.0):
            raise ValueError(f"Learning rate must be in (0, 1], not {self.lr}.")
        if not 0 <= self.kl_warmup_epochs <= 100_000:
            raise ValueError(f"KL warm-up must be between 0 and 100,000 epochs, not "
                             f"{self.kl_warmup_epochs}.")
        if self.lr_d is not None and not (0 < self.lr_d <= 1.0):
            raise ValueError(f"The discriminator's learning rate must be in (0, 1], not {self.lr_d}.")
        if not 0 <= self.label_smoothing < 0.5:
            raise ValueError(f"Label smoothing must be at least 0 and below 0.5, not "
                             f"{self.label_smoothing}.")
        if not 1 <= self.d_steps <= 10:
            raise ValueError(f"D steps per G step must be between 1 and 10, not {self.d_steps}.")
        if n_train < 2:
            raise ValueError("Training needs at least 2 training images.")


@dataclass
class TrainEvent:
    # start | progress | evaluating (the test set, just before) | epoch | alarm | done | stopped
    # | failed
    kind: str
    step: int = 0
    total_steps: int = 0
    epoch: float = 0.0  # fractional progress in epochs
    epochs: int = 0
    losses: dict[str, float] = field(default_factory=dict)  # means since the last event
    test: dict[str, float] | None = None  # test-split metrics (epoch events)
    images_per_s: float = 0.0  # training images per second of training time (not evaluation)
    eta_s: float = 0.0
    elapsed_s: float = 0.0
    grid: np.ndarray | None = None  # (H, W, 3) uint8
    message: str = ""
    alarm: dict | None = None  # kind "alarm": genlab.alarms.Alarm.to_dict(), message its text


@dataclass
class TrainResult:
    status: str  # done | stopped | failed
    message: str
    history: list[dict]  # one row per progress event: step, epoch, losses, images_per_s
    test_history: list[dict]  # one row per epoch: epoch, test metrics
    test: dict[str, float]
    epochs_done: float
    seconds: float
    images_per_s: float
    device: str
    last_grid: np.ndarray | None = None
    config: TrainConfig | None = None  # the resolved settings it ran with (batch size as used)
    alarms: list[dict] = field(default_factory=list)  # the health alarms that fired (in order)


class TrainControl:
    """Stop / pause / resume from any thread; the trainer honours them within one batch."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    def pause(self) -> None:
        if not self._stop.is_set():
            self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> None:
        while not self._running.wait(0.05):
            pass
