"""A run whose loss becomes NaN or infinite stops with an explanation and keeps the last good
weights, which can be saved and loaded again."""
import math

import pytest
import torch

from genlab.checkpoint import load_checkpoint, save_checkpoint
from genlab.models import ModelConfig, build_model
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

    cfg = TrainConfig(epochs=2, batch_size=64, seed=0, log_every=4, progress_every_s=1e9)
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
