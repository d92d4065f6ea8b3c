"""Latent sliders that decode in the browser: the exported decoder (``genlab.latent.export``)
computes what ``model.decode`` computes for every kind and architecture; it refuses what it cannot
export in plain words (and the explorer then keeps its server sliders); and in Chromium the
component's canvas shows ``model.decode(z)`` for the shipped models (to 2/255), a key press on a
slider redraws it, the server learns where the sliders stand (its own sliders take over there),
and the "Decode on the server" option brings back the server sliders.
Screenshots go to $GENLAB_SCREENSHOTS (e.g. ``assets/``) or to a temporary folder."""
import hashlib
import time

import numpy as np
import pytest
import torch
from test_e2e import browser, decode_on_server, server, shots, wait_until  # noqa: F401

from genlab.latent.export import DecoderExportError, decoder_spec, run_spec
from genlab.models import ModelConfig, build_model
from genlab.store.catalog import WEIGHTS_DIR
from genlab.store.checkpoint import load_checkpoint

SHIPPED = ("mnist-vae", "mnist-vae2d", "mnist-gan")  # conv VAE, MLP VAE, conv GAN with BatchNorm


def _with_running_stats(model):
    """Give every BatchNorm non-trivial running statistics (as after training), then eval mode."""
    g = torch.Generator().manual_seed(3)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(1 + 0.2 * torch.randn(m.num_features, generator=g))
            m.bias.data.copy_(0.2 * torch.randn(m.num_features, generator=g))
    return model.eval()


@pytest.mark.parametrize("kind", ["ae", "vae", "gan"])
@pytest.mark.parametrize("arch,channels,size", [("mlp", 1, 28), ("conv", 1, 28), ("conv", 3, 32),
                                                ("mlp", 3, 12)])
def test_the_spec_decodes_like_the_model(kind, arch, channels, size):
    hidden = (8,) if arch == "conv" else (32, 16)
    model = _with_running_stats(build_model(
        ModelConfig(kind, arch, channels=channels, image_size=size, latent_dim=5, hidden=hidden), seed=1))
    z = torch.randn(6, 5, generator=torch.Generator().manual_seed(2)) * 2
    want = model.decode(z).detach().numpy()
    spec = decoder_spec(model, "float32")
    assert spec["format"] == "genlab-decoder/1" and spec["dtype"] == "float32"
    assert not any(layer["op"] == "batch_norm" for layer in spec["layers"])  # folded
    assert np.abs(run_spec(spec, z.numpy()) - want).max() < 1e-5
    auto = decoder_spec(model)  # float16 only where it stays within 0.4/255
    assert np.abs(run_spec(auto, z.numpy()) - want).max() < (0.4 / 255 if auto["dtype"] == "float16" else 1e-5)


def test_unsupported_decoders_are_refused_in_plain_words():
    model = build_model(ModelConfig("vae", "mlp", latent_dim=4, hidden=(16,)), seed=0)
    model.decoder = torch.nn.Sequential(torch.nn.Linear(4, 784), torch.nn.Softplus())
    with pytest.raises(DecoderExportError, match=r"^The decoder has a Softplus layer, which the "
                       r"in-browser decoder cannot run; the page decodes on the server\.$"):
        decoder_spec(model)
    conditional = build_model(ModelConfig("vae", "mlp", latent_dim=4, hidden=(16,)), seed=0)
    conditional.config.num_classes = 10  # a class-conditional model (its config says so)
    with pytest.raises(DecoderExportError, match=r"conditional .* decodes on the server\.$"):
        decoder_spec(conditional)
    with pytest.raises(DecoderExportError, match="Only GenLab's own AE, VAE and GAN decoders"):
        decoder_spec(torch.nn.Linear(2, 2))


def test_reported_slider_values_are_checked_before_use():
    from pages._ui.fast_sliders import moved_values
    sliders = [dict(min=-4.0, max=4.0), dict(min=-1.5, max=2.0)]
    assert moved_values([0.55, -0.5], sliders) == [0.55, -0.5]
    assert moved_values([9, -7], sliders) == [4.0, -1.5]  # back into each slider's range
    for bad in (None, {"0": 1}, [1.0], [1.0, 2.0, 3.0], ["x", 1], [None, 1], [float("nan"), 0],
                [0, float("inf")]):
        assert moved_values(bad, sliders) is None, bad


def test_the_explorer_falls_back_to_server_sliders_when_the_decoder_cannot_be_exported(monkeypatch):
    from test_app import page

    import genlab.latent.export as ex
    from pages._ui import fast_sliders
    path = str(WEIGHTS_DIR / "mnist-vae2d.safetensors")
    tag = hashlib.sha1(path.encode()).hexdigest()[:8]
    at = page("pages/explorer.py")
    at.selectbox(key="ex_model").set_value(path).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [s for s in at.slider if s.key.startswith(f"ex_{tag}_d")]  # in the browser
    assert at.toggle(key="ex_server").value is False
    at.toggle(key="ex_server").set_value(True).run()  # the option: decode on the server
    assert [s.label for s in at.slider if s.key.startswith(f"ex_{tag}_d")] == ["z[0]", "z[1]"]
    assert any(im.captions and im.captions[0] == "Decoded image" for im in at.image)

    fast_sliders._cached_head.clear()
    monkeypatch.setattr(ex, "MAX_VALUES", 1000)
    try:
        at = page("pages/explorer.py")
        at.selectbox(key="ex_model").set_value(path).run()
        assert not at.exception, [e.value for e in at.exception]
        assert [t.key for t in at.toggle] == ["_projector"]  # no "decode on the server" choice
        assert any(c.value.startswith("The sliders decode on the server: This decoder has 0.5 "
                                      "million weights, too many to send to a browser")
                   for c in at.caption)
        assert [s.label for s in at.slider if s.key.startswith(f"ex_{tag}_d")] == ["z[0]", "z[1]"]
    finally:
        fast_sliders._cached_head.clear()


# -- in Chromium ------------------------------------------------------------------------------
SET = """([i, v]) => { const s = document.querySelectorAll('input[type=range]')[i];
  s.value = String(v); s.dispatchEvent(new Event('input', {bubbles: true})); }"""
PIXELS = """() => { const c = document.getElementById('img');
  return {w: c.width, css: c.getBoundingClientRect().width,
          data: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)}; }"""


def _pixels(frame, size: int, channels: int) -> np.ndarray:
    got = frame.evaluate(PIXELS)
    rgba = np.array(got["data"], np.int16).reshape(size, size, 4)
    return rgba[..., 0] if channels == 1 else rgba[..., :3]


@pytest.mark.e2e
@pytest.mark.parametrize("name", SHIPPED)
def test_the_canvas_shows_model_decode(browser, name):  # noqa: F811
    from pages._ui.fast_sliders import component_html, decoder_html
    model, _ = load_checkpoint(WEIGHTS_DIR / f"{name}.safetensors", device="cpu")
    c = model.config
    d = c.latent_dim
    rng = np.random.default_rng(7)
    base = np.round(rng.standard_normal(d), 2)
    sliders, dirs = [], None
    if d > 8:  # as the page: principal-direction sliders (here random directions), then raw ones
        dirs = np.linalg.qr(rng.standard_normal((d, 6)))[0].T * rng.uniform(0.5, 2, (6, 1))
        sliders = [dict(label=f"PC {k + 1}", min=-4.0, max=4.0, step=0.05, value=0.0, pc=k) for k in range(6)]
    sliders += [dict(label=f"z[{j}]", min=-3.5, max=3.5, step=0.01, value=float(base[j]), dim=j)
                for j in range(min(d, 2))]
    head, why = decoder_html(model)
    assert why is None
    pg = browser.new_page()
    try:
        pg.set_content(component_html(head, sliders, base, dirs, 8, True))
        pg.wait_for_function("() => window.genlab && window.genlab.draws > 0")
        pcs = np.round(rng.uniform(-3, 3, 6) / 0.05) * 0.05 if dirs is not None else np.zeros(0)
        raw = np.round(rng.uniform(-2.5, 2.5, min(d, 2)), 2)
        for i, v in enumerate([*pcs, *raw]):
            pg.evaluate(SET, [i, float(v)])
        want_z = base + (pcs @ dirs if dirs is not None else 0)
        want_z[:len(raw)] = raw
        pg.wait_for_function("() => document.getElementById('img').dataset.draws > 1")
        pg.wait_for_function("() => new Promise(r => requestAnimationFrame(() => r(true)))")
        assert np.abs(np.array(pg.evaluate("() => window.genlab.z()")) - want_z).max() < 1e-6
        got = _pixels(pg, c.image_size, c.channels)
        img = model.decode(torch.tensor(want_z, dtype=torch.float32)[None]).detach()[0]
        want = (img.clamp(0, 1) * 255).round().to(torch.int16).numpy()
        want = want[0] if c.channels == 1 else want.transpose(1, 2, 0)
        assert np.abs(got - want).max() <= 2, f"{name}: the canvas differs from model.decode(z)"
        assert want.std() > 10  # a real image, not a blank one that any decoder matches
        css = pg.evaluate(PIXELS)["css"]
        assert css == c.image_size * 8  # the page's display size (8x for 28 px)
        assert float(pg.get_by_role("slider", name="z[0]").input_value()) == pytest.approx(raw[0])
    finally:
        pg.close()


def _component_frame(pg):
    """The explorer's in-browser slider frame, once it has drawn."""
    found = []

    def ready():
        for fr in pg.frames:
            try:
                if fr.evaluate("() => !!(window.genlab && window.genlab.draws)"):
                    found.append(fr)
                    return True
            except Exception:  # a frame still loading
                pass
        return False
    assert wait_until(ready, 120), "the in-browser sliders did not draw an image"
    return found[0]


IDLE = "() => document.querySelector('[data-testid=stApp]')?.dataset.testScriptState === 'notRunning'"


def largest_after_settling(pg, frames: list[tuple[float, int]], quiet: float = 1.0,
                           window: float = 3.0) -> int:
    """The largest websocket message the server sent since ``frames`` was last cleared, read once
    the reruns have settled (no script running, no message for ``quiet`` s) and then over a
    further ``window`` s, so weights sent again by a late rerun are counted too."""
    assert wait_until(lambda: pg.evaluate(IDLE) and time.monotonic() - max(
        [t for t, _ in frames], default=0.0) >= quiet, 60), "the page's reruns did not settle"
    pg.wait_for_timeout(window * 1000)  # the measuring window (Playwright records frames meanwhile)
    return max((n for _, n in frames), default=0)


@pytest.mark.e2e
def test_a_key_press_redraws_in_the_browser_and_the_server_option_works(server, browser, shots):  # noqa: F811
    pg = browser.new_page(viewport={"width": 1366, "height": 768})
    pg.set_default_timeout(120_000)
    received: list[tuple[float, int]] = []  # (when, size) of the server's websocket messages
    pg.on("websocket", lambda ws: ws.on("framereceived",
                                        lambda m: received.append((time.monotonic(), len(m)))))
    try:
        pg.goto(server + "/explorer")
        pg.get_by_role("heading", name="Latent explorer", exact=True).wait_for()
        frame = _component_frame(pg)
        thumb = frame.get_by_role("slider").first
        before = _pixels(frame, 28, 1)
        sweep = pg.locator('[data-testid="stImage"]').filter(has_text="Each row sweeps").locator("img")
        sweep_src = sweep.first.get_attribute("src")  # the Traversal tab: rows around the code
        draws = frame.evaluate("() => window.genlab.draws")
        thumb.focus()
        for _ in range(10):
            thumb.press("ArrowRight")
        assert wait_until(lambda: frame.evaluate("() => window.genlab.draws") > draws, 20)
        assert wait_until(lambda: np.abs(_pixels(frame, 28, 1) - before).max() > 20, 20), \
            "the image did not change"
        moved = float(thumb.input_value())
        assert moved > 0
        # 300 ms after the last move the frame tells the server where its sliders stand; the
        # page's state follows without reloading the frame or sending the weights again
        frame.evaluate("() => { window.__kept = true; }")
        received[:] = []
        assert wait_until(lambda: frame.evaluate("() => window.genlab.reported") is not None, 20)
        assert frame.evaluate("() => window.genlab.reported")[0] == pytest.approx(moved)
        assert wait_until(lambda: sweep.first.get_attribute("src") != sweep_src, 30), \
            "the traversal did not follow the code set in the browser"
        sent = largest_after_settling(pg, received)
        assert sent < 200_000, f"the report's reruns sent {sent:,} bytes"
        assert frame.evaluate("() => window.__kept === true")
        pg.mouse.move(800, 400)  # over the page, not the sidebar
        pg.mouse.wheel(0, 180)  # the model picker on top, the sliders and the image below
        pg.wait_for_timeout(500)  # let the scroll settle for the screenshot
        pg.screenshot(path=str(shots / "explorer-sliders.png"))
        assert pg.locator('[data-testid="stException"]').count() == 0
        # An unrelated rerun of the whole page (Interpolate: Steps) neither resends the weights
        # (Streamlit sends the unchanged element by reference) nor resets the sliders.
        frame.evaluate("() => { window.__kept = true; }")
        strip = pg.locator('[data-testid="stImage"]').filter(has_text="linear interpolation").locator("img")
        src, received[:] = strip.first.get_attribute("src"), []
        steps = pg.get_by_role("slider").first  # the page's first own slider: Interpolate, Steps
        steps.focus()
        steps.press("ArrowRight")
        assert wait_until(lambda: strip.first.get_attribute("src") != src, 60), "no rerun happened"
        sent = largest_after_settling(pg, received)
        assert sent < 200_000, f"a rerun sent {sent:,} bytes"
        assert frame.evaluate("() => window.__kept === true") and float(thumb.input_value()) == moved
        decode_on_server(pg)
        img = pg.locator('[data-testid="stImage"]').filter(has_text="Decoded image")
        img.first.wait_for()
        pg.get_by_text("PC 1 (").first.wait_for()  # the server's own slider, where the browser left it
        pc1 = pg.locator('[data-testid="stSlider"]').filter(has_text="PC 1 (")
        assert pc1.locator('[data-testid="stSliderThumbValue"]').inner_text() == f"{moved:.2f}"
    finally:
        pg.close()
