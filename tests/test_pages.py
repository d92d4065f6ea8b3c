"""What the model pages promise, under AppTest, each change seen on the page: the Latent explorer
(PCA sliders above 8 dimensions, a raw dimension added, a prior sample, a test image's code), the
Latent space (PCA 3-D, t-SNE computed and then read from the disk cache, decoding a chosen
point), the GAN studio (fixed and fresh noise, interpolation) and Compare (measured numbers)."""
import hashlib
import json
import re

import numpy as np
import pytest
import streamlit as st
from test_app import make_models, page

from genlab.data import dataset_for_meta
from genlab.latent import codes as latent
from genlab.store.checkpoint import load_checkpoint, read_meta


@pytest.fixture(scope="module")
def models():
    return make_models()


def image_with(at, caption: str, nth: int = 0) -> str:
    """The media URL of the ``nth`` image whose caption starts with ``caption`` (the URL changes
    with the image's bytes)."""
    return [im.value[0] for im in at.image if im.captions and im.captions[0].startswith(caption)][nth]


def test_explorer_above_8_dimensions(models):
    path = str(models["t-vae16"])
    tag = hashlib.sha1(path.encode()).hexdigest()[:8]
    at = page("pages/explorer.py")
    at.selectbox(key="ex_model").set_value(path).run()
    assert not at.exception
    at.toggle(key="ex_server").set_value(True).run()  # the default decodes in the browser
    assert "16 dimensions: sliders move the code along the top 6 principal" in "\n".join(
        c.value for c in at.caption)
    pcs = [s for s in at.slider if s.key.startswith(f"ex_{tag}_pc")]
    assert len(pcs) == 6 and all(re.match(r"PC \d \(\d+% of variance\)", s.label) for s in pcs)
    assert not [s for s in at.slider if s.key.startswith(f"ex_{tag}_d")]  # no raw sliders yet

    before = image_with(at, "Decoded image")
    at.slider(key=f"ex_{tag}_pc0").set_value(3.0).run()
    moved = image_with(at, "Decoded image")
    assert moved != before

    at.multiselect(key=f"ex_raw_{tag}").set_value([11]).run()
    raw = at.slider(key=f"ex_{tag}_d11")
    assert raw.label == "z[11]"
    raw.set_value(raw.max).run()
    assert image_with(at, "Decoded image") not in (before, moved)

    pc_before = at.slider(key=f"ex_{tag}_pc0").value
    shown = image_with(at, "Decoded image")
    at.button(key=f"ex_prior_{tag}").click().run()
    assert image_with(at, "Decoded image") != shown
    assert at.slider(key=f"ex_{tag}_pc0").value != pc_before  # the sliders follow the new code

    at.number_input(key=f"ex_img_{tag}").set_value(7).run()
    shown = image_with(at, "Decoded image")
    at.button(key=f"ex_enc_{tag}").click().run()
    assert image_with(at, "Decoded image") != shown
    model, _ = load_checkpoint(path)
    data = dataset_for_meta(read_meta(path))
    z = latent.encode_images(model, data.test_x[7:8])[0]
    norm = float(re.search(r"Code norm ([\d.]+)", "\n".join(c.value for c in at.caption)).group(1))
    # Every slider now holds the image's code, the raw z[11] set by hand before included: the
    # code shown is that code (its norm printed to 2 decimals), not the prior sample's.
    assert at.slider(key=f"ex_{tag}_d11").value == pytest.approx(z[11], abs=1e-4)
    assert norm == pytest.approx(np.linalg.norm(z), abs=0.006)
    assert not at.exception and not at.error


def figure(at, title: str) -> dict:
    """The chart whose title contains ``title``, as its JSON spec: a Plotly figure (3-D views,
    curves) or a Vega-Lite one (the 2-D maps, whose hover shows the image)."""
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    specs += [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    return next(f for f in specs if title in json.dumps(f.get("layout", {}).get("title", ""))
                or title in json.dumps(f.get("title", "")))


def test_latent_space_3d_tsne_cache_and_decoding(models):
    at = page("pages/latent_space.py")
    at.selectbox(key="ls_ae").set_value(str(models["t-ae"]))
    at.selectbox(key="ls_vae").set_value(str(models["t-vae"])).run()
    assert not at.exception
    at.radio(key="ls_view").set_value("PCA 3-D").run()
    fig = figure(at, "VAE: PCA")
    assert {t["type"] for t in fig["data"]} == {"scatter3d"}
    assert any(t["name"] == "prior N(0, I)" for t in fig["data"])

    at.slider(key="ls_n").set_value(200)
    at.radio(key="ls_view").set_value("t-SNE").run()
    assert at.button(key="ls_tsne_0") and at.button(key="ls_tsne_1")  # not computed yet
    at.button(key="ls_tsne_1").click().run()
    assert "computed in" in json.dumps(figure(at, "VAE: t-SNE"))
    key = latent.tsne_key(str(models["t-vae"]), 200, 0, 30.0)
    assert latent.tsne_cache_path(key).exists()

    st.cache_data.clear()  # a new server process: only the disk cache is left
    again = page("pages/latent_space.py")
    again.selectbox(key="ls_ae").set_value(str(models["t-ae"]))
    again.selectbox(key="ls_vae").set_value(str(models["t-vae"])).run()
    again.slider(key="ls_n").set_value(200)
    again.radio(key="ls_view").set_value("t-SNE").run()
    assert "from the cache" in json.dumps(figure(again, "VAE: t-SNE"))

    before = image_with(again, "decoded from its code", 1)  # the VAE's, on the right
    again.number_input(key="ls_pick_1_None").set_value(42).run()
    assert image_with(again, "test image #42")
    assert image_with(again, "decoded from its code", 1) != before


def test_gan_studio_fixed_and_fresh_noise_and_interpolation(models):
    at = page("pages/gan_studio.py")
    at.selectbox(key="gs_model").set_value(str(models["t-gan"])).run()
    assert not at.exception and not at.error
    fixed = image_with(at, "64 samples from fixed noise (seed 1)")
    fresh = image_with(at, "64 samples from fresh noise (seed 12345)")
    at.number_input(key="gs_seed").set_value(3).run()
    assert image_with(at, "64 samples from fixed noise (seed 3)") != fixed
    assert image_with(at, "64 samples from fresh noise") == fresh  # the other grid stays
    at.button(key="gs_new").click().run()
    assert image_with(at, "64 samples from fresh noise") != fresh
    assert not [im for im in at.image if im.captions and im.captions[0].endswith("(seed 12345)")]
    path = image_with(at, "slerp interpolation from seed 1 to seed 2")
    at.radio(key="gs_how").set_value("linear").run()
    assert image_with(at, "linear interpolation from seed 1 to seed 2") != path
    assert "At the end: D(x) =" in "\n".join(c.value for c in at.caption)


def test_compare_measures_each_kind(models):
    at = page("pages/compare.py")
    at.multiselect(key="cmp_models").set_value([str(models[n]) for n in ("t-ae", "t-vae", "t-gan")])
    at.slider(key="cmp_n").set_value(200).run()
    assert not at.exception and not at.error
    table = next(d.value for d in at.dataframe if "measure" in d.value.columns).set_index("measure")
    assert list(table.columns) == ["t-ae", "t-vae", "t-gan"]
    mse = table.loc["Reconstruction: MSE per pixel (lower is better)"]
    assert 0 < float(mse["t-ae"]) < 1 and 0 < float(mse["t-vae"]) < 1 and mse["t-gan"] == "—"
    elbo = table.loc["Likelihood: −ELBO nats (VAE, lower is better)"]
    assert float(elbo["t-vae"]) > 0 and elbo["t-ae"] == "—"
    assert table.loc["Latent: active units", "t-vae"].endswith("/ 8")
    assert table.loc["Kind", "t-gan"] == "GAN (latent 16)"


def test_an_aes_prior_sample_is_n01_and_the_fitted_gaussian_is_named():
    """The AE-vs-VAE lesson: an AE turns samples of N(0, I) into noise. "Sample from the prior"
    draws N(0, I) for an AE too (a code of norm about sqrt(d)); the Gaussian fitted to its codes
    is its own button, and its codes sit where the AE's codes are (far larger here)."""
    from genlab.store.catalog import WEIGHTS_DIR
    path = str(WEIGHTS_DIR / "mnist-ae.safetensors")
    tag = hashlib.sha1(path.encode()).hexdigest()[:8]
    at = page("pages/explorer.py")
    at.selectbox(key="ex_model").set_value(path).run()
    at.toggle(key="ex_server").set_value(True).run()

    def norm() -> float:
        text = "\n".join(c.value for c in at.caption)
        return float(re.search(r"Code norm ([\d.]+)", text).group(1))
    d = load_checkpoint(path)[0].config.latent_dim
    prior = []
    for _ in range(3):
        at.button(key=f"ex_prior_{tag}").click().run()
        prior.append(norm())
    assert all(0.5 * np.sqrt(d) < n < 1.5 * np.sqrt(d) for n in prior), (prior, d)
    at.button(key=f"ex_fitted_{tag}").click().run()
    assert norm() > 2 * max(prior) and not at.exception
    assert at.button(key=f"ex_fitted_{tag}").label == "Sample a Gaussian fitted to its codes"
