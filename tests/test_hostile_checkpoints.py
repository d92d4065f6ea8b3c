"""Hostile and broken checkpoint files are refused with a clear CheckpointError; nothing in them
is ever executed, and no memory is allocated for a config the tensors do not back up."""
import json
import os
import pickle
import re
import struct
import subprocess
import sys

import pytest
import torch
from _helpers import ROOT, RunsCode
from safetensors.torch import save as st_save

from genlab.models import ModelConfig, build_model
from genlab.store.catalog import list_models
from genlab.store.checkpoint import CheckpointError, load_checkpoint, read_meta, save_checkpoint

SMALL = ModelConfig(kind="ae", arch="mlp", image_size=8, latent_dim=4, hidden=(16,))


def _good(tmp_path, name="good", cfg=SMALL):
    model = build_model(cfg, seed=0)
    return save_checkpoint(tmp_path / name, model, test={"mse": 0.1}), model


def _rewrite(path, meta=None, tensors=None, header=None):
    """Write a safetensors file by hand: the given tensors and GenLab description (or raw header)."""
    if header is not None:
        raw = header if isinstance(header, bytes) else json.dumps(header).encode()
        path.write_bytes(struct.pack("<Q", len(raw)) + raw)
        return path
    path.write_bytes(st_save(tensors, metadata={"genlab": meta if isinstance(meta, str)
                                                else json.dumps(meta)}))
    return path


def _parts(path):
    model, meta = load_checkpoint(path)
    return {k: v.clone() for k, v in model.state_dict().items()}, meta


def test_the_payload_is_real(tmp_path):
    """The hostile pickle below does run code when unpickled, so the refusal tests mean something."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(RunsCode(marker)))
    assert marker.exists()


@pytest.mark.parametrize("how", ["p0", "p1", "p2", "p4", "p5", "torch.save", "torch.save-legacy"])
@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_pickles_are_refused_and_never_run(tmp_path, how, suffix):
    marker = tmp_path / "pwned"
    evil = {"state_dict": RunsCode(marker)}
    path = tmp_path / f"model{suffix}"
    if how.startswith("p"):
        path.write_bytes(pickle.dumps(evil, protocol=int(how[1])))
    else:
        torch.save(evil, path, _use_new_zipfile_serialization=how == "torch.save")
    for fn in (load_checkpoint, read_meta):
        with pytest.raises(CheckpointError) as info:
            fn(path)
        msg = str(info.value)
        assert path.name in msg and "safetensors" in msg
        if how not in ("p0", "p1"):  # protocols 0/1 have no magic bytes; the message is generic
            assert "pickle" in msg and "arbitrary code" in msg
    assert not marker.exists()


def test_a_pickle_among_your_models_is_listed_with_its_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_MODELS", str(tmp_path))
    marker = tmp_path / "pwned"
    torch.save({"w": RunsCode(marker)}, tmp_path / "evil.safetensors")
    _good(tmp_path, "fine")
    rows = {m.name: m for m in list_models() if m.origin == "yours"}
    assert rows["fine"].meta["model"]["latent_dim"] == 4
    assert rows["evil"].meta is None and "pickle" in rows["evil"].error
    assert not marker.exists()


def test_tensor_shapes_that_do_not_match_the_config(tmp_path):
    path, model = _good(tmp_path)
    meta = read_meta(path)
    meta["model"]["latent_dim"] = 8  # the file's tensors are for a latent size of 4
    _rewrite(path, meta, model.state_dict())
    with pytest.raises(CheckpointError, match=r"tensor .* the config needs"):
        load_checkpoint(path)


@pytest.mark.parametrize("change", ["missing", "extra", "int-dtype"])
def test_tensor_table_that_does_not_match(tmp_path, change):
    path, model = _good(tmp_path)
    meta = read_meta(path)
    tensors = dict(model.state_dict())
    first = next(iter(tensors))
    if change == "missing":
        del tensors[first]
    elif change == "extra":
        tensors["payload.weight"] = torch.zeros(3)
    else:
        tensors[first] = tensors[first].to(torch.int64)
    _rewrite(path, meta, tensors)
    with pytest.raises(CheckpointError, match="missing|unexpected|config needs"):
        load_checkpoint(path)


BAD_MODEL_JSON = {
    "unknown kind": lambda m: m["model"].update(kind="transformer"),
    "unknown key": lambda m: m["model"].update(exec="rm -rf /"),
    "latent not a number": lambda m: m["model"].update(latent_dim="four"),
    "latent 0": lambda m: m["model"].update(latent_dim=0),
    "negative width": lambda m: m["model"].update(hidden=[-16]),
    "model not an object": lambda m: m.update(model=[1, 2]),
    "no format": lambda m: m.pop("format"),
    "other format": lambda m: m.update(format="other/9"),
    "dataset not an object": lambda m: m.update(dataset="mnist"),
    "history not a list": lambda m: m.update(history={"step": 1}),
    "history rows not objects": lambda m: m.update(history=[1, 2]),
    "status not text": lambda m: m.update(status=["done"]),
}


@pytest.mark.parametrize("case", sorted(BAD_MODEL_JSON))
def test_descriptions_that_do_not_validate(tmp_path, case):
    path, model = _good(tmp_path)
    meta = read_meta(path)
    BAD_MODEL_JSON[case](meta)
    _rewrite(path, meta, model.state_dict())
    for fn in (read_meta, load_checkpoint):
        with pytest.raises(CheckpointError) as info:
            fn(path)
        assert path.name in str(info.value)


@pytest.mark.parametrize("header", [
    b"not json at all", b'{"__metadata__": {"genlab": "' + b"[" * 100_000 + b'"}}',
    b'{"__metadata__": {"genlab": "{{{"}}',
    b'{"__metadata__": {"genlab": 5}}', b"[1, 2, 3]", b'{"w": {"dtype": "F32"}}',
], ids=["garbage", "deeply-nested", "bad-inner-json", "inner-not-text", "list", "no-description"])
def test_unreadable_headers(tmp_path, header):
    path = _rewrite(tmp_path / "h.safetensors", header=header)
    with pytest.raises(CheckpointError, match="h.safetensors"):
        load_checkpoint(path)


def test_a_huge_config_is_refused_before_any_allocation(tmp_path):
    """Two 8192-wide layers each way need 540 MB; the tensors in the file do not back that up,
    so nothing is allocated (a file could name 64 such layers: 17 GB). Measured in a fresh
    process, whose peak memory before the load is only Python and torch: a peak from earlier
    tests cannot hide an allocation there."""
    path, model = _good(tmp_path)
    meta = read_meta(path)
    meta["model"]["hidden"] = [8192, 8192]
    _rewrite(path, meta, model.state_dict())
    code = ("import resource, sys\n"
            "from genlab.store.checkpoint import CheckpointError, load_checkpoint\n"
            "peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux\n"
            "before = peak()\n"
            "try:\n"
            "    load_checkpoint(sys.argv[1])\n"
            "except CheckpointError as exc:\n"
            "    print('refused:', exc)\n"
            "print('grew_kib', peak() - before)\n")
    r = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "refused: " in r.stdout and re.search("does not match its config|config needs", r.stdout)
    grew = int(r.stdout.split("grew_kib")[1])
    assert grew < 100 * 1024, f"loading grew the peak memory by {grew / 1024:.0f} MB"


def test_truncated_files(tmp_path):
    path, _ = _good(tmp_path)
    data = path.read_bytes()
    for cut in (0, 3, 8, 60, len(data) // 2, len(data) - 1):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=f"cut{cut}.safetensors"):
            load_checkpoint(bad)
    load_checkpoint(path)  # the original is fine


def test_a_real_checkpoint_that_starts_like_a_pickle_still_loads(tmp_path):
    """The first byte is the low byte of the header length: 0x80, like a pickle, for 1 in 256."""
    model = build_model(SMALL, seed=0)
    for pad in range(0, 512, 8):  # the padded header grows 8 bytes per step: <= 32 saves
        path = save_checkpoint(tmp_path / "m", model, note="x" * pad)
        if path.read_bytes()[:1] == b"\x80":
            break
    assert path.read_bytes()[:1] == b"\x80"
    loaded, meta = load_checkpoint(path)
    assert meta["note"] == "x" * pad
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.safetensors"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_nan_weights_are_refused(tmp_path):
    path, model = _good(tmp_path)
    tensors = {k: v.clone() for k, v in model.state_dict().items()}
    next(iter(tensors.values()))[0, 0] = float("nan")
    _rewrite(path, read_meta(path), tensors)
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        load_checkpoint(path)


def test_a_folder_or_missing_file(tmp_path):
    (tmp_path / "dir.safetensors").mkdir()
    with pytest.raises(CheckpointError, match="folder"):
        load_checkpoint(tmp_path / "dir.safetensors")
    with pytest.raises(CheckpointError, match="No checkpoint"):
        load_checkpoint(tmp_path / "absent")


def test_the_readable_json_copy_is_never_trusted(tmp_path):
    """The .json beside the weights is for people; a tampered copy changes nothing."""
    path, model = _good(tmp_path)
    side = path.with_suffix(".json")
    side.write_text(json.dumps({"format": "genlab-checkpoint/1", "model": {"kind": "gan",
                                                                          "latent_dim": 999}}))
    loaded, meta = load_checkpoint(path)
    assert meta["model"]["latent_dim"] == 4 and meta["model"]["kind"] == "ae"
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("kind,arch", [(k, a) for k in ("ae", "vae", "gan") for a in ("mlp", "conv")])
def test_every_model_kind_still_round_trips(tmp_path, kind, arch):
    cfg = ModelConfig(kind=kind, arch=arch, image_size=8, latent_dim=4)
    path, model = _good(tmp_path, f"{kind}-{arch}", cfg)
    weights, meta = _parts(path)
    assert meta["model"] == cfg.to_dict()
    for k, v in model.state_dict().items():
        assert torch.equal(weights[k], v)
