"""Settings, events and the thread-safe control object of a training run."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

import numpy as np

from genlab.settings import BY_KEY, KNOBS, defaults_for, knob_kind_error


@dataclass
class TrainConfig:
    """Training settings; None means the model kind's default from ``genlab.settings``."""
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
    early_reads: bool = True  # also read them at the first epoch's EARLY points (genlab.latent.movie),
    # on any machine, fast or slow: the latent movie and the denoising strip film there
    first_report: bool = False  # also read the losses after the very first step (the app: the
    # first step shows at once; still the same steps in every run, so links give the same curves)
    # the knobs the health alarms recommend (genlab.train.health); these defaults are the seed recipes
    kl_warmup_epochs: float = KNOBS["kl_warmup_epochs"]  # VAE: β rises linearly from 0 over N epochs
    lr_d: float | None = KNOBS["lr_d"]  # GAN: the discriminator's learning rate (None: lr's)
    label_smoothing: float = KNOBS["label_smoothing"]  # GAN: one-sided, real target 1 - this
    d_steps: int = KNOBS["d_steps"]  # GAN: discriminator updates per generator update
    alarms: bool = True  # watch the run's health (genlab.train.health)

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
        """Refuse settings that cannot train (call on the resolved config); the bounds are the
        settings table's (genlab.settings)."""
        for key, value, what in (("epochs", self.epochs, "Epochs"), ("batch", self.batch_size, "Batch size"),
                                 ("lr", self.lr, "Learning rate"), ("b1", self.betas[0], "Adam β1"),
                                 ("b2", self.betas[1], "Adam β2"),
                                 ("kl_warmup", self.kl_warmup_epochs, "KL warm-up (epochs)"),
                                 ("lr_d", self.lr_d, "The discriminator's learning rate"),
                                 ("smoothing", self.label_smoothing, "Label smoothing"),
                                 ("d_steps", self.d_steps, "D steps per G step")):
            s = BY_KEY[key]
            if value is None and s.optional:
                continue
            if value is None or not s.holds(value):
                raise ValueError(f"{what} must be {'in ' if s.type == 'float' else ''}"
                                 f"{s.bounds_text()}, not {value}.")
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
    alarm: dict | None = None  # kind "alarm": genlab.train.alarms.Alarm.to_dict(), message its text


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
