"""Latent-space tools on models trained here on real digits: projections, t-SNE cache,
interpolation, traversals, manifold, and the AE-vs-VAE statistics."""


import numpy as np
import pytest
import torch

from genlab import metrics
from genlab.latent import codes as latent
from genlab.models import ModelConfig, build_model
from genlab.train import TrainConfig, fit


@pytest.fixture(scope="module")
def trained(digits):
    out = {}
    for name, kind, d in (("ae", "ae", 8), ("vae", "vae", 8), ("vae2d", "vae", 2)):
        model = build_model(ModelConfig(kind, "mlp", 1, 8, d, (128,)), seed=0)
        assert fit(model, digits, TrainConfig(epochs=20, batch_size=64, seed=0)).status == "done"
        out[name] = model.eval()
    return out


def test_encode_and_pca(trained, digits):
    z = latent.encode_images(trained["vae"], digits.test_x)
    assert z.shape == (len(digits.test_x), 8) and z.dtype == np.float32
    coords, p = latent.pca(z, 3)
    assert coords.shape == (len(z), 3)
    assert np.allclose(p.components @ p.components.T, np.eye(3), atol=1e-4)
    assert np.all(np.diff(p.variance) <= 1e-6) and 0 < p.explained.sum() <= 1.0001
    assert np.allclose(coords.var(0, ddof=1), p.variance, rtol=1e-3)
    full = latent.fit_pca(z)
    assert np.allclose(full.inverse(full.transform(z)), z, atol=1e-4)
    base = z[0]  # sliders set to a code's own coordinates give back that code
    assert np.allclose(p.code(base, p.sd_units(base, 3)), base, atol=1e-4)
    moved = p.code(base, p.sd_units(base, 3) + np.array([1.0, 0, 0], np.float32))
    assert np.isclose(p.transform(moved)[0] - p.transform(base)[0], np.sqrt(p.variance[0]), rtol=1e-3)
    with pytest.raises(ValueError, match="GAN has no encoder"):
        latent.encode_images(build_model(ModelConfig("gan", "mlp", 1, 8, 4, (16,))), digits.test_x)


def test_pca_of_5000_codes_matches_an_svd():
    """The covariance-eigenvector PCA (its speed is in bench/) gives the SVD's directions."""
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((5000, 32)) * np.linspace(3, 0.1, 32)).astype(np.float32)
    coords, p = latent.pca(z, 2)
    _, sv, vt = np.linalg.svd(z - z.mean(0), full_matrices=False)
    assert np.allclose(np.abs(p.components @ vt[:2].T), np.eye(2), atol=1e-3)
    assert np.allclose(p.variance, sv[:2] ** 2 / (len(z) - 1), rtol=1e-3)
    assert np.allclose(np.abs(coords), np.abs((z - z.mean(0)) @ vt[:2].T), atol=1e-2)


def test_tsne_is_seeded_and_cached(trained, digits, tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path))
    z = latent.encode_images(trained["ae"], digits.test_x[:300])
    key = latent.tsne_key(tmp_path / "m.safetensors", 300, 0, 30.0)
    a, cached_a = latent.tsne(z, seed=0, key=key, threads=1)
    assert not cached_a and a.shape == (300, 2) and latent.tsne_cache_path(key).exists()
    import sklearn.manifold

    class NotAgain:
        def __init__(self, *args, **kwargs):
            raise AssertionError("t-SNE was computed again instead of read from the cache")
    with monkeypatch.context() as m:
        m.setattr(sklearn.manifold, "TSNE", NotAgain)
        b, cached_b = latent.tsne(z, seed=0, key=key, threads=1)
        assert cached_b and np.array_equal(a, b)
        with pytest.raises(AssertionError, match="computed again"):  # the spy does catch a run
            latent.tsne(z, seed=1, threads=1)
    c, _ = latent.tsne(z, seed=0, threads=1)  # no cache: recomputed, same seed -> same layout
    assert np.allclose(a, c, atol=1e-3)
    assert key != latent.tsne_key(tmp_path / "m.safetensors", 300, 1, 30.0)


def test_interpolation_paths(trained):
    z0, z1 = np.array([3.0, 0, 0, 0, 0, 0, 0, 0], np.float32), np.array([0, 3.0, 0, 0, 0, 0, 0, 0], np.float32)
    lin, sl = latent.lerp(z0, z1, 5), latent.slerp(z0, z1, 5)
    for path in (lin, sl):
        assert np.allclose(path[0], z0) and np.allclose(path[-1], z1)
    assert np.allclose(np.linalg.norm(sl, axis=1), 3.0, atol=1e-4)  # stays on the sphere
    assert np.linalg.norm(lin[2]) < 2.2  # the straight line cuts inside it
    assert np.allclose(latent.slerp(z0, 2 * z0, 3)[1], 1.5 * z0)  # parallel: falls back to lerp
    imgs = latent.interpolate(trained["vae"], z0, z1, 7, "slerp")
    assert imgs.shape == (7, 1, 8, 8) and 0 <= imgs.min() and imgs.max() <= 1
    assert not torch.allclose(imgs[0], imgs[-1])


def test_traversal_and_manifold(trained):
    vae = trained["vae"]
    z = np.zeros(8, np.float32)
    grid = latent.traversal(vae, z, [0, 3], span=2.0, steps=5)
    assert grid.shape == (10, 1, 8, 8)
    assert not torch.allclose(grid[0], grid[4])  # the row varies along its dimension
    m = latent.manifold(trained["vae2d"], 6)
    assert m.shape == (36, 1, 8, 8) and not torch.allclose(m[0], m[-1])
    with pytest.raises(ValueError, match="2-D latent"):
        latent.manifold(vae, 6)


def test_vae_codes_match_the_prior_better_than_ae_codes(trained, digits):
    x = digits.test_x
    ae, vae = (metrics.latent_stats(trained[k], x) for k in ("ae", "vae"))
    assert ae["kl_posterior"] is None and vae["kl_posterior"] > 1.0
    assert vae["kl_aggregate"] < ae["kl_aggregate"]
    assert 1 <= vae["active_units"] <= 8 and ae["active_units"] == 8
    assert np.allclose(vae["mean"], latent.encode_images(trained["vae"], x).mean(0), atol=1e-5)
    assert metrics.gaussian_kl(np.zeros(3), np.ones(3)).sum() == pytest.approx(0.0)
    assert metrics.gaussian_kl(np.array([1.0]), np.array([1.0]))[0] == pytest.approx(0.5)


def test_structure_and_reconstruction_measures(trained, digits):
    z = latent.encode_images(trained["ae"], digits.test_x)
    assert metrics.knn_accuracy(z, digits.test_y.numpy()) > 0.6  # chance is 0.1
    mse = metrics.reconstruction_metrics(trained["ae"], digits.test_x)["mse"]
    assert 0 < mse < 0.05
    untrained = build_model(ModelConfig("ae", "mlp", 1, 8, 8, (128,)), seed=0)
    assert metrics.reconstruction_metrics(untrained, digits.test_x)["mse"] > 2 * mse
