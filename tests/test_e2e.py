"""End to end in a real browser: Playwright drives Debian's Chromium against
``streamlit run app.py`` on localhost. Training advances with no click, Stop stops it, a latent
slider changes the image, every page opens. Screenshots go to $GENLAB_SCREENSHOTS (e.g.
``assets/``) or to a temporary folder."""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: see app.py

import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    from test_app import make_models

    from genlab.catalog import list_models
    kinds = {m["meta"]["model"]["kind"] for m in list_models() if m.get("meta")}
    if not {"ae", "vae", "gan"} <= kinds:
        make_models()  # small real models where weights/ lacks a kind
    port = free_port()
    env = {**os.environ, "GENLAB_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 60:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("streamlit did not start within 60 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
def page(server):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.set_default_timeout(60_000)
        pg.goto(server)
        pg.get_by_role("heading", name="GenLab").wait_for()
        yield pg
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    out = Path(os.environ.get("GENLAB_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def nav(pg, title: str, heading: str) -> None:
    pg.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    pg.get_by_role("heading", name=heading).wait_for()


def step_of(pg) -> int:
    text = pg.locator('[data-testid="stProgress"]').first.inner_text(timeout=30_000)
    return int(re.search(r"step ([\d,]+) /", text).group(1).replace(",", ""))


def chart_points(pg) -> int:
    return pg.evaluate("() => { const p = document.querySelector('.js-plotly-plot');"
                       " return p && p.data && p.data.length ? p.data[0].x.length : 0 }")


def wait_until(cond, timeout=30.0) -> bool:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if cond():
            return True
        time.sleep(0.25)
    return False


def test_home(page, shots):
    page.get_by_text("Data sets").wait_for()
    page.locator('[data-testid="stDataFrame"]').nth(1).wait_for()
    page.wait_for_timeout(4000)  # the tables draw into a canvas after they arrive
    page.screenshot(path=str(shots / "home.png"))


def start_training(pg, name: str) -> None:
    """Digits, 1000 epochs (far longer than the test), then Start."""
    pg.locator('[data-testid="stSelectbox"]').filter(has_text="Data set").click()
    pg.get_by_role("option", name="8×8 digits (tiny, fast)").click()
    pg.get_by_text("digits: 1,4").wait_for()  # the data set summary
    pg.wait_for_timeout(500)
    pg.get_by_label("Epochs").fill("1000")
    pg.get_by_label("Epochs").press("Enter")
    pg.wait_for_timeout(500)
    pg.get_by_label("Save the model as").fill(name)
    pg.get_by_label("Save the model as").press("Enter")
    pg.wait_for_timeout(800)
    assert pg.get_by_label("Save the model as").input_value() == name
    assert pg.get_by_label("Epochs").input_value() == "1000"
    pg.get_by_role("button", name="Start training").click()
    pg.locator('[data-testid="stMarkdown"]').filter(has_text=name).first.wait_for()


def test_training_runs_live_and_stops(page, shots):
    pg = page
    nav(pg, "Train", "Train a model")
    start_training(pg, "e2e run")
    assert wait_until(lambda: pg.locator('[data-testid="stProgress"]').count() > 0 and step_of(pg) > 0)
    s1, c1 = step_of(pg), chart_points(pg)
    assert wait_until(lambda: step_of(pg) > s1 and chart_points(pg) > c1, 20), "no live progress"
    pg.wait_for_timeout(1500)
    pg.screenshot(path=str(shots / "train.png"))
    nav(pg, "Home", "GenLab")  # training goes on while another page is open
    pg.wait_for_timeout(1500)
    nav(pg, "Train", "Train a model")
    s2 = step_of(pg)
    assert wait_until(lambda: step_of(pg) > s2, 20)
    pg.get_by_role("button", name="Stop").click()
    assert wait_until(lambda: pg.get_by_text("Stopped early").count() > 0, 10), "Stop had no effect"
    s3 = step_of(pg)
    pg.wait_for_timeout(2000)
    assert step_of(pg) == s3
    assert pg.get_by_text("saved as 'e2e-run").count() > 0


def test_closing_the_browser_session_stops_its_training(server, page):
    from genlab.catalog import user_models_dir
    from genlab.checkpoint import read_meta
    other = page.context.browser.new_page(viewport={"width": 1400, "height": 1000})
    other.goto(server + "/train")
    other.get_by_role("heading", name="Train a model").wait_for()
    start_training(other, "e2e orphan")
    assert wait_until(lambda: other.locator('[data-testid="stProgress"]').count() > 0
                      and step_of(other) > 0)
    other.close()  # the session ends: its job must stop (and save what it learned)
    target = user_models_dir() / "e2e-orphan.safetensors"
    # the job saves every epoch (status "incomplete") and once more when it stops
    assert wait_until(lambda: target.exists() and read_meta(target)["status"] == "stopped", 30), \
        "the job kept running after its session ended"


def decoded_src(pg) -> str:
    img = pg.locator('[data-testid="stImage"]').filter(has_text="Decoded image").locator("img")
    return img.first.get_attribute("src", timeout=60_000)


def test_latent_slider_changes_image(page, shots):
    pg = page
    nav(pg, "Latent explorer", "Latent explorer")
    before = decoded_src(pg)
    thumb = pg.get_by_role("slider").first
    thumb.focus()
    for _ in range(12):
        thumb.press("ArrowRight")
    assert wait_until(lambda: decoded_src(pg) != before, 20), "the image did not change"
    pg.wait_for_timeout(1000)
    pg.screenshot(path=str(shots / "explorer.png"))


@pytest.mark.parametrize("title,heading,ready,name", [
    ("Latent space", "Latent space: AE vs VAE", ".js-plotly-plot", "latent_space.png"),
    ("GAN studio", "GAN studio", '[data-testid="stImage"]', "gan_studio.png"),
    ("Compare", "Compare models", '[data-testid="stDataFrame"]', "compare.png"),
])
def test_every_other_page_opens(page, shots, title, heading, ready, name):
    nav(page, title, heading)
    page.locator(ready).first.wait_for(timeout=120_000)
    page.wait_for_timeout(1500)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(shots / name))
