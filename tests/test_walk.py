"""Press everything: a real ``streamlit run app.py`` in Chromium, with models of the user's own
(one trained by ``python -m genlab train``, one of each other kind the pages offer), every page
found from the sidebar's navigation and every control on it found from its DOM (buttons,
download buttons, selectboxes, radios, checkboxes, toggles, sliders, number inputs, tabs,
expanders) pressed or changed once, the app left to settle after each. The test fails on an
exception box, a browser console error, an error thrown in the page, and a request to any host
but the app's own. A new page or control is walked without a change here.

Not walked (said here, counted in the log): text inputs and file uploaders (they take typing or a
file, not a press), the sidebar's page links (they are the walk's route), controls inside custom
components' iframes. The Train page's "Start training" is pressed like any button: the run it
starts is stopped by the page's own Stop button (pressed by the walk, or after it if the page's
time ran out first), so no long work outlives the walk. A control that could not be pressed
(it went away under a rerun, or did not answer) is tried again at the end of its page's walk;
one still visible and not pressed then fails the test. Each page's walk is capped in time
(``PAGE_S``, far above what a page takes: a cap, not a budget); the log says how many controls
each page had and how many were pressed. Marked ``long``: run by ``.ci/run`` after the suite."""
from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from _helpers import eventually, genlab_env, wait_until
from test_e2e import ARGS, CHROMIUM, chromium_or_fail, free_port
from walk_probes import BUSY, CONTROLS, DISCOVER, LINK, LIVE_RUN, PATHS

pytestmark = [pytest.mark.e2e, pytest.mark.long, pytest.mark.timeout(2400)]
ROOT = Path(__file__).resolve().parent.parent
PAGE_S = 300.0  # each page's walk, at most (seconds): a control left unpressed then fails
SETTLE_S = 30.0  # the longest wait for one rerun to finish (loading a data set under load)
MINE = "walk-"  # the user's own models' names start with this: pickers choose them


@contextlib.contextmanager
def server(models: Path):
    """``streamlit run app.py`` on a free local port with ``models`` as the user's model folder."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=genlab_env(GENLAB_MODELS=str(models)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: up(url) or proc.poll() is not None, 120, "streamlit to start")
        assert proc.poll() is None, "streamlit exited at start"
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def up(url: str) -> bool:
    try:
        return urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200
    except OSError:
        return False




def models_of_my_own(folder: Path) -> list[str]:
    """A VAE trained by the CLI (no owner: the machine user's, seen by every session as 'yours')
    and, trained the same way in this process, one of each other kind the pages offer: AE, 2-D
    VAE, GAN, conditional VAE and GAN, flow matching, DDPM; all on the 8x8 digits, a few epochs."""
    from genlab.jobs.job import Job
    from genlab.jobs.spec import JobSpec
    from genlab.models.config import ModelConfig
    from genlab.train.control import TrainConfig
    done = subprocess.run(
        [sys.executable, "-m", "genlab", "train", "--dataset", "digits", "--model", "vae",
         "--arch", "mlp", "--latent-dim", "8", "--hidden", "64", "--epochs", "2", "--quiet",
         "--out", str(folder / f"{MINE}cli-vae.safetensors")],
        cwd=ROOT, env=genlab_env(GENLAB_MODELS=str(folder)), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    specs = {"ae": ("ae", 8, 0), "vae2d": ("vae", 2, 0), "gan": ("gan", 16, 0),
             "cvae": ("vae", 8, 10), "cgan": ("gan", 16, 10), "flow": ("flow", None, 0),
             "ddpm": ("ddpm", None, 0)}
    for name, (kind, d, classes) in specs.items():
        arch, hidden = ("conv", (8,)) if kind in ("flow", "ddpm") else ("mlp", (64,))  # U-Nets: conv only
        job = Job(JobSpec("digits", ModelConfig(kind, arch, latent_dim=d, hidden=hidden, num_classes=classes),
                          TrainConfig(epochs=1, batch_size=64, seed=0), MINE + name))
        job.run()
        assert job.snapshot().state == "done", job.snapshot().message
    return sorted(p.stem for p in folder.glob("*.safetensors") if "." not in p.stem)  # not .movie, .denoise




def settle(pg, rerun: bool = True, limit: float = SETTLE_S) -> None:
    """Wait until no script run is going on (seen so a few times in a row), at most SETTLE_S;
    with ``rerun``, first (up to 2 s) for the run that the last action asked for to begin."""
    t0 = time.monotonic()
    while rerun and time.monotonic() - t0 < 2 and not pg.evaluate(BUSY):
        pg.wait_for_timeout(50)
    t0, quiet = time.monotonic(), 0
    while time.monotonic() - t0 < limit and quiet < 3:
        quiet = 0 if pg.evaluate(BUSY) else quiet + 1
        pg.wait_for_timeout(100)


class Walk:
    """One browser page on the app, the errors it reports and the controls pressed so far."""

    def __init__(self, pg, url: str):
        self.pg, self.url, self.errors, self.log = pg, url, [], []
        self.sidebar: set[str] = set()  # the sidebar's controls are the same on every page: pressed once
        self.counts: dict[str, tuple[int, int]] = {}  # page -> (its own controls found, pressed)
        host = urlparse(url).netloc
        pg.on("console", lambda m: self.errors.append(f"console error: {m.text}") if m.type == "error" else None)
        pg.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        pg.on("response", lambda r: self.errors.append(f"HTTP {r.status} for {r.url}") if r.status >= 400 else None)
        pg.context.on("request", lambda r: None if urlparse(r.url).scheme in ("data", "blob", "about")
                      or urlparse(r.url).netloc == host else self.errors.append(f"request to another host: {r.url}"))

    def settle(self, rerun: bool = True, limit: float = SETTLE_S) -> None:
        settle(self.pg, rerun, limit)

    def check(self, where: str) -> None:
        boxes = self.pg.locator('[data-testid="stException"]')
        if boxes.count():
            self.errors.append(f"exception box after {where}: {boxes.first.inner_text()[:600]}")
        assert not self.errors, "\n".join(self.errors)

    def press(self, c: dict) -> None:
        pg, el = self.pg, self.pg.locator(f'[data-walk="{c["id"]}"]')
        if c["kind"] in ("button", "radio", "checkbox", "expander", "tab", "number"):
            el.click(timeout=10_000)
        elif c["kind"] == "slider":
            el.focus(timeout=10_000)
            el.press("ArrowRight")
        else:  # selectbox / multiselect: the user's own model if offered, else another option
            now = el.input_value(timeout=10_000)
            el.evaluate("e => e.scrollIntoView({block: 'center'})")  # room for its list below it
            opener = el.locator('xpath=..').locator('button[aria-haspopup="listbox"]')
            (opener if opener.count() else el).click(timeout=10_000)
            options = pg.locator('[role="listbox"] [role="option"]')
            options.first.wait_for(timeout=10_000)
            texts = [t.strip() for t in options.all_inner_texts()]
            here = texts.index(now) if now in texts else -1
            pick = next((i for i, t in enumerate(texts) if MINE in t and i != here), (here + 1) % len(texts))
            options.nth(pick).click(timeout=10_000)
            pg.keyboard.press("Escape")  # a multiselect stays open

    def open(self, path: str) -> None:
        """Open a page as a user does: its link in the sidebar."""
        if urlparse(self.pg.url).path == path:
            return
        self.pg.keyboard.press("Escape")  # a list left open would cover the link
        side = self.pg.locator('[data-testid="stSidebar"]')
        if side.get_attribute("data-collapsed") == "true":  # projector mode (pressed) collapses it
            self.pg.locator('[data-testid="stExpandSidebarButton"]').click()
            self.pg.wait_for_function("() => document.querySelector('[data-testid=\"stSidebar\"]')"
                                      ".getAttribute('data-collapsed') === 'false'")
        for _ in range(3):
            self.pg.wait_for_function(LINK, arg=path)
            self.pg.locator('[data-walk-link]').click()
            if eventually(lambda: urlparse(self.pg.url).path == path, 20):
                break
        assert urlparse(self.pg.url).path == path, f"the sidebar's link did not open {path}"
        self.settle(limit=120)  # a page's first run may load torch models and a data set

    def page(self, path: str) -> None:
        """Walk one page: press the first control not pressed yet, settle, look again, until
        every control was pressed or the page's time is up."""
        pg = self.pg
        self.open(path)
        pressed, failed, t0, found, waited = set(), set(), time.monotonic(), set(), False
        while time.monotonic() - t0 < PAGE_S:
            if urlparse(pg.url).path != path:  # a control led to another page: come back
                self.open(path)
            controls = pg.evaluate(DISCOVER, list(CONTROLS.items()))
            found |= {c["key"] for c in controls}
            todo = [c for c in controls if c["key"] not in pressed | failed | self.sidebar and not c["disabled"]]
            if pg.locator('[role="dialog"]').count():  # a dialog covers the page: its controls, then close it
                todo = [c for c in todo if c["dialog"]]
                if not todo:
                    pg.keyboard.press("Escape")
                    self.settle()
                    continue
            if not todo:
                if not waited and pg.evaluate(LIVE_RUN):
                    # a training the walk started folds the settings away until it ends (in a
                    # moment for a 1-epoch run, or in minutes): stop it, wait for the page that
                    # follows its end (the settings unfolded), and look again
                    waited = True
                    self.stop_run()
                    pg.wait_for_function(f"() => !({LIVE_RUN})()", timeout=90_000)
                    self.settle()
                    continue
                break
            rank = list(CONTROLS)
            c = min(todo, key=lambda c: rank.index(c["kind"]))  # then in the page's order
            try:
                self.press(c)
                pressed.add(c["key"])
                if c["key"].startswith("sidebar "):
                    self.sidebar.add(c["key"])
            except Exception as exc:  # it went away under a rerun, or did not answer in 10 s:
                failed.add(c["key"])  # logged (the list of what was not pressed names it)
                if os.environ.get("WALK_ONLY"):
                    pg.screenshot(path=f"/tmp/walk-{len(failed)}.png")
                why = str(exc).splitlines()
                self.log.append(f"{path}: {c['key']} could not be pressed ({type(exc).__name__}: "
                                f"{why[0] if why else ''} / {why[-1] if why else ''})")
            self.settle(rerun=c["kind"] not in ("expander", "tab"))  # those two draw in the browser
            self.check(f"{c['key']!r} on {path}")
        # what is on the page now and was never pressed: a control that failed gets one more try
        for c in pg.evaluate(DISCOVER, list(CONTROLS.items())):
            if c["key"] in failed and not c["disabled"] and time.monotonic() - t0 < PAGE_S:
                try:
                    self.press(c)
                    pressed.add(c["key"])
                    self.settle(rerun=c["kind"] not in ("expander", "tab"))
                    self.check(f"{c['key']!r} on {path} (second try)")
                except Exception as exc:
                    self.log.append(f"{path}: {c['key']} could not be pressed again ({type(exc).__name__})")
        now = pg.evaluate(DISCOVER, list(CONTROLS.items()))
        unpressed = sorted({c["key"] for c in now if not c["disabled"]} - pressed - self.sidebar)
        disabled = sorted({c["key"] for c in now if c["disabled"]} - pressed)
        left = sorted(found - pressed - self.sidebar)
        own = {k for k in found if not k.startswith("sidebar ")}
        self.counts[path] = (len(own), len(own & pressed))
        self.log.append(f"{path}: {len(found)} controls, {len(pressed)} pressed in "
                        f"{time.monotonic() - t0:.0f} s" + (f"; not pressed: {left}" if left else "")
                        + (f"; disabled at the end: {disabled}" if disabled else ""))
        if unpressed:
            self.errors.append(f"{path}: visible controls left unpressed: {unpressed}")
        if self.stop_run():  # a training the walk started ends here
            self.settle()
        self.check(f"the walk of {path}")

    def stop_run(self) -> bool:
        """Press the live view's Stop if it is there and enabled; whether it was pressed."""
        stop = self.pg.locator('[data-testid="stButton"] button').filter(has_text=re.compile("^Stop$"))
        if stop.count() and stop.first.is_enabled():
            stop.first.click()
            return True
        return False


def test_press_everything_on_every_page(tmp_path, monkeypatch):
    chromium_or_fail()
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("GENLAB_MODELS", str(folder))  # where this process's jobs save
    mine = models_of_my_own(folder)
    assert f"{MINE}cli-vae" in mine and len(mine) == 8, mine
    from playwright.sync_api import sync_playwright
    with server(folder) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1366, "height": 768})
        pg.set_default_timeout(60_000)
        walk = Walk(pg, url)
        pg.goto(url)
        pg.locator('[data-testid="stSidebar"]').get_by_text(re.compile("^Device: ")).wait_for()
        walk.settle()
        paths = ["/"] + [p for p in pg.evaluate(PATHS) if p != "/"]  # Home's own link has no href here
        assert len(paths) >= 8 and "/" in paths and "/train" in paths, paths
        only = [p for p in os.environ.get("WALK_ONLY", "").split(",") if p]  # to look at one page
        try:
            for path in only or paths:
                walk.page(path)
            # README: every page has its own address and opens whole from its deep link (test_e2e
            # checks six on a fresh server; this covers every page the navigation lists)
            deep = browser.new_page(viewport={"width": 1366, "height": 768})
            for path in paths:
                deep.goto(url + path)
                deep.locator('[data-testid="stSidebar"]').get_by_text(re.compile("^Device: ")).wait_for()
                deep.locator("h1").first.wait_for()
                settle(deep, limit=120)
                assert urlparse(deep.url).path == path and not deep.locator('[data-testid="stException"]').count()
        finally:
            print("\n".join(walk.log))
            browser.close()
        assert set(walk.counts) == set(only or paths)
        # every page but Home and the gallery (which may show a table only) has controls, and
        # the walk pressed some on each page that has them
        assert all(found for p, (found, _) in walk.counts.items() if p not in ("/", "/gallery")), walk.counts
        assert all(pressed for found, pressed in walk.counts.values() if found), walk.counts
