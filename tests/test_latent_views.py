"""Latent arithmetic, directions, neighbours, ellipses and tooltip images (genlab.latent_ops),
on real data and the shipped models; and the explorer's Arithmetic tab under AppTest."""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import base64
import hashlib
import io

import numpy as np
import pytest
import torch
from PIL import Image

from genlab import latent, latent_ops
from genlab.catalog import WEIGHTS_DIR
from genlab.checkpoint import load_checkpoint


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
    data = latent.dataset_for(meta)
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
    assert at.radio(key=f"ar_dir_{tag}").set_value("principal direction").run() and not at.exception
