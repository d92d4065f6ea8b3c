"""One class palette everywhere (``genlab.palette``): class c has the same colour in the Latent
space page's 2-D (Vega-Lite) and 3-D (Plotly) maps, the latent movie, the Train page's live
frame and the lab report's figures, whichever classes a plot holds. The latent maps show their
scale (ticks in latent units, both models on the same ranges, the spans printed), t-SNE carries
a caution, and the key numbers are one wrapping line (never cut off)."""

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from test_app import make_models, page
from test_pages import figure

from genlab.latent.movie import Movie
from genlab.palette import CLASS_COLOURS, class_colour
from genlab.report import figures
from pages._ui import scatter
from pages._ui.charts import image_scatter
from pages._ui.movie import live_frame_figure, movie_figure

CLASSES = [str(i) for i in range(10)]


@pytest.fixture(scope="module")
def models():
    return make_models()


def test_the_table_has_ten_distinct_colours():
    assert len(CLASS_COLOURS) == 10 and len({c.lower() for c in CLASS_COLOURS}) == 10
    rgb = np.array([to_rgba(c)[:3] for c in CLASS_COLOURS])
    gaps = np.linalg.norm(rgb[:, None] - rgb[None], axis=-1)[np.triu_indices(10, 1)]
    assert gaps.min() > 0.2  # no two classes alike (the old 3-D view reused 0/7, 1/8, 2/9)


def _plotly_colours(fig: dict) -> dict[str, str]:
    return {t["name"]: t["marker"]["color"] for t in fig["data"] if t["name"] in CLASSES}


def test_every_plot_takes_class_colours_from_the_table():
    rng = np.random.default_rng(0)
    labels = np.array([3, 7, 9, 3, 7, 9] * 5)  # a subset of classes: colours must not shift
    xy, xyz = rng.normal(size=(30, 2)), rng.normal(size=(30, 3))
    want = {str(c): class_colour(c) for c in (3, 7, 9)}
    spec = image_scatter(xy, labels, CLASSES, "2-D").to_dict()
    scale = spec["layer"][0]["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"])) == want
    assert _plotly_colours(scatter(xyz, labels, CLASSES, "3-D").to_plotly_json()) == want
    movie = Movie(np.array([0.0, 1.0], np.float32), rng.normal(size=(2, 30, 4)).astype(np.float16),
                  np.arange(30), labels)
    assert _plotly_colours(movie_figure(movie, CLASSES, "movie").to_plotly_json()) == want
    live = live_frame_figure(rng.normal(size=(30, 4)).astype(np.float32), labels, CLASSES, 1.0)
    assert _plotly_colours(live) == want

    from matplotlib.figure import Figure
    ax = Figure().add_subplot(1, 1, 1)
    figures._scatter(ax, xy, labels, CLASSES, None)  # the report's latent and movie figures
    got = {c.get_label(): tuple(c.get_facecolor()[0][:3]) for c in ax.collections}
    assert got == {k: to_rgba(v)[:3] for k, v in want.items()}


def test_latent_space_scales_same_ranges_spans_and_tsne_caution(models):
    at = page("pages/latent_space.py")
    at.selectbox(key="ls_ae").set_value(str(models["t-ae"]))
    at.selectbox(key="ls_vae").set_value(str(models["t-vae"])).run()
    assert not at.exception
    ae, vae = figure(at, "AE: PCA"), figure(at, "VAE: PCA")
    for spec in (ae, vae):
        enc = spec["layer"][0]["encoding"]
        assert enc["x"]["title"] == "PC 1" and enc["y"]["title"] == "PC 2"
        assert enc["x"]["axis"].get("labels", True) is not False  # ticks with numbers
        scale = enc["color"]["scale"]
        assert scale["range"] == [class_colour(CLASSES.index(n)) for n in scale["domain"]]
    ranges = [(s["layer"][0]["encoding"]["x"]["scale"]["domain"],
               s["layer"][0]["encoding"]["y"]["scale"]["domain"]) for s in (ae, vae)]
    assert ranges[0] == ranges[1]  # "Same scale" (the default): sizes compare at a glance
    captions = "\n".join(c.value for c in at.caption)
    assert "AE codes span PC 1" in captions and "VAE codes span PC 1" in captions
    lines = [m.value for m in at.markdown if "KL(codes ‖ prior)" in m.value]
    assert len(lines) == 2 and all("nats" in v and "Active units" in v for v in lines)

    at.checkbox(key="ls_same").set_value(False).run()
    ae = figure(at, "AE: PCA")
    assert "domain" not in ae["layer"][0]["encoding"]["x"]["scale"]

    at.checkbox(key="ls_same").set_value(True)
    at.radio(key="ls_view").set_value("PCA 3-D").run()
    figs = [figure(at, "AE: PCA"), figure(at, "VAE: PCA")]
    for fig in figs:
        assert all(t["marker"]["color"] == class_colour(CLASSES.index(t["name"]))
                   for t in fig["data"] if t["name"] in CLASSES)
        assert fig["layout"]["scene"]["xaxis"]["title"]["text"] == "PC 1"
    assert figs[0]["layout"]["scene"]["xaxis"]["range"] == figs[1]["layout"]["scene"]["xaxis"]["range"]

    assert "t-SNE keeps neighbours, not scale" not in "\n".join(c.value for c in at.caption)
    at.radio(key="ls_view").set_value("t-SNE").run()
    assert "t-SNE keeps neighbours, not scale or distances" in "\n".join(c.value for c in at.caption)
    assert not at.exception
