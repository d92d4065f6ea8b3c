"""The Train page on a classroom screen, in Chromium at 1366×768: a lesson link opens the page
on that lesson, and after Start the live view (progress bar, loss curves, image grid) is inside
the window without scrolling, in normal and in projector mode; projector mode makes the text
larger, collapses the sidebar on a page load and stays on across pages. Screenshots go to $GENLAB_SCREENSHOTS (e.g. ``assets/``) as
train-*.png, or to a temporary folder."""
import re
import time

import pytest
from _helpers import live_data
from test_e2e import browser, shots, streamlit_server, wait_until  # noqa: F401 (the e2e fixtures)

pytestmark = pytest.mark.e2e
W, H = 1366, 768
LESSON = "ae-vs-vae-mnist"


@pytest.fixture(scope="module")
def server():
    with streamlit_server() as url:
        yield url


def boxes(locators) -> list[dict | None]:
    """Each element's box; None while it is not there exactly once (a rerun's new element can
    stand beside the old one for a moment: the caller waits for the layout to settle)."""
    return [loc.bounding_box() if loc.count() == 1 else None for loc in locators]


def settled(locators, timeout: float = 30.0) -> list[dict]:
    """The elements' boxes once the layout has settled after the last redraw: the same in two
    reads 0.2 s apart (the live view redraws every second)."""
    deadline, last = time.monotonic() + timeout, boxes(locators)
    while True:
        time.sleep(0.2)  # the polling interval, not a wait before an assertion
        now = boxes(locators)
        if now == last and None not in now:
            return now
        assert time.monotonic() < deadline, f"the layout did not settle within {timeout:.0f} s: {now}"
        last = now


def fits(pg, progress, grid) -> None:
    """The progress bar, the loss curves, the live images and the latent frame's plot are
    inside the window."""
    latent = pg.locator(".live-scatter canvas").first
    latent.wait_for()
    heading, bar, curves, images, plot = settled([
        pg.get_by_role("heading", name="Train a model"), progress,
        pg.locator(".live-chart:not(.live-scatter) canvas").first, grid.locator("img"), latent])
    assert heading["y"] >= 0 and min(b["y"] for b in (bar, curves, images, plot)) >= 0
    assert bar["y"] + bar["height"] <= H
    assert curves["y"] + curves["height"] <= H, "the loss curves are below the fold"
    assert images["y"] + images["height"] <= H, "the live images are below the fold"
    assert plot["y"] + plot["height"] <= H, "the latent frame is below the fold"


def sidebar(pg):
    """The sidebar, opened if projector mode collapsed it (a projector shows the lesson)."""
    side = pg.locator('[data-testid="stSidebar"]')
    if side.get_attribute("data-collapsed") == "true":
        pg.locator('[data-testid="stExpandSidebarButton"]').click()
        pg.wait_for_function("() => document.querySelector('[data-testid=stSidebar]')"
                             ".getAttribute('data-collapsed') === 'false'")
    return side


def font_is(pg, size: str) -> None:
    pg.wait_for_function(f"() => getComputedStyle(document.documentElement).fontSize === '{size}'")


def test_a_projector_link_opens_in_projector_mode(server, browser):  # noqa: F811
    pg = browser.new_page(viewport={"width": W, "height": H})
    pg.set_default_timeout(180_000)
    try:
        pg.goto(f"{server}/train?lesson={LESSON}&projector=1")
        pg.get_by_role("heading", name="Train a model").wait_for()
        font_is(pg, "20px")  # the projector's larger type
        assert pg.locator('[data-testid="stSidebar"]').get_attribute("data-collapsed") == "true"
        assert sidebar(pg).get_by_role("switch", name="Projector mode").is_checked()
        # a sidebar link keeps the mode, and the new page's URL says so (a link copied from it
        # opens in projector mode too)
        sidebar(pg).get_by_role("link", name="Compare").click()
        pg.get_by_role("heading", name="Compare").first.wait_for()
        pg.wait_for_url(re.compile(r"/compare\?(.*&)?projector=1"))
        font_is(pg, "20px")
    finally:
        pg.close()


def test_live_view_fits_a_1366x768_screen_after_start_in_both_modes(server, browser, shots):  # noqa: F811
    pg = browser.new_page(viewport={"width": W, "height": H})
    pg.set_default_timeout(180_000)
    try:
        pg.goto(f"{server}/train?lesson={LESSON}")
        pg.get_by_role("heading", name="Train a model").wait_for()
        look_for = pg.locator('[data-testid="stAlert"]').filter(has_text="What to look for")
        look_for.wait_for()
        assert "AE vs VAE on MNIST" in look_for.inner_text()
        toggle = pg.locator('[data-testid="stSidebar"]').get_by_role("switch", name="Projector mode")
        assert not toggle.is_checked()
        font_is(pg, "16px")
        start = pg.get_by_role("button", name="Start training")
        pg.wait_for_function("() => [...document.querySelectorAll('button')].some("
                             "b => b.innerText.includes('Start training') && !b.disabled)")
        pg.screenshot(path=str(shots / "train-lesson.png"))
        start.click()
        # the lesson's run: 20 epochs of MNIST
        progress = pg.locator('[data-testid="stProgress"]').filter(
            has_text=re.compile(r"step [\d,]+ / [\d,]+ · epoch [\d.]+ / 20 "))
        progress.wait_for()
        assert wait_until(lambda: any(int(c.get("points", 0)) > 1 for c in live_data(pg, ".live-chart")), 180)
        grid = pg.locator(".live-image").filter(has_text="Live:")
        grid.wait_for()
        # the page is at its top (Start sits far down the settings; the page scrolls back up)
        pg.wait_for_function("() => [...document.querySelectorAll('.stMain')].every(m => m.scrollTop === 0)")
        fits(pg, progress, grid)
        pg.screenshot(path=str(shots / "train-live-normal.png"))
        # the teacher turns projector mode on while the class watches: the live view still fits
        pg.locator('[data-testid="stSidebar"]').get_by_text("Projector mode", exact=True).click()
        font_is(pg, "20px")
        assert toggle.is_checked()
        # the rerun's elements replace the old ones: one live grid and one progress bar again
        assert wait_until(lambda: len(live_data(pg, ".live-image")) == 1 and pg.locator(
            '[data-testid="stProgress"]').count() == 1, 60)
        fits(pg, progress, grid)
        pg.screenshot(path=str(shots / "train-live-projector.png"))
        # the mode stays on on another page and back (the session remembers it)
        sidebar(pg).get_by_role("link", name="Home", exact=True).click()
        pg.get_by_role("heading", name="GenLab", exact=True).wait_for()
        font_is(pg, "20px")
        sidebar(pg).get_by_role("link", name="Train", exact=True).click()
        pg.get_by_role("heading", name="Train a model").wait_for()
        pg.get_by_role("button", name="Stop").click()
        pg.get_by_text("Stopped early").wait_for(timeout=60_000)
    finally:
        pg.close()
