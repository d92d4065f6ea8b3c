"""One noise from a seed (``genlab.models.noise``): the GAN studio, the Latent explorer, the
samples that ``genlab eval`` and the lab report score, and the training previews draw the same
codes for the same seed."""
import numpy as np
import pytest
import torch
from test_app import make_models, page
from test_pages import image_with

from genlab.metrics.samples import fit_code_gaussian, generate
from genlab.models import GAN, ModelConfig, build_model, noise


def test_noise_is_torch_on_the_cpu_and_depends_on_the_seed_only():
    a = noise(5, 3, 7)
    assert a.dtype == torch.float32 and a.device.type == "cpu" and a.shape == (5, 3)
    assert torch.equal(a, torch.randn(5, 3, generator=torch.Generator().manual_seed(7)))
    assert torch.equal(a, noise(5, 3, 7)) and not torch.equal(a, noise(5, 3, 8))
    assert noise(0, 4, 1).shape == (0, 4)


@pytest.mark.parametrize("d", [2, 3, 16])
def test_generate_draws_what_it_drew_before(d):
    """The samples ``genlab eval`` scores are unchanged on the CPU: noise(n, d, seed) is the
    prior the model drew from a CPU generator, 1,000 rows at a time."""
    model = build_model(ModelConfig("vae", "mlp", latent_dim=d, hidden=(16,)), seed=0).eval()
    n, seed = 2100, 4
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        before = torch.cat([model.decode(model.prior(min(1000, n - i), generator=gen))
                            for i in range(0, n, 1000)])
    assert torch.equal(generate(model, n, seed), before)


def test_fitted_gaussian_samples_use_the_same_noise(digits):
    c, s = digits.shape[0], digits.shape[1]
    model = build_model(ModelConfig("ae", "mlp", latent_dim=4, hidden=(16,), channels=c, image_size=s),
                        seed=0).eval()
    codes = fit_code_gaussian(model, digits.train_x[:200])
    eps = noise(8, 4, 3)
    with torch.no_grad():
        want = model.decode(codes.mean + eps @ codes.sqrt_cov)
    assert torch.allclose(generate(model, 8, 3, codes=codes), want)


def test_gan_preview_is_the_seeds_noise():
    gan = build_model(ModelConfig("gan", "mlp", latent_dim=6, hidden=(16,)), seed=0)
    assert isinstance(gan, GAN)
    assert torch.equal(gan.preview_inputs(torch.zeros(1), 9), noise(32, 6, 9))


@pytest.fixture(scope="module")
def models():
    return make_models()


def test_gan_studio_and_explorer_draw_the_same_codes_for_a_seed(models, monkeypatch):
    """Both pages interpolate between the codes of seeds 3 and 4: the same codes, so the same
    images (the media URL follows the image's bytes)."""
    from genlab.latent import codes as latent
    seen = []
    real = latent.interpolate

    def spy(model, z0, z1, n=10, method="linear"):
        seen.append((np.asarray(z0).copy(), np.asarray(z1).copy()))
        return real(model, z0, z1, n, method)

    monkeypatch.setattr(latent, "interpolate", spy)
    gan = str(models["t-gan"])
    studio = page("pages/gan_studio.py")
    studio.selectbox(key="gs_model").set_value(gan).run()
    studio.number_input(key="gs_a").set_value(3)
    studio.number_input(key="gs_b").set_value(4)
    studio.radio(key="gs_how").set_value("linear").run()
    assert not studio.exception and not studio.error
    from_studio = seen[-1]
    shown_studio = image_with(studio, "linear interpolation from seed 3 to seed 4")

    explorer = page("pages/explorer.py")
    explorer.selectbox(key="ex_model").set_value(gan).run()
    explorer.number_input(key="ex_from_seed").set_value(3)
    explorer.number_input(key="ex_to_seed").set_value(4)
    explorer.radio(key="ex_how").set_value("linear").run()
    assert not explorer.exception and not explorer.error
    from_explorer = seen[-1]
    assert np.array_equal(from_studio[0], from_explorer[0])
    assert np.array_equal(from_studio[1], from_explorer[1])
    assert np.array_equal(from_studio[0], noise(1, 16, 3)[0].numpy())
    assert image_with(explorer, "linear interpolation") == shown_studio
