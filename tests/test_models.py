"""Model shapes over kinds, architectures, sizes and channels; the pytorch/examples VAE twin."""
import pytest
import torch

from genlab.models import ConfigError, ModelConfig, build_model


@pytest.mark.parametrize("kind", ["ae", "vae", "gan"])
@pytest.mark.parametrize("arch", ["mlp", "conv"])
@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3), (64, 1), (64, 3)])
def test_shapes(kind, arch, size, channels):
    cfg = ModelConfig(kind=kind, arch=arch, image_size=size, channels=channels, latent_dim=8,
                      hidden=(64,) if arch == "mlp" else (8,))
    model = build_model(cfg, seed=0)
    x = torch.rand(3, channels, size, size)
    out = model.sample(3)
    assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1
    if kind == "gan":
        assert model.critic(x).shape == (3,)
        with pytest.raises(NotImplementedError, match="no encoder"):
            model.encode(x)
    else:
        assert model.encode(x).shape == (3, 8)
        assert model.reconstruct(x).shape == x.shape
        objective, metrics = model.loss(x)
        objective.backward()
        assert set(metrics) == set(cfg.loss_names)


def test_mlp_vae_is_the_pytorch_examples_model():
    """Same layers, same creation order: seed 1 gives bit-identical initial weights, and the
    same weights give the same loss as vae/main.py's loss_function."""
    from pytorch_examples_vae import VAE, loss_function
    torch.manual_seed(1)
    ref = VAE()
    ours = build_model(ModelConfig(kind="vae", arch="mlp", hidden=(400,), latent_dim=20), seed=1)
    ref_p, our_p = list(ref.parameters()), list(ours.parameters())
    assert [p.shape for p in ref_p] == [p.shape for p in our_p]
    assert all(torch.equal(a, b) for a, b in zip(ref_p, our_p))
    x = torch.rand(16, 1, 28, 28)
    mu, logvar = ours.posterior(x)
    ref_mu, ref_logvar = ref.encode(x.view(-1, 784))
    assert torch.allclose(mu, ref_mu) and torch.allclose(logvar, ref_logvar)
    g = torch.Generator().manual_seed(0)
    objective, _ = ours.loss(x, generator=g)
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(0))
    z = ref_mu + eps * torch.exp(0.5 * ref_logvar)
    expected = loss_function(ref.decode(z), x, ref_mu, ref_logvar)
    assert torch.allclose(objective, expected, rtol=1e-4)


def test_dcgan_init_and_layers():
    model = build_model(ModelConfig(kind="gan", arch="conv", latent_dim=100), seed=0)
    convs = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    stds = torch.tensor([m.weight.std().item() for m in convs])
    assert ((stds - 0.02).abs() < 0.005).all()
    kinds = {type(m).__name__ for m in model.generator.modules()}
    assert {"ConvTranspose2d", "BatchNorm2d", "ReLU", "Tanh"} <= kinds
    assert any(isinstance(m, torch.nn.LeakyReLU) for m in model.discriminator.modules())


def test_seeded_builds_are_identical_and_config_round_trips():
    cfg = ModelConfig(kind="ae", arch="conv", latent_dim=16)
    a, b = build_model(cfg, seed=3), build_model(cfg, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("bad,msg", [({"latent_dim": 0}, "Latent size"), ({"kind": "diffusion"}, "kind"),
                                     ({"arch": "conv", "image_size": 30}, "divisible by 4"),
                                     ({"channels": 2}, "channels")])
def test_bad_configs_are_explained(bad, msg):
    with pytest.raises(ConfigError, match=msg):
        ModelConfig(**bad).validate()
