"""A run whose loss becomes NaN or infinite stops with an explanation and keeps the last good
weights, which can be saved and loaded again."""
import math

import pytest
import torch

from genlab.models import ModelConfig, build_model
from genlab.store.checkpoint import load_checkpoint, save_checkpoint
from genlab.train import TrainConfig, fit


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _explode(model):
    """What an exploding update does: weights so large that activations overflow."""
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1e30)


def _run(digits, kind, blow_up_at):
    """Train; when event number ``blow_up_at`` of kind start/progress arrives, remember the weights
    (the trainer has just checked them) and make them explode."""
    model = build_model(ModelConfig(kind=kind, arch="mlp", image_size=8, latent_dim=4, hidden=(32,)),
                        seed=0)
    events, seen = [], {}

    def on_event(ev):
        events.append(ev)
        if ev.kind in ("start", "progress"):
            seen["n"] = seen.get("n", 0) + 1
            if seen["n"] == blow_up_at:
                seen["good"], seen["step"] = _state(model), ev.step
                _explode(model)

    cfg = TrainConfig(epochs=2, batch_size=64, seed=0, log_every=4, progress_every_s=1e9,
                      early_reads=False)  # a read every 4 steps exactly
    return model, fit(model, digits, cfg, on_event=on_event), events, seen


@pytest.mark.parametrize("kind", ["ae", "vae", "gan"])
def test_divergence_stops_and_keeps_the_last_good_weights(digits, kind, tmp_path):
    model, result, events, seen = _run(digits, kind, blow_up_at=3)  # start, step 4, step 8
    assert seen["step"] == 8
    assert result.status == "failed" and events[-1].kind == "failed"
    assert events[-1].message == result.message
    assert "NaN or infinite" in result.message and "between steps 8 and 12" in result.message
    assert "last good" in result.message and "lower learning rate" in result.message
    after = _state(model)
    for k, v in seen["good"].items():
        assert torch.equal(after[k], v), k  # exactly the weights of step 8
        assert torch.isfinite(after[k].float()).all()
    assert [r["step"] for r in result.history] == [4, 8]
    assert all(math.isfinite(v) for r in result.history for v in r.values())
    assert all(math.isfinite(v) for v in result.test.values())
    path = save_checkpoint(tmp_path / kind, model, history=result.history, test=result.test,
                           status=result.status, message=result.message)
    loaded, meta = load_checkpoint(path)
    assert meta["status"] == "failed" and meta["message"] == result.message
    for k, v in loaded.state_dict().items():
        assert torch.equal(v, seen["good"][k])


def test_divergence_before_the_first_check_keeps_the_initial_weights(digits):
    model, result, events, seen = _run(digits, "vae", blow_up_at=1)  # at the start event
    assert seen["step"] == 0
    assert result.status == "failed" and "between steps 0 and 4" in result.message
    assert result.history == []
    after = _state(model)
    assert all(torch.equal(after[k], v) for k, v in seen["good"].items())
    initial = _state(build_model(model.config, seed=0))
    assert all(torch.equal(after[k], v) for k, v in initial.items())


# --- the last weights whose *test* metrics are finite, and a save that is never refused ------

def _poison_after_step(model, step_at, poison):
    """Wrap the model's own training step: after the real update of step ``step_at`` (or every
    step from it on), ``poison(model)`` changes the weights to finite values that break the
    test metrics; the losses returned stay those the step really computed (or zeros once they
    are NaN), so only the test metrics can tell."""
    real, count = model.train_step, {"n": 0}

    def step(*args, **kw):
        losses = real(*args, **kw)
        count["n"] += 1
        if count["n"] == step_at or (step_at < 0 and count["n"] >= -step_at):
            poison(model)
        return torch.nan_to_num(losses, nan=0.0, posinf=0.0, neginf=0.0) if step_at < 0 else losses

    model.train_step = step


def _huge_variance(model):
    """log-variance 200: exp(100) overflows float32, so the sampled codes and the test ELBO are
    infinite or NaN while every weight is a finite number."""
    with torch.no_grad():
        model.fc_logvar.bias.fill_(200.0)


def _vae(seed=0):
    return build_model(ModelConfig(kind="vae", arch="mlp", image_size=8, latent_dim=4,
                                   hidden=(32,)), seed=seed)


def _fit_recording(model, digits, **cfg):
    states = {}

    def on_event(ev):
        if ev.kind in ("start", "progress"):
            states[ev.step] = _state(model)

    cfg = TrainConfig(**{"epochs": 2, "batch_size": 64, "seed": 0, "log_every": 4,
                         "progress_every_s": 1e9, "early_reads": False, **cfg})
    return fit(model, digits, cfg, on_event=on_event), states


def test_weights_with_a_finite_loss_but_infinite_test_metrics_are_passed_over(digits, tmp_path):
    from genlab.data import dataset_meta
    from genlab.store.checkpoint import read_meta
    from genlab.train import evaluate, save_trained
    model = _vae()
    _poison_after_step(model, 8, _huge_variance)  # the weights checked at step 8 are the bad ones
    result, states = _fit_recording(model, digits)
    probe = _vae()  # the premise, verified: step 8's weights give non-finite test metrics
    probe.load_state_dict(states[8])
    assert not all(math.isfinite(v) for v in evaluate(probe, digits.test_x).values())
    assert result.status == "failed" and "between steps 8 and 12" in result.message
    assert "weights from step 4 (the last good ones) were kept" in result.message
    assert "step 8 gave NaN or infinite test metrics" in result.message
    after = _state(model)
    assert all(torch.equal(after[k], v) for k, v in states[4].items())  # exactly step 4's
    assert result.test and all(math.isfinite(v) for v in result.test.values())
    assert result.test == evaluate(model, digits.test_x)
    assert result.epochs_done == 4 / 23  # the epochs of the weights kept
    path = save_trained(tmp_path / "vae", model, result, dataset=dataset_meta(digits, "digits"))
    loaded, meta = load_checkpoint(path)
    assert meta["status"] == "failed" and meta["message"] == result.message
    assert meta["test"] == result.test and read_meta(path)["train"]["batch_size"] == 64
    assert all(torch.equal(v, states[4][k]) for k, v in loaded.state_dict().items())


def test_when_every_checked_state_is_bad_the_initial_weights_are_kept(digits):
    """The training losses look fine (zeros), every weight is finite, but from step 1 on the
    test metrics are not: the first epoch's test stops the run and the initial weights return."""
    model = _vae()
    initial = _state(model)
    bad = {**initial, "fc_logvar.bias": torch.full_like(initial["fc_logvar.bias"], 200.0)}
    _poison_after_step(model, -1, lambda m: m.load_state_dict(bad))  # after every step
    events = []
    result = fit(model, digits, TrainConfig(epochs=2, batch_size=64, seed=0, log_every=4,
                                            progress_every_s=1e9, early_reads=False), on_event=events.append)
    assert result.status == "failed"
    assert "test metrics became NaN or infinite at step 23" in result.message
    assert "initial weights (step 0, the last good ones) were kept" in result.message
    assert "steps 23, 20 gave NaN" in result.message
    assert all(torch.equal(v, initial[k]) for k, v in _state(model).items())
    assert all(math.isfinite(v) for v in result.test.values()) and result.epochs_done == 0
    assert [e.kind for e in events][-3:] == ["evaluating", "evaluating", "failed"]


def test_non_finite_metrics_are_saved_as_missing_never_refused(digits, tmp_path):
    from genlab.train import TrainResult, save_trained
    model = _vae()
    inf, nan = float("inf"), float("nan")
    result = TrainResult("failed", "it diverged", [{"step": 4, "total": 3.0}, {"step": 8, "total": nan}],
                         [{"epoch": 1, "total": inf}], {"recon": inf, "kl": 1.0, "total": nan},
                         0.5, 1.0, 100.0, "CPU", config=TrainConfig(epochs=1).resolved("vae"))
    path = save_trained(tmp_path / "m", model, result, dataset={"name": "digits"})
    loaded, meta = load_checkpoint(path)
    assert meta["test"] == {"recon": None, "kl": 1.0, "total": None}
    assert meta["history"][1] == {"step": 8, "total": None}
    assert meta["test_history"] == [{"epoch": 1, "total": None}]
    assert meta["train"]["lr"] == 1e-3 and meta["train"]["betas"] == [0.9, 0.999]
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in loaded.state_dict().items())


def test_the_cli_always_leaves_a_loadable_model_and_the_reason(tmp_path):
    """The case from the issue: learning rate 0.9 blows the VAE up within its first steps."""
    from _helpers import run_genlab
    r = run_genlab("train", "--model", "vae", "--dataset", "digits", "--epochs", "3", "--lr", "0.9",
                   "--quiet", "--out", tmp_path / "vae")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "became NaN or infinite" in r.stdout and "were kept" in r.stdout
    assert "lower learning rate" in r.stdout and "Traceback" not in r.stderr
    model, meta = load_checkpoint(tmp_path / "vae.safetensors")
    assert meta["status"] == "failed" and "were kept" in meta["message"]
    assert all(v is None or math.isfinite(v) for v in meta["test"].values())
    assert all(torch.isfinite(p).all() for p in model.parameters())
