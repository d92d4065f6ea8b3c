"""Training-health alarms, provoked for real on real data (digits, an MNIST subset), none on the
shipped recipes or the shipped models' stored histories; the knobs the alarms recommend (KL
warm-up, D learning rate, label smoothing, D steps) change training as they say; the CLI prints
an alarm once and stores it in the checkpoint; a job's snapshot carries it."""
import dataclasses
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from _helpers import run_genlab

from genlab.models import ModelConfig, build_model
from genlab.store.checkpoint import read_meta
from genlab.train import TrainConfig, fit
from genlab.train.health import KINDS, MIN_STEPS, check_history

ROOT = Path(__file__).resolve().parent.parent


def train(data, kind, arch="mlp", latent=8, hidden=(64,), beta=1.0, seed=1, **tc):
    """Train a small model; returns (model, result, the alarm events in order). ``seed`` sets the
    initial weights and the batch order."""
    model = build_model(ModelConfig(kind, arch, 1, data.shape[1], latent, hidden, beta).validate(),
                        seed=seed)
    events = []
    res = fit(model, data, TrainConfig(seed=seed, **tc),
              on_event=lambda e: events.append(e) if e.kind == "alarm" else None)
    return model, res, events


def fires_in(alarm_id, need, seeds, data, kind, **kw):
    """Train the same recipe once per seed (other initial weights, other batch orders); the named
    alarm must fire, exactly once and checked whole, in at least ``need`` of the runs. A chaotic
    run (a GAN at a learning rate far too high) takes another path on another CPU, so a test
    that depends on one run's path fails there: the recipes provoke each alarm with margin, and
    the counts below were checked over seeds 1-8 and 101-108 at 1 and 2 threads."""
    got = []
    for seed in seeds:
        _, res, events = train(data, kind, seed=seed, **kw)
        if any(e.alarm["id"] == alarm_id for e in events):
            got.append(only(res, events, alarm_id))
    assert len(got) >= need, f"{alarm_id} fired in {len(got)} of {len(seeds)} runs, want {need}"
    return got


def only(res, events, alarm_id):
    """The one alarm ``alarm_id`` the run raised (as an event and in the result), checked whole."""
    fired = [e for e in events if e.alarm["id"] == alarm_id]
    assert len(fired) == 1, [e.message for e in events]
    a = fired[0].alarm
    assert a in res.alarms and a["name"] == KINDS[alarm_id][0] and a["advice"] == KINDS[alarm_id][1]
    assert a["message"].endswith(".") and a["evidence"] and a["numbers"]
    assert fired[0].step == a["step"] > 0 and a["name"] in fired[0].message
    return a


def test_posterior_collapse_with_a_large_beta(digits):
    _, res, events = train(digits, "vae", beta=25.0, epochs=14, batch_size=128)
    a = only(res, events, "posterior_collapse")
    assert a["numbers"]["active"] < 8 / 4 and a["numbers"]["latent_dim"] == 8
    assert f"{int(a['numbers']['active'])} of 8 latent units are active" in a["evidence"]
    assert "--kl-warmup" in a["advice"] and "--beta" in a["advice"]


def test_nothing_learned_when_the_learning_rate_is_tiny(digits):
    _, res, events = train(digits, "ae", epochs=14, batch_size=128, lr=1e-6)
    a = only(res, events, "nothing_learned")
    assert a["numbers"]["spread"] < 0.1 * a["numbers"]["data_spread"]
    assert "--lr" in a["advice"]


def test_discriminator_wins_when_d_learns_ten_times_faster(digits):
    """D's learning rate ×10 and G's ÷10 of the DCGAN recipe (2e-4): fired in 16 of 16 runs."""
    for a in fires_in("d_wins", 2, (1, 2, 3), digits, "gan", latent=16, hidden=(128, 256),
                      epochs=12, lr=2e-5, lr_d=2e-3):
        n = a["numbers"]
        assert n["d_x"] > 0.9 and n["d_g_z"] < 0.1 and n["g_loss"] >= n["g_loss_start"]
        assert n["since_step"] >= MIN_STEPS  # past the first steps, where D often leads a while
        assert "--lr-d" in a["advice"] and "--label-smoothing" in a["advice"]


def test_mode_collapse_when_g_learns_far_too_fast(digits):
    """G's learning rate 50× the recipe's and D's a tenth: G chases D's favourite image faster
    than D can move it. Fired in 48 of 50 runs (seeds 1-10 and 101-110, 1 and 2 threads;
    the old recipe, D at 2e-4, in 3 of 5)."""
    for a in fires_in("mode_collapse", 4, range(1, 7), digits, "gan", latent=16,
                      hidden=(128, 256), epochs=8, lr=1e-2, lr_d=2e-5):
        assert a["numbers"]["diversity"] < 0.5 * a["numbers"]["best_diversity"]
        assert a["numbers"]["diversity"] < 0.4
        assert "--seed" in a["advice"]


def test_overfitting_on_a_tiny_training_set(mnist):
    """16 training images of the MNIST subset (300 test images to measure it), 20 epochs."""
    data = dataclasses.replace(mnist, train_x=mnist.train_x[:16], train_y=mnist.train_y[:16],
                               test_x=mnist.test_x[:300], test_y=mnist.test_y[:300])
    seeds, fired = range(1, 7), 0
    for seed in seeds:
        _, res, events = train(data, "vae", latent=32, hidden=(1024,), epochs=20, batch_size=8,
                               lr=3e-3, seed=seed)
        if not any(e.alarm["id"] == "overfitting" for e in events):
            continue
        fired += 1
        a = only(res, events, "overfitting")
        n = a["numbers"]
        assert n["test_now"] > n["test_before"] and n["train_now"] < n["train_before"]
        assert n["test_now"] >= 1.05 * n["test_best"]
        rows = {r["epoch"]: r["total"] for r in res.test_history}
        assert rows[a["epoch"]] == pytest.approx(n["test_now"])  # the evidence: the test history
    assert fired >= 3, f"overfitting fired in {fired} of {len(seeds)} runs"  # 15 of 16 checked


def test_divergence_ahead_before_nan(digits):
    """A learning rate of 0.3 blows a VAE up within two epochs; most runs pass through a finite
    spike first (12 of 16 checked), the others go straight to NaN (stopped by the NaN guard)."""
    seeds, fired = range(1, 9), 0
    for seed in seeds:
        _, res, events = train(digits, "vae", epochs=2, lr=0.3, log_every=1, seed=seed)
        if not any(e.alarm["id"] == "divergence" for e in events):
            continue
        fired += 1
        a = only(res, events, "divergence")
        assert a["numbers"]["value"] > 4 * a["numbers"]["median"]
        spike = next(r for r in res.history if r["step"] == a["step"])  # a finite reading
        assert spike["total"] == pytest.approx(a["numbers"]["value"], rel=1e-4)
    assert fired >= 3, f"divergence fired in {fired} of {len(seeds)} runs"


def test_no_alarm_on_the_shipped_recipes(digits):
    """genlab.settings as shipped, long enough for every epoch-level check to have run."""
    for kind, arch, epochs in (("vae", "conv", 14), ("ae", "mlp", 14), ("gan", "conv", 7)):
        model = build_model(ModelConfig(kind, arch, 1, 8).validate(), seed=1)
        res = fit(model, digits, TrainConfig(epochs=epochs))
        assert res.status == "done" and res.alarms == [], (kind, arch, res.alarms)
        assert res.history[-1]["step"] >= 150  # past the checks' warm-up (alarms.MIN_STEPS)


def test_no_alarm_on_the_shipped_models_histories():
    checked = 0
    for path in sorted((ROOT / "weights").glob("*.json")):
        meta = json.loads(path.read_text())
        if "history" not in meta or "model" not in meta:
            continue  # the metric classifiers
        last = meta["history"][-1]
        fired = check_history(meta["model"]["kind"], meta["history"], meta["test_history"],
                              round(last["step"] / last["epoch"]), meta["train"].get("label_smoothing", 0.0))
        assert fired == [], (path.name, [a.text() for a in fired])
        checked += 1
    assert checked >= 6


# --- the knobs -------------------------------------------------------------------------------

def _spy_steps(model, seen):
    step = model.train_step

    def spy(x, optimizers, **kw):
        seen.append((getattr(model, "kl_scale", None), optimizers))
        return step(x, optimizers, **kw)
    model.train_step = spy


def test_kl_warmup_starts_beta_at_zero_and_rises_linearly(digits):
    model = build_model(ModelConfig("vae", "mlp", 1, 8, 8, (64,)).validate(), seed=1)
    seen = []
    _spy_steps(model, seen)
    res = fit(model, digits, TrainConfig(epochs=3, kl_warmup_epochs=2))
    per = len(seen) // 3
    scales = [s for s, _ in seen]
    assert scales[0] == 0.0 and scales[per] == pytest.approx(0.5) and scales[2 * per:] == [1.0] * per
    assert all(b > a for a, b in zip(scales[:2 * per], scales[1:2 * per]))
    assert res.config.kl_warmup_epochs == 2


def test_d_steps_lr_d_and_label_smoothing_reach_the_gan(digits):
    model = build_model(ModelConfig("gan", "mlp", 1, 8, 16, (64, 64)).validate(), seed=1)
    seen = []
    _spy_steps(model, seen)
    fit(model, digits, TrainConfig(epochs=1, lr=1e-4, lr_d=1e-3, d_steps=2, label_smoothing=0.1))
    opt_g, opt_d = seen[0][1]
    assert opt_g.param_groups[0]["lr"] == 1e-4 and opt_d.param_groups[0]["lr"] == 1e-3
    d_updates = {int(s["step"]) for s in opt_d.state.values()}
    g_updates = {int(s["step"]) for s in opt_g.state.values()}
    assert d_updates == {2 * len(seen)} and g_updates == {len(seen)}  # two D updates per G update
    # one-sided label smoothing: D's target for real images is 0.9, for fakes still 0
    real, fake = to_float_batch(digits.train_x[:64]), model.decode(torch.randn(64, 16))
    with torch.no_grad():
        loss, _, _ = model.d_loss(real, fake)
        lr_, lf = model.critic(real).float(), model.critic(fake).float()
    want = (F.binary_cross_entropy_with_logits(lr_, torch.full_like(lr_, 0.9))
            + F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf)))
    assert float(loss) == pytest.approx(float(want), rel=1e-6)
    model.label_smoothing = 0.0
    with torch.no_grad():
        assert float(model.d_loss(real, fake)[0]) != pytest.approx(float(want), rel=1e-6)


def to_float_batch(x_u8):
    from genlab.data import to_float
    return to_float(x_u8)


def test_lr_d_equal_to_lr_trains_exactly_as_the_default(digits):
    """Defaults stay the seed recipe: D's own learning rate set to G's changes nothing."""
    states = []
    for knobs in ({}, {"lr_d": 2e-4, "d_steps": 1, "label_smoothing": 0.0}):
        model = build_model(ModelConfig("gan", "mlp", 1, 8, 16, (64, 64)).validate(), seed=1)
        fit(model, digits, TrainConfig(epochs=1, **knobs))
        states.append(model.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


@pytest.mark.parametrize("knobs, words", [
    ({"label_smoothing": 0.7}, "Label smoothing must be in [0, 0.5), not 0.7"),
    ({"d_steps": 0}, "D steps per G step must be between 1 and 10"),
    ({"lr_d": 5.0}, "discriminator's learning rate must be in (0, 1]"),
    ({"kl_warmup_epochs": -1}, "KL warm-up (epochs) must be in [0, 100000], not -1"),
])
def test_bad_knob_values_are_refused_in_words(digits, knobs, words):
    model = build_model(ModelConfig("gan", "mlp", 1, 8, 16, (32,)).validate(), seed=1)
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        fit(model, digits, TrainConfig(epochs=1, **knobs))


def test_a_gan_knob_on_a_vae_is_refused(digits):
    model = build_model(ModelConfig("vae", "mlp", 1, 8, 8, (32,)).validate(), seed=1)
    with pytest.raises(ValueError, match="applies to a GAN only"):
        fit(model, digits, TrainConfig(epochs=1, d_steps=3))


# --- CLI, checkpoint, job snapshot -----------------------------------------------------------

def test_cli_prints_the_alarm_once_and_stores_it(tmp_path):
    out = tmp_path / "collapse"
    r = run_genlab("train", "--model", "vae", "--arch", "mlp", "--hidden", "64", "--latent-dim", "8",
                   "--beta", "25", "--dataset", "digits", "--epochs", "14", "--out", str(out))
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if "ALARM" in ln]
    assert len([ln for ln in lines if "Posterior collapse" in ln]) == 1, r.stderr
    assert "Try: Lower β (--beta" in lines[0] and "latent units are active" in lines[0]
    assert "health alarms: Posterior collapse" in r.stdout
    meta = read_meta(str(out) + ".safetensors")
    assert [a["id"] for a in meta["alarms"]][:1] == ["posterior_collapse"]
    assert meta["alarms"][0]["step"] > 0 and meta["train"]["kl_warmup_epochs"] == 0


def test_cli_gan_knob_flags_end_to_end(tmp_path):
    out = tmp_path / "dwins"
    r = run_genlab("train", "--model", "gan", "--arch", "mlp", "--hidden", "128,256", "--latent-dim",
                   "16", "--dataset", "digits", "--epochs", "12", "--lr", "2e-5", "--lr-d", "2e-3",
                   "--d-steps", "1", "--label-smoothing", "0", "--quiet", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("ALARM Discriminator wins") == 1, r.stderr
    meta = read_meta(str(out) + ".safetensors")
    assert meta["train"]["lr_d"] == 2e-3 and meta["train"]["lr"] == 2e-5
    assert [a["id"] for a in meta["alarms"]] == ["d_wins"]
    bad = run_genlab("train", "--model", "vae", "--dataset", "digits", "--lr-d", "1e-3", "--quiet")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip() == ("error: The D learning rate applies to a GAN only; leave it at "
                                  "its default.")
    worse = run_genlab("train", "--model", "gan", "--dataset", "digits", "--label-smoothing", "0.5")
    assert worse.returncode == 2 and "--label-smoothing must be in [0, 0.5), not 0.5" in worse.stderr


def test_job_snapshot_and_checkpoint_carry_the_alarms(digits, tmp_path):
    from genlab.jobs import JobSpec
    from genlab.jobs.live import Live
    from genlab.jobs.worker import run_training
    from genlab.train import TrainControl
    spec = JobSpec("digits", ModelConfig("vae", "mlp", latent_dim=8, hidden=(64,), beta=25.0),
                   TrainConfig(epochs=14, seed=1), "collapse")
    live = Live()
    final = run_training({"spec": spec, "path": str(tmp_path / "job"), "data": digits},
                         TrainControl(), live.apply)
    assert final["state"] == "done", final
    snap = live.snapshot("j1", "collapse", "vae", 100)
    assert [a["id"] for a in snap.alarms][:1] == ["posterior_collapse"]
    assert snap.images_per_s > 0 and snap.step == snap.total_steps  # alarm events kept progress
    assert read_meta(final["path"])["alarms"] == snap.alarms


def test_alarm_marks_on_the_live_curves():
    from pages._ui import curves
    from pages._ui.alarms import alarm_text, mark_alarms
    hist = [{"step": s, "epoch": s / 10, "recon": 30.0 - s / 10, "kl": 0.1, "total": 30.1 - s / 10}
            for s in range(1, 40)]
    alarm = {"id": "posterior_collapse", "name": "Posterior collapse", "step": 25, "epoch": 2.5,
             "message": "m.", "evidence": "e.", "advice": "a."}
    spec = curves(hist, "vae", "live")
    marked = mark_alarms(spec, [alarm])
    assert "shapes" not in spec["layout"]  # the original is left as it was
    assert [(s["xref"], s["x0"]) for s in marked["layout"]["shapes"]] == [("x", 2.5), ("x2", 2.5)]
    assert marked["layout"]["annotations"][0]["text"] == "Posterior collapse"
    by_step = mark_alarms(curves(hist, "vae", x="step"), [alarm])
    assert by_step["layout"]["shapes"][0]["x0"] == 25
    assert alarm_text(alarm).startswith("**Posterior collapse** — step 25, epoch 2.50: m.")


def test_d_wins_is_read_against_the_real_target_label_smoothing_sets():
    """With one-sided label smoothing 0.1, D's target for real images is 0.9, so a winning D
    sits at D(x) ≈ 0.9 and never above it: the alarm reads D(x) against 0.9 of that target
    (the discriminator-wins lesson's "smoothed" variant ran silent at D(G(z)) = 0.006)."""
    from genlab.train.health import HealthMonitor
    losses = [{"d_x": 0.895, "d_g_z": 0.01, "g_loss": 5.0 + 0.01 * i, "d_loss": 0.33} for i in range(40)]

    def fired(real_target: float) -> list[str]:
        mon = HealthMonitor("gan", 63, real_target=real_target)
        out = []
        for i, row in enumerate(losses):
            out += [a.name for a in mon.progress(150 + 10 * i, (150 + 10 * i) / 63, row)]
        return out
    assert fired(0.9) == ["Discriminator wins"]  # smoothing 0.1: D is at its target
    assert fired(1.0) == []  # without smoothing, D(x) = 0.895 is not yet a win
