"""The CLI as a user runs it: train offline with a progress bar, eval, datasets, models, where
checkpoints go, own images, clear errors."""
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest
from _helpers import finish, run_genlab, start_genlab, wait_until

from genlab.latent.movie import movie_path
from genlab.store.checkpoint import load_checkpoint, read_meta

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--dataset", "digits", "--epochs", "1", "--quiet"]


def run(*args, timeout=300):
    return run_genlab(*args, timeout=timeout)


def _numbers(tree):
    """Every number in a nested JSON value."""
    if isinstance(tree, dict):
        return [n for v in tree.values() for n in _numbers(v)]
    if isinstance(tree, list):
        return [n for v in tree for n in _numbers(v)]
    return [tree] if isinstance(tree, (int, float)) and not isinstance(tree, bool) else []


def _image_folder(root, digits, per_class=12):
    """A folder of real PNG images, one subfolder per class (from the 8x8 digits)."""
    from PIL import Image
    for c in range(10):
        (root / str(c)).mkdir(parents=True)
    counts = [0] * 10
    for x, y in zip(digits.train_x, digits.train_y.tolist()):
        if counts[y] < per_class:
            Image.fromarray(x[0].numpy()).save(root / str(y) / f"{counts[y]}.png")
            counts[y] += 1
    return root


@pytest.fixture(scope="module")
def cli(tmp_path_factory, digits):
    """Training runs started together (each pays Python + torch start-up; in parallel they
    overlap), then the commands that read their checkpoints."""
    tmp = tmp_path_factory.mktemp("cli")
    work, elsewhere, home, xdg = (tmp / d for d in ("work", "elsewhere", "home", "xdg"))
    for d in (work, elsewhere, home, xdg):
        d.mkdir()
    _image_folder(work / "imgs", digits)
    with zipfile.ZipFile(work / "imgs.zip", "w") as z:
        for f in sorted((work / "imgs").rglob("*.png")):
            z.write(f, f.relative_to(work))
    at_home = dict(GENLAB_MODELS=None, HOME=str(home), XDG_DATA_HOME=None)
    procs = {
        "vae-mnist": start_genlab("train", "--model", "vae", "--dataset", "mnist", "--epochs", "1",
                                  "--out", tmp / "vae-mnist"),
        "gan": start_genlab("train", "--model", "gan", "--arch", "mlp", *TINY, "--out", tmp / "gan"),
        "home": start_genlab("train", "--model", "ae", "--arch", "mlp", *TINY, **at_home),
        "xdg": start_genlab("train", "--model", "ae", "--arch", "mlp", *TINY,
                            **{**at_home, "XDG_DATA_HOME": str(xdg)}),
        # relative paths, from the folder that holds the images
        "folder": start_genlab("train", "--model", "vae", "--arch", "mlp", "--dataset", "imgs",
                               "--image-size", "32", "--epochs", "1", "--quiet", "--out", "folder-vae",
                               cwd=work),
        "zip": start_genlab("train", "--model", "ae", "--arch", "conv", "--dataset", "imgs.zip",
                            "--image-size", "64", "--epochs", "1", "--quiet", "--out", "zip-ae",
                            cwd=work),
    }
    out = {k: finish(p) for k, p in procs.items()}
    later = {  # eval stores its results; from another folder, for a model of a relative folder
        "eval": start_genlab("eval", tmp / "vae-mnist.safetensors", "--iwae-k", "4"),
        "eval-folder": start_genlab("eval", work / "folder-vae.safetensors", "--iwae-k", "4",
                                    cwd=elsewhere),
        "models": start_genlab("models", **at_home),
    }
    out.update({k: finish(p) for k, p in later.items()})
    return tmp, out


def test_train_then_eval_stores_finite_metrics(cli):
    tmp, out = cli
    r = out["vae-mnist"]
    assert r.returncode == 0, r.stderr
    assert "offline subset, 5,000 digits" in r.stderr  # says which MNIST is in use
    assert "step/s" in r.stderr and "epoch 1/1" in r.stderr  # the progress bar
    assert "test (1,000 images): recon" in r.stdout and "saved" in r.stdout
    e = out["eval"]
    assert e.returncode == 0, e.stderr
    assert "ELBO" in e.stdout or "elbo" in e.stdout.lower()
    m = read_meta(tmp / "vae-mnist")["metrics"]  # eval stored its results in the checkpoint
    assert m["kind"] == "vae" and m["n_test"] == 1000 and m["iwae"]["k"] == 4
    for value in (m["recon"]["mse"], m["recon"]["bce"], m["elbo"]["total"], m["iwae"]["nll"]):
        assert isinstance(value, float) and math.isfinite(value) and value > 0
    assert all(math.isfinite(n) for n in _numbers(m))
    assert json.loads((tmp / "vae-mnist.json").read_text())["metrics"] == m  # the readable copy


def test_gan_defaults_are_stored_in_the_checkpoint(cli):
    tmp, out = cli
    assert out["gan"].returncode == 0, out["gan"].stderr
    meta = read_meta(tmp / "gan")
    assert meta["train"]["lr"] == 2e-4 and meta["train"]["betas"] == [0.5, 0.999]
    assert meta["train"]["batch_size"] == 64 and meta["model"]["latent_dim"] == 100
    assert meta["status"] == "done" and meta["epochs"] == 1


@pytest.mark.parametrize("case,folder", [("home", "home/.local/share"), ("xdg", "xdg")])
def test_the_default_save_folder(cli, case, folder):
    """Without --out and GENLAB_MODELS: ~/.local/share/genlab/models, or under XDG_DATA_HOME."""
    tmp, out = cli
    r = out[case]
    assert r.returncode == 0, r.stderr
    saved = [p for p in (tmp / folder / "genlab" / "models").glob("ae-digits-mlp-*.safetensors")
             if not p.name.endswith(".movie.safetensors")]  # beside it: its latent movie
    assert len(saved) == 1 and f"saved {saved[0]}" in r.stdout
    assert movie_path(saved[0]).is_file()
    load_checkpoint(saved[0])


def test_models_lists_shipped_models_and_yours(cli):
    tmp, out = cli
    r = out["models"]
    assert r.returncode == 0, r.stderr
    mine = next(p for p in (tmp / "home/.local/share/genlab/models").glob("*.safetensors")
                if not p.name.endswith(".movie.safetensors"))
    lines = r.stdout.splitlines()
    assert any(line.startswith("yours") and mine.stem in line and "ae/mlp latent 32 on digits" in line
               and str(mine) in line for line in lines), r.stdout
    shipped = [line for line in lines if line.startswith("shipped")]
    assert any("mnist-vae " in line and "vae/conv latent 32 on mnist" in line for line in shipped)
    assert not any("classifier" in line for line in lines)


def test_own_images_from_a_folder_and_a_zip_with_image_size(cli):
    tmp, out = cli
    for case, name, shape in (("folder", "folder-vae", [1, 32, 32]), ("zip", "zip-ae", [1, 64, 64])):
        assert out[case].returncode == 0, out[case].stderr
        meta = read_meta(tmp / "work" / name)
        assert meta["dataset"]["image_shape"] == shape and meta["model"]["image_size"] == shape[1]
        assert meta["dataset"]["train_size"] + meta["dataset"]["test_size"] == 120
        assert sorted(meta["dataset"]["classes"]) == [str(c) for c in range(10)]
    assert Path(read_meta(tmp / "work" / "folder-vae")["dataset"]["path"]) == tmp / "work" / "imgs"


def test_eval_from_another_folder_of_a_model_trained_on_a_relative_folder(cli):
    """Regression (d07e630): the data set's path is stored absolute, so eval finds it anywhere."""
    tmp, out = cli
    e = out["eval-folder"]
    assert e.returncode == 0, e.stderr
    m = read_meta(tmp / "work" / "folder-vae")["metrics"]
    assert m["n_test"] == read_meta(tmp / "work" / "folder-vae")["dataset"]["test_size"]
    assert math.isfinite(m["elbo"]["total"])


def test_datasets_and_help():
    r = run("datasets")
    assert r.returncode == 0 and "mnist" in r.stdout and "offline subset" in r.stdout
    h = run("train", "--help")
    assert h.returncode == 0 and "--latent-dim" in h.stdout and "--beta" in h.stdout


def test_errors_are_one_line_without_traceback(tmp_path):
    for args, words in ((["train", "--lr", "fast"], "must be a number"),
                        (["train", "--dataset", "imagenet"], "Unknown data set"),
                        (["eval", str(tmp_path / "missing.safetensors")], "No checkpoint")):
        r = run(*args)
        assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr


def test_ctrl_c_stops_cleanly_and_saves(tmp_path):
    env = {**os.environ, "GENLAB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "genlab", "train", "--model", "ae", "--dataset",
                             "mnist", "--epochs", "1000", "--out", str(tmp_path / "ae")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: list[str] = []  # stderr as it comes: "Device: ...", then the progress bar (\r updates)
    reader = threading.Thread(target=lambda: seen.extend(iter(lambda: proc.stderr.read(1), "")), daemon=True)
    reader.start()

    def steps_done() -> int:  # the bar's "N/TOTAL [" count
        return max([int(n) for n in re.findall(r"(\d+)/\d+ \[", "".join(seen))] or [0])
    try:
        wait_until(lambda: steps_done() > 0 or proc.poll() is not None, 180, "the first training steps")
        assert proc.poll() is None, "".join(seen)
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
        reader.join(10)
        out, err = proc.stdout.read(), "".join(seen)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopped:" in out and "Stopped by the user" in out and "Traceback" not in err
    meta = read_meta(tmp_path / "ae.safetensors")
    assert meta["status"] == "stopped" and 0 < meta["epochs"] < 1000
