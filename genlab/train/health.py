"""Training-health alarms: the failures students meet, named while the run goes on.

``HealthMonitor`` watches one training run. The trainer gives it the losses it already read
(``progress``: no extra host sync) and calls ``epoch_end`` once per epoch, where the checks that
need the model look at a few hundred images. Each alarm fires at most once per run, as an
``Alarm`` (``genlab.train.alarms``: a one-sentence diagnosis, the evidence in numbers and what
to try, named as the CLI flag and the Train page setting). ``check_history`` runs the loss-based checks over a stored history
(a checkpoint's meta).
"""
from __future__ import annotations

import math
import statistics
from collections import deque

import torch

from genlab.data import to_float
from genlab.metrics.frechet import class_coverage
from genlab.train.alarms import KINDS, Alarm
from genlab.train.denoise_health import STUCK, trivial_loss

ACTIVE_VAR = 0.01  # a latent unit is active if Var_x E[z|x] > 0.01 (Burda et al., 2016)
MIN_STEPS = 150  # epoch-level checks (collapse, nothing learned) and D wins start after this
# many steps (a DCGAN's discriminator often leads for its first hundred steps, then the G catches up)...
PERSIST = 2  # ...and fire when the condition holds at this many epoch ends in a row
PROBE = 256  # images looked at by the epoch-level checks
OVERFIT = 0.05  # overfitting: a test loss that rose twice and is this share above its best (noisy)
SPIKE = {"ae": 4.0, "vae": 4.0, "gan": 10.0, "flow": 4.0, "ddpm": 4.0}  # a loss this many times its running median
# ...and, for a GAN, above a level a healthy run does not reach: a D loss back at 2.8 after a
# stretch at 0.12 is the generator catching up (the shipped cGAN does it), not a blow-up
SPIKE_FLOOR = {"d_loss": 5.0, "g_loss": 20.0}
WATCH = {"ae": ("mse",), "vae": ("total",), "gan": ("d_loss", "g_loss"), "flow": ("loss",),
         "ddpm": ("loss",)}
TEST_KEY = {"ae": "mse", "vae": "total"}  # the test loss the overfitting check watches


def _spread(x: torch.Tensor) -> float:
    """Mean pairwise RMS distance between the images of ``x`` (N, ...)."""
    f = x.float().flatten(1)
    d = torch.cdist(f, f) / math.sqrt(f.shape[1])
    n = len(f)
    return float(d.sum() / max(n * (n - 1), 1))


class HealthMonitor:
    """The detectors of one run; ``fired`` lists the alarms raised so far (each id once)."""

    def __init__(self, kind: str, steps_per_epoch: int, model=None, data=None, seed: int = 0,
                 classifier=None, real_target: float = 1.0) -> None:
        self.kind, self.model, self.classifier = kind, model, classifier
        # GAN: D's target for real images (1 - label smoothing): D(x) cannot pass it, so "D wins"
        # reads D(x) against 0.9 of it (with smoothing 0.1 a winning D sits at D(x) ≈ 0.9)
        self.real_target = real_target
        self.steps_per_epoch = steps_per_epoch
        self.fired: list[Alarm] = []
        self.window: dict[str, deque] = {k: deque(maxlen=20) for k in WATCH.get(kind, ())}
        self.stretch: tuple[int, float] | None = None  # D-wins: (first step, G loss then)
        self.epoch_sums: dict[str, float] = {}
        self.epoch_steps = self.last_step = 0
        self.train_means: list[float] = []  # per epoch, and the test losses beside them
        self.tests: list[float] = []
        self.streak: dict[str, int] = {}  # epoch ends in a row a condition held
        self.best: dict[str, float] = {}  # mode collapse: the best diversity and coverage seen
        if data is not None:
            gen = torch.Generator().manual_seed(seed)
            pick = lambda x: x[torch.randperm(len(x), generator=gen)[:PROBE]]  # noqa: E731
            self.probe = pick(data.test_x if len(data.test_x) else data.train_x)
            self.real_spread = _spread(to_float(pick(data.train_x)[:32]))
        self.trivial = trivial_loss(kind, self.probe if data is not None else None)
        self.noise_sum = self.noise_steps = 0.0  # flow / DDPM: this epoch's loss, summed

    # --- what the trainer calls --------------------------------------------------------------

    def progress(self, step: int, epoch: float, losses: dict) -> list[Alarm]:
        """Losses just read (means since the last reading): divergence and D-wins checks."""
        n = step - self.last_step
        self.last_step = step
        key = TEST_KEY.get(self.kind)
        if key in losses and math.isfinite(losses[key]):
            self.epoch_sums[key] = self.epoch_sums.get(key, 0.0) + losses[key] * n
            self.epoch_steps += n
        if self.trivial and math.isfinite(losses.get("loss", math.nan)):
            self.noise_sum += losses["loss"] * n
            self.noise_steps += n
        return self._keep([self._spike(step, epoch, losses),
                           self._d_wins(step, epoch, losses) if self.kind == "gan" else None])

    def epoch_end(self, step: int, epoch: int, test: dict | None, fixed=None) -> list[Alarm]:
        """End of an epoch: overfitting, posterior collapse, nothing learned, mode collapse.
        ``fixed``: the GAN's fixed preview noise."""
        out = [self._epoch_losses(step, epoch, test), self._stuck(step, epoch)]
        if self.model is None:
            return self._keep(out)
        was = self.model.training
        self.model.eval()
        with torch.no_grad():
            if self.kind == "vae":
                out.append(self._collapse(step, epoch))
            if self.kind in ("ae", "vae"):
                out.append(self._nothing(step, epoch))
            if self.kind == "gan" and fixed is not None:
                out.append(self._modes(step, epoch, fixed))
        self.model.train(was)
        return self._keep(out)

    @property
    def records(self) -> list[dict]:
        return [a.to_dict() for a in self.fired]

    # --- the detectors ------------------------------------------------------------------------

    def _epoch_losses(self, step: int, epoch: int, test: dict | None) -> Alarm | None:
        """Close the epoch's mean training loss; check overfitting against the test loss."""
        key, alarm = TEST_KEY.get(self.kind), None
        if key and self.epoch_steps:
            self.train_means.append(self.epoch_sums.get(key, 0.0) / self.epoch_steps)
            value = (test or {}).get(key)
            if isinstance(value, (int, float)) and math.isfinite(value):
                self.tests.append(float(value))
                alarm = self._overfit(step, epoch)
        self.epoch_sums, self.epoch_steps = {}, 0
        return alarm

    def _keep(self, alarms: list[Alarm | None]) -> list[Alarm]:
        new = [a for a in alarms if a is not None and a.id not in {f.id for f in self.fired}]
        self.fired += new
        return new

    def _alarm(self, id: str, step: int, epoch: float, message: str, evidence: str,
               **numbers) -> Alarm | None:
        if any(f.id == id for f in self.fired):
            return None
        name, advice = KINDS[id]
        return Alarm(id, name, int(step), round(float(epoch), 3), message, evidence, advice,
                     {k: round(float(v), 5) for k, v in numbers.items()})

    def _persist(self, id: str, condition: bool, step: int) -> bool:
        self.streak[id] = self.streak.get(id, 0) + 1 if condition and step >= MIN_STEPS else 0
        return self.streak[id] >= PERSIST

    def _stuck(self, step: int, epoch: int) -> Alarm | None:
        """Flow / DDPM: the epoch's mean loss still near that of predicting zero."""
        if not self.trivial or not self.noise_steps:
            return None
        mean = self.noise_sum / self.noise_steps
        self.noise_sum = self.noise_steps = 0.0
        if not self._persist("trivial_loss", mean >= STUCK * self.trivial, step):
            return None
        what = ("data − noise" if self.kind == "flow" else "the noise")
        return self._alarm(
            "trivial_loss", step, epoch,
            f"The loss is stuck near its trivial value: the network still predicts about zero "
            f"instead of {what}, so it has learned nothing.",
            f"Mean loss {mean:.4g} over epoch {epoch}, {mean / self.trivial:.0%} of the trivial "
            f"{self.trivial:.4g} (a network that outputs zero); a learning model is far below it "
            "within the first epoch.", loss=mean, trivial=self.trivial)

    def _spike(self, step: int, epoch: float, losses: dict) -> Alarm | None:
        for k, win in self.window.items():
            v = losses.get(k)
            if v is None or not math.isfinite(v):
                continue
            if len(win) >= 5:
                med = statistics.median(win)
                limit = max(SPIKE[self.kind] * max(med, 1e-6), SPIKE_FLOOR.get(k, 0.0))
                if v > limit:
                    return self._alarm(
                        "divergence", step, epoch,
                        f"The {k} jumped far above its recent level: training may be about to "
                        "blow up (NaN).",
                        f"{k} = {v:.4g} at step {step:,}, {v / max(med, 1e-12):.1f}× its running "
                        f"median of {med:.4g} over the last {len(win)} readings.",
                        value=v, median=med)
            win.append(v)
        return None

    def _d_wins(self, step: int, epoch: float, losses: dict) -> Alarm | None:
        dx, dgz, g = losses.get("d_x"), losses.get("d_g_z"), losses.get("g_loss")
        if dx is None or dgz is None or g is None:
            return None
        if not (dx > 0.9 * self.real_target and dgz < 0.1) or step < MIN_STEPS:  # early dominance often passes
            self.stretch = None
            return None
        if self.stretch is None:
            self.stretch = (step, g)
            return None
        first, g0 = self.stretch
        need = max(50, self.steps_per_epoch // 2)
        if step - first >= need and g >= g0:
            return self._alarm(
                "d_wins", step, epoch,
                "The discriminator tells real from fake almost perfectly, so the generator gets "
                "almost no useful gradient.",
                f"D(x) = {dx:.3f} and D(G(z)) = {dgz:.3f} (held above 0.9 / below 0.1 since step "
                f"{first:,}, {step - first:,} steps); G loss rose from {g0:.3g} to {g:.3g}.",
                d_x=dx, d_g_z=dgz, g_loss=g, g_loss_start=g0, since_step=first)
        return None

    def _overfit(self, step: int, epoch: int) -> Alarm | None:
        t, tr = self.tests[-3:], self.train_means[-3:]
        if len(t) < 3 or len(tr) < 3:
            return None
        best = min(self.tests)
        if t[0] < t[1] < t[2] and t[2] >= best + OVERFIT * abs(best) and tr[2] < tr[0]:
            key = TEST_KEY[self.kind]
            return self._alarm(
                "overfitting", step, epoch,
                "The test loss has risen for two epochs in a row while the training loss "
                "fell: the model is memorising its training images.",
                f"Test {key} {t[0]:.4g} → {t[1]:.4g} → {t[2]:.4g} (epochs {epoch - 2}–{epoch}); "
                f"training {key} {tr[0]:.4g} → {tr[2]:.4g}; the best test {key} was {best:.4g} "
                f"({(t[2] - best) / abs(best):.0%} lower).",
                test_before=t[0], test_now=t[2], test_best=best, train_before=tr[0],
                train_now=tr[2])
        return None

    def _collapse(self, step: int, epoch: int) -> Alarm | None:
        x = to_float(self.probe.to(self.model.device))
        mu, logvar = (t.float() for t in self.model.posterior(x))
        var = mu.var(0).cpu().numpy()
        kl = (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)).mean(0).cpu().numpy()
        d = len(var)
        active, quiet = int((var > ACTIVE_VAR).sum()), int((kl < 0.01).sum())
        if not self._persist("posterior_collapse", active < d / 4 or quiet > d / 2, step):
            return None
        return self._alarm(
            "posterior_collapse", step, epoch,
            "The encoder's codes carry almost no information: the decoder ignores the latent "
            "space (posterior collapse).",
            f"{active} of {d} latent units are active (variance of the posterior mean > "
            f"{ACTIVE_VAR}); {quiet} of {d} have a KL below 0.01 nats; KL in all "
            f"{float(kl.sum()):.3g} nats per image, on {len(x)} test images.",
            active=active, latent_dim=d, quiet=quiet, kl=float(kl.sum()))

    def _nothing(self, step: int, epoch: int) -> Alarm | None:
        x = to_float(self.probe.to(self.model.device))
        r = self.model.reconstruct(x).float()
        spread, data_spread = _spread(r), _spread(x)
        to_mean = float((r - x.mean(0)).pow(2).mean().sqrt())
        ratio = spread / max(data_spread, 1e-9)
        if not self._persist("nothing_learned", ratio < 0.1, step):
            return None
        return self._alarm(
            "nothing_learned", step, epoch,
            "The reconstructions are all nearly the same image ("
            + ("close to the data set's mean image" if to_mean < 0.5 * data_spread else
               "whatever the input") + "): the model has not learned to tell its inputs apart.",
            f"The reconstructions of {len(x)} test images differ from each other by {spread:.3g} "
            f"(RMS per pixel), the images themselves by {data_spread:.3g} ({ratio:.0%}); they are "
            f"{to_mean:.3g} from the mean image.",
            spread=spread, data_spread=data_spread, to_mean=to_mean)

    def _modes(self, step: int, epoch: int, fixed: torch.Tensor) -> Alarm | None:
        s = self.model.decode(fixed).float()
        ratio = _spread(s) / max(self.real_spread, 1e-9)
        cov = None
        if self.classifier is not None:
            clf = self.classifier
            cov = class_coverage(clf(s.to(next(clf.parameters()).device)).argmax(1).cpu(),
                                 clf.config.n_classes)
        top = self.best.get("ratio", 0.0)
        top_cov = self.best.get("cov", 0.0)
        self.best["ratio"] = max(top, ratio)
        lost = ratio < 0.5 * top and ratio < 0.4
        if cov is not None:
            self.best["cov"] = max(top_cov, cov)
            lost = lost or (cov < 0.5 and top_cov - cov >= 0.25)
        if not lost:
            return None
        cov_text = (f"; the classifier's class coverage fell from {top_cov:.2f} to {cov:.2f}"
                    if cov is not None else "")
        return self._alarm(
            "mode_collapse", step, epoch,
            "The generator's samples from the fixed noise have lost their variety: it produces "
            "a few images over and over (mode collapse).",
            f"The {len(s)} fixed-noise samples differ from each other by {ratio:.0%} of what real "
            f"images do (it was {top:.0%} at best){cov_text}.",
            diversity=ratio, best_diversity=top, **({"coverage": cov} if cov is not None else {}))


def check_history(kind: str, history: list[dict], test_history: list[dict],
                  steps_per_epoch: int, label_smoothing: float = 0.0) -> list[Alarm]:
    """The loss-based alarms (divergence, D wins, overfitting) over a stored history (a
    checkpoint's meta), as the trainer would have raised them."""
    mon = HealthMonitor(kind, steps_per_epoch, real_target=1.0 - label_smoothing)
    tests = {int(round(r["epoch"])): r for r in test_history if "epoch" in r}
    epoch = 1
    for row in history:
        mon.progress(row["step"], row["epoch"], row)
        while row["epoch"] >= epoch - 1e-9:
            mon._keep([mon._epoch_losses(row["step"], epoch, tests.get(epoch))])
            epoch += 1
    return mon.fired
