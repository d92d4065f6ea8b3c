"""Absurd settings and non-numeric input are refused with one clear sentence, before any work,
from the library and from ``python -m genlab``; data containing NaN never reaches the trainer."""
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from _helpers import RunsCode

from genlab.models import ConfigError, ModelConfig, build_model
from genlab.store.checkpoint import read_meta
from genlab.train import TrainConfig, fit

ROOT = Path(__file__).resolve().parent.parent
TINY = dict(kind="ae", arch="mlp", image_size=8, latent_dim=4, hidden=(16,))


def _weights(model):
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("settings,words", [
    (dict(lr=10.0), "Learning rate must be in (0, 1], not 10.0"),
    (dict(lr=0.0), "Learning rate"),
    (dict(lr=-1e-3), "Learning rate"),
    (dict(lr=float("nan")), "Learning rate"),
    (dict(lr=float("inf")), "Learning rate"),
    (dict(epochs=0), "Epochs must be between 1 and 100,000, not 0"),
    (dict(batch_size=0), "Batch size must be between 1 and 65,536, not 0"),
])
def test_absurd_training_settings_are_refused_before_training(digits, settings, words):
    model = build_model(ModelConfig(**TINY), seed=0)
    before = _weights(model)
    events = []
    with pytest.raises(ValueError) as info:
        fit(model, digits, TrainConfig(**{"epochs": 1, **settings}), on_event=events.append)
    assert words in str(info.value)
    assert events == []  # not one step, not one event
    assert all(torch.equal(a, b) for a, b in zip(before, _weights(model)))


@pytest.mark.parametrize("change,words", [
    (dict(latent_dim=0), "Latent size must be between 1 and 4096, not 0"),
    (dict(latent_dim=-3), "Latent size"),
    (dict(hidden=(0,)), "Hidden sizes"),
    (dict(hidden=(10**6,)), "Hidden sizes"),
    (dict(channels=2), "1 (gray) or 3 (RGB)"),
    (dict(image_size=10**5), "out of range"),
    (dict(arch="conv", image_size=30), "divisible by 4"),
    (dict(beta=-1.0), "β must be between 0 and 1000"),
    (dict(beta=float("nan")), "β must be"),
    (dict(kind="diffusion"), "Model kind must be one of ae, vae, gan"),
])
def test_absurd_model_settings_are_refused(change, words):
    with pytest.raises(ConfigError) as info:
        build_model(ModelConfig(**{**TINY, **change}))
    assert words in str(info.value)


@pytest.mark.parametrize("cfg", [
    ModelConfig(kind="ae", arch="mlp", hidden=(8192,) * 50),  # 6.6 G parameters
    ModelConfig(kind="vae", arch="mlp", image_size=256, channels=3, hidden=(8192,) * 4),  # 3.6 G
], ids=["50-wide-layers", "4-layers-on-256px"])
def test_a_model_too_big_for_any_machine_is_refused_before_it_is_built(cfg):
    with torch.device("meta"), pytest.raises(ConfigError):  # meta: nothing allocated if it is built
        build_model(cfg)


def test_model_and_data_that_do_not_fit(digits):
    model = build_model(ModelConfig(**{**TINY, "image_size": 28}), seed=0)
    with pytest.raises(ValueError, match="the model expects"):
        fit(model, digits, TrainConfig(epochs=1))


def test_batch_larger_than_the_data_set_is_reduced_and_explained(digits):
    """README: the batch is reduced to the data set, with a note; training goes on."""
    model = build_model(ModelConfig(**TINY), seed=0)
    events = []
    result = fit(model, digits, TrainConfig(epochs=2, batch_size=65_536), on_event=events.append)
    n = len(digits.train_x)
    note = f"Batch size 65,536 is larger than the {n:,} training images; using {n:,}."
    assert result.status == "done" and events[-1].kind == "done"
    assert events[0].total_steps == 2 and [r["step"] for r in result.history] == [1, 2]  # 1 per epoch
    assert result.epochs_done == 2 and result.config.batch_size == n
    assert note in events[0].message and note in result.message and note in events[-1].message


def test_nan_pixels_are_refused_by_the_trainer(digits):
    model = build_model(ModelConfig(**TINY), seed=0)
    before = _weights(model)
    x = digits.train_x.float()
    x[5, 0, 3, 3] = float("nan")
    digits_nan = type(digits)(**{**digits.__dict__})  # a copy, then the float data assigned
    digits_nan.train_x = x
    with pytest.raises(ValueError, match="NaN"):
        fit(model, digits_nan, TrainConfig(epochs=1))
    assert all(torch.equal(a, b) for a, b in zip(before, _weights(model)))


# --- the command line ------------------------------------------------------------------------

CLI_CASES = {  # run as real subprocesses: the whole path, exit code and stderr
    "lr-text": (["train", "--lr", "abc"], "--lr must be a number, not 'abc'"),
    "lr-10": (["train", "--lr", "10"], "--lr must be in (0, 1], not 10"),
    "junk-folder": (["train", "--dataset", "{tmp}/junk"], "No readable image in junk"),
    "eval-pickle": (["eval", "{tmp}/evil.pt"], "is a PyTorch pickle"),
}
IN_PROCESS = {  # the same checks through genlab.cli.main, which is cheaper than a process each
    "epochs-text": (["train", "--epochs", "ten"], "--epochs must be a whole number, not 'ten'"),
    "latent-0": (["train", "--latent-dim", "0"], "--latent-dim must be between 1 and 4,096, not 0"),
    "lr-nan": (["train", "--lr", "nan"], "--lr must be in (0, 1], not nan"),
    "lr-minus": (["train", "--lr", "-0.1"], "--lr must be in (0, 1], not -0.1"),
    "batch-0": (["train", "--batch-size", "0"], "--batch-size must be between 1"),
    "seed-text": (["train", "--seed", "1.5"], "--seed must be a whole number, not '1.5'"),
    "hidden-text": (["train", "--hidden", "400,abc"], "--hidden takes 1 to 8 whole numbers"),
    "size-30": (["train", "--image-size", "30"], "--image-size must be one of 8, 16, 28, 32, 64, not 30"),
    "beta-text": (["train", "--beta", "high"], "--beta must be a number, not 'high'"),
    "no-dataset": (["train", "--dataset", "{tmp}/nowhere.zip"], "Unknown data set"),
    "eval-missing": (["eval", "{tmp}/absent"], "No checkpoint at"),
}


@pytest.mark.parametrize("case", sorted(IN_PROCESS))
def test_cli_main_refuses_with_one_clear_line(tmp_path, capsys, case):
    from genlab.cli.main import main
    args, words = IN_PROCESS[case]
    try:
        rc = main([a.format(tmp=tmp_path) for a in args])
    except SystemExit as exc:  # argparse
        rc = exc.code
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error" in line.lower()]
    assert rc == 2 and len(errors) == 1 and words in errors[0], err


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """Every CLI case at once (each pays Python + torch start-up; in parallel they overlap)."""
    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "junk").mkdir()
    (tmp / "junk" / "a.png").write_text("not an image")
    (tmp / "evil.pt").write_bytes(pickle.dumps(RunsCode(tmp / "pwned")))
    env = {**os.environ, "GENLAB_OFFLINE": "1", "GENLAB_MODELS": str(tmp / "models"),
           "PYTHONPATH": str(ROOT)}
    big = ["train", "--model", "ae", "--arch", "mlp", "--dataset", "digits", "--epochs", "1",
           "--hidden", "16", "--latent-dim", "4", "--batch-size", "5000", "--quiet",
           "--out", str(tmp / "big-batch")]
    cases = {k: [a.format(tmp=tmp) for a in args] for k, (args, _) in CLI_CASES.items()}
    cases["big-batch"] = big
    procs = {k: subprocess.Popen([sys.executable, "-m", "genlab", *args], cwd=tmp, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k, args in cases.items()}
    out = {}
    for k, p in procs.items():
        stdout, stderr = p.communicate(timeout=240)
        out[k] = (p.returncode, stdout, stderr)
    return tmp, out


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_refuses_with_one_clear_line(cli_runs, case):
    tmp, out = cli_runs
    rc, stdout, stderr = out[case]
    assert rc != 0
    assert "Traceback" not in stderr and "Traceback" not in stdout
    errors = [line for line in stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, stderr
    assert CLI_CASES[case][1] in errors[0]
    assert not (tmp / "pwned").exists()
    assert not list((tmp / "models").glob("*.safetensors")) if (tmp / "models").exists() else True


def test_cli_batch_larger_than_the_data_set_is_explained(cli_runs):
    tmp, out = cli_runs
    rc, stdout, stderr = out["big-batch"]
    assert rc == 0, stderr
    assert "Note: batch size 5000 is larger than the 1438 training images; using 1438." in stderr
    assert read_meta(tmp / "big-batch")["train"]["batch_size"] == 1438
