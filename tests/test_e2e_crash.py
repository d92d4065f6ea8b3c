"""Crash isolation and shutdown in the real app: ``streamlit run app.py`` driven by Chromium.
A training process killed with SIGKILL is reported to its owner in words (with what was kept),
every other session goes on and the owner starts again at once; stopping the server with
SIGTERM or Ctrl-C (SIGINT) ends its workers, which save first, and a server killed with SIGKILL
leaves its workers to save and exit by themselves: no process is left behind."""
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from app_procs import descendants
from test_e2e import ARGS, CHROMIUM, IDLE, free_port, start_training, step_of, wait_until
from test_worker import proc_state, running

from genlab.store.checkpoint import read_meta

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
# the page's script is not running (Streamlit's own attribute on its app element)
def serve(models: Path, max_jobs: int = 2) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "GENLAB_OFFLINE": "1", "GENLAB_MODELS": str(models),
           "GENLAB_MAX_JOBS": str(max_jobs)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200
        except OSError:
            return False
    if not wait_until(healthy, 60):
        proc.kill()
        pytest.fail("streamlit did not start within 60 s")
    return proc, url


def end(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_train(browser, url: str):
    pg = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    pg.set_default_timeout(60_000)
    pg.goto(url + "/train")
    pg.get_by_role("heading", name="Train a model").wait_for()
    return pg


def trainers(server: subprocess.Popen) -> list[int]:
    return [p for p, name in descendants(server.pid).items() if name == "genlab-train" and running(p)]


def test_a_killed_training_process_is_reported_and_the_server_goes_on(browser, tmp_path):
    server, url = serve(tmp_path)
    try:
        mine = open_train(browser, url)
        start_training(mine, "crash run")
        partial = tmp_path / "crash-run.safetensors"
        assert wait_until(partial.exists, 60), "no checkpoint after the first epochs"
        assert read_meta(partial)["status"] == "incomplete"
        assert wait_until(lambda: len(trainers(server)) == 1, 30)
        os.kill(trainers(server)[0], signal.SIGKILL)
        said = mine.get_by_text("The training process died")
        said.wait_for(timeout=30_000)
        text = said.inner_text()
        assert "killed by signal 9" in text and "kept as 'crash-run' (marked incomplete)" in text
        assert read_meta(partial)["status"] == "incomplete"  # the partial model stays
        other = open_train(browser, url)  # another student: the server still serves
        other.locator('[data-testid="stSidebar"]').get_by_role("link", name="Home", exact=True).click()
        other.get_by_role("heading", name="GenLab").wait_for()
        other.locator('[data-testid="stSidebar"]').get_by_role("link", name="Train", exact=True).click()
        other.get_by_role("heading", name="Train a model").wait_for()
        start_training(other, "other run")
        assert wait_until(lambda: step_of(other) > 0, 60)
        # the owner starts again at once, in the same session
        mine.get_by_label("Save the model as").fill("crash again")
        mine.get_by_label("Save the model as").press("Enter")
        mine.wait_for_function(IDLE)  # the rerun that Enter started has ended: Start as drawn now
        mine.get_by_role("button", name="Start training").click()
        mine.locator('[data-testid="stMarkdown"]').filter(has_text="crash again").first.wait_for()
        assert wait_until(lambda: step_of(mine) > 0, 60)
        for pg in (mine, other):
            pg.get_by_role("button", name="Stop").click()
        assert wait_until(lambda: mine.get_by_text("Stopped early").count() > 0
                          and other.get_by_text("Stopped early").count() > 0, 30)
    finally:
        end(server)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["SIGTERM", "Ctrl-C", "SIGKILL"])
def test_stopping_the_server_ends_its_workers(browser, tmp_path, sig):
    """SIGTERM and Ctrl-C: the server stops its workers; SIGKILL (no handler, no atexit runs in
    the server): its workers notice it is gone and save and exit by themselves."""
    server, url = serve(tmp_path)
    try:
        pg = open_train(browser, url)
        start_training(pg, "shutdown run")
        assert wait_until(lambda: step_of(pg) > 0, 60)
        kids = descendants(server.pid)
        assert "genlab-train" in kids.values(), kids
        server.send_signal(sig)
        server.wait(60)
    finally:
        end(server)
    assert wait_until(lambda: not any(running(p) for p in kids), 20), \
        {p: (n, proc_state(p)) for p, n in kids.items() if running(p)}
    meta = read_meta(tmp_path / "shutdown-run.safetensors")  # the worker saved before it ended
    assert meta["status"] == "stopped" and meta["history"]
