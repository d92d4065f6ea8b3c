"""The CLI as a user runs it: train offline with a progress bar, eval, datasets, clear errors."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args, timeout=300):
    env = {**os.environ, "GENLAB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "genlab", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_train_then_eval(tmp_path):
    out = tmp_path / "vae-mnist"
    r = run("train", "--model", "vae", "--dataset", "mnist", "--epochs", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "offline subset, 5,000 digits" in r.stderr  # says which MNIST is in use
    assert "step/s" in r.stderr and "epoch 1/1" in r.stderr  # the progress bar
    assert "test (1,000 images): recon" in r.stdout and "saved" in r.stdout
    assert (tmp_path / "vae-mnist.safetensors").exists()
    e = run("eval", str(out) + ".safetensors", "--iwae-k", "4", "--no-store")
    assert e.returncode == 0, e.stderr
    assert "recon" in e.stdout or "ELBO" in e.stdout or "elbo" in e.stdout.lower()


def test_gan_and_ae_smoke(tmp_path):
    for model in ("ae", "gan"):
        r = run("train", "--model", model, "--arch", "mlp", "--dataset", "digits", "--epochs", "1",
                "--quiet", "--out", str(tmp_path / model))
        assert r.returncode == 0, r.stderr
        assert (tmp_path / f"{model}.safetensors").exists()


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
    import signal
    import time
    env = {**os.environ, "GENLAB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "genlab", "train", "--model", "ae", "--dataset",
                             "mnist", "--epochs", "1000", "--out", str(tmp_path / "ae")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:  # training starts right after "Device: ..."
            if proc.stderr.readline().startswith("Device:"):
                break
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopped:" in out and "Stopped by the user" in out and "Traceback" not in err
    assert (tmp_path / "ae.safetensors").exists()
