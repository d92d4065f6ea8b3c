"""The `faces` data set offline (as tests run: GENLAB_OFFLINE=1): the 100 real LFW faces that
scikit-image ships, upscaled from 25×25 to 64×64 and said so; a VAE trains on them; a
conditional model is refused (faces have no classes)."""
import numpy as np
import pytest
import torch

from genlab.data import available_datasets, dataset_for_meta, dataset_meta, load_dataset
from genlab.models import ModelConfig, build_model
from genlab.train import TrainConfig, fit


@pytest.fixture(scope="module")
def faces():
    return load_dataset("faces")


def test_offline_faces_are_the_100_lfw_faces_upscaled(faces):
    from pathlib import Path

    import skimage
    raw = np.load(Path(skimage.__file__).parent / "data" / "lfw_subset.npy")
    assert raw.shape == (200, 25, 25)
    assert faces.shape == (1, 64, 64)
    assert len(faces.train_x) + len(faces.test_x) == 100  # the faces only, not the 100 non-faces
    assert (len(faces.train_x), len(faces.test_x)) == (80, 20)
    for split in (faces.train_x, faces.test_x):
        assert split.dtype == torch.uint8
        assert int(split.min()) <= 10 and int(split.max()) >= 245  # the full gray range is used
    assert "100 faces, 25×25, upscaled" in faces.summary()
    assert faces.classes == ["face"] and int(faces.train_y.max()) == 0
    # the images are those faces: downscaled again, each matches one of the first 100 arrays
    all_x = torch.cat([faces.train_x, faces.test_x]).float() / 255
    small = torch.nn.functional.interpolate(all_x, size=(25, 25), mode="area")[:, 0].numpy()
    err_faces = np.abs(small[:, None] - raw[None, :100]).mean((2, 3)).min(1)
    err_other = np.abs(small[:, None] - raw[None, 100:]).mean((2, 3)).min(1)
    assert np.all(err_faces < 0.05) and np.all(err_other > err_faces)


def test_faces_status_and_reload_from_a_checkpoint_record(faces):
    st = {d["name"]: d for d in available_datasets()}["faces"]
    assert st["available"] and "100 faces, 25×25, upscaled" in st["source"]
    again = dataset_for_meta({"model": {"image_size": 64, "channels": 1},
                              "dataset": dataset_meta(faces, "faces")})
    assert torch.equal(again.test_x, faces.test_x)


def test_a_vae_trains_one_epoch_on_faces(faces):
    model = build_model(ModelConfig(kind="vae", arch="conv", image_size=64), seed=0)
    res = fit(model, faces, TrainConfig(epochs=1, batch_size=16, seed=0))
    assert res.status == "done", res.message
    assert res.epochs_done == 1 and np.isfinite(res.test["total"])
    first = res.history[0]["total"]
    assert res.test["total"] < first  # it learned something in its 5 steps
    x = faces.test_x[:4].float() / 255
    assert model.reconstruct(x).shape == (4, 1, 64, 64)


def test_conditional_is_refused_on_faces(faces):
    model = build_model(ModelConfig(kind="vae", arch="mlp", image_size=64, num_classes=10))
    with pytest.raises(ValueError, match="has no classes, so a conditional model cannot learn"):
        fit(model, faces, TrainConfig(epochs=1))
