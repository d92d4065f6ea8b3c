"""One leaderboard for every family: the rows are the numbers `genlab eval` stored (Fréchet
beside its floor, coverage, class agreement), the training time the trainer stored, and the
time to sample 64 images measured by one function; Compare shows it, the lab report too."""
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from genlab.metrics.format import num
from genlab.metrics.leaderboard import COLUMNS, SAMPLE_N, leaderboard_row, leaderboard_text, sample_seconds
from genlab.models import ModelConfig, build_model
from genlab.store.catalog import WEIGHTS_DIR
from genlab.store.checkpoint import read_meta

APP = str(Path(__file__).resolve().parent.parent / "app.py")
NAMES = ("mnist-ae", "mnist-vae", "mnist-gan", "mnist-cgan")


def _meta(name):
    return read_meta(WEIGHTS_DIR / f"{name}.safetensors")


def test_rows_are_the_stored_numbers():
    rows = {n: leaderboard_row(n, _meta(n)) for n in NAMES}
    cgan, ae = _meta("mnist-cgan")["metrics"], _meta("mnist-ae")["metrics"]
    assert rows["mnist-cgan"]["Fréchet"] == cgan["samples"]["frechet"]
    assert rows["mnist-cgan"]["floor"] == cgan["samples"]["frechet_floor"]
    assert rows["mnist-cgan"]["class agreement"] == cgan["class_agreement"]["agreement"]
    assert rows["mnist-cgan"]["family"] == "conditional GAN" and rows["mnist-vae"]["family"] == "VAE"
    assert rows["mnist-ae"]["Fréchet"] == ae["samples_prior"]["frechet"]  # the AE: from N(0, I)
    assert rows["mnist-vae"]["class agreement"] is None  # not conditional: not defined
    assert rows["mnist-gan"]["training time"] == _meta("mnist-gan")["seconds"]
    text = leaderboard_text(list(rows.values()))
    assert text[0] == COLUMNS and len(text) == 1 + len(NAMES)
    ratios = [float(r[5].rstrip("×")) for r in text[1:]]
    assert ratios == sorted(ratios) and text[1][0] == "mnist-cgan"  # best ratio first
    assert text[1][3] == num(cgan["samples"]["frechet"], "frechet") and text[1][-1] == "—"


@pytest.mark.parametrize("kind,k", [("gan", 0), ("flow", 10), ("ddpm", 0)])
def test_sample_seconds_draws_64_with_the_default_sampler(kind, k):
    arch = "conv"
    cfg = ModelConfig(kind, arch, 1, 8, hidden=(16,), num_classes=k).validate()
    model = build_model(cfg, seed=0).train()
    calls = []
    real = model.decode

    def spy(z, *labels, **kw):  # an unconditional GAN's decode takes z alone
        calls.append((len(z), labels[0].tolist() if labels else None, kw))
        return real(z, *labels, **kw)
    model.decode = spy
    s = sample_seconds(model)
    assert s > 0 and model.training  # the mode is restored
    assert calls[-1][0] == SAMPLE_N and calls[-1][2] == {}  # the default sampler, steps, guidance
    assert calls[-1][1] == ((torch.arange(SAMPLE_N) % k).tolist() if k else None)


def test_compare_shows_the_leaderboard():
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page("pages/compare.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    board = next(d.value for d in at.dataframe if "× floor" in d.value.columns)
    rows = {r["model"]: r for r in board.to_dict("records")}
    assert set(NAMES) <= set(rows) and all(r["data"] == "mnist" for r in rows.values())
    cgan = _meta("mnist-cgan")["metrics"]
    assert rows["mnist-cgan"]["Fréchet"] == num(cgan["samples"]["frechet"], "frechet")
    assert rows["mnist-cgan"]["class agreement"] == num(cgan["class_agreement"]["agreement"], "share")
    at.selectbox(key="cmp_lb_data").set_value("fashion-mnist")
    at.run()
    board = next(d.value for d in at.dataframe if "× floor" in d.value.columns)
    assert set(board["data"]) == {"fashion-mnist"}
