"""The metric classifier (genlab.metrics.classifier): it learns, its file round-trips at half
precision, and its loader refuses anything that is not a classifier file."""
from __future__ import annotations

import json

import pytest
import torch

from genlab.metrics.classifier import _shift, embed, load_classifier, save_classifier, train_classifier
from genlab.models import ModelConfig, build_model
from genlab.store.checkpoint import CheckpointError, save_checkpoint


def test_shift_keeps_shape_and_zero_is_identity():
    x = torch.rand(5, 1, 8, 8)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(_shift(x, 0, g), x)
    y = _shift(x, 2, g)
    assert y.shape == x.shape and float(y.sum()) <= float(x.sum()) + 1e-5


def test_classifier_learns_digits_and_round_trips(tmp_path, digits):
    clf, info = train_classifier(digits, epochs=4, batch_size=64, lr=3e-3, device="cpu",
                                  max_shift=0, log=None)
    assert info["test_accuracy"] > 0.8
    path = save_classifier(tmp_path / "classifier-digits", clf, dtype=torch.float16, **info)
    assert path.suffix == ".safetensors" and path.with_suffix(".json").exists()
    assert json.loads(path.with_suffix(".json").read_text())["format"] == "genlab-classifier/1"
    clf2, meta = load_classifier(path)
    assert meta["test_accuracy"] == info["test_accuracy"]
    f1, p1 = embed(clf, digits.test_x)
    f2, p2 = embed(clf2, digits.test_x)
    assert f1.shape == (len(digits.test_x), 128)
    assert (p1.argmax(1) == p2.argmax(1)).float().mean() > 0.98  # fp16 storage


def test_classifier_loader_rejects_other_files(tmp_path):
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"\x80\x04garbage")
    with pytest.raises(CheckpointError):
        load_classifier(bad)
    model = build_model(ModelConfig(kind="vae", arch="mlp", image_size=8, latent_dim=1, hidden=(32,)))
    p = save_checkpoint(tmp_path / "vae", model)
    with pytest.raises(CheckpointError):
        load_classifier(p)  # a generative checkpoint is not a classifier
    with pytest.raises(CheckpointError):
        load_classifier(tmp_path / "missing")



def test_the_classifier_file_is_read_by_the_checkpoint_code(tmp_path):
    """A pickle named like a classifier is refused with the checkpoint loader's explanation."""
    import pickle
    bad = tmp_path / "classifier-x.safetensors"
    bad.write_bytes(pickle.dumps({"weights": [1, 2]}))
    with pytest.raises(CheckpointError, match="is a PyTorch pickle"):
        load_classifier(bad)
