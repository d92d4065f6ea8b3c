"""The latent movie on the pages: an animated scatter (play/pause, epoch slider) of a model's probe
codes in one fixed frame, and the live frame of a model that is training. Render code only;
the frames come from ``genlab.latent.movie``."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from genlab.latent.movie import Movie, MovieError, fixed_frame, load_movie
from genlab.palette import PRIOR_COLOUR, class_colour

if TYPE_CHECKING:
    import plotly.graph_objects as go

PRIOR_POINTS = 300


def _class_name(classes: list[str], c: int) -> str:
    return classes[c] if 0 <= c < len(classes) else ("all" if c < 0 else str(c))


def _frame_traces(coords: np.ndarray, labels: np.ndarray, cloud: np.ndarray | None) -> list[dict]:
    out = [dict(x=coords[labels == c, 0], y=coords[labels == c, 1]) for c in np.unique(labels)]
    if cloud is not None:
        out.append(dict(x=cloud[:, 0], y=cloud[:, 1]))
    return out


def movie_figure(movie: Movie, classes: list[str], title: str, prior: bool = True) -> go.Figure:
    """Every frame in one fixed frame of reference, with Plotly's own play/pause and slider."""
    import plotly.graph_objects as go
    frames, cloud = fixed_frame(movie, 2, prior=PRIOR_POINTS if prior else 0)
    pts = frames.reshape(-1, 2) if cloud is None else np.concatenate([frames.reshape(-1, 2), cloud])
    lo, hi = np.percentile(pts, 0.5, axis=0), np.percentile(pts, 99.5, axis=0)
    pad = (hi - lo) * 0.08 + 1e-6
    labels = movie.labels
    fig = go.Figure()
    for c, tr in zip(np.unique(labels), _frame_traces(frames[0], labels, None)):
        fig.add_trace(go.Scatter(mode="markers", name=_class_name(classes, int(c)),
                                 marker=dict(size=5, opacity=0.8, color=class_colour(int(c))),
                                 hoverinfo="name", **tr))
    if cloud is not None:
        fig.add_trace(go.Scatter(x=cloud[:, 0], y=cloud[:, 1], mode="markers", name="prior N(0, I)",
                                 hoverinfo="name", marker=dict(size=4, color=PRIOR_COLOUR,
                                                               symbol="x")))
    names = [f"{e:.2f}" for e in movie.epochs]
    fig.frames = [go.Frame(data=[go.Scatter(**tr) for tr in _frame_traces(f, labels, cloud)], name=n)
                  for f, n in zip(frames, names)]
    step_args = dict(mode="immediate", frame=dict(duration=0, redraw=False), transition=dict(duration=0))
    play = dict(frame=dict(duration=450, redraw=False), transition=dict(duration=300),
                fromcurrent=True, mode="immediate")
    fig.update_layout(
        title=title, height=470, margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(range=[lo[0] - pad[0], hi[0] + pad[0]], title="PC 1 (final codes)"),
        yaxis=dict(range=[lo[1] - pad[1], hi[1] + pad[1]], title="PC 2 (final codes)"),
        legend=dict(itemsizing="constant"),
        updatemenus=[dict(type="buttons", direction="left", x=0, y=-0.12, xanchor="left",
                          showactive=False, buttons=[
                              dict(label="▶ Play", method="animate", args=[None, play]),
                              dict(label="❚❚ Pause", method="animate", args=[[None], step_args])])],
        sliders=[dict(active=len(names) - 1, x=0.22, y=-0.06, len=0.78,
                      currentvalue=dict(prefix="epoch "),
                      steps=[dict(label=n, method="animate", args=[[n], step_args]) for n in names])])
    # start on the final frame: what the model learned; Play runs from the first
    for trace, final in zip(fig.data, _frame_traces(frames[-1], labels, cloud)):
        trace.x, trace.y = final["x"], final["y"]
    return fig


def show_movie(path: str, meta: dict, title: str, key: str) -> bool:
    """Draw the movie stored beside checkpoint ``path``; a caption when it has none."""
    cfg = meta.get("model") or {}
    try:
        movie = load_movie(path, latent_dim=cfg.get("latent_dim"))
    except MovieError as exc:
        st.warning(str(exc))
        return False
    if movie is None:
        st.caption(f"{title}: no latent movie was recorded for this model (models trained by "
                   "GenLab record one; older files have none).")
        return False
    classes = list((meta.get("dataset") or {}).get("classes") or [])
    st.plotly_chart(movie_figure(movie, classes, title, prior=cfg.get("kind") == "vae"), key=key)
    st.caption(f"{len(movie)} frames from epoch 0 to {movie.epochs[-1]:g}, "
               f"{movie.codes.shape[1]:,} test images (the same for every frame), "
               "projected on the principal axes of the final codes.")
    return True


def live_frame_figure(codes: np.ndarray, labels: np.ndarray, classes: list[str], epoch: float
                      ) -> dict:
    """The probe codes of a model that is training now, on their own principal axes. A plain
    Plotly spec (no figure object): the Train page redraws it every second."""
    movie = Movie(np.asarray([epoch], np.float32), codes[None], np.arange(len(codes)), labels)
    xy = fixed_frame(movie, 2)[0][0]
    data = [{"type": "scattergl", "mode": "markers", "name": _class_name(classes, int(c)),
             "x": xy[labels == c, 0].tolist(), "y": xy[labels == c, 1].tolist(),
             "marker": {"size": 4, "opacity": 0.8, "color": class_colour(int(c))}, "hoverinfo": "name"} for c in np.unique(labels)]
    return {"data": data, "layout": {
        "title": {"text": f"Latent space at epoch {epoch:.2f} (PCA of {len(codes):,} test codes)"},
        "height": 320, "margin": dict(l=10, r=10, t=40, b=10), "legend": {"itemsizing": "constant"}}}
