"""genlab.metrics against cases with known answers (fast: tiny models, 8x8 digits)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from genlab.metrics import (
    active_units,
    bernoulli_entropy_floor,
    class_coverage,
    confidence,
    elbo,
    evaluate_checkpoint,
    format_report,
    frechet_between,
    frechet_distance,
    iwae_bound,
    pca_baseline,
    reconstruction_metrics,
    summarize,
)
from genlab.metrics.classifier import (
    Classifier,
    ClassifierConfig,
    save_classifier,
    train_classifier,
)
from genlab.models import ModelConfig, build_model
from genlab.store.checkpoint import read_meta, save_checkpoint
from genlab.train import to_float


def ds_meta(data):
    """The data-set description genlab's trainer stores with a checkpoint."""
    return {"name": data.name, "ref": data.name, "source": data.source, "classes": data.classes,
            "image_shape": list(data.shape)}


# --- Fréchet distance, coverage, confidence --------------------------------------------------

def test_frechet_identical_sets_is_zero():
    f = np.random.default_rng(0).normal(size=(500, 16))
    assert frechet_between(f, f) == pytest.approx(0.0, abs=1e-8)


def test_frechet_known_gaussians():
    # diagonal covariances: d = |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    want = 1 + 0 + 4 + (1 - 2) ** 2 + 0 + (3 - 1) ** 2
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(want, rel=1e-10)
    # a rotated non-diagonal case against scipy's sqrtm formula
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(400, 6)), rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) + 0.5
    from scipy import linalg
    c1, c2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    ref = ((x.mean(0) - y.mean(0)) ** 2).sum() + np.trace(c1 + c2 - 2 * linalg.sqrtm(c1 @ c2).real)
    assert frechet_between(x, y) == pytest.approx(ref, rel=1e-6)


def test_frechet_mean_shift_and_torch_input():
    f = torch.randn(1000, 8, generator=torch.Generator().manual_seed(0))
    assert frechet_between(f, f + 3.0) == pytest.approx(8 * 9.0, rel=1e-6)


def test_coverage_known_answers():
    assert class_coverage(np.full(100, 3), 10) == 0.0  # one repeated class: total mode collapse
    assert class_coverage(np.arange(1000) % 10, 10) == pytest.approx(1.0)
    assert class_coverage(np.arange(1000) % 5, 10) == pytest.approx(math.log(5) / math.log(10))


def test_confidence():
    assert confidence(torch.eye(10)) == pytest.approx(1.0)
    assert confidence(torch.full((4, 10), 0.1)) == pytest.approx(0.1)


# --- ELBO, IWAE, active units ----------------------------------------------------------------

def tiny_vae(latent=1, seed=0):
    return build_model(ModelConfig(kind="vae", arch="mlp", image_size=8, latent_dim=latent,
                                   hidden=(32,)), seed=seed).eval()


def exact_log_px_1d(model, x_u8):
    """log p(x) = log ∫ p(x|z) N(z; 0, 1) dz by quadrature (latent size 1)."""
    z = torch.linspace(-10, 10, 8001).unsqueeze(1)
    x = to_float(x_u8)
    with torch.no_grad():
        logits = model.decode_logits(z)
    out = []
    for xi in x:
        lp = -torch.nn.functional.binary_cross_entropy_with_logits(
            logits, xi.expand_as(logits), reduction="none").flatten(1).sum(1)
        lp = lp - 0.5 * z[:, 0] ** 2 - 0.5 * math.log(2 * math.pi) + math.log(float(z[1, 0] - z[0, 0]))
        out.append(torch.logsumexp(lp, 0))
    return torch.stack(out)


def test_iwae_bounds_elbo_tightens_with_k_and_reaches_exact_likelihood(digits):
    model = tiny_vae()
    x = digits.test_x[:64]
    b1, b10, b200 = (iwae_bound(model, x, k=k, seed=0).mean() for k in (1, 10, 200))
    e = elbo(model, x, seed=0)
    assert e["total"] == pytest.approx(e["recon"] + e["kl"])
    assert float(b1) == pytest.approx(-e["total"], rel=0.02)  # k = 1 is a one-sample ELBO
    assert b1 < b10 < b200
    exact = exact_log_px_1d(model, x)
    assert -e["total"] < float(exact.mean())  # ELBO <= log p(x)
    assert float(b200) <= float(exact.mean()) + 0.02  # a lower bound (up to Monte Carlo noise) ...
    b2000 = iwae_bound(model, x, k=2000, seed=1)
    assert float((exact - b2000).mean()) == pytest.approx(0.0, abs=0.05)  # ... that converges


def test_active_units_counts_dimensions_with_varying_means(digits):
    model = tiny_vae(latent=4)
    with torch.no_grad():
        model.fc_mu.weight[:2] = 0.0  # dims 0, 1: the mean never moves -> inactive
        model.fc_mu.bias[:2] = 0.3
        model.fc_mu.weight[2:] *= 50.0
    a = active_units(model, digits.test_x)
    assert (a["active"], a["of"]) == (2, 4)
    assert a["variance"][0] == 0.0 and a["variance"][3] > 0.01


# --- reconstruction, PCA ---------------------------------------------------------------------

def test_reconstruction_metrics_match_direct_computation(digits):
    model = build_model(ModelConfig(kind="ae", arch="mlp", image_size=8, latent_dim=3, hidden=(16,)), seed=0)
    x = to_float(digits.test_x[:50])
    r = reconstruction_metrics(model, digits.test_x[:50], batch=7)
    with torch.no_grad():
        logits = model.decode_logits(model.encode(x))
    assert r["mse"] == pytest.approx(float(((torch.sigmoid(logits) - x) ** 2).mean()), rel=1e-5)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum") / 50
    assert r["bce"] == pytest.approx(float(bce), rel=1e-5)


def test_entropy_floor():
    assert bernoulli_entropy_floor(torch.tensor([[0, 255, 0, 255]], dtype=torch.uint8)) == 0.0
    half = torch.full((2, 1, 2, 2), 128, dtype=torch.uint8)
    assert bernoulli_entropy_floor(half) == pytest.approx(4 * math.log(2), rel=1e-3)


def test_pca_baseline_known_answers():
    g = torch.Generator().manual_seed(0)
    basis = torch.randn(3, 64, generator=g)
    coef = torch.rand(600, 3, generator=g)
    x = ((coef @ basis) * 10 + 128).clamp(0, 255).round().to(torch.uint8).reshape(-1, 1, 8, 8)
    full = pca_baseline(x[:500], x[500:], 64)
    assert full["mse"] < 1e-12  # all components: exact
    few = pca_baseline(x[:500], x[500:], 1)
    mid = pca_baseline(x[:500], x[500:], 3)
    assert mid["mse"] < few["mse"] and mid["mse"] < 1e-4  # 3-dim data (up to rounding)


# --- evaluate_checkpoint end to end ----------------------------------------------------------

def test_evaluate_checkpoint_vae_stores_metrics(tmp_path, digits):
    clf = Classifier(ClassifierConfig(1, 8, 10, width=4, features=16))
    cpath = save_classifier(tmp_path / "classifier-digits", clf, test_accuracy=0.1, name="c")
    model = tiny_vae(latent=2)
    path = save_checkpoint(tmp_path / "digits-vae", model, dataset=ds_meta(digits))
    m = evaluate_checkpoint(path, iwae_k=20, n_samples=200, device="cpu", classifier=cpath)
    assert m["kind"] == "vae" and m["elbo"]["total"] > 0
    assert m["iwae"]["log_px"] >= -m["elbo"]["total"] - 5  # bound >= ELBO up to MC noise
    assert m["samples"]["n"] == 200 and 0 <= m["samples"]["coverage"] <= 1
    assert m["samples"]["frechet_floor"] >= 0
    stored = read_meta(path)["metrics"]
    assert stored["elbo"] == m["elbo"]
    text = format_report(m)
    assert "IWAE" in text and "Fréchet" in text and "active units" in text
    head = summarize(m)
    assert head["active units"].endswith("/2") and "class coverage" in head and "test −ELBO" in head


def test_evaluate_checkpoint_ae_and_gan(tmp_path, digits):
    ae = build_model(ModelConfig(kind="ae", arch="mlp", image_size=8, latent_dim=4, hidden=(16,)), seed=0)
    p = save_checkpoint(tmp_path / "ae", ae, dataset=ds_meta(digits))
    m = evaluate_checkpoint(p, device="cpu", store=False)
    assert set(m) >= {"recon", "pca"} and "samples" not in m and "elbo" not in m
    assert m["pca"]["components"] == 4 and "PCA" in format_report(m)
    assert "metrics" not in read_meta(p)  # store=False
    gan = build_model(ModelConfig(kind="gan", arch="conv", image_size=8, latent_dim=8, hidden=(4,)), seed=0)
    p = save_checkpoint(tmp_path / "gan", gan, dataset=ds_meta(digits))
    m = evaluate_checkpoint(p, device="cpu", classifier=tmp_path / "none")
    assert "recon" not in m and "skipped" in m["samples"]  # no classifier for this data set
    assert "not measured" in format_report(m)


# --- one definition of each number -----------------------------------------------------------

@pytest.mark.parametrize("kind", ["ae", "vae", "gan"])
def test_test_metrics_is_what_the_trainer_reports(digits, kind):
    """``genlab.metrics.test_metrics`` returns exactly what ``genlab.train.evaluate`` returns."""
    from genlab.metrics import test_metrics
    from genlab.train import evaluate
    model = build_model(ModelConfig(kind=kind, arch="mlp", image_size=8, latent_dim=4, hidden=(32,)), seed=0)
    model.train()
    for seed, batch in ((0, 1000), (3, 100)):
        got = test_metrics(model, digits.test_x, batch=batch, seed=seed)
        assert got == evaluate(model, digits.test_x, batch=batch, seed=seed)
        assert model.training  # the mode is restored
    keys = {"ae": {"mse"}, "vae": {"recon", "kl", "total"}, "gan": set()}[kind]
    assert set(got) == keys and all(math.isfinite(v) for v in got.values())
    assert test_metrics(model, digits.test_x[:0]) == {}


def test_elbo_is_the_test_metric_of_a_vae(digits):
    from genlab.metrics import test_metrics
    model = tiny_vae(latent=3)
    assert elbo(model, digits.test_x, seed=2) == test_metrics(model, digits.test_x, batch=500, seed=2)
    assert elbo(model, digits.test_x, seed=2) != elbo(model, digits.test_x, seed=3)  # z is sampled
    ae = build_model(ModelConfig(kind="ae", arch="mlp", image_size=8, latent_dim=3, hidden=(16,)), seed=0)
    with pytest.raises(ValueError, match="VAE only"):
        elbo(ae, digits.test_x)
    # an AE's test metric is its reconstruction MSE, the same number reconstruction_metrics gives
    assert test_metrics(ae, digits.test_x)["mse"] == pytest.approx(
        reconstruction_metrics(ae, digits.test_x)["mse"], rel=1e-5)


def test_active_units_have_one_definition(digits):
    from genlab.latent.codes import encode_images
    from genlab.metrics import ACTIVE_THRESHOLD, latent_stats
    from genlab.metrics.codes import code_variance
    model = tiny_vae(latent=4)
    with torch.no_grad():
        model.fc_mu.weight[:1] = 0.0
        model.fc_mu.weight[1:] *= 50.0
    z = encode_images(model, digits.test_x)
    var = code_variance(z)
    assert np.allclose(var, z.astype(np.float64).var(0, ddof=1))  # unbiased, divisor N - 1
    a = active_units(model, digits.test_x)
    s = latent_stats(model, digits.test_x)
    assert a["active"] == s["active_units"] == int((var > ACTIVE_THRESHOLD).sum()) == 3
    assert np.allclose(s["var"], var, rtol=1e-5)
    assert code_variance(z[:1]).tolist() == [0.0] * 4  # one image: no variance
    # units in use: those whose mean posterior KL is above 0.2 nats (the per-dimension KL)
    from genlab.metrics.codes import IN_USE_NATS
    per_dim = s["kl_posterior_per_dim"]
    assert s["units_in_use"] == int((per_dim > IN_USE_NATS).sum())
    assert per_dim[0] < per_dim[1:].min()  # the unit whose mean never moves carries the least


# --- formatting --------------------------------------------------------------------------------

def test_one_formatter_for_every_reader():
    from genlab.metrics.format import card_text, compare_column, metrics_text, num, stored_samples, test_text
    assert num(None, "mse") == num(float("nan"), "mse") == num("x", "nats") == "—"
    assert num(0.012344, "mse") == "0.01234" and num(0.5, "percent") == "50.0%"
    vae = {"kind": "vae", "recon": {"mse": 0.011, "bce": 75.8}, "elbo": {"recon": 84.0, "kl": 23.2, "total": 107.2},
           "iwae": {"k": 500, "n": 1000, "nll": 99.8, "elbo_same_images": 107.3, "gap": 7.5},
           "active_units": {"active": 29, "of": 32, "threshold": 0.01},
           "samples": {"n": 1000, "seed": 0, "frechet": 89.43, "frechet_floor": 3.03, "frechet_ratio": 29.5,
                       "coverage": 0.982, "confidence": 0.739, "test_confidence": 0.97}}
    head = summarize(vae)
    assert head["test −ELBO"] == "107.2 (recon 84.0 + KL 23.2) nats" and head["active units"] == "29/32"
    assert head["Fréchet (floor)"] == "89.43 (3.03)" and head["IWAE-500 −log p(x)"] == "≤ 99.8 nats"
    meta = {"metrics": vae, "test": {"recon": 84.0, "kl": 23.2, "total": 107.2}}
    assert metrics_text(meta) == ("IWAE-500 −log p(x) ≤ 99.8 nats, Fréchet (floor) 89.43 (3.03), "
                                  "class coverage 0.982")
    assert test_text(meta) == "−ELBO 107.2 = recon 84.0 + KL 23.2 nats"
    assert test_text({"test": {"mse": 0.0123}}) == "MSE/pixel 0.01230" and test_text({}) == "—"
    assert stored_samples(meta) == {"iwae_nll": 99.8, "frechet": 89.43, "frechet_floor": 3.03,
                                    "coverage": 0.982, "confidence": 0.739}
    assert "Fréchet 89.43 vs floor 3.03 (**29.50×**), coverage **0.982**" in card_text(vae)
    col = compare_column({"kind": "VAE", "latent": 32, "mse": 0.011, "active": 29, "elbo": vae["elbo"]}, meta)
    assert col["Likelihood: IWAE −log p(x), k=500 (VAE)"] == "99.8"
    assert col["Generation: Fréchet distance of samples (lower is better)"] == "89.43"
    assert col["Latent: active units"] == "29 / 32" and col["Latent: mean posterior KL, nats (VAE)"] == "—"
    assert col["Latent: units in use, KL > 0.2 nats (VAE)"] == "—"  # not measured: not claimed
    in_use = compare_column({"kind": "VAE", "latent": 32, "in_use": 12}, meta)
    assert in_use["Latent: units in use, KL > 0.2 nats (VAE)"] == "12 / 32"
    # partial and older records read as "—" or are left out, never raise
    partial = {"kind": "vae", "elbo": {"total": 1.0}, "samples": {"frechet": None}, "active_units": {}}
    assert "—" in format_report(partial) and summarize(partial)["test −ELBO"].startswith("1.0 (recon —")
    assert metrics_text({"metrics": {"kind": "ae"}}) == "measured (see the model's JSON file)"
    assert metrics_text({}) == "not measured yet"


def test_ae_generation_from_the_prior_and_from_a_fitted_gaussian(tmp_path, digits):
    """An AE has no prior: `genlab eval` scores samples decoded from N(0, I) and from a
    Gaussian fitted to its training codes, with the same numbers as a VAE's samples."""
    from genlab.train import TrainConfig, fit
    ae = build_model(ModelConfig(kind="ae", arch="mlp", image_size=8, latent_dim=8, hidden=(128,)), seed=0)
    assert fit(ae, digits, TrainConfig(epochs=20, batch_size=64, seed=0)).status == "done"
    clf, info = train_classifier(digits, epochs=4, batch_size=64, lr=3e-3, device="cpu", max_shift=0, log=None)
    cpath = save_classifier(tmp_path / "classifier-digits", clf, **info)
    path = save_checkpoint(tmp_path / "ae", ae, dataset=ds_meta(digits))
    m = evaluate_checkpoint(path, device="cpu", classifier=cpath)
    prior, fitted = m["samples_prior"], m["samples_fitted"]
    assert "samples" not in m and read_meta(path)["metrics"]["samples_fitted"] == fitted
    for s in (prior, fitted):
        assert s["n"] == len(digits.test_x) and s["quick"]["n"] == 359
        for k in ("frechet", "frechet_floor", "frechet_ratio", "coverage", "confidence"):
            assert math.isfinite(s[k]) and s[k] >= 0
        assert s["frechet_floor"] == prior["frechet_floor"]  # the same real images as the floor
    assert "training images" in fitted["fitted_on"]
    # the codes of an AE are not N(0, I): the fitted Gaussian samples far better
    assert fitted["frechet"] < 0.5 * prior["frechet"] and fitted["coverage"] > prior["coverage"]
    text = format_report(m)
    assert "samples from N(0, I)" in text and "samples from a Gaussian fitted to the training codes" in text
    head = summarize(m)
    assert head["Fréchet (floor) from fitted Gaussian"].startswith(f"{fitted['frechet']:.2f}")


def test_samples_from_a_code_gaussian_have_its_mean_and_covariance():
    from genlab.metrics.samples import CodeGaussian, generate

    class Identity(torch.nn.Module):  # decode(z) = z, to look at the codes themselves
        config = ModelConfig(kind="ae", arch="mlp", image_size=8, latent_dim=3, hidden=(4,))
        device = torch.device("cpu")

        def prior(self, n, generator=None):
            return torch.randn(n, 3, generator=generator)

        def decode(self, z):
            return z
    cov = torch.tensor([[4.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
    w, v = torch.linalg.eigh(cov)
    codes = CodeGaussian(torch.tensor([1.0, -2.0, 0.5]), (v * w.sqrt()) @ v.T, 0)
    z = generate(Identity(), 20000, seed=0, batch=3000, codes=codes).double()
    assert torch.allclose(z.mean(0), codes.mean.double(), atol=0.05)
    assert torch.allclose(torch.cov(z.T), cov.double(), atol=0.1)
    assert torch.equal(generate(Identity(), 10, seed=1), torch.randn(10, 3, generator=torch.Generator().manual_seed(1)))
