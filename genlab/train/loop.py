"""The one trainer behind the CLI and the app.

The data set lives on the device as one uint8 tensor; each step slices a batch through a
per-epoch permutation and converts it there. The model kind owns its training step
(``model.train_step``); the loop only feeds batches, honours stop/pause, and reads the losses,
accumulated on the device, every ``log_every`` steps (or ``progress_every_s``): no host sync
per step. What happens goes out as events to named callbacks (``genlab.train.callbacks``). A NaN or infinite loss, weight or test metric stops the run and restores the last
weights whose metrics are finite (see ``genlab.train.guard``).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import nullcontext

import torch

from genlab.data import ImageDataset, one_per_class, to_float
from genlab.device import describe_device, select_device
from genlab.images import make_grid
from genlab.latent.movie import EARLY
from genlab.metrics.classifier import metric_classifier
from genlab.metrics.likelihood import test_metrics
from genlab.models import GenerativeModel
from genlab.models.labels import conditional_refusal
from genlab.train.callbacks import Callback, Callbacks
from genlab.train.control import TrainConfig, TrainControl, TrainEvent, TrainResult
from genlab.train.guard import Diverged, LastGood, all_finite
from genlab.train.health import HealthMonitor


def evaluate(model: GenerativeModel, x_u8: torch.Tensor, batch: int = 1000, seed: int = 0) -> dict:
    """Mean test metrics per image, as defined once in ``genlab.metrics.test_metrics``."""
    return test_metrics(model, x_u8, batch=batch, seed=seed)


@torch.no_grad()
def preview_grid(model: GenerativeModel, fixed: torch.Tensor) -> object:
    """The model's preview of ``model.preview_inputs(...)``: reconstructions under their
    originals (AE/VAE) or fixed-noise samples (GAN), as an (H, W, 3) uint8 array."""
    was_training = model.training
    model.eval()
    images, nrow = model.preview(to_float(fixed) if fixed.dtype == torch.uint8 else fixed)
    grid = make_grid(images, nrow=nrow)
    model.train(was_training)
    return grid


def _check_inputs(model: GenerativeModel, data: ImageDataset, cfg: TrainConfig) -> None:
    cfg.validate(len(data.train_x))
    cfg.validate_for(model.config.kind)
    if model.config.conditional and len(data.classes) != model.config.num_classes:
        raise ValueError(conditional_refusal(data, model.config.num_classes))
    if tuple(data.shape) != model.config.image_shape:
        raise ValueError(f"The data set's images are {data.shape}, the model expects "
                         f"{model.config.image_shape}; build the model for this data set.")
    for split in (data.train_x, data.test_x):
        if split.dtype != torch.uint8:
            bad = split.is_floating_point() and not bool(torch.isfinite(split).all())
            raise ValueError("The images contain NaN or infinite values; fix or drop those images."
                             if bad else f"Images must be uint8 (0-255), not {split.dtype}.")


def fit(model: GenerativeModel, data: ImageDataset, cfg: TrainConfig | None = None,
        control: TrainControl | None = None,
        on_event: Callbacks | Callback | list | Callable[[TrainEvent], None] | None = None) -> TrainResult:
    """Train ``model`` on ``data.train_x``; returns a TrainResult (never raises on NaN/stop).
    ``cfg`` None fields take the model kind's defaults (``genlab.settings``). Every event goes
    to ``on_event``: ``Callbacks``, one callback, a list of them, or a function ``fn(ev)``."""
    cfg = (cfg or TrainConfig()).resolved(model.config.kind)
    _check_inputs(model, data, cfg)
    return _Run(model, data, cfg, control or TrainControl(), Callbacks.of(on_event)).run()


class _Run:
    """One training run: the loop in ``run`` and the bookkeeping it reports through events."""

    def __init__(self, model: GenerativeModel, data: ImageDataset, cfg: TrainConfig,
                 control: TrainControl, callbacks: Callbacks) -> None:
        self.model, self.data, self.control, self.callbacks = model, data, control, callbacks
        self.dev = dev = select_device(cfg.device)
        self.channels_last = dev.type == "cuda" and model.config.arch == "conv"
        model.to(dev)
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        model.train()
        self.X = data.train_x.to(dev)
        self.Y = data.train_y.to(dev) if model.config.conditional else None  # cVAE / cGAN
        n = len(self.X)
        self.bs = bs = min(cfg.batch_size, n)
        self.note = (f"Batch size {cfg.batch_size:,} is larger than the {n:,} training images; "
                     f"using {n:,}. " if cfg.batch_size > n else "")
        self.cfg = cfg = TrainConfig(**{**cfg.__dict__, "batch_size": bs})
        gan = not model.has_encoder  # BatchNorm in D and G: no ragged last batch, never one image
        self.steps_per_epoch = n // bs if gan else math.ceil(n / bs)
        self.total = self.steps_per_epoch * cfg.epochs
        # the first epoch's EARLY points are read on any machine (the films' early frames)
        self.early = {math.ceil(f * self.steps_per_epoch) for f in EARLY} - {0} if cfg.early_reads else set()
        self.gen = torch.Generator(device=dev).manual_seed(cfg.seed)
        self.autocast = (torch.autocast("cuda", dtype=torch.bfloat16)
                         if cfg.amp and dev.type == "cuda" else nullcontext())
        # the fused (single-kernel) Adam: same update rule, measured 10-25% faster per step on CPU
        gan_lr_d = {"lr_d": cfg.lr_d} if cfg.lr_d is not None else {}  # validated: a GAN's
        self.optimizers = model.configure_optimizers(cfg.lr, cfg.betas, fused=dev.type in ("cpu", "cuda"),
                                                     **gan_lr_d)
        if model.config.kind == "gan":
            model.label_smoothing, model.d_steps = cfg.label_smoothing, cfg.d_steps
        self.warmup = cfg.kl_warmup_epochs if model.config.kind == "vae" else 0
        # the first test image of each class (fixed: the same columns all run long)
        examples = (data.test_x[one_per_class(data.test_y)] if len(data.test_x) else self.X[:10]).to(dev)
        self.fixed = model.preview_inputs(examples, cfg.seed)
        gan = model.config.kind == "gan"
        self.health = HealthMonitor(model.config.kind, self.steps_per_epoch, model, data, cfg.seed,
                                    metric_classifier(data, dev) if gan else None,
                                    real_target=1.0 - cfg.label_smoothing if gan else 1.0) if cfg.alarms else None
        self.names = model.config.loss_names
        self.acc = torch.zeros(len(self.names), device=dev)
        self.count = self.done = self.images = 0
        self.history: list[dict] = []
        self.test_history: list[dict] = []
        self.last_grid = None
        self.good = LastGood(model)  # the initial weights, then every checked state
        self.t0 = time.perf_counter()
        self.paused_s = self.train_s = 0.0  # time paused; time spent in training steps only
        self.window_t = self.last_grid_t = self.t0  # start of the current rate window
        self.window_images = 0

    # --- the loop --------------------------------------------------------------------------

    def run(self) -> TrainResult:
        cfg, X, bs = self.cfg, self.X, self.bs
        self.event("start", message=self.note + describe_device(self.dev))
        status, message = "done", ""
        try:
            for epoch in range(cfg.epochs):
                perm = torch.randperm(len(X), generator=self.gen, device=self.dev)
                for i in range(self.steps_per_epoch):
                    if self.should_stop():
                        status, message = "stopped", f"Stopped by the user after {self.done:,} steps."
                        break
                    idx = perm[i * bs:(i + 1) * bs]
                    self.step(X[idx], None if self.Y is None else self.Y[idx])
                if status == "stopped":
                    break
                self.end_epoch(epoch + 1)
            test = self.final_test(status)
        except Diverged as why:
            status, test = "failed", None
            message = self.restore(why.describe(self.last_checked_step, self.done), Diverged.ADVICE)
        except torch.OutOfMemoryError:
            status, test = "failed", None
            message = self.restore("The device ran out of memory.", "Use a smaller batch size or "
                                   "image size, or a smaller model.")
        return self.finish(status, self.note + message, test)

    def step(self, batch_u8: torch.Tensor, labels: torch.Tensor | None = None) -> None:
        """One step of the model's own training; a report every ``log_every`` steps or so."""
        xb = to_float(batch_u8, self.channels_last)
        if self.warmup:  # KL warm-up: the VAE's β follows the progress in epochs
            self.model.set_kl_warmup(self.done / self.steps_per_epoch, self.warmup)
        given = {} if labels is None else {"labels": labels}  # conditional models: the classes
        self.acc += self.model.train_step(xb, self.optimizers, generator=self.gen,
                                          autocast=self.autocast, **given)
        self.count, self.done, self.images = self.count + 1, self.done + 1, self.images + len(xb)
        if (self.count >= self.cfg.log_every or (self.done == 1 and self.cfg.first_report)
                or self.done in self.early
                or time.perf_counter() - self.window_t >= self.cfg.progress_every_s):
            self.report()

    def should_stop(self) -> bool:
        if self.control.paused:
            p0 = time.perf_counter()
            self.control.wait_while_paused()
            self.paused_s += time.perf_counter() - p0
            self.window_t += time.perf_counter() - p0
        return self.control.stop_requested

    # --- reporting ---------------------------------------------------------------------------

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0 - self.paused_s

    def eta(self) -> float:
        return (self.total - self.done) * self.elapsed() / max(self.done, 1)

    @property
    def last_checked_step(self) -> int:
        return self.history[-1]["step"] if self.history else 0

    def event(self, kind: str, **fields) -> None:
        self.callbacks.on_event(TrainEvent(kind, self.done, self.total, self.done / self.steps_per_epoch,
                                   self.cfg.epochs, **fields))

    def report(self) -> None:
        """Read the losses accumulated since the last report; check them and the weights."""
        now = time.perf_counter()
        vals = (self.acc / max(self.count, 1)).tolist()
        if self.health is not None:  # before the NaN check: a spike is the warning before NaN
            self.alarms(self.health.progress(self.done, self.done / self.steps_per_epoch,
                                             dict(zip(self.names, vals))))
        if not all(math.isfinite(v) for v in vals):
            raise Diverged("loss")
        if not self.good.check(self.done):  # also keeps these weights as the last good ones
            raise Diverged("weights")
        self.train_s += now - self.window_t
        ips = (self.images - self.window_images) / max(now - self.window_t, 1e-9)
        losses = dict(zip(self.names, vals))
        self.history.append({"step": self.done, "epoch": self.done / self.steps_per_epoch,
                             **losses, "images_per_s": ips})
        grid = None
        if (self.cfg.grid_every_s is not None and self.model.live_preview
                and now - self.last_grid_t >= self.cfg.grid_every_s):
            grid = self.last_grid = preview_grid(self.model, self.fixed)
            self.last_grid_t = time.perf_counter()
        self.event("progress", losses=losses, images_per_s=ips, eta_s=self.eta(),
                   elapsed_s=self.elapsed(), grid=grid)
        self.acc.zero_()
        self.count = 0
        self.restart_window()

    def alarms(self, fired: list) -> None:
        for a in fired:
            self.event("alarm", alarm=a.to_dict(), message=a.text())

    def restart_window(self) -> None:
        """The next rate window starts now: evaluation and grid time never count as training."""
        self.window_t, self.window_images = time.perf_counter(), self.images

    def train_rate(self) -> float:
        return self.images / max(self.train_s, 1e-9)

    def evaluate_test(self) -> dict:
        self.event("evaluating", images_per_s=self.train_rate(), eta_s=self.eta(),
                   elapsed_s=self.elapsed(),
                   message=f"Evaluating on the test set ({len(self.data.test_x):,} images).")
        return evaluate(self.model, self.data.test_x)

    def end_epoch(self, epoch: int) -> None:
        if self.count:
            self.report()
        test = {}
        if self.cfg.test_every_epoch and self.model.has_encoder and len(self.data.test_x):
            test = self.evaluate_test()
            if not all_finite(test):
                raise Diverged("test")
            self.good.verified(self.done)
        self.test_history.append({"epoch": epoch, **test})
        if self.health is not None:  # before the epoch event, so its checkpoint records them
            self.alarms(self.health.epoch_end(self.done, epoch, test,
                                              None if self.model.has_encoder else self.fixed))
        self.last_grid = preview_grid(self.model, self.fixed)
        self.last_grid_t = time.perf_counter()
        last = self.history[-1] if self.history else {}
        self.event("epoch", losses={k: last[k] for k in self.names if k in last}, test=test,
                   elapsed_s=self.elapsed(), grid=self.last_grid, images_per_s=self.train_rate(),
                   eta_s=self.eta())
        self.restart_window()

    def final_test(self, status: str) -> dict:
        """Test metrics of the final weights (those of the last epoch when it just ran)."""
        self.model.eval()
        if (status == "done" and self.cfg.test_every_epoch and self.test_history
                and self.model.has_encoder):
            return {k: v for k, v in self.test_history[-1].items() if k != "epoch"}
        if not self.model.has_encoder or not len(self.data.test_x):
            return {}
        test = self.evaluate_test()
        if not all_finite(test):
            raise Diverged("test")
        return test

    def restore(self, why: str, advice: str) -> str:
        """Go back to the last weights whose metrics are finite; say which were kept."""
        if self.model.has_encoder and len(self.data.test_x):
            self.event("evaluating", elapsed_s=self.elapsed(),
                       message="Looking for the last weights with finite test metrics.")
        self.restored_test, step, skipped = self.good.restore(
            lambda: evaluate(self.model, self.data.test_x))
        self.kept_step = step
        kept = (f"The weights from step {step:,} (the last good ones) were kept" if step else
                "The initial weights (step 0, the last good ones) were kept")
        if skipped:
            kept += (f"; the later ones from step{'s' if len(skipped) > 1 else ''} "
                     f"{', '.join(f'{s:,}' for s in skipped)} gave NaN or infinite test metrics")
        self.last_grid = preview_grid(self.model, self.fixed)
        return f"{why} {kept}. {advice}"

    def finish(self, status: str, message: str, test: dict | None) -> TrainResult:
        self.model.eval()
        if status == "failed":
            test = self.restored_test
            epochs = self.kept_step / self.steps_per_epoch
        else:
            epochs = self.done / self.steps_per_epoch
        secs = self.elapsed()
        result = TrainResult(status, message, self.history, self.test_history, test, epochs, secs,
                             self.images / max(secs, 1e-9), describe_device(self.dev),
                             self.last_grid, self.cfg,
                             self.health.records if self.health is not None else [])
        done = f"{self.note}Finished {self.cfg.epochs} epochs in {secs:.1f} s."
        self.event(status, test=test, elapsed_s=secs, grid=self.last_grid,
                   message=done if status == "done" else message)
        return result
