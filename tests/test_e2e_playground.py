"""The 2-D playground in a real Chromium against a real server: each family trains and its
divergence falls while the views change frame to frame; one step moves the page's step counter
by exactly one optimiser step of the part named; a lesson link (and the share link it becomes)
opens the same run; points drawn by clicks on the plane become the data; a closed page's worker
process ends."""
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from app_procs import descendants
from test_e2e import CHROMIUM, chromium_or_fail, free_port

pytestmark = pytest.mark.e2e
SERVER_PID = {}
ROOT = Path(__file__).resolve().parent.parent
STATE = "(() => { const s = Object.values(window.genlabPlayground || {})[0]; if (!s || !s.frame) return null;" \
        " const a = s.frame.arrays, o = {}; for (const k in a) o[k] = Array.from(a[k]);" \
        " return {meta: s.frame.meta, shown: s.shown, curve: s.curve, arrays: o,"  \
        " status: s.box.querySelector('.status').textContent}; })()"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    chromium_or_fail()
    port = free_port()
    env = dict(os.environ, GENLAB_OFFLINE="1", GENLAB_MODELS=str(tmp_path_factory.mktemp("models")))
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port",
                             str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
                             "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    SERVER_PID["pid"] = proc.pid
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(20)


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


def open_page(browser, url, frame=True):
    pg = browser.new_page(viewport={"width": 1366, "height": 768})
    for _ in range(90):
        try:
            pg.goto(url)
            break
        except Exception:
            time.sleep(1)
    pg.wait_for_function("Object.values(window.genlabPlayground || {}).some(s => s.shown > 0)"
                         if frame else "Object.keys(window.genlabPlayground || {}).length > 0",
                         timeout=120_000)
    return pg


def state(pg):
    return pg.evaluate(STATE)


def wait_state(pg, ok, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        s = state(pg)
        if s and ok(s):
            return s
        time.sleep(0.2)
    raise AssertionError(f"the page did not get there: {state(pg) and state(pg)['status']}")


CHANGING = {"gan": ("heat", "warp", "grad", "fake"), "vae": ("mu", "sd", "warp", "fake"),
            "flow": ("traj", "field"), "ddpm": ("traj", "field")}


def test_each_family_trains_its_divergence_falls_and_its_views_change(server, browser):
    pg = open_page(browser, f"{server}/playground?data=moons")
    try:
        for family, label in (("gan", "GAN"), ("vae", "VAE"), ("flow", "Flow matching"),
                              ("ddpm", "DDPM")):
            pg.get_by_text(label, exact=True).click()  # the same page, a new run
            first = wait_state(pg, lambda s, f=family: s["meta"]["family"] == f and s["curve"])
            pg.get_by_role("button", name="▶ Play").click()
            a = wait_state(pg, lambda s: s["meta"]["total"] > 50)
            b = wait_state(pg, lambda s, a=a: s["meta"]["total"] > a["meta"]["total"] + 200
                           and len(s["curve"]) >= 3 and s["shown"] > a["shown"] + 3)
            for name in CHANGING[family]:  # the frames on screen differ: the views animate
                x, y = np.array(a["arrays"][name], float), np.array(b["arrays"][name], float)
                assert np.abs(x - y).mean() > 1e-3, (family, name)
            js0, js1 = first["curve"][0][1], b["curve"][-1][1]
            assert js1 < js0 - 0.1, (family, js0, js1)
            pg.get_by_role("button", name="❚❚ Pause").click()
            pg.get_by_role("button", name="▶ Play").wait_for()
            wait_state(pg, lambda s: not s["meta"]["playing"])
    finally:
        pg.close()


def test_one_step_moves_the_counter_by_exactly_one_optimiser_step(server, browser):
    pg = open_page(browser, f"{server}/playground?family=gan&d_steps=2")
    try:
        assert "D steps 0 · G steps 0" in state(pg)["status"]
        for button, want in (("D step", "D steps 1 · G steps 0"), ("G step", "D steps 1 · G steps 1"),
                             ("Iteration", "D steps 3 · G steps 2")):
            pg.get_by_role("button", name=button, exact=True).click()
            wait_state(pg, lambda s, w=want: w in s["status"], timeout=30)
        time.sleep(2.5)  # and nothing more happens by itself
        assert "D steps 3 · G steps 2" in state(pg)["status"]
    finally:
        pg.close()


def test_a_lesson_link_opens_the_same_run(server, browser):
    runs = []
    url = f"{server}/playground?lesson=mode-collapse"
    for _ in range(2):
        pg = open_page(browser, url)
        try:
            pg.wait_for_url("**noise=1**")  # the lesson's settings, all in the URL
            url = pg.url  # the second time: the share link the first page shows
            assert "lesson=mode-collapse" in url and "lr=0.003" in url
            pg.get_by_role("button", name="Iteration", exact=True).click()
            runs.append(wait_state(pg, lambda s: s["meta"]["iterations"] == 1, timeout=30))
        finally:
            pg.close()
    a, b = runs
    for name in ("real", "fake", "heat", "warp"):
        assert np.allclose(a["arrays"][name], b["arrays"][name], atol=1e-5), name


def test_points_drawn_on_the_plane_become_the_data(server, browser):
    pg = open_page(browser, f"{server}/playground?data=drawn&family=flow", frame=False)
    try:
        plane = pg.locator("canvas.plane")
        box = plane.bounding_box()
        for fx, fy in ((0.75, 0.25), (0.8, 0.2), (0.7, 0.3)):  # upper right: about (2, 2)
            plane.click(position={"x": box["width"] * fx, "y": box["height"] * fy})
            time.sleep(0.4)
        s = wait_state(pg, lambda s: len(s["arrays"]["real"]) and
                       np.mean(np.array(s["arrays"]["real"]).reshape(-1, 2), 0).min() > 1.2, timeout=60)
        real = np.array(s["arrays"]["real"]).reshape(-1, 2)
        assert np.allclose(real.mean(0), [2.0, 2.0], atol=0.5)
    finally:
        pg.close()
    # every page of this module is closed now: their sessions ended, so their workers did
    end = time.time() + 30
    while any(n.startswith("genlab-playgrn") for n in descendants(SERVER_PID["pid"]).values()):
        assert time.time() < end, "a playground worker outlived its browser session"
        time.sleep(0.5)
