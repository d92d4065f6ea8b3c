"""What the pages used to compute themselves, now in genlab: the explorer's slider ranges and
its AE prior, the prior drawn in a PCA projection (Latent space, movie, lab report), which
models Compare offers to measure, and the Train page's upload cache."""
import numpy as np
import pytest
import torch

from genlab.data.dataset import cache_dir, cache_upload
from genlab.latent.codes import code_ranges, fit_pca, pca
from genlab.latent.movie import Movie, fixed_frame
from genlab.metrics import unmeasured
from genlab.metrics.samples import code_gaussian, prior_code
from genlab.models import noise


def test_code_ranges_of_codes_and_of_the_prior():
    z = np.random.default_rng(0).normal([0.0, 5.0, 0.0], [0.2, 1.0, 0.0], (500, 3)).astype(np.float32)
    r = code_ranges(z, 3)
    assert np.allclose(r.center, z.mean(0)) and r.sd[2] == pytest.approx(1e-3)
    assert r.lo[0] == -3.0 and r.hi[0] == 3.0  # at least [-3, 3]
    assert r.hi[1] == pytest.approx(z[:, 1].mean() + 4 * z[:, 1].std(), rel=1e-6)
    lo, hi = r.slider(1)
    assert lo <= r.lo[1] and hi >= r.hi[1] and round(lo * 100) == lo * 100 and hi - r.hi[1] < 0.01
    assert np.array_equal(r.clip(np.array([-9.0, 99.0, 0.5])), [-3.0, r.hi[1], 0.5])
    prior = code_ranges(None, 4)
    assert np.array_equal(prior.center, np.zeros(4)) and np.array_equal(prior.sd, np.ones(4))
    assert prior.slider(0) == (-3.5, 3.5)


def test_prior_code_is_the_seeds_noise_or_the_aes_fitted_gaussian():
    assert np.array_equal(prior_code("vae", 5, 3), noise(1, 5, 3)[0].numpy())
    assert np.array_equal(prior_code("gan", 5, 3, np.zeros((10, 5)), fitted=True), noise(1, 5, 3)[0].numpy())
    z = np.random.default_rng(1).normal(10.0, 0.5, (400, 5))
    # an AE's prior sample is plain N(0, I) (it decodes to noise: the lesson's point) ...
    assert np.array_equal(prior_code("ae", 5, 3, z), noise(1, 5, 3)[0].numpy())
    code = prior_code("ae", 5, 3, z, fitted=True)  # ... the fitted Gaussian is asked for by name
    assert code.dtype == np.float32 and code.shape == (5,)
    assert np.allclose(code, code_gaussian(z).from_noise(noise(1, 5, 3))[0].numpy())
    draws = np.stack([prior_code("ae", 5, s, z, fitted=True) for s in range(300)])
    assert np.allclose(draws.mean(0), 10.0, atol=0.15) and np.allclose(draws.std(0), 0.5, atol=0.1)
    assert np.array_equal(prior_code("ae", 5, 3, None, fitted=True), noise(1, 5, 3)[0].numpy())  # no codes


@pytest.mark.parametrize("d,dims", [(1, 2), (6, 2), (6, 3)])
def test_prior_in_a_projection(d, dims):
    z = np.random.default_rng(2).normal(size=(300, d)).astype(np.float32)
    coords, p = pca(z, dims)
    assert coords.shape == (300, dims)
    prior = p.prior(50, dims, seed=4)
    assert prior.shape == (50, dims)
    want = p.transform(noise(50, d, 4).numpy())
    assert np.allclose(prior[:, :want.shape[1]], want) and not prior[:, want.shape[1]:].any()


def test_the_movie_draws_the_same_prior_as_the_projection():
    codes = np.random.default_rng(3).normal(size=(2, 40, 4)).astype(np.float16)
    movie = Movie(np.array([0.0, 1.0], np.float32), codes, np.arange(40), np.zeros(40, np.int64))
    frames, cloud = fixed_frame(movie, 2, prior=30, seed=5)
    p = fit_pca(codes[-1].astype(np.float32), 2)
    assert frames.shape == (2, 40, 2) and np.allclose(frames[1], p.coords(codes[-1], 2))
    assert np.allclose(cloud, p.prior(30, 2, 5))
    assert fixed_frame(movie, 2)[1] is None


def test_unmeasured():
    assert unmeasured({}) and unmeasured({"metrics": {}})
    assert unmeasured({"metrics": {"kind": "ae", "samples": {}}})  # measured before AE samples
    assert not unmeasured({"metrics": {"kind": "ae", "samples_prior": {}}})
    assert not unmeasured({"metrics": {"kind": "vae", "samples": {}}})


def test_an_upload_is_cached_once_under_its_hash():
    a = cache_upload(b"first zip")
    assert a.read_bytes() == b"first zip" and a.suffix == ".zip" and a.parent == cache_dir() / "uploads"
    stamp = a.stat().st_mtime_ns
    assert cache_upload(b"first zip") == a and a.stat().st_mtime_ns == stamp  # not written again
    assert cache_upload(b"second zip") != a
    assert not list(a.parent.glob("*.part"))


def test_code_gaussian_keeps_the_fitted_numbers():
    z = np.random.default_rng(5).normal(size=(100, 3))
    g = code_gaussian(z)
    assert torch.allclose(g.sqrt_cov @ g.sqrt_cov, torch.tensor(np.cov(z, rowvar=False), dtype=torch.float32),
                          atol=1e-5)
    with pytest.raises(ValueError):
        code_gaussian(z[:1])
