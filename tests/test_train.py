"""The trainer on real data: losses fall, stop and pause work, NaN stops cleanly, runs repeat."""
import threading
import types

import torch
from _helpers import wait_until

from genlab.models import ModelConfig, build_model
from genlab.train import TrainConfig, TrainControl, evaluate, fit, to_float


def _train(data, kind, arch="conv", epochs=2, **kw):
    c, h, _ = data.shape
    model = build_model(ModelConfig(kind=kind, arch=arch, latent_dim=kw.pop("latent", 16), channels=c,
                                    image_size=h, hidden=kw.pop("hidden", ())), seed=0)
    before = evaluate(model, data.test_x)
    events = []
    result = fit(model, data, TrainConfig(epochs=epochs, seed=0, log_every=10, **kw),
                 on_event=events.append)
    return model, before, result, events


def test_ae_loss_falls_on_mnist(mnist):
    _, before, result, events = _train(mnist, "ae", epochs=3, hidden=(16,))
    assert result.status == "done"
    assert result.test["mse"] < 0.5 * before["mse"]
    assert result.history[-1]["mse"] < result.history[0]["mse"]
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and kinds.count("epoch") == 3
    epoch = [e for e in events if e.kind == "epoch"][0]
    assert epoch.grid is not None and epoch.grid.dtype.name == "uint8" and epoch.test
    progress = [e for e in events if e.kind == "progress"]
    assert all(e.images_per_s > 0 for e in progress) and progress[-1].eta_s >= 0


def test_vae_loss_falls_on_mnist(mnist):
    _, before, result, _ = _train(mnist, "vae", arch="mlp", epochs=3)
    assert result.test["total"] < 0.6 * before["total"]
    assert result.test["kl"] > 1.0  # the posterior carries information
    assert abs(result.test["total"] - result.test["recon"] - result.test["kl"]) < 1e-3


def test_gan_learns_the_data_distribution(mnist):
    """After a few hundred steps the samples' mean image is far closer to the data's."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="gan", arch="conv", latent_dim=32, hidden=(32,)), seed=0)
    target = to_float(mnist.test_x).mean(0)
    gen = torch.Generator().manual_seed(0)
    gap = lambda: (model.eval().sample(256, gen).mean(0) - target).pow(2).mean().item()  # noqa: E731
    before = gap()
    result = fit(model, mnist, TrainConfig(epochs=4, batch_size=64, seed=0, log_every=20))
    assert result.status == "done" and len(result.history[0]) == 7
    assert gap() < 0.25 * before
    last = result.history[-1]
    assert 0 < last["d_x"] < 1 and 0 < last["d_g_z"] < 1


def test_same_seed_same_losses(digits):
    runs = [_train(digits, "vae", arch="mlp", epochs=2, progress_every_s=1e9) for _ in range(2)]
    (m1, _, r1, _), (m2, _, r2, _) = runs
    assert [r["total"] for r in r1.history] == [r["total"] for r in r2.history]
    assert r1.test == r2.test
    assert all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters()))


def test_stop_within_one_batch_and_keeps_weights(mnist):
    model = build_model(ModelConfig(kind="ae", arch="conv"), seed=0)
    control = TrainControl()
    steps = []

    def on_event(e):
        if e.kind == "progress":
            steps.append(e.step)
            if len(steps) == 2:
                control.stop()

    result = fit(model, mnist, TrainConfig(epochs=50, log_every=5), control, on_event)
    assert result.status == "stopped" and "Stopped" in result.message
    assert steps[-1] - steps[1] <= 1 and result.epochs_done < 1
    assert result.test  # the stopped model is evaluated and usable


class _PauseSpy(TrainControl):
    """A TrainControl that tells when the trainer is actually waiting in a pause."""

    def __init__(self):
        super().__init__()
        self.waiting = threading.Event()

    def wait_while_paused(self):
        self.waiting.set()
        super().wait_while_paused()
        self.waiting.clear()


def test_pause_and_resume(mnist):
    model = build_model(ModelConfig(kind="vae", arch="mlp"), seed=0)
    control = _PauseSpy()
    seen = []
    thread = threading.Thread(target=fit, args=(model, mnist, TrainConfig(epochs=200, log_every=1),
                                                control, lambda e: seen.append(e.step)), daemon=True)
    thread.start()
    try:
        wait_until(lambda: len(seen) >= 3, 120, "three progress events")
        control.pause()
        asked_at = seen[-1]
        wait_until(control.waiting.is_set, 60, "the trainer to pause")
        frozen = list(seen)
        assert frozen[-1] <= asked_at + 1  # at most the batch in flight
        weights = [p.detach().clone() for p in model.parameters()]
        assert control.waiting.is_set() and seen == frozen  # blocked: no step, no event
        assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters()))
        control.resume()
        wait_until(lambda: len(seen) > len(frozen) + 3, 60, "steps after resuming")
        assert seen[len(frozen)] == frozen[-1] + 1  # it goes on where it paused
    finally:
        control.stop()
        thread.join(60)
    assert not thread.is_alive()


def test_images_per_s_counts_training_time_only(digits, monkeypatch):
    """On a clock where each reading takes 1 ms, and the test evaluation and the grid take 1000 s
    each, every progress event still reports the training rate, and the test evaluation is
    announced by an 'evaluating' event just before it runs."""
    import genlab.train.loop as loop
    clock = {"t": 0.0}

    def perf_counter():
        clock["t"] += 0.001
        return clock["t"]

    events = []

    def slow(fn):
        def run(*args, **kw):
            clock["t"] += 1000.0
            return fn(*args, **kw)
        return run

    real_evaluate = loop.evaluate

    def announced_evaluate(*args, **kw):
        assert events[-1].kind == "evaluating" and "test set" in events[-1].message
        return slow(real_evaluate)(*args, **kw)

    monkeypatch.setattr(loop, "time", types.SimpleNamespace(perf_counter=perf_counter))
    monkeypatch.setattr(loop, "evaluate", announced_evaluate)
    monkeypatch.setattr(loop, "preview_grid", slow(loop.preview_grid))
    model = build_model(ModelConfig(kind="vae", arch="mlp", image_size=8, latent_dim=4, hidden=(32,)),
                        seed=0)
    result = fit(model, digits, TrainConfig(epochs=3, batch_size=64, log_every=5, progress_every_s=1e9,
                                            early_reads=False),
                 on_event=events.append)
    assert result.status == "done"
    kinds = [e.kind for e in events]
    assert kinds.count("evaluating") == 3
    assert all(kinds[i - 1] == "evaluating" for i, k in enumerate(kinds) if k == "epoch")
    rates = [e.images_per_s for e in events if e.kind == "progress"]
    after_epoch = [events[i + 1].images_per_s for i, k in enumerate(kinds[:-1])
                   if k == "epoch" and kinds[i + 1] == "progress"]
    assert len(after_epoch) == 2 and len(rates) == 15
    assert max(rates) < 3 * min(rates), rates  # with the 2000 s counted, one would be ~0.3/s
    epoch_rates = [e.images_per_s for e in events if e.kind in ("epoch", "evaluating")]
    assert min(epoch_rates) > min(rates) / 3, epoch_rates
    assert result.seconds > 6000  # evaluation time is still part of the run's duration


def test_nan_loss_stops_with_message_and_last_good_weights(mnist):
    model = build_model(ModelConfig(kind="ae", arch="mlp"), seed=0)
    calls = {"n": 0}

    def poison(_module, _inp, out):  # from the 30th batch on, the decoder produces NaN
        calls["n"] += 1
        return out * float("nan") if calls["n"] > 30 else out

    model.decoder.register_forward_hook(poison)
    result = fit(model, mnist, TrainConfig(epochs=5, log_every=10, test_every_epoch=False))
    assert result.status == "failed" and "NaN" in result.message and "last good" in result.message
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert result.history and all(r["mse"] == r["mse"] for r in result.history)
