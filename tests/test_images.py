"""genlab.images: crisp enlargement and PNG encoding, the one way every page, the live grid and
the lab report enlarge small images."""
import io

import numpy as np
import pytest
from PIL import Image

from genlab.images import png, upscale


@pytest.mark.parametrize("shape", [(28, 28), (28, 28, 3), (30, 62, 3)])
def test_upscale_is_nearest_neighbour_by_a_whole_factor(shape):
    img = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    big = upscale(img, 100)
    k = 100 // shape[1]
    ones = np.ones((k, k) + ((1,) if img.ndim == 3 else ()), np.uint8)
    assert np.array_equal(big, np.kron(img, ones))  # what the pages did before
    assert big.dtype == np.uint8 and big.shape[:2] == (shape[0] * k, shape[1] * k)


def test_upscale_caps_the_factor_and_never_shrinks():
    img = np.zeros((4, 4, 3), np.uint8)
    assert upscale(img, 1000).shape == (32, 32, 3)  # at most 8x
    assert upscale(img, 1000, most=20).shape == (80, 80, 3)
    big = np.zeros((500, 500), np.uint8)
    assert upscale(big, 100) is big


@pytest.mark.parametrize("fast", [True, False])
def test_png_round_trips(fast):
    img = np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    back = np.asarray(Image.open(io.BytesIO(png(img, fast=fast))))
    assert np.array_equal(back, img)
    gray = img[..., 0]
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png(gray, fast=fast)))), gray)
