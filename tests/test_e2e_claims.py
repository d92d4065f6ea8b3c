"""README claims about what the browser shows (issue 19, item 6), in Chromium against a real
``streamlit run app.py``: Pause / Resume change the Train page within a second, Start and Stop
within a few seconds; the latent movie's Play and its epoch slider change the frame drawn;
projector mode draws the images larger and the curves thicker. Nothing here sleeps before an
assertion: it waits on what the page shows (with timeouts), and times what it waited for."""
import re
import time

import pytest
from test_e2e import browser, server, wait_until  # noqa: F401 (the e2e fixtures)

pytestmark = pytest.mark.e2e
W, H = 1366, 768
# README: "Pause/Resume change the page within a second; Start shows the run, and Stop the model
# it saved, within a few seconds". Measured on 2 cores under a load of 5 to 8: Pause and Resume
# 0.1-0.3 s (once 1.1), Start 0.55-1.2 s (the page runs twice), Stop 0.3-3.1 s (the page shows
# nothing new until the worker has saved and the next refresh comes).
LIMIT_S = {"Start": 3.0, "Pause": 1.0, "Resume": 1.0, "Stop": 5.0}


def new_page(browser, url: str):  # noqa: F811
    pg = browser.new_page(viewport={"width": W, "height": H})
    pg.set_default_timeout(120_000)
    pg.goto(url)
    return pg


def seconds_until(pg, press, shows) -> float:
    """Seconds from ``press()`` (a click) until ``shows`` (a locator) is visible on the page."""
    t0 = time.monotonic()
    press()
    shows.first.wait_for(timeout=30_000)
    return time.monotonic() - t0


@pytest.mark.slow
def test_pause_and_resume_change_the_page_within_a_second_start_and_stop_in_a_few(server, browser):  # noqa: F811
    pg = new_page(browser, server + "/train")
    try:
        pg.get_by_role("heading", name="Train a model").wait_for()
        pg.locator('[data-testid="stSelectbox"]').filter(has_text="Data set").click()
        pg.get_by_role("option", name="8×8 digits (tiny, fast)").click()
        pg.get_by_text("digits: 1,4").wait_for()
        for label, value in (("Epochs", "1000"), ("Save the model as", "within a second")):
            pg.get_by_label(label, exact=True).fill(value)
            pg.get_by_label(label, exact=True).press("Enter")
        pg.wait_for_function("() => document.querySelector('[data-testid=stApp]')"
                             "?.dataset.testScriptState === 'notRunning'")  # the settings are in
        button = lambda name: pg.get_by_role("button", name=name, exact=True)  # noqa: E731
        times = {}
        start = button("Start training")
        try:  # once in a clean-clone CI run Start stayed disabled for 120 s: say what the page showed
            pg.wait_for_function("() => [...document.querySelectorAll('button')].some(b => "
                                 "b.innerText.trim() === 'Start training' && !b.disabled)", timeout=60_000)
        except Exception:
            pg.screenshot(path="/tmp/claims-start-disabled.png", full_page=True)
            alerts = pg.locator('[data-testid="stAlert"]').all_inner_texts()
            raise AssertionError(f"Start training stayed disabled (screenshot /tmp/claims-start-"
                                 f"disabled.png); the page's messages: {alerts}") from None
        # Start: the run shows, under its name, with its Pause and Stop buttons
        times["Start"] = seconds_until(pg, start.click, pg.locator(
            '[data-testid="stMarkdown"]').filter(has_text="within a second").filter(has_text="VAE"))
        button("Stop").wait_for()
        pg.locator('[data-testid="stProgress"]').filter(has_text=re.compile(r"step [1-9][\d,]* /")).wait_for()
        enabled = pg.locator('[data-testid="stButton"] button:not([disabled])')
        times["Pause"] = seconds_until(pg, button("Pause").click, enabled.filter(has_text="Resume"))
        times["Resume"] = seconds_until(pg, button("Resume").click, enabled.filter(has_text="Pause"))
        times["Stop"] = seconds_until(pg, button("Stop").click, pg.get_by_text("Stopped early"))
        slow = {k: round(v, 2) for k, v in times.items() if v >= LIMIT_S[k]}
        assert not slow, f"slower than README says: {slow} (all: {times})"
    finally:
        pg.close()


# The latent movie (the only Plotly figure with a slider on Latent space): the label of its
# slider and where its first points are drawn (the SVG transforms of the first trace's points).
MOVIE = """() => { const gd = [...document.querySelectorAll('.js-plotly-plot')]
    .find(g => g.layout && g.layout.sliders && g.layout.sliders.length);
  const trace = gd && gd.querySelector('.scatterlayer .trace');
  const label = gd && gd.querySelector('.slider-group > .slider-label');  // "epoch N" above the rail
  if (!trace || !label) return null;
  return {label: label.textContent, points: [...trace.querySelectorAll('path.point')].slice(0, 20)
    .map(p => p.getAttribute('transform')).join(' ')} }"""


def test_the_latent_movie_plays_and_its_slider_changes_the_frame(server, browser):  # noqa: F811
    pg = new_page(browser, server + "/latent_space")
    try:
        pg.get_by_role("heading", name="Latent space: AE vs VAE").wait_for()
        pg.wait_for_function(MOVIE)
        last = pg.evaluate(MOVIE)  # it opens on the final frame
        assert re.fullmatch(r"epoch [\d.]+", last["label"]) and last["label"] != "epoch 0.00", last
        movie = pg.locator(".js-plotly-plot").filter(has=pg.locator(".slider-container")).first
        movie.scroll_into_view_if_needed()
        movie.locator(".updatemenu-button").filter(has_text="Play").click()
        assert wait_until(lambda: (now := pg.evaluate(MOVIE))["label"] != last["label"]
                          and now["points"] != last["points"], 20), "Play did not change the frame"
        movie.locator(".updatemenu-button").filter(has_text="Pause").click()
        rail = movie.locator(".slider-rail-touch-rect").bounding_box()
        for x, want in ((rail["x"] + rail["width"] - 2, last["label"]), (rail["x"] + 2, "epoch 0.00")):
            before = pg.evaluate(MOVIE)
            pg.mouse.click(x, rail["y"] + rail["height"] / 2)  # one end of the epoch slider
            assert wait_until(lambda w=want: pg.evaluate(MOVIE)["label"] == w, 10), (want, pg.evaluate(MOVIE))
            if before["label"] != want:
                assert wait_until(lambda b=before: pg.evaluate(MOVIE)["points"] != b["points"], 10), \
                    f"the slider moved to {want} but the points stayed"
        assert pg.evaluate(MOVIE)["points"] != last["points"]  # epoch 0 is not the final frame
    finally:
        pg.close()


# The GAN studio's fixed-noise grid (size as drawn, and as sent) and its training curves' lines.
LOOKS = """() => { const box = [...document.querySelectorAll('[data-testid="stImage"]')]
    .find(e => e.innerText.includes('samples from fixed noise'));
  const img = box && box.querySelector('img');
  const line = document.querySelector('.js-plotly-plot .scatterlayer .js-line');
  return img && img.complete && img.naturalWidth && line ? {shown: img.getBoundingClientRect().width,
    sent: img.naturalWidth, stroke: parseFloat(getComputedStyle(line).strokeWidth)} : null }"""


def test_projector_mode_draws_larger_images_and_thicker_curves(server, browser):  # noqa: F811
    looks = {}
    for mode, query in (("normal", ""), ("projector", "?projector=1")):
        pg = new_page(browser, server + "/gan_studio" + query)
        try:
            pg.get_by_role("heading", name="GAN studio").wait_for()
            pg.wait_for_function(LOOKS)
            looks[mode] = pg.evaluate(LOOKS)
        finally:
            pg.close()
    normal, big = looks["normal"], looks["projector"]
    assert big["shown"] >= 1.25 * normal["shown"] and big["sent"] > normal["sent"], looks
    assert big["stroke"] >= 1.5 * normal["stroke"], looks
