"""The lab report from real checkpoints: one self-contained HTML file whose numbers are the ones
`genlab eval` stored, the same as Markdown + PNGs in a zip, a PDF printed by Chromium, the
`report` command, health alarms; and `genlab eval`'s progress."""
import html
import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from genlab.metrics.format import num, summarize
from genlab.store.catalog import WEIGHTS_DIR
from genlab.store.checkpoint import read_meta

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = [WEIGHTS_DIR / "mnist-ae.safetensors", WEIGHTS_DIR / "mnist-vae.safetensors"]
URL = re.compile(r"(https?|ftp|wss?)://|//[a-z0-9.-]+\.[a-z]{2,}/", re.I)


def run_together(*calls: tuple) -> list[subprocess.CompletedProcess]:
    """Several ``run(*args, **env)`` calls, ``(args, env)`` each, started at once: each pays
    Python's and torch's start-up, and together those overlap."""
    procs = [(args, subprocess.Popen([sys.executable, "-m", "genlab", *args], cwd=ROOT,
                                     env={**os.environ, "GENLAB_OFFLINE": "1", **env},
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
             for args, env in calls]
    done = []
    for args, p in procs:
        out, err = p.communicate(timeout=600)
        done.append(subprocess.CompletedProcess(args, p.returncode, out, err))
    return done


def run(*args, **env_vars) -> subprocess.CompletedProcess:
    """``python -m genlab ARGS`` offline, with ``env_vars`` set."""
    return run_together((args, env_vars))[0]


@pytest.fixture(scope="module")
def report():
    from genlab.report import build_report
    return build_report(SHIPPED)


@pytest.fixture(scope="module")
def page(report):
    from genlab.report import to_html
    return to_html(report)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 1-epoch digits VAE with a health alarm recorded in its meta (as the trainer's alarms
    would be), saved as a real checkpoint."""
    from genlab.data import dataset_meta, load_dataset
    from genlab.models import ModelConfig, build_model
    from genlab.store.checkpoint import save_checkpoint
    from genlab.train import TrainConfig, fit
    data = load_dataset("digits")
    model = build_model(ModelConfig("vae", "mlp", 1, 8, 4, (64,)).validate(), seed=1)
    res = fit(model, data, TrainConfig(epochs=1, batch_size=64, seed=1))
    path = tmp_path_factory.mktemp("tiny") / "tiny-vae.safetensors"
    alarm = {"name": "KL collapse", "message": "KL fell below 0.1 nats: the codes carry nothing.",
             "step": 12}
    return save_checkpoint(path, model, dataset=dataset_meta(data, "digits"), epochs=1.0,
                           history=res.history, test_history=res.test_history, test=res.test,
                           train={"seed": 1, "epochs": 1}, alarms=[alarm], status=res.status)


def cells(text: str) -> list[list[str]]:
    """Table rows of the HTML, each as its unescaped cell texts."""
    rows = re.findall(r"<tr>(.*?)</tr>", text, re.S)
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<t[hd]>(.*?)</t[hd]>", r, re.S)]
            for r in rows]


def test_html_is_one_self_contained_file(report, page):
    assert not URL.search(page), URL.search(page)
    assert "<link" not in page and "<script" not in page and "url(" not in page
    srcs = re.findall(r'<img src="([^"]+)"', page)
    # per model: curves, reconstructions, samples (+ fitted-Gaussian samples for the AE), PCA
    assert len(srcs) == len(report.figures()) >= 9
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
    for f in report.figures():
        img = Image.open(io.BytesIO(f.png))
        assert img.format == "PNG" and img.width > 100 and img.height > 40


def test_numbers_are_those_genlab_eval_stored(page):
    rows = cells(page)
    for path in SHIPPED:
        meta = read_meta(path)
        heads = summarize(meta["metrics"])
        assert heads  # the shipped models are measured
        for label, value in heads.items():  # metric, value, meaning
            assert any(r[:2] == [label, value] and len(r) == 3 and r[2] for r in rows), label
    vae, ae = read_meta(SHIPPED[1]), read_meta(SHIPPED[0])
    e = vae["metrics"]["elbo"]
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert (f"After training the model for {int(vae['epochs'])} epochs, we manage to obtain a "
            f"reconstruction error of {num(e['recon'], 'nats')} nats and the value for the "
            f"Kullback–Leibler (KL) divergence is {num(e['kl'], 'nats')} nats. The following graphic "
            f"shows its evolution during the {int(vae['epochs'])} training epochs.") in text
    assert (f"After training the model for {int(ae['epochs'])} epochs, we manage to obtain a "
            f"reconstruction error of {num(ae['metrics']['recon']['mse'], 'mse')} (MSE per pixel)") in text
    table = {r[0]: r[1:] for r in rows if len(r) == 3 and r[0].startswith(("Reconstruction", "Likelihood"))}
    assert table["Reconstruction: MSE per pixel (lower is better)"] == [
        num(ae["metrics"]["recon"]["mse"], "mse"), num(vae["metrics"]["recon"]["mse"], "mse")]
    assert table["Likelihood: IWAE −log p(x), k=500 (VAE)"][1] == num(vae["metrics"]["iwae"]["nll"], "nats")
    assert text.count("None recorded.") == 2  # no alarm fired on the shipped models
    for label in ("Provenance", "Seed", "Device", "Library versions", "Training settings"):
        assert sum(r[0] == label for r in rows) == 2


def test_markdown_zip_has_the_same_report(report):
    from genlab.report import to_markdown_zip
    z = zipfile.ZipFile(io.BytesIO(to_markdown_zip(report)))
    md = z.read("report.md").decode()
    linked = re.findall(r"!\[[^\]]*\]\((figures/[^)]+\.png)\)", md)
    assert len(linked) == len(report.figures())
    for name in linked:
        assert Image.open(io.BytesIO(z.read(name))).format == "PNG"
    assert not URL.search(md)
    vae = read_meta(SHIPPED[1])["metrics"]
    assert f"| test −ELBO | {summarize(vae)['test −ELBO']} |" in md
    assert f"reconstruction error of {num(vae['elbo']['recon'], 'nats')} nats" in md


def test_pdf_printed_by_chromium(page):
    from genlab.report import find_browser, html_to_pdf
    if find_browser() is None:
        pytest.skip("no Chromium or Chrome on this machine")
    pdf = html_to_pdf(page)
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) >= 3  # two model sections and more


def test_pdf_without_a_browser_says_what_to_install(monkeypatch):
    from genlab.report import PdfError, html_to_pdf
    monkeypatch.setenv("GENLAB_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(PdfError, match="install"):
        html_to_pdf("<p>x</p>")


def test_report_command_and_alarms(tiny, tmp_path):
    out, missing = tmp_path / "lab.html", tmp_path / "missing.safetensors"
    r, z, pdf, bad = run_together(
        (("report", str(tiny), "--out", str(out)), {}),
        (("report", str(tiny), "--format", "md", "--out", str(tmp_path / "lab")), {}),
        (("report", str(tiny), "--format", "pdf", "--out", str(tmp_path / "x.pdf")),
         {"GENLAB_CHROMIUM": "/nonexistent/chromium"}),
        (("report", str(missing), "--out", str(tmp_path / "bad.html")), {}))
    assert r.returncode == 0, r.stderr
    assert out.is_file() and f"wrote {out}" in r.stdout
    text = html.unescape(re.sub(r"<[^>]+>", "", out.read_text()))
    assert "KL collapse (step 12): KL fell below 0.1 nats: the codes carry nothing." in text
    assert "None recorded." not in text
    assert "Not measured yet: run `python -m genlab eval" in html.unescape(out.read_text()).replace(
        "<code>", "`").replace("</code>", "`")
    assert z.returncode == 0, z.stderr
    assert zipfile.ZipFile(tmp_path / "lab").namelist()[0] == "report.md"
    assert pdf.returncode == 2 and pdf.stderr.startswith("error: A PDF needs Chromium or Google Chrome")
    assert not (tmp_path / "x.pdf").exists() and "loading" not in pdf.stderr  # refused before any work
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
    assert "no checkpoint at" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "bad.html").exists()


def test_eval_reports_progress_and_the_same_numbers(tiny):
    from genlab.metrics.report import evaluate_checkpoint, stderr_progress
    calls = []
    got = evaluate_checkpoint(tiny, iwae_k=10, store=False, progress=lambda *a: calls.append(a))
    plain = evaluate_checkpoint(tiny, iwae_k=10, store=False)
    for k in ("recon", "elbo", "iwae", "active_units"):
        assert got[k] == plain[k]
    done = [d for _, d, _ in calls]
    assert done == sorted(done) and done[-1] == calls[-1][2]  # counts up to the total
    stages = [s for s, _, _ in calls]
    assert stages[0] == "reconstruction error" and any(s.startswith("IWAE k=10") for s in stages)
    buf = io.StringIO()
    bar, close = stderr_progress(buf)
    evaluate_checkpoint(tiny, iwae_k=10, store=False, progress=bar)
    close()
    assert "measuring" in buf.getvalue() and f"{calls[-1][2]}/{calls[-1][2]}" in buf.getvalue()
    r = run("eval", str(tiny), "--iwae-k", "10", "--no-store")
    assert r.returncode == 0 and "measuring" in r.stderr and "IWAE k=10" in r.stderr, r.stderr


def test_report_when_the_training_images_are_gone(tiny, tmp_path):
    """A model trained on a folder that is no longer here still gets its report: meta, curves and
    samples, with one sentence saying what is left out and why."""
    from genlab.report import build_report, to_html
    from genlab.store.checkpoint import load_checkpoint, save_checkpoint
    model, meta = load_checkpoint(tiny)
    meta["dataset"] = {"name": "my-faces", "path": str(tmp_path / "gone"), "ref": str(tmp_path / "gone"),
                       "source": "a folder of 64 images"}
    keep = {k: v for k, v in meta.items() if k not in ("format", "model", "versions", "name", "created")}
    path = save_checkpoint(tmp_path / "orphan", model, **keep)
    report = build_report([path])
    names = {f.name for f in report.figures()}
    assert names == {"m0-vae-curves", "m0-vae-samples"}
    text = html.unescape(re.sub(r"<[^>]+>", "", to_html(report)))
    assert "Test images not available here, so figures that need them are left out: The images this " \
           "model was trained on (my-faces) are not on this computer any more" in text


def test_the_leaderboard_heads_the_report(page):
    """The one leaderboard: the stored numbers of every model and its time to sample 64 images."""
    from genlab.metrics.leaderboard import COLUMNS
    rows = cells(page)
    at = rows.index(list(COLUMNS))
    board = {r[0]: r for r in rows[at + 1:at + 1 + len(SHIPPED)]}
    for path in SHIPPED:
        meta = read_meta(path)
        s = meta["metrics"].get("samples") or meta["metrics"]["samples_prior"]
        r = board[meta["name"]]
        assert r[3:5] == [num(s["frechet"], "frechet"), num(s["frechet_floor"], "frechet")]
        assert r[-1].endswith(" s") and float(r[-1][:-2]) > 0  # sample 64: measured
