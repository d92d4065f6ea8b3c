"""Flow matching and DDPM models (genlab.models.flow / diffusion) on the small U-Net: shapes,
sizes, the GenerativeModel calls, guidance, checkpoints, and training on real MNIST digits
through the real trainer until the classifier Fréchet distance falls."""
import dataclasses
from contextlib import nullcontext

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from genlab.models import (
    DDPM,
    KINDS,
    ConfigError,
    FlowMatching,
    ModelConfig,
    build_model,
    count_parameters,
    schedules,
    with_class,
)
from genlab.models import config as config_module
from genlab.store.checkpoint import load_checkpoint, save_checkpoint

KINDS_NEW = ["flow", "ddpm"]
LESSON = (16,)  # the lesson size; the default is ModelConfig's own (32,)


def _model(kind, size=28, channels=1, k=0, hidden=LESSON, **kw):
    return build_model(ModelConfig(kind=kind, image_size=size, channels=channels, num_classes=k,
                                   hidden=hidden, **kw), seed=0).eval()


def _noise(model, n, seed=0):
    return model.prior(n, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("kind", KINDS_NEW)
@pytest.mark.parametrize("k", [0, 10])
@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3)])
def test_the_generative_model_calls(kind, k, size, channels):
    m = _model(kind, size, channels, k)
    assert isinstance(m, {"flow": FlowMatching, "ddpm": DDPM}[kind])
    assert m.config.latent_dim == channels * size * size and not m.has_encoder
    z = _noise(m, 5)
    assert z.shape == (5, channels * size * size)
    x = m.decode(z, steps=3)
    assert x.shape == (5, channels, size, size) and 0 <= x.min() and x.max() <= 1
    assert m.sample(4).shape == (4, channels, size, size)
    traj = m.sample_trajectory(z, steps=4)
    assert traj.x.shape == (5, 5, channels, size, size) and traj.x0.shape == (4, 5, channels, size, size)
    assert len(traj.t) == 4 and traj.t == sorted(traj.t, reverse=(kind == "ddpm"))
    torch.testing.assert_close(traj.x[0], (m.noise_image(z) + 1) / 2)  # starts at the noise
    torch.testing.assert_close(traj.x[-1].clamp(0, 1), m.decode(z, steps=4))  # ends at decode
    with pytest.raises(NotImplementedError, match="no encoder"):
        m.reconstruct(x)
    fixed = m.preview_inputs(torch.zeros(8, channels, size, size, dtype=torch.uint8), seed=3)
    torch.testing.assert_close(fixed, m.preview_inputs(torch.zeros(1, dtype=torch.uint8), seed=3))
    assert fixed.shape == ((40 if k else 32), channels * size * size)
    m.steps = 2  # the preview uses the default sampler; keep it short here
    images, per_row = m.preview(fixed)
    assert images.shape == (len(fixed), channels, size, size) and per_row == (10 if k else 8)


@pytest.mark.parametrize("kind", KINDS_NEW)
@pytest.mark.parametrize("k", [0, 10])
def test_train_step_returns_the_loss_and_learns(kind, k):
    m = _model(kind, k=k).train()
    opt = m.configure_optimizers(1e-3, (0.9, 0.999))
    x = torch.rand(8, 1, 28, 28)
    labels = {"labels": torch.arange(8) % 10} if k else {}
    before = [p.detach().clone() for p in m.parameters()]
    g = torch.Generator().manual_seed(0)
    out = m.train_step(x, opt, generator=g, autocast=nullcontext(), **labels)
    assert out.shape == (len(m.config.loss_names),) == (1,) and torch.isfinite(out).all()
    assert m.config.loss_names == ("loss",)
    assert any(not torch.equal(a, b) for a, b in zip(before, m.parameters()))
    if k:
        with pytest.raises(ValueError, match="labelled images"):
            m.train_step(x, opt, generator=g, autocast=nullcontext())


def _flops(model, size, channels):
    x = torch.zeros(1, channels, size, size)
    with FlopCounterMode(display=False) as fc:
        model.unet(x, torch.zeros(1))
    return fc.get_total_flops()


@pytest.mark.parametrize("kind", KINDS_NEW)
def test_lesson_and_default_sizes(kind):
    lesson = _model(kind)
    assert 30e6 <= _flops(lesson, 28, 1) <= 70e6  # ~50 MFLOP per 28x28 image
    assert 50_000 <= count_parameters(lesson.config) <= 200_000
    default = ModelConfig(kind=kind)
    assert default.hidden == (32,)
    for size, channels in [(28, 1), (32, 3), (64, 3)]:
        n = count_parameters(dataclasses.replace(default, image_size=size, channels=channels,
                                                 num_classes=10))
        assert 500_000 <= n <= 1_500_000, (size, channels, n)
    assert _flops(build_model(default), 28, 1) > 4 * _flops(lesson, 28, 1)


def test_config_rules_for_the_new_kinds():
    assert {"flow", "ddpm"} <= set(KINDS)
    assert config_module.SCHEDULES == schedules.SCHEDULES
    for kind in KINDS_NEW:
        with pytest.raises(ConfigError, match="U-Net.*'conv'"):
            ModelConfig(kind=kind, arch="mlp").validate()
        cfg = ModelConfig(kind=kind, channels=3, image_size=64, latent_dim=5)
        assert cfg.validate().latent_dim == 3 * 64 * 64  # always the image's size
        assert dataclasses.replace(cfg, image_size=32).latent_dim == 3 * 32 * 32
        assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="DDPM only"):
        ModelConfig(kind="flow", schedule="cosine").validate()
    with pytest.raises(ConfigError, match="linear, cosine"):
        ModelConfig(kind="ddpm", schedule="quadratic").validate()
    cos = ModelConfig(kind="ddpm", schedule="cosine")
    assert ModelConfig.from_dict(cos.to_dict()).schedule == "cosine"
    # the configs written for the other kinds are as before (older GenLabs can read them)
    assert "schedule" not in ModelConfig(kind="vae").to_dict()
    assert "schedule" not in ModelConfig(kind="flow").to_dict()


def test_the_schedule_reaches_the_model():
    lin, cos = _model("ddpm"), _model("ddpm", schedule="cosine")
    torch.testing.assert_close(cos.alphas_cumprod,
                               schedules.alphas_cumprod(schedules.beta_schedule("cosine")))
    assert not torch.allclose(lin.alphas_cumprod, cos.alphas_cumprod)
    assert "alphas_cumprod" not in lin.state_dict()  # rebuilt from the config, not stored


def test_decode_is_the_schedules_sampler_on_the_models_network():
    """decode = the pure samplers of genlab.models.schedules on net(x, t), mapped to [0, 1]."""
    torch.manual_seed(0)
    for kind, sampler, run in [
        ("flow", "heun", lambda m, net, x: schedules.flow_steps(net, x, 3, "heun")),
        ("ddpm", "ddpm", lambda m, net, x: schedules.diffusion_steps(
            net, x, m.alphas_cumprod, 3, "ddpm", draw=m.fresh_noise(x)))]:
        m = _model(kind)
        for p in m.unet.out.parameters():  # the zero-initialised last layer would hide mistakes
            torch.nn.init.normal_(p, std=0.1)
        z = _noise(m, 3)
        want = ((schedules.last(run(m, m.net(), m.noise_image(z))) + 1) / 2).clamp(0, 1)
        torch.testing.assert_close(m.decode(z, sampler=sampler, steps=3), want)
        torch.testing.assert_close(m.decode(z, sampler=sampler, steps=3), want)  # reproducible
        with pytest.raises(ValueError, match="sampler"):
            m.decode(z, sampler="ddim" if kind == "flow" else "euler")


@pytest.mark.parametrize("kind", KINDS_NEW)
def test_each_image_depends_on_its_own_noise_only(kind):
    """decode(z)[i] is the same image whatever else is in the batch (the ancestral sampler's
    fresh noise too), and different noise gives a different image."""
    m = _model(kind)
    for p in m.unet.out.parameters():
        torch.nn.init.normal_(p, std=0.1)
    z = _noise(m, 6)
    for sampler in m.samplers:
        batch = m.decode(z, sampler=sampler, steps=4)
        alone = torch.cat([m.decode(z[i:i + 1], sampler=sampler, steps=4) for i in (4, 1)])
        torch.testing.assert_close(alone, batch[[4, 1]], atol=1e-5, rtol=1e-4)
        assert not torch.allclose(batch[0], batch[1], atol=1e-3)
    if kind == "ddpm":  # the fresh noise is not the starting noise, nor the same per image
        draw = m.fresh_noise(m.noise_image(z))
        a, b = draw(), draw()
        assert a.shape == (6, 1, 28, 28) and not torch.allclose(a, b)
        assert not torch.allclose(a, m.noise_image(z)) and not torch.allclose(a[0], a[1])


@pytest.mark.parametrize("kind", KINDS_NEW)
def test_classifier_free_guidance(kind):
    m = _model(kind, k=10)
    for p in m.unet.parameters():  # random weights everywhere so that every input matters
        torch.nn.init.normal_(p, std=0.05)
    m.steps = 3  # decode's default step count (a ClassView's decode takes no other)
    x, t = torch.randn(4, 1, 28, 28), torch.rand(4)
    y, null = torch.tensor([0, 3, 3, 9]), torch.full((4,), 10)
    ts = t * m.time_scale
    with torch.no_grad():
        cond, uncond = m.unet(x, ts, y), m.unet(x, ts, null)
        torch.testing.assert_close(m.net(y, 1.0)(x, t), cond)  # w = 1: plain conditional
        torch.testing.assert_close(m.net(y, 0.0)(x, t), uncond)  # w = 0: unconditional
        torch.testing.assert_close(m.net(y, 3.0)(x, t), uncond + 3 * (cond - uncond),
                                   atol=1e-5, rtol=1e-4)
        assert not torch.allclose(cond, uncond, atol=1e-4)
        z = _noise(m, 4)
        a, b = m.decode(z, [1, 1, 1, 1]), m.decode(z, 7)
        assert not torch.allclose(a, b)
        torch.testing.assert_close(with_class(m, 7).decode(z), b)
        torch.testing.assert_close(m.decode(z), m.decode(z, [0, 1, 2, 3]))  # default: i % K
    with pytest.raises(ValueError, match="not conditional"):
        _model(kind).decode(z, 3, steps=2)


@pytest.mark.parametrize("kind,k,extra", [("flow", 0, {}), ("ddpm", 10, {"schedule": "cosine"})])
def test_checkpoint_round_trip_gives_the_same_samples(tmp_path, kind, k, extra):
    m = _model(kind, 32, 3, k, **extra)
    for p in m.unet.out.parameters():
        torch.nn.init.normal_(p, std=0.1)
    path = save_checkpoint(tmp_path / f"{kind}-model", m)
    loaded, meta = load_checkpoint(path)
    assert type(loaded) is type(m) and loaded.config == m.config
    assert meta["model"].get("schedule") == extra.get("schedule")
    z = _noise(m, 4, seed=5)
    for sampler in m.samplers:
        assert torch.equal(loaded.decode(z, sampler=sampler, steps=4),
                           m.decode(z, sampler=sampler, steps=4))


def test_a_conditional_models_own_guidance_weight_travels_in_its_file(tmp_path):
    """A shipped model samples at its own guidance weight (weights/build.py, GUIDANCE): the file
    keeps it, a loaded model draws with it by default, and a bad value is refused by name."""
    from genlab.store.checkpoint import CheckpointError, update_meta
    m = _model("flow", 16, 1, 10)
    for p in m.unet.out.parameters():
        torch.nn.init.normal_(p, std=0.1)
    m.guidance = 1.5
    path = save_checkpoint(tmp_path / "cflow", m)
    loaded, meta = load_checkpoint(path)
    assert meta["guidance"] == 1.5 and loaded.guidance == 1.5
    z = _noise(m, 4, seed=5)
    assert torch.equal(loaded.decode(z, 3, steps=3), m.decode(z, 3, steps=3, guidance=1.5))
    assert not torch.equal(loaded.decode(z, 3, steps=3), m.decode(z, 3, steps=3, guidance=2.0))
    update_meta(path, metrics={"x": 1})  # a file rewritten keeps it
    assert load_checkpoint(path)[0].guidance == 1.5
    assert load_checkpoint(save_checkpoint(tmp_path / "default", _model("flow", 16, 1, 10)))[0].guidance == 2.0
    assert "guidance" not in load_checkpoint(save_checkpoint(tmp_path / "u", _model("flow", 16, 1)))[1]
    update_meta(path, guidance="strong")
    with pytest.raises(CheckpointError, match="cflow.safetensors: its guidance weight should be a number"):
        load_checkpoint(path)


# --- training on real digits through the real trainer -------------------------------------------

@pytest.fixture(scope="module")
def judge(mnist):
    """The shipped MNIST metric classifier and the features of the test digits."""
    from genlab.metrics.classifier import embed, load_classifier
    from genlab.metrics.report import classifier_path
    clf, _ = load_classifier(classifier_path("mnist"))
    return clf, embed(clf, mnist.test_x)[0]


def _frechet(model, judge, n=400, **kw):
    from genlab.metrics.classifier import embed
    from genlab.metrics.frechet import frechet_between
    clf, test_f = judge
    x = model.eval().decode(_noise(model, n, seed=1), steps=20, **kw)
    f, p = embed(clf, x)
    return frechet_between(f, test_f), p


@pytest.mark.long  # 40-50 s each on 2 cores: after the suite (pyproject.toml)
@pytest.mark.parametrize("kind,epochs", [("flow", 2), ("ddpm", 3)])
def test_training_on_mnist_halves_the_frechet_distance(mnist, judge, kind, epochs):
    """The lesson-size model, 2-3 epochs of the 4,000 offline MNIST digits (20-30 s on 2
    cores): the classifier Fréchet distance of 400 samples (20 steps of the default sampler)
    to the test digits falls to at most half that of the untrained model (measured: to 6-8%),
    and the samples are read as digits of several classes."""
    from genlab.metrics.frechet import class_coverage
    from genlab.train import TrainConfig, fit
    model = _model(kind)
    untrained, p0 = _frechet(model, judge)
    res = fit(model, mnist, TrainConfig(epochs=epochs, batch_size=64, lr=1e-3, seed=0))
    assert res.status == "done", res.message
    assert res.history and all(set(r) >= {"step", "loss"} for r in res.history)
    assert res.history[-1]["loss"] < res.history[0]["loss"] and res.test == {}
    trained, p = _frechet(model, judge)
    print(f"{kind}: Fréchet distance {untrained:.1f} -> {trained:.1f} ({trained / untrained:.3f}), "
          f"class coverage {class_coverage(p0.argmax(1), 10):.3f} -> {class_coverage(p.argmax(1), 10):.3f}")
    assert trained <= 0.5 * untrained, (kind, untrained, trained)
    # digits of several classes (1 = all ten equally often; untrained: noise read as one class)
    assert class_coverage(p.argmax(1), 10) > max(0.3, class_coverage(p0.argmax(1), 10) + 0.25)
    assert res.last_grid is not None and res.last_grid.ndim == 3  # the preview: samples


@pytest.mark.long
def test_a_conditional_flow_draws_the_class_it_is_told(mnist, judge):
    """The trainer hands the labels to a conditional flow; after 3 epochs the classifier
    reads the requested digit far above chance with guidance, at chance with w = 0."""
    from genlab.train import TrainConfig, fit
    model = _model("flow", k=10)
    res = fit(model, mnist, TrainConfig(epochs=3, batch_size=64, lr=1e-3, seed=0))
    assert res.status == "done", res.message
    y = torch.arange(200) % 10  # decode's default labels
    agree = {w: float((_frechet(model, judge, n=200, guidance=w)[1].argmax(1) == y).float().mean())
             for w in (0.0, 2.0)}
    print(f"conditional flow: the classifier agrees with the class asked for {agree}")
    assert agree[2.0] > 0.35 and agree[2.0] > agree[0.0] + 0.2, agree
