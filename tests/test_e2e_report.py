"""The lab report in a real browser: `python -m genlab report` on the shipped AE and VAE, opened
from disk in Debian's Chromium. Every figure renders, the page asks for nothing outside itself,
and the numbers it shows are the ones `python -m genlab eval` stored in the checkpoints."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_e2e import server  # noqa: F401  (the streamlit server fixture)

from genlab.metrics.format import num, summarize
from genlab.store.catalog import WEIGHTS_DIR
from genlab.store.checkpoint import read_meta

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SHIPPED = [WEIGHTS_DIR / "mnist-ae.safetensors", WEIGHTS_DIR / "mnist-vae.safetensors"]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.html"
    r = subprocess.run([sys.executable, "-m", "genlab", "report", *map(str, SHIPPED), "--out", str(out)],
                       cwd=ROOT, env={**os.environ, "GENLAB_OFFLINE": "1"}, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    return out


def test_report_renders_in_chromium(report_file):
    from playwright.sync_api import sync_playwright
    requests = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.on("request", lambda req: requests.append(req.url))
            page.goto(report_file.as_uri())
            page.wait_for_load_state("load")
            page.wait_for_function("[...document.images].every(i => i.complete)", timeout=30_000)
            images = page.eval_on_selector_all(
                "img", "els => els.map(i => ({w: i.naturalWidth, h: i.naturalHeight, "
                       "shown: i.getBoundingClientRect().width, name: i.dataset.name}))")
            tables = page.eval_on_selector_all(
                "table", "ts => ts.map(t => [...t.rows].map(r => [...r.cells].map(c => c.innerText.trim())))")
            text = page.inner_text("body")
        finally:
            browser.close()
    names = {i["name"] for i in images}
    for model in ("m0-ae", "m1-vae"):
        for what in ("curves", "reconstructions", "samples", "pca"):
            assert f"{model}-{what}" in names
    assert all(i["w"] > 0 and i["h"] > 0 and i["shown"] > 0 for i in images), images
    outside = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert not outside, outside  # no external URL was fetched (nor any other)
    rows = [r for t in tables for r in t]
    for path in SHIPPED:  # the metrics tables: label, value, meaning
        for label, value in summarize(read_meta(path)["metrics"]).items():
            assert [label, value] in [r[:2] for r in rows if len(r) == 3], (label, value)
    vae = read_meta(SHIPPED[1])
    e = vae["metrics"]["elbo"]
    assert (f"reconstruction error of {num(e['recon'], 'nats')} nats and the value for the "
            f"Kullback–Leibler (KL) divergence is {num(e['kl'], 'nats')} nats") in text
    label = "Generation: Fréchet distance of samples (lower is better)"  # the AE-vs-VAE table
    compare = next({r[0]: r[1:] for r in t} for t in tables if any(r and r[0] == label for r in t))
    assert compare[label][1] == num(
        vae["metrics"]["samples"]["frechet"], "frechet")



def test_compare_page_downloads_the_report(server, tmp_path):  # noqa: F811 (the fixture)
    """The Compare page's button hands over the same self-contained report for the models
    compared there (the shipped AE and VAE are among its defaults)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768}, accept_downloads=True)
            page.goto(f"{server}/compare")
            page.get_by_role("heading", name="Compare models").wait_for(timeout=120_000)
            button = page.get_by_role("button", name=re.compile("Download the lab report"))
            button.wait_for(timeout=300_000)
            with page.expect_download(timeout=600_000) as info:
                button.click()
            target = tmp_path / info.value.suggested_filename
            info.value.save_as(target)
        finally:
            browser.close()
    assert target.name == "genlab-report.html"
    text = target.read_text()
    assert text.startswith("<!DOCTYPE html>") and "data:image/png;base64," in text
    for path in SHIPPED:
        assert f"<h2>{read_meta(path)['name']}: " in text
