"""Latent arithmetic, directions, neighbours, ellipses and tooltip images (genlab.latent.ops),
on real data and the shipped models; and the explorer's Arithmetic tab under AppTest."""
import base64
import hashlib
import io
import os
import re

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.data import dataset_for_meta
from genlab.latent import codes as latent
from genlab.latent import ops as latent_ops
from genlab.store.catalog import WEIGHTS_DIR
from genlab.store.checkpoint import load_checkpoint


def shipped(name: str):
    path = WEIGHTS_DIR / f"{name}.safetensors"
    if not path.exists():
        pytest.skip(f"weights/{name} is not shipped here")
    return load_checkpoint(path)


def test_png_data_urls_round_trip(mnist):
    x = mnist.test_x[:5]
    urls = latent_ops.png_data_urls(x)
    assert len(urls) == 5 and all(u.startswith("data:image/png;base64,") for u in urls)
    back = np.array(Image.open(io.BytesIO(base64.b64decode(urls[3].split(",", 1)[1]))))
    assert back.shape == (28, 28) and np.array_equal(back, x[3, 0].numpy())
    assert max(len(u) for u in urls) < 1500  # small enough to send thousands


def test_class_means_and_analogy_maths():
    z = np.array([[0, 0], [2, 0], [10, 10], [12, 10]], np.float32)
    y = np.array([0, 0, 1, 1])
    means = latent_ops.class_means(z, y, 3)
    assert np.allclose(means[0], [1, 0]) and np.allclose(means[1], [11, 10])
    assert np.isnan(means[2]).all()  # a class with no image
    # the offset from its class mean (the "style") is kept; the class mean is swapped
    out = latent_ops.analogy(z[1], means, 0, 1)
    assert np.allclose(out, [12, 10]) and np.allclose(out - means[1], z[1] - means[0])
    assert np.allclose(latent_ops.analogy(z[1], means, 0, 1, strength=0.0), z[1])
    with pytest.raises(ValueError):
        latent_ops.analogy(z[1], means, 0, 2)


def test_directions_and_along():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((500, 4)).astype(np.float32) * np.array([3, 1, 0.5, 0.1], np.float32)
    p = latent.fit_pca(z)
    d0 = latent_ops.pca_direction(p, 0)
    assert abs(np.linalg.norm(d0) - z[:, 0].std()) < 0.3 and abs(d0[0]) > 0.99 * np.linalg.norm(d0)
    assert np.array_equal(latent_ops.raw_direction(4, 2, 0.5), [0, 0, 0.5, 0])
    with pytest.raises(ValueError):
        latent_ops.raw_direction(4, 4)
    codes = latent_ops.along(z[:2], d0, np.array([-1, 0, 1]))
    assert codes.shape == (6, 4)
    assert np.allclose(codes[1], z[0]) and np.allclose(codes[5] - codes[4], d0, atol=1e-6)


def test_nearest_and_projected_ellipse():
    z = np.array([[0, 0], [1, 0], [5, 5], [0.5, 0]], np.float32)
    idx, dist = latent_ops.nearest(z, np.array([0.4, 0], np.float32), k=2)
    assert list(idx) == [3, 0] and np.allclose(dist, [0.1, 0.4])
    p = latent.PCA(np.zeros(3, np.float32), np.eye(3, dtype=np.float32)[:2],
                   np.ones(2, np.float32), np.ones(2, np.float32) / 2)
    ell = latent_ops.projected_ellipse(p, np.array([1, 2, 3], np.float32),
                                       np.array([4, 1, 9], np.float32), k=2)
    # semi-axes 2·2 = 4 along x and 2·1 = 2 along y, around (1, 2): the third dimension is dropped
    assert np.allclose(ell[:, 0].max() - 1, 4, atol=0.05) and np.allclose(ell[:, 1].max() - 2, 2, atol=0.05)


def test_class_mean_swap_changes_the_class_a_classifier_sees(mnist):
    """On the shipped MNIST VAE: test images moved to another digit's mean are classified as
    that digit far more often than chance."""
    from genlab.metrics.classifier import load_classifier
    model, meta = shipped("mnist-vae")
    clf_path = WEIGHTS_DIR / "classifier-mnist.safetensors"
    if not clf_path.exists():
        pytest.skip("the MNIST classifier is not shipped here")
    clf, _ = load_classifier(clf_path)
    data = dataset_for_meta(meta)
    z = latent.encode_images(model, data.test_x)
    y = data.test_y.numpy()
    means = latent_ops.class_means(z, y, 10)
    target = (y[:200] + 3) % 10
    moved = np.stack([latent_ops.analogy(z[i], means, int(y[i]), int(target[i])) for i in range(200)])
    with torch.inference_mode():
        pred = clf(latent.decode(model, moved)).argmax(1).numpy()
        kept = clf(latent.decode(model, z[:200])).argmax(1).numpy()
    assert (pred == target).mean() > 0.5, (pred == target).mean()
    assert (kept == y[:200]).mean() > 0.8  # without the swap the class stays


def test_traverse_grid_shape_and_centre(mnist):
    model, meta = shipped("mnist-vae")
    z = latent.encode_images(model, mnist.test_x[:3])
    grid = latent_ops.traverse(model, z, latent_ops.raw_direction(z.shape[1], 0), 2.0, 5)
    assert grid.shape == (15, 1, 28, 28)
    assert torch.allclose(grid[2], latent.decode(model, z[0])[0], atol=1e-5)  # t = 0 is the code
    assert not torch.allclose(grid[0], grid[4])


def test_choosing_another_target_class_changes_the_result():
    from test_app import page
    path = str(WEIGHTS_DIR / "mnist-vae.safetensors")
    if not os.path.exists(path):
        pytest.skip("weights/mnist-vae is not shipped here")
    at = page("pages/explorer.py")
    at.selectbox(key="ex_model").set_value(path).run()
    assert not at.exception, [e.value for e in at.exception]
    tag = hashlib.sha1(path.encode()).hexdigest()[:8]

    def result():
        return next(im.value[0] for im in at.image if im.captions and im.captions[0].startswith("as a "))

    before, box = result(), at.selectbox(key=f"ar_to_{tag}")
    box.set_value(4 if box.value != 4 else 5).run()
    assert not at.exception
    after = result()
    assert after != before

    def traversal() -> tuple[str, str]:  # (caption, image) of the traversal grid
        return next((im.captions[0], im.value[0]) for im in at.image
                    if im.captions and im.captions[0].startswith("Rows: test images"))

    cap, img = traversal()
    assert "× the direction from the mean " in cap, cap  # the default: a class difference
    assert at.selectbox(key=f"ar_da_{tag}") and at.selectbox(key=f"ar_db_{tag}")
    at.radio(key=f"ar_dir_{tag}").set_value("principal direction").run()
    assert not at.exception, [e.value for e in at.exception]
    # the grid now walks the first principal direction: its own picker, caption, span and image
    assert at.number_input(key=f"ar_pc_{tag}").value == 1
    assert not [b for b in at.selectbox if b.key in (f"ar_da_{tag}", f"ar_db_{tag}")]
    cap2, img2 = traversal()
    assert re.search(r"columns: −3 to \+3 × the direction principal direction 1 \(\d+% of "
                     r"variance\), in standard deviations\.$", cap2), cap2
    assert img2 != img, "the traversal grid did not change with the direction"


# -- draw and encode (genlab.latent.sketch) -----------------------------------------------------------
def _as_drawing(digit_u8: torch.Tensor, scale: int = 10, offset=(0, 150)) -> np.ndarray:
    """A real test digit as a user might draw it: 10x larger, off-centre on a 400 px RGBA
    canvas."""
    big = np.kron(digit_u8[0].numpy(), np.ones((scale, scale), np.uint8))
    rgba = np.zeros((400, 400, 4), np.uint8)
    rgba[..., 3] = 255
    h, w = big.shape
    for c in range(3):
        rgba[offset[0]:offset[0] + h, offset[1]:offset[1] + w, c] = big[:h, :400 - offset[1]]
    return rgba


def test_prepare_places_a_drawing_like_mnist(mnist):
    from genlab.latent import sketch
    digit = mnist.test_x[7]
    x = sketch.prepare(sketch.to_gray(_as_drawing(digit)), 28, 1, "mnist")
    assert x.shape == (1, 1, 28, 28) and x.dtype == torch.uint8
    img = x[0, 0].numpy().astype(np.float32)
    cy, cx = sketch.center_of_mass(img)
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1
    rows, cols = np.flatnonzero(img.max(1) > 12), np.flatnonzero(img.max(0) > 12)
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 21
    # MNIST digits are made this way, so the original comes back closely
    corr = np.corrcoef(img.ravel(), digit[0].numpy().astype(np.float32).ravel())[0, 1]
    assert corr > 0.75, corr  # (the digit moved 2 px down gives 0.51)
    fit = sketch.prepare(sketch.to_gray(_as_drawing(digit)), 28, 3, "fit")
    assert fit.shape == (1, 3, 28, 28)
    assert max(np.ptp(np.flatnonzero(fit[0, 0].numpy().max(0) > 12)),
               np.ptp(np.flatnonzero(fit[0, 0].numpy().max(1) > 12))) >= 25  # fills the image
    with pytest.raises(ValueError, match="empty"):
        sketch.prepare(np.zeros((50, 50)), 28)


def test_a_drawn_digit_lands_among_its_class(mnist):
    """A real digit, redrawn off-centre and 10x larger, prepared and encoded by the shipped VAE:
    most of its five nearest test codes are of the same digit."""
    from genlab.latent import sketch
    model, meta = shipped("mnist-vae")
    data = dataset_for_meta(meta)
    z_all = latent.encode_images(model, data.test_x)
    y = data.test_y.numpy()
    hits = 0
    for i in range(10):
        x = sketch.prepare(sketch.to_gray(_as_drawing(mnist.train_x[i])), 28, 1, "mnist")
        idx, _ = latent_ops.nearest(z_all, latent.encode_images(model, x)[0], 5)
        hits += int((y[idx] == int(mnist.train_y[i])).sum() >= 3)
    assert hits >= 8, hits


def test_gan_inversion_matches_a_real_digit(mnist):
    from genlab.latent import sketch
    model, _ = shipped("mnist-gan")
    target = mnist.test_x[:1].float() / 255
    seen = []
    out = sketch.invert_gan(model, target, steps=60, starts=2, callback=lambda s, losses, im: seen.append(s),
                            every=20)
    assert seen == [20, 40, 60] and len(out["losses"]) == 61
    assert out["losses"][-1] < 0.3 * out["start_loss"], (out["start_loss"], out["losses"][-1])
    assert all(p.grad is None for p in model.parameters())  # the shared model is untouched
    again = latent.decode(model, out["z"])
    assert float(((again - target) ** 2).mean()) == pytest.approx(out["losses"][-1], rel=1e-4)
