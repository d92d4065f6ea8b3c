"""Model names from users cannot escape the models folder or replace shipped weights, and a save
that is killed or fails at any moment leaves the previous checkpoint whole."""
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

import genlab.jobs as jobs
import genlab.jobs.spec as spec_mod
from genlab.models import ModelConfig, build_model
from genlab.store.checkpoint import (
    SUFFIX,
    CheckpointError,
    load_checkpoint,
    read_meta,
    safe_name,
    save_checkpoint,
    update_meta,
)

ROOT = Path(__file__).resolve().parent.parent
SMALL = ModelConfig(kind="vae", arch="mlp", image_size=8, latent_dim=4, hidden=(16,))

HOSTILE_NAMES = ["../../etc/passwd", "/etc/cron.d/evil", "../x", ".hidden", "a/../../b", "C:\\Windows\\x",
                 "name\x00.png", "~/.ssh/authorized_keys", "-rf", "$(touch pwned)", "x" * 500,
                 "mødel ünïcode", "vae-mnist.safetensors", "..\\..\\up"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_user_model_names_stay_inside_the_folder(tmp_path, name):
    stem = safe_name(name)
    assert stem and len(stem) <= 80
    assert not set(stem) & set("/\\\x00:$~ ") and not stem.startswith((".", "-"))
    path = save_checkpoint(tmp_path / "models" / stem, build_model(SMALL, seed=0))
    assert path.resolve().parent == (tmp_path / "models").resolve()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        [path.name, path.with_suffix(".json").name])


@pytest.mark.parametrize("name", ["", "   ", "...", "/", "../..", "\x00", "é"])
def test_names_with_nothing_usable_are_refused(name):
    with pytest.raises(CheckpointError, match="Give the model a name"):
        safe_name(name)


def test_shipped_weights_and_your_models_are_never_overwritten(tmp_path, monkeypatch):
    shipped, mine = tmp_path / "weights", tmp_path / "mine"
    shipped.mkdir()
    monkeypatch.setattr(spec_mod, "WEIGHTS_DIR", shipped)
    monkeypatch.setenv("GENLAB_MODELS", str(mine))
    original = save_checkpoint(shipped / "vae-mnist", build_model(SMALL, seed=1))
    before = original.read_bytes()
    paths = []
    for name in ["vae-mnist", "VAE-MNIST", "../weights/vae-mnist", "vae-mnist", "my model"]:
        path = jobs.unique_model_path(name)
        assert path.parent == mine
        save_checkpoint(path, build_model(SMALL, seed=2))
        paths.append(path.name)
    assert paths == ["vae-mnist-2.safetensors", "VAE-MNIST-3.safetensors",
                     "weights-vae-mnist.safetensors", "vae-mnist-4.safetensors", "my-model.safetensors"]
    assert original.read_bytes() == before
    assert sorted(p.name for p in shipped.iterdir()) == ["vae-mnist.json", "vae-mnist.safetensors"]


def test_a_failed_save_leaves_the_previous_checkpoint(tmp_path):
    path = save_checkpoint(tmp_path / "m", build_model(SMALL, seed=1), test={"total": 1.5})
    before = path.read_bytes(), path.with_suffix(".json").read_bytes()
    with pytest.raises(CheckpointError, match="NaN or infinite values .*nothing was written"):
        save_checkpoint(path, build_model(SMALL, seed=2), test={"total": float("nan")})
    (tmp_path / "dir.safetensors").mkdir()
    with pytest.raises(CheckpointError, match="Cannot write .*dir.safetensors"):
        save_checkpoint(tmp_path / "dir", build_model(SMALL, seed=2))
    assert (path.read_bytes(), path.with_suffix(".json").read_bytes()) == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_weights_that_could_not_be_loaded_again_are_not_saved(tmp_path):
    path = save_checkpoint(tmp_path / "m", build_model(SMALL, seed=1))
    before = path.read_bytes()
    broken = build_model(SMALL, seed=2)
    with torch.no_grad():
        next(broken.parameters())[0, 0] = float("nan")
    with pytest.raises(CheckpointError, match="holds NaN or infinite values; nothing was written"):
        save_checkpoint(path, broken)
    huge = build_model(SMALL, seed=2)
    with torch.no_grad():
        next(huge.parameters())[0, 0] = 1e6  # fine in float32, infinite in float16
    with pytest.raises(CheckpointError, match="does not fit in float16; nothing was written"):
        save_checkpoint(path, huge, dtype=torch.float16)
    assert path.read_bytes() == before
    save_checkpoint(tmp_path / "f32", huge)  # float32 holds it
    assert load_checkpoint(tmp_path / "f32")[0].state_dict()[next(iter(huge.state_dict()))][0, 0] == 1e6


def test_temporary_files_of_killed_writers_are_swept_when_stale(tmp_path):
    path = save_checkpoint(tmp_path / "m", build_model(SMALL, seed=1))
    stale, fresh = tmp_path / f".{path.name}.dead.tmp", tmp_path / f".{path.name}.live.tmp"
    stale.write_bytes(b"half a file")
    fresh.write_bytes(b"being written right now")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    save_checkpoint(path, build_model(SMALL, seed=2))
    assert not stale.exists() and fresh.exists()


def test_update_meta_keeps_half_precision_and_weights(tmp_path):
    model = build_model(SMALL, seed=3)
    path = save_checkpoint(tmp_path / "shipped", model, dtype=torch.float16, test={"total": 9.0})
    size = path.stat().st_size
    weights = {k: v.clone() for k, v in load_checkpoint(path)[0].state_dict().items()}
    update_meta(path, metrics={"fid": 12.5})
    assert abs(path.stat().st_size - size) < 200  # still float16, not doubled
    loaded, meta = load_checkpoint(path)
    assert meta["metrics"] == {"fid": 12.5} and meta["test"] == {"total": 9.0}
    assert all(torch.equal(v, weights[k]) for k, v in loaded.state_dict().items())


SAVER = textwrap.dedent("""
    # Imports torch once, then forks one saver process per line read from stdin ("<version>").
    # A saver writes version after version of the same model to the same path until killed.
    import os, sys
    import torch
    torch.set_num_threads(1)  # no thread pool: safe to fork
    from genlab.store.checkpoint import save_checkpoint
    from genlab.models import ModelConfig, build_model
    path = sys.argv[1]
    model = build_model(ModelConfig(kind="ae", arch="mlp", latent_dim=32, hidden=(1024,)), seed=0)
    base = [p.detach().clone() for p in model.parameters()]
    history = [{"step": i, "mse": 0.5, "images_per_s": 1000.0} for i in range(1000)]
    print("ready", flush=True)
    for line in sys.stdin:
        version = int(line)
        pid = os.fork()
        if pid == 0:
            while True:
                with torch.no_grad():
                    for p, b in zip(model.parameters(), base):
                        p.copy_(b + version)
                print("begin", version, flush=True)
                save_checkpoint(path, model, version=version, history=history)
                print("end", version, flush=True)
                version += 1
        print("pid", pid, flush=True)
        os.waitpid(pid, 0)
        print("reaped", flush=True)
""")


def test_a_save_killed_at_random_moments_leaves_a_whole_checkpoint(tmp_path):
    rounds, rng = 16, random.Random(20261122)
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    target = tmp_path / "models" / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    zygote = subprocess.Popen([sys.executable, str(script), str(target)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env)
    base = [p.detach().clone() for p in build_model(
        ModelConfig(kind="ae", arch="mlp", latent_dim=32, hidden=(1024,)), seed=0).parameters()]
    mid_save = 0
    try:
        assert zygote.stdout.readline() == "ready\n"
        for r in range(rounds):
            zygote.stdin.write(f"{r * 100_000}\n")
            zygote.stdin.flush()
            pid, lines = None, []
            while pid is None or not any(x.startswith("end") for x in lines):
                line = zygote.stdout.readline()  # at least one whole save in this round
                if line.startswith("pid"):
                    pid = int(line.split()[1])
                else:
                    lines.append(line)
            time.sleep(rng.uniform(0.0, 0.25))
            os.kill(pid, signal.SIGKILL)
            while (line := zygote.stdout.readline()) != "reaped\n":
                assert line, "the saver process ended without being reaped"
                lines.append(line)
            done = [int(x.split()[1]) for x in lines if x.startswith("end")]
            started = [int(x.split()[1]) for x in lines if x.startswith("begin")]
            mid_save += started[-1] > done[-1]
            model, meta = load_checkpoint(target)  # whole, valid, and one of the saved versions
            v = meta["version"]
            assert v in (done[-1], started[-1])
            for p, b in zip(model.parameters(), base):
                assert torch.equal(p, b + v)
            side = json.loads(target.with_suffix(".json").read_text())
            assert side["version"] in (v, v - 1)  # the readable copy is written just after
            assert sorted(p.name for p in target.parent.glob(f"*{SUFFIX}")) == ["run.safetensors"]
            assert read_meta(target)["version"] == v
    finally:
        zygote.kill()
        zygote.wait()
    leftovers = len(list(target.parent.glob(".*.tmp")))  # kills between mkstemp and rename
    print(f"{mid_save}/{rounds} kills landed inside save_checkpoint; {leftovers} left a temporary file")
    assert mid_save >= 1
