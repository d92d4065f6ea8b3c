"""The latent views in a real browser (Chromium against ``streamlit run app.py``): hovering a
point on the Latent space map shows that test image (``test_x[index]``, pixel for pixel) and names
its class, clicking it decodes it; a latent slider
key press changes the decoded image; strokes drawn on the canvas come back as a reconstruction.
Screenshots go to $GENLAB_SCREENSHOTS (e.g. ``assets/``) or to a temporary folder."""


import re

import pytest
from test_e2e import browser, decode_on_server, nav, page, server, shots, wait_until  # noqa: F401

pytestmark = pytest.mark.e2e

TOOLTIP = """() => { const t = document.getElementById('vg-tooltip-element');
  const i = t && t.querySelector('img');
  return i && t.classList.contains('visible')
    ? {src: i.src, text: t.innerText, width: i.getBoundingClientRect().width,
       rows: [...t.querySelectorAll('tr')].map(r => [...r.cells].map(c => c.innerText.trim()))} : null }"""


def shown_is_the_test_image(tip: dict, data) -> int:
    """The tooltip's image is ``test_x[index]`` of the index it names, pixel for pixel, and it
    names that image's class; the index."""
    import base64
    import io

    import numpy as np
    from PIL import Image
    rows = {r[0]: r[-1] for r in tip["rows"] if r}
    index = int(rows["test image #"].replace(",", ""))
    png = base64.b64decode(tip["src"].split(",", 1)[1])
    shown = np.asarray(Image.open(io.BytesIO(png)))
    assert np.array_equal(shown, data.test_x[index, 0].numpy()), f"not test image #{index}"
    assert rows["class"] == data.classes[int(data.test_y[index])], (rows, index)
    return index


def hover_a_point(pg, chart, step: int = 7):
    """Sweep the mouse over the chart until the Vega tooltip shows an image; (x, y, tooltip)."""
    box = chart.bounding_box()
    for y in range(int(box["y"] + 60), int(box["y"] + box["height"] - 60), step):
        for x in range(int(box["x"] + 60), int(box["x"] + box["width"] - 100), step):
            pg.mouse.move(x, y)
            tip = pg.evaluate(TOOLTIP)
            if tip:
                return x, y, tip
    return None


def test_hover_shows_the_image_and_a_click_decodes_it(page, shots):  # noqa: F811
    from genlab.data import dataset_for_meta
    from genlab.store.catalog import WEIGHTS_DIR
    from genlab.store.checkpoint import read_meta
    data = dataset_for_meta(read_meta(WEIGHTS_DIR / "mnist-ae.safetensors"))  # the page's defaults' test set
    pg = page
    nav(pg, "Latent space", "Latent space: AE vs VAE")
    for side in range(2):  # AE and VAE maps
        chart = pg.locator('[data-testid="stVegaLiteChart"]').nth(side)
        chart.wait_for(timeout=120_000)
        chart.locator("svg.marks, canvas.marks").first.wait_for()
        found = hover_a_point(pg, chart)
        assert found, "no tooltip with an image appeared over the map"
        x, y, tip = found
        assert tip["src"].startswith("data:image/png;base64,")
        assert tip["width"] >= 80, tip  # large enough to read
        index = shown_is_the_test_image(tip, data)
        if side == 0:
            pg.screenshot(path=str(shots / "latent_space.png"))
        pg.mouse.click(x, y)
        caption = pg.locator('[data-testid="stImage"]').filter(has_text=f"test image #{index} (")
        caption.first.wait_for(timeout=60_000)  # the clicked image is shown and decoded
        pg.mouse.move(0, 0)
    assert pg.locator('[data-testid="stException"]').count() == 0
    # t-SNE is a 2-D view too: once computed, its points carry the images as well
    pg.get_by_text("t-SNE", exact=True).click()
    slider = pg.get_by_role("slider").first
    slider.focus()
    slider.press("Home")  # the fewest images: a quick t-SNE
    pg.get_by_role("button", name=re.compile(r"Compute t-SNE")).first.click()
    chart = pg.locator('[data-testid="stVegaLiteChart"]').first
    pg.get_by_text(re.compile(r"^AE: t-SNE \(seed")).wait_for(timeout=240_000)  # not "VAE: ..."
    chart.locator("svg.marks, canvas.marks").first.wait_for()
    found = hover_a_point(pg, chart, step=5)
    assert found and found[2]["src"].startswith("data:image/png;base64,")
    shown_is_the_test_image(found[2], data)


def decoded_src(pg) -> str:
    img = pg.locator('[data-testid="stImage"]').filter(has_text="Decoded image").locator("img")
    return img.first.get_attribute("src", timeout=60_000)


def test_a_slider_key_press_changes_the_decoded_image(page):  # noqa: F811
    pg = page
    nav(pg, "Latent explorer", "Latent explorer")
    decode_on_server(pg)
    thumb = pg.get_by_role("slider").first
    for _ in range(3):  # each key press gives a new image
        before = decoded_src(pg)
        thumb.focus()
        thumb.press("ArrowRight")
        assert wait_until(lambda b=before: decoded_src(pg) != b, 20), "the image did not change"


def test_drawing_on_the_canvas_shows_a_reconstruction(page, shots):  # noqa: F811
    pg = page
    nav(pg, "Latent explorer", "Latent explorer")
    decode_on_server(pg)
    decoded_src(pg)  # the page has run through (model, codes) before drawing
    pg.get_by_role("tab", name="Draw").click()
    canvas = pg.locator("canvas.upper-canvas").first
    canvas.wait_for(timeout=60_000)
    box = canvas.bounding_box()
    x0, y0 = box["x"], box["y"]
    for stroke in ([(140, 40), (140, 240)], [(100, 80), (140, 40)]):  # a "1": stem, then flag
        (xa, ya), (xb, yb) = stroke
        pg.mouse.move(x0 + xa, y0 + ya)
        pg.mouse.down()
        for k in range(1, 21):
            pg.mouse.move(x0 + xa + (xb - xa) * k / 20, y0 + ya + (yb - ya) * k / 20)
        pg.mouse.up()
    recon = pg.locator('[data-testid="stImage"]').filter(has_text="its reconstruction")
    recon.first.wait_for(timeout=60_000)
    assert recon.locator("img").first.get_attribute("src")
    pg.get_by_text("The five nearest test images").wait_for()
    assert pg.locator('[data-testid="stException"]').count() == 0
    pg.get_by_role("tab", name="Draw").evaluate("e => e.scrollIntoView({block: 'start'})")
    pg.wait_for_timeout(1000)
    pg.screenshot(path=str(shots / "explorer.png"))
