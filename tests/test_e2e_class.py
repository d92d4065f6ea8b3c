"""A class as a teacher runs it, in Chromium at 1366×768 (the projector's size), with a
student in a second browser session: the gallery shows the owner's name and drops a model within
seconds of its owner unsharing it, without a reload, and fits the screen; projector mode
collapses the sidebar, enlarges slider labels and cuts nothing off on Latent space; "Share this
lesson" shows a network link (not localhost, no projector flag) and a QR code; a finished run
shows its result first. Screenshots go to $GENLAB_SCREENSHOTS (e.g. ``assets/``) or to a
temporary folder."""
import re

import pytest
from test_e2e import browser, shots, streamlit_server  # noqa: F401 (the e2e fixtures)

pytestmark = pytest.mark.e2e
W, H = 1366, 768


@pytest.fixture(scope="module")
def server():
    with streamlit_server() as url:
        yield url


def page(browser, url: str):  # noqa: F811
    pg = browser.new_page(viewport={"width": W, "height": H})
    pg.set_default_timeout(180_000)
    pg.goto(url)
    return pg


def no_sideways_scroll(pg) -> None:
    """Nothing is wider than the window: the main area does not scroll sideways."""
    widths = pg.evaluate("() => [...document.querySelectorAll('.stMain, [data-testid=stMainBlockContainer]')]"
                         ".map(e => [e.scrollWidth, e.clientWidth])")
    assert widths and all(s <= c + 1 for s, c in widths), widths


def test_gallery_names_the_owner_refreshes_itself_and_fits(server, browser, shots):  # noqa: F811
    """Two sessions: a student trains, gives a name and shares; the teacher's open gallery shows
    the model with that name, and drops it when the student unshares, with no reload."""
    student = browser.new_context(viewport={"width": W, "height": H})
    teacher = browser.new_context(viewport={"width": W, "height": H})
    try:
        st = student.new_page()
        st.set_default_timeout(180_000)
        st.goto(f"{server}/train?dataset=digits&size=8&kind=vae&arch=mlp&epochs=1")
        st.wait_for_function("() => [...document.querySelectorAll('button')].some("
                             "b => b.innerText.includes('Start training') && !b.disabled)")
        st.get_by_role("button", name="Start training").click()
        share = st.get_by_text(re.compile(r"^Share digits-vae-[\d-]+ with the class$"))
        share.wait_for(timeout=300_000)
        name = st.get_by_role("textbox", name="Your name (shown with the models you share)")
        name.fill("Bo")
        name.press("Enter")
        name.wait_for(state="detached")  # asked once per session
        share.click()
        model = share.inner_text().split()[1]

        pg = teacher.new_page()
        pg.set_default_timeout(180_000)
        pg.goto(f"{server}/gallery")
        card = pg.locator('[data-testid="stImage"]').filter(has_text=f"{model} · VAE · shared by Bo")
        card.wait_for()
        no_sideways_scroll(pg)
        pg.screenshot(path=str(shots / "gallery.png"))
        share.click()  # the student unshares it
        card.wait_for(state="detached", timeout=30_000)  # gone from the teacher's page, no reload
    finally:
        student.close()
        teacher.close()


def test_projector_mode_fits_latent_space(server, browser, shots):  # noqa: F811
    pg = page(browser, f"{server}/latent_space?projector=1")
    try:
        pg.get_by_role("heading", name="Latent space: AE vs VAE").wait_for()
        pg.wait_for_function("() => getComputedStyle(document.documentElement).fontSize === '20px'")
        assert pg.locator('[data-testid="stSidebar"]').get_attribute("data-collapsed") == "true"
        label = pg.locator('[data-testid="stWidgetLabel"]').filter(has_text="Test images").first
        assert float(label.evaluate("e => parseFloat(getComputedStyle(e.querySelector('p')).fontSize)")) >= 19.5
        numbers = pg.locator('[data-testid="stMarkdownContainer"]').filter(has_text="KL(codes ‖ prior)")
        numbers.first.wait_for()
        for i in range(numbers.count()):
            text = numbers.nth(i).inner_text()
            assert re.search(r"KL\(codes ‖ prior\) [\d,]+\.\d nats", text), text  # the whole number
            box = numbers.nth(i).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= W
        pg.locator(".vega-embed").first.wait_for()
        no_sideways_scroll(pg)
        pg.screenshot(path=str(shots / "latent_space-projector.png"))
    finally:
        pg.close()


def test_share_this_lesson_shows_a_network_link_and_a_qr_code(server, browser, shots):  # noqa: F811
    pg = page(browser, f"{server}/train?lesson=ae-vs-vae-mnist&epochs=3&projector=1")
    try:
        pg.get_by_role("button", name="Share this lesson").click()
        dialog = pg.get_by_role("dialog")
        dialog.get_by_text("Scan to open the lesson").wait_for()
        link = dialog.locator("code").inner_text()
        assert re.fullmatch(r"http://[\w.:-]+/train\?lesson=ae-vs-vae-mnist&epochs=3", link), link
        assert "localhost" not in link and "127.0.0.1" not in link and "projector" not in link
        qr = dialog.locator("img").first.bounding_box()
        assert qr["width"] >= 250 and qr["y"] + qr["height"] <= H  # scannable, on screen
        pg.screenshot(path=str(shots / "share-lesson.png"))
    finally:
        pg.close()


def test_after_a_run_the_result_comes_first_and_the_lesson_views(server, browser, shots):  # noqa: F811
    """The lesson's run (one epoch): when it ends, 'Your model', the share switch and the report
    button are on the first screen; then Home, Latent space and Compare as the class sees them."""
    pg = page(browser, f"{server}/train?lesson=ae-vs-vae-mnist&epochs=1")
    try:
        pg.wait_for_function("() => [...document.querySelectorAll('button')].some("
                             "b => b.innerText.includes('Start training') && !b.disabled)")
        pg.get_by_role("button", name="Start training").click()
        # the lesson's run name; another test's run of the same lesson may have taken it (-2, -3)
        share = pg.get_by_text(re.compile(r"^Share ae-vs-vae-mnist-vae(-\d+)? with the class$"))
        share.wait_for(timeout=300_000)
        pg.wait_for_function("() => [...document.querySelectorAll('.stMain')].every(m => m.scrollTop === 0)")
        for what in (pg.get_by_role("heading", name="Your model"), share,
                     pg.get_by_role("button", name=re.compile("Download lab report"))):
            box = what.bounding_box()
            assert box and 0 <= box["y"] and box["y"] + box["height"] <= H, what
        pg.screenshot(path=str(shots / "train-finished.png"))
        for path, heading, shot in (("/", "GenLab", "home.png"),
                                    ("/latent_space", "Latent space: AE vs VAE", "latent_space.png"),
                                    ("/compare", "Compare models", "compare.png")):
            pg.goto(f"{server}{path}")
            pg.get_by_role("heading", name=heading, exact=True).wait_for()
            if path == "/latent_space":
                pg.locator(".vega-embed").nth(1).wait_for()
            if path == "/compare":
                pg.locator('[data-testid="stImage"]').filter(has_text="(GAN)").wait_for()
                pg.get_by_text("samples from the prior N(0, I)").scroll_into_view_if_needed()
            if path == "/":
                pg.get_by_role("link", name=re.compile("start the AE-vs-VAE lesson")).wait_for()
            no_sideways_scroll(pg)
            pg.screenshot(path=str(shots / shot))
    finally:
        pg.close()
