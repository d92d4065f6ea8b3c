"""End to end in a real browser: Playwright drives Debian's Chromium against
``streamlit run app.py`` on localhost. Every page opens whole from its deep link on a freshly
started server, Home shows its tables, training advances with no click, Pause / Resume / Stop act,
a latent slider changes the image. Screenshots go to $GENLAB_SCREENSHOTS (e.g. ``assets/``) or
to a temporary folder. Nothing here sleeps before an assertion: it waits on what the page shows."""
import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from _helpers import cpu_share, live_data
from app_procs import descendants
from test_worker import running

from genlab.store.catalog import user_models_dir
from genlab.store.checkpoint import read_meta

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
# Every page by its URL path (kept as before): its heading and something of its main content.
DEEP_LINKS = {"/train": ("Train a model", "text=Start training"),
              "/explorer": ("Latent explorer", 'iframe[title="st.iframe"]'),  # in-browser sliders
              "/latent_space": ("Latent space: AE vs VAE", ".js-plotly-plot"),
              "/gan_studio": ("GAN studio", '[data-testid="stImage"]:has-text("fixed noise")'),
              "/compare": ("Compare models", '[data-testid="stDataFrame"]'),
              "/": ("GenLab", '[data-testid="stDataFrame"]')}
NAV = ["Home", "Train", "Latent explorer", "Latent space", "GAN studio", "Compare"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium_or_fail() -> None:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("Debian's chromium is missing: CI must install it (bash .ci/run does)")
        pytest.skip("Debian's chromium is not installed")


SERVER_PIDS: dict[str, int] = {}  # server URL -> its process id (its workers are below it)


def trainers(url: str) -> list[int]:
    """The training processes of the server at ``url`` that are running now."""
    return [p for p, name in descendants(SERVER_PIDS[url]).items()
            if name == "genlab-train" and running(p)]


@contextlib.contextmanager
def streamlit_server():
    """A fresh ``streamlit run app.py`` on a free local port; its URL."""
    port = free_port()
    env = {**os.environ, "GENLAB_OFFLINE": "1", }
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    SERVER_PIDS[url] = proc.pid
    try:
        t0 = time.monotonic()
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                assert proc.poll() is None, "streamlit exited at start"
                assert time.monotonic() - t0 < 120, "streamlit did not start within 120 s"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def ensure_models() -> None:
    from test_app import make_models

    from genlab.store.catalog import list_models
    if not {"ae", "vae", "gan"} <= {m.kind for m in list_models()}:
        make_models()  # small real models where weights/ lacks a kind


@pytest.fixture(scope="module")
def browser():
    chromium_or_fail()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server():
    ensure_models()
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="module")
def page(server, browser):
    pg = browser.new_page(viewport={"width": 1366, "height": 768})
    pg.set_default_timeout(120_000)
    pg.goto(server)
    pg.get_by_role("heading", name="GenLab").wait_for()
    yield pg
    pg.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    out = Path(os.environ.get("GENLAB_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def whole(pg, heading: str, content: str) -> None:
    """The page is drawn whole: its heading, its main content, the sidebar's menu and device
    line, no exception."""
    pg.get_by_role("heading", name=heading, exact=True).wait_for()
    pg.locator(content).first.wait_for()
    side = pg.locator('[data-testid="stSidebar"]')
    side.get_by_text(re.compile(r"^Device: (CPU|CUDA|MPS|.*GPU)")).wait_for()
    for name in NAV:
        side.get_by_role("link", name=name).wait_for()
    assert pg.locator('[data-testid="stException"]').count() == 0


def test_every_deep_link_opens_its_page_whole_on_a_fresh_server(browser):
    """A server that no browser has visited yet: each page opened first by its own URL (the
    others before Home, which is what a pages/ folder beside st.navigation used to break)."""
    ensure_models()
    with streamlit_server() as url:
        for path, (heading, content) in DEEP_LINKS.items():
            pg = browser.new_page(viewport={"width": 1400, "height": 1000})
            pg.set_default_timeout(180_000)
            pg.goto(url + path)
            whole(pg, heading, content)
            assert pg.url == url + path  # still on its own address
            expected = "GenLab" if path == "/" else NAV[list(DEEP_LINKS).index(path) + 1]
            assert pg.title().startswith(expected)
            pg.close()


def nav(pg, title: str, heading: str) -> None:
    pg.locator('[data-testid="stSidebar"]').get_by_role("link", name=title, exact=True).click()
    pg.get_by_role("heading", name=heading, exact=True).wait_for()


def cells_of_row(pg, table: int, first_cell: str) -> list[str]:
    """The cells of the row of data frame ``table`` that starts with ``first_cell``, read from
    the grid's accessible table (the grid itself is drawn into a canvas)."""
    js = """([n, first]) => {
        const t = document.querySelectorAll('[data-testid="stDataFrame"]')[n];
        const rows = t ? [...t.querySelectorAll('tr')].map(r => [...r.querySelectorAll('td')]
            .map(c => c.textContent.trim())) : [];
        return rows.find(r => r[0] === first) || null }"""
    found = []
    assert wait_until(lambda: bool(found.append(pg.evaluate(js, [table, first_cell])) or found[-1])), \
        f"no row {first_cell!r} in table {table}"
    return found[-1]


def test_home(page, shots):
    from genlab.store.catalog import list_models
    pg = page
    whole(pg, "GenLab", '[data-testid="stDataFrame"]')
    assert pg.locator('[data-testid="stMetric"]').filter(has_text="Device").count() == 1
    digits = cells_of_row(pg, 0, "digits")
    assert digits[:2] == ["digits", "yes"], digits
    vae = next(m for m in list_models() if m.kind == "vae" and m.meta.get("test"))
    row = cells_of_row(pg, 1, vae.name)
    assert row[:3] == [vae.name, vae.origin, "VAE"], row
    assert f"−ELBO {vae.meta['test']['total']:.1f}" in " ".join(row)  # the stored test numbers
    pg.screenshot(path=str(shots / "home.png"))


IDLE = "() => document.querySelector('[data-testid=stApp]')?.dataset.testScriptState === 'notRunning'"


def start_training(pg, name: str) -> None:
    """Digits, a VAE for 1000 epochs (far longer than the test), then Start; the job shown
    with the name and epochs typed proves the page got every value."""
    pg.locator('[data-testid="stSelectbox"]').filter(has_text="Data set").click()
    pg.get_by_role("option", name="8×8 digits (tiny, fast)").click()
    pg.get_by_text("digits: 1,4").wait_for()  # the data set summary
    pg.get_by_label("Epochs", exact=True).fill("1000")
    pg.get_by_label("Epochs", exact=True).press("Enter")
    pg.get_by_label("Save the model as").fill(name)
    pg.get_by_label("Save the model as").press("Enter")
    pg.wait_for_function(IDLE)  # the rerun Enter started has ended (seen under load: a click
    # during it started the run with the name before)
    pg.get_by_role("button", name="Start training").click()
    try:
        pg.locator('[data-testid="stMarkdown"]').filter(has_text=name).first.wait_for()
    except Exception as exc:  # what the page showed instead: a failure must say why
        slug = re.sub(r"\W", "-", name)
        shot = Path(tempfile.gettempdir()) / f"start-{slug}.png"
        pg.screenshot(path=str(shot), full_page=True)
        text = pg.locator('[data-testid="stMain"]').inner_text(timeout=5_000)[-3000:]
        raise AssertionError(f"the run {name!r} did not show after Start (screenshot {shot}); "
                             f"the page said:\n{text}") from exc
    bar = pg.locator('[data-testid="stProgress"]').filter(has_text=re.compile(r"epoch [\d.]+ / 1000 "))
    bar.first.wait_for()  # a rerun's new bar may stand beside the old one for a moment:
    assert wait_until(lambda: bar.count() == 1, 30), "two progress bars stayed on the page"


def step_of(pg) -> int:
    text = pg.locator('[data-testid="stProgress"]').first.inner_text(timeout=30_000)
    return int(re.search(r"step ([\d,]+) /", text).group(1).replace(",", ""))


def last_x(pg) -> float:
    """The last x value of the live loss chart (pages/_ui/live: it appends rows; its last x
    grows while training runs)."""
    charts = live_data(pg, ".live-chart")
    return float(charts[0].get("lastX") or -1) if charts else -1


def wait_until(cond, timeout=60.0) -> bool:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return True
        time.sleep(0.1)
    return False


def steps_over(pg, seconds: float) -> set[int]:
    seen, t0 = set(), time.monotonic()
    while time.monotonic() - t0 < seconds:
        seen.add(step_of(pg))
        pg.wait_for_timeout(200)
    return seen


def test_training_runs_live_pauses_resumes_and_stops(server, page, shots):
    pg = page
    nav(pg, "Train", "Train a model")
    start_training(pg, "e2e run")
    assert wait_until(lambda: step_of(pg) > 0 and last_x(pg) > 0)
    s1, x1 = step_of(pg), last_x(pg)
    assert wait_until(lambda: step_of(pg) > s1 and last_x(pg) > x1), "no live progress"
    progress = pg.locator('[data-testid="stProgress"]').first.inner_text()
    assert re.search(r"[\d,]+ images/s · ETA \d", progress), progress
    pg.locator(".live-image").filter(has_text="Live:").wait_for()  # the live grid
    pg.screenshot(path=str(shots / "train.png"))
    nav(pg, "Home", "GenLab")  # training goes on while another page is open
    pg.locator('[data-testid="stSidebar"]').get_by_text("Training 'e2e run': running").wait_for()
    nav(pg, "Train", "Train a model")
    s2 = step_of(pg)
    assert wait_until(lambda: step_of(pg) > s2), "training stopped while another page was open"

    (worker,) = trainers(server)  # the run's own process
    pg.get_by_role("button", name="Pause").click()
    pg.get_by_role("button", name="Resume").wait_for()
    # the batch in flight when Pause came may still report: wait until the worker really waits
    # (next to no CPU), for longer than the page's 1 s poll, so the page shows its last report
    assert wait_until(lambda: cpu_share(worker, 1.5) < 0.05, 30), "the worker kept computing after Pause"
    assert len(steps_over(pg, 3.0)) == 1, "the step count moved while paused"
    assert cpu_share(worker, 1.0) < 0.05, "the worker computed while paused"
    frozen = step_of(pg)
    pg.get_by_role("button", name="Resume").click()
    assert wait_until(lambda: step_of(pg) > frozen), "Resume did not resume"

    pg.get_by_role("button", name="Stop").click()
    pg.get_by_text("Stopped early").wait_for(timeout=30_000)
    m = re.search(r"step ([\d,]+) / ([\d,]+) ", pg.locator('[data-testid="stProgress"]').first.inner_text())
    stopped, total = (int(g.replace(",", "")) for g in m.groups())
    name = re.search(r"saved as '([^']+)'", pg.get_by_text("Stopped early").first.inner_text()).group(1)
    assert name.startswith("e2e-run"), name
    # The page stops polling once the run has ended, so it cannot show that training stopped:
    # the worker process and the checkpoint it wrote last can.
    assert wait_until(lambda: not running(worker), 30), "the training process still runs after Stop"
    assert not trainers(server)
    meta = read_meta(user_models_dir() / f"{name}.safetensors")
    assert meta["status"] == "stopped", meta["status"]
    assert meta["epochs"] == pytest.approx(stopped / (total / 1000), abs=1e-3)  # where the page stopped


def test_closing_the_browser_session_stops_its_training(server, page):
    other = page.context.browser.new_page(viewport={"width": 1400, "height": 1000})
    other.set_default_timeout(120_000)
    other.goto(server + "/train")
    other.get_by_role("heading", name="Train a model").wait_for()
    start_training(other, "e2e orphan")
    assert wait_until(lambda: step_of(other) > 0)
    other.close()  # the session ends: its job must stop (and save what it learned)
    target = user_models_dir() / "e2e-orphan.safetensors"
    # the job saves every epoch (status "incomplete") and once more when it stops
    assert wait_until(lambda: target.exists() and read_meta(target)["status"] == "stopped", 60), \
        "the job kept running after its session ended"


def decode_on_server(pg) -> None:
    """The explorer's sliders decode in the browser by default; switch to the server's."""
    if not pg.get_by_role("switch", name="Decode on the server").is_checked():
        pg.get_by_text("Decode on the server", exact=True).click()


def decoded_src(pg) -> str:
    img = pg.locator('[data-testid="stImage"]').filter(has_text="Decoded image").locator("img")
    return img.first.get_attribute("src", timeout=60_000)


def test_latent_slider_changes_image(page, shots):
    pg = page
    nav(pg, "Latent explorer", "Latent explorer")
    decode_on_server(pg)
    before = decoded_src(pg)
    thumb = pg.get_by_role("slider").first
    thumb.focus()
    for _ in range(12):
        thumb.press("ArrowRight")
    assert wait_until(lambda: decoded_src(pg) != before), "the image did not change"
    pg.screenshot(path=str(shots / "explorer.png"))


@pytest.mark.parametrize("title,heading,ready,name", [
    ("Latent space", "Latent space: AE vs VAE", ".js-plotly-plot", "latent_space.png"),
    ("GAN studio", "GAN studio", '[data-testid="stImage"]', "gan_studio.png"),
    ("Compare", "Compare models", '[data-testid="stDataFrame"]', "compare.png"),
])
def test_every_other_page_opens(page, shots, title, heading, ready, name):
    nav(page, title, heading)
    whole(page, heading, ready)
    page.locator(ready).first.locator(".main-svg, img, table td").first.wait_for(state="attached")  # drawn
    page.screenshot(path=str(shots / name))
