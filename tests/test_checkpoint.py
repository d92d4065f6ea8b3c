"""Checkpoints round-trip exactly, carry their description, and are written atomically."""
import json

import pytest
import torch

from genlab.models import ModelConfig, build_model
from genlab.store.checkpoint import (
    CheckpointError,
    load_checkpoint,
    read_meta,
    safe_name,
    save_checkpoint,
    update_meta,
)


@pytest.mark.parametrize("kind,arch", [("ae", "conv"), ("vae", "mlp"), ("gan", "conv")])
def test_round_trip_gives_the_same_model(tmp_path, kind, arch):
    model = build_model(ModelConfig(kind=kind, arch=arch, latent_dim=12), seed=0).eval()
    path = save_checkpoint(tmp_path / "m", model, dataset={"name": "mnist"}, epochs=3,
                           history=[{"step": i, "loss": 1.0 / (i + 1)} for i in range(5000)])
    loaded, meta = load_checkpoint(path)
    z = torch.randn(4, 12)
    assert torch.equal(model.decode(z), loaded.decode(z))
    assert meta["model"]["kind"] == kind and meta["dataset"]["name"] == "mnist" and meta["epochs"] == 3
    assert len(meta["history"]) == 1000 and meta["history"][-1]["step"] == 4999  # downsampled
    assert {"torch", "genlab", "safetensors"} <= set(meta["versions"])
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["model"] == meta["model"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.safetensors"]  # no temp files


def test_half_precision_storage_is_smaller_and_loads(tmp_path):
    model = build_model(ModelConfig(kind="vae", arch="conv"), seed=0)
    full = save_checkpoint(tmp_path / "full", model)
    half = save_checkpoint(tmp_path / "half", model, dtype=torch.float16)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    loaded, _ = load_checkpoint(half)
    x = torch.rand(2, 1, 28, 28)
    assert torch.allclose(loaded.encode(x), model.eval().encode(x), atol=2e-2)


def test_update_meta_stores_metrics(tmp_path):
    path = save_checkpoint(tmp_path / "m", build_model(ModelConfig(kind="ae", arch="mlp"), seed=0))
    update_meta(path, metrics={"mse": 0.01})
    assert read_meta(path)["metrics"] == {"mse": 0.01}


def test_pickle_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "weights.safetensors"
    torch.save({"a": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="never unpickles"):
        load_checkpoint(path)


def test_safe_names():
    assert safe_name("../../etc/passwd") == "etc-passwd"
    assert safe_name("my vae (β=4)") == "my-vae-4"
    with pytest.raises(CheckpointError):
        safe_name("../..")
