"""The alarms of flow-matching and DDPM models, provoked for real on real data: the loss stuck at
its trivial value (the network still predicts zero: flow 1 + E[x^2], DDPM E|eps|^2 = 1) when the
learning rate is far too small; saturated samples at a very high guidance weight (the Sampling
studio); and none on a healthy run or at a moderate guidance."""
import pytest
import torch

from genlab.models import ModelConfig, build_model
from genlab.train import TrainConfig, fit
from genlab.train.alarms import KINDS
from genlab.train.denoise_health import saturation_alarm, trivial_loss

LESSON = (16,)  # the lesson-size U-Net


def train(data, kind, seed, k=0, **tc):
    model = build_model(ModelConfig(kind, "conv", 1, data.shape[1], hidden=LESSON, num_classes=k
                                    ).validate(), seed=seed)
    events = []
    res = fit(model, data, TrainConfig(seed=seed, batch_size=32, **tc),
              on_event=lambda e: events.append(e) if e.kind == "alarm" else None)
    assert res.status == "done", res.message
    return model, res, [e.alarm for e in events]


def test_the_trivial_loss_is_that_of_predicting_zero(digits):
    x = digits.train_x[:500]
    assert trivial_loss("ddpm", x) == 1.0 and trivial_loss("vae", x) is None
    flow = build_model(ModelConfig("flow", "conv", 1, 8, hidden=LESSON).validate(), seed=0)
    g = torch.Generator().manual_seed(0)
    loss, _ = flow.loss(x.float() / 255, generator=g)  # the zero-initialised U-Net: predicts 0
    assert loss.item() == pytest.approx(trivial_loss("flow", x), rel=0.03)


@pytest.mark.parametrize("kind", ["flow", "ddpm"])
def test_stuck_at_the_trivial_loss_when_the_learning_rate_is_tiny(digits, kind):
    """lr 1e-7: the loss stays at ~100% of the trivial value (fires at the second epoch end past
    150 steps, with margin: STUCK is 90%); lr 2e-3 (healthy): far below it within an epoch,
    nothing fires. Two seeds each."""
    for seed in (1, 2):
        _, res, alarms = train(digits, kind, seed, epochs=5, lr=1e-7)
        stuck = [a for a in alarms if a["id"] == "trivial_loss"]
        assert len(stuck) == 1 and stuck[0] in res.alarms, alarms
        a = stuck[0]
        assert a["name"] == KINDS["trivial_loss"][0] and "--lr" in a["advice"]
        assert a["numbers"]["loss"] > 0.97 * a["numbers"]["trivial"] and a["step"] >= 150
        _, res, alarms = train(digits, kind, seed, epochs=5, lr=2e-3)
        assert alarms == [] and res.history[-1]["loss"] < 0.6 * a["numbers"]["trivial"], alarms


def test_saturated_samples_at_a_very_high_guidance():
    """The shipped conditional flow, the same 64 noises and classes: at w = 2 and 3 no alarm
    (its own default is 1.5); at w = 7 (the studio's highest) the samples overshoot black and
    white and the alarm fires. Measured shares of pixels overshooting by > 0.1, the 72-epoch file
    of 2026-12-05: 0.00%, 0.01%, 2.9% (threshold 1.5%; the 36-epoch file: 0.06%, 0.7%, 12%)."""
    from genlab.models import noise
    from genlab.store.catalog import WEIGHTS_DIR
    from genlab.store.checkpoint import load_checkpoint
    from genlab.train.denoise_health import OVERSHOOT, SATURATED
    cflow, _ = load_checkpoint(WEIGHTS_DIR / "mnist-cflow.safetensors")
    z, y = noise(64, 784, 0), torch.arange(64) % 10
    shares, alarms = {}, {}
    for w in (2.0, 3.0, 7.0):
        with torch.no_grad():
            raw = cflow.eval().decode(z, y, guidance=w, clamp=False)
        alarms[w] = saturation_alarm(raw, w)
        shares[w] = float(((raw < -OVERSHOOT) | (raw > 1 + OVERSHOOT)).float().mean())
    print("share of overshooting pixels by guidance", shares)
    assert alarms[2.0] is None and alarms[3.0] is None and alarms[7.0] is not None, shares
    a = alarms[7.0]
    assert a.id == "saturated" and a.numbers["guidance"] == 7.0 and "guidance" in a.advice.lower()
    assert shares[7.0] > 1.5 * SATURATED and shares[3.0] < 0.3 * SATURATED
    assert saturation_alarm(torch.full((4, 1, 8, 8), 2.0), 1.0) is None  # w <= 1: not guidance
