"""The Compare page under AppTest: the AE's generation rows show its measured samples from
N(0, I) and from the Gaussian fitted to its training codes (stored by `genlab eval`), not "—"."""


import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from genlab.metrics.format import num
from genlab.store.catalog import WEIGHTS_DIR
from genlab.store.checkpoint import read_meta

APP = str(Path(__file__).resolve().parent.parent / "app.py")
ROWS = {"Generation: Fréchet distance of samples (lower is better)": ("frechet", "frechet"),
        "Generation: class coverage of samples": ("coverage", "share"),
        "Generation: classifier confidence on samples": ("confidence", "share")}


def test_the_ae_column_shows_prior_and_fitted_generation():
    stored = read_meta(WEIGHTS_DIR / "mnist-ae.safetensors")["metrics"]
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page("pages/compare.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.multiselect(key="cmp_models").set_value([str(WEIGHTS_DIR / "mnist-ae.safetensors"),
                                                 str(WEIGHTS_DIR / "mnist-vae.safetensors")])
    at.slider(key="cmp_n").set_value(200)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception + at.error]
    table = next(d.value for d in at.dataframe if "measure" in d.value.columns)  # not the leaderboard
    rows = {r["measure"]: r for r in table.to_dict("records")}
    for label, (key, kind) in ROWS.items():
        cell = rows[label]["mnist-ae"]
        want = (f"N(0, I): {num(stored['samples_prior'][key], kind)} · "
                f"fitted Gaussian: {num(stored['samples_fitted'][key], kind)}")
        assert cell == want
        assert re.fullmatch(r"[\d.]+", rows[label]["mnist-vae"])  # a VAE: one number, its prior
    # the fitted Gaussian samples better than N(0, I) on the shipped AE
    assert stored["samples_fitted"]["frechet"] < stored["samples_prior"]["frechet"]
    # no cell is cut off: every column is at least as wide as its longest text (about 6.5 px a
    # character at the table's 14 px font; the AE's two-sampler cells were cut at the default)
    element = next(d for d in at.dataframe if "measure" in d.value.columns)
    import json
    config = json.loads(element.proto.columns)
    for col in ("measure", "mnist-ae", "mnist-vae"):
        longest = max(len(str(v)) for v in [col, *table[col]])
        assert config[col]["width"] >= 6.5 * longest, (col, config[col], longest)


def test_measuring_a_model_of_ones_own_shows_its_report(tmp_path):
    """A student's own AE (trained by the CLI into GENLAB_MODELS, not evaluated yet): Compare
    offers "Measure generation quality" and pressing it evaluates the model, without an error."""
    import os

    from _helpers import run_genlab
    out = Path(os.environ["GENLAB_MODELS"]) / "my-digits-ae"
    r = run_genlab("train", "--model", "ae", "--arch", "mlp", "--hidden", "32", "--latent-dim", "4",
                   "--dataset", "digits", "--epochs", "1", "--quiet", "--out", str(out))
    assert r.returncode == 0, r.stderr
    mine = str(out) + ".safetensors"
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page("pages/compare.py")
    at.run()
    at.multiselect(key="cmp_models").set_value([mine])
    at.slider(key="cmp_n").set_value(200)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.button(key="cmp_eval").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception + at.error]
    assert "metrics" in read_meta(mine)  # measured and stored in the model's own file
    assert any("Stored in the models' files" in i.value for i in at.info)
