"""The Train page's live view in Chromium (pages/_ui/live): while a job trains, the loss chart
keeps its DOM and appends points (a marker set when it was first drawn stays, its point count
grows), the live images change at epoch ends, and a hidden tab stops asking the server for
refreshes (and asks again once shown); back from another page, the chart gets its history again."""
import time

import pytest
from _helpers import live_data
from test_e2e import browser, start_training, step_of, streamlit_server, wait_until  # noqa: F401

pytestmark = pytest.mark.e2e


def sent_over(pg, sent: list[float], seconds: float) -> int:
    """How many websocket messages the page sent to the server over the next ``seconds``
    (Playwright hands events over only while it is called: it waits, not time.sleep)."""
    pg.wait_for_timeout(10)
    t0 = time.monotonic()
    pg.wait_for_timeout(seconds * 1000)
    return sum(1 for t in sent if t >= t0)


HIDE = """(hidden) => { Object.defineProperty(document, 'visibilityState',
    {configurable: true, get: () => hidden ? 'hidden' : 'visible'});
    document.dispatchEvent(new Event('visibilitychange')) }"""


def test_live_curves_append_images_change_and_a_hidden_tab_rests(browser, tmp_path):  # noqa: F811
    with streamlit_server() as url:
        pg = browser.new_page(viewport={"width": 1366, "height": 768})
        pg.set_default_timeout(120_000)
        sent: list[float] = []  # the page's messages to the server (reruns asked for)
        pg.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.append(time.monotonic())))
        try:
            pg.goto(url + "/train")
            pg.get_by_role("heading", name="Train a model").wait_for()
            start_training(pg, "live e2e")
            # the chart, drawn once, then only appended to: its birth marker stays
            assert wait_until(lambda: live_data(pg, ".live-chart") and
                              int(live_data(pg, ".live-chart")[0].get("points", 0)) >= 1, 120)
            first = live_data(pg, ".live-chart")[0]
            assert wait_until(lambda: int(live_data(pg, ".live-chart")[0]["points"])
                              >= int(first["points"]) + 2, 90), "the curves stopped growing"
            later = live_data(pg, ".live-chart")[0]
            assert later["born"] == first["born"], "the chart was rebuilt instead of appended to"
            assert float(later["lastX"]) > float(first["lastX"])
            # each epoch end brings a new grid of images, sent once
            assert wait_until(lambda: live_data(pg, ".live-image"), 60), "no live images"
            img0 = live_data(pg, ".live-image")[0]
            assert wait_until(lambda: live_data(pg, ".live-image")[0]["id"] != img0["id"], 90), \
                "the live images did not change at an epoch end"
            img1 = live_data(pg, ".live-image")[0]
            assert img1["born"] == img0["born"] and int(img1["changes"]) > int(img0["changes"])
            # the latent frame: drawn in the browser, its points sent once per new frame
            assert wait_until(lambda: live_data(pg, ".live-scatter"), 60), "no live latent frame"
            pg.screenshot(path=str(tmp_path / "live.png"))

            assert sent_over(pg, sent, 3.0) >= 2, "a visible page did not ask for refreshes"
            pg.evaluate(HIDE, True)
            pg.wait_for_timeout(1500)  # a rerun asked for just before may still come back
            step_hidden = step_of(pg)
            assert sent_over(pg, sent, 4.0) == 0, "a hidden tab kept asking for refreshes"
            assert step_of(pg) == step_hidden  # nothing was redrawn either
            pg.evaluate(HIDE, False)
            assert wait_until(lambda: step_of(pg) > step_hidden, 60), "no refresh once shown again"
            assert live_data(pg, ".live-chart")[0]["born"] == first["born"]
            # another page and back: a new chart, which asks for the whole history (resync)
            had = int(live_data(pg, ".live-chart")[0]["points"])
            side = pg.locator('[data-testid="stSidebar"]')
            side.get_by_role("link", name="Home", exact=True).click()
            pg.get_by_role("heading", name="GenLab", exact=True).wait_for()
            side.get_by_role("link", name="Train", exact=True).click()
            assert wait_until(lambda: live_data(pg, ".live-chart") and int(
                live_data(pg, ".live-chart")[0].get("points", 0)) >= had, 60), "the curves were not sent again"
        finally:
            pg.close()
