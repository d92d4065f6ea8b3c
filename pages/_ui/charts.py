"""Altair latent maps whose hover tooltip shows the test image itself (Vega-Lite renders a
tooltip field named ``image`` holding a data URL as an <img>), and whose clicks come back to
the page through ``st.altair_chart(on_select="rerun")``."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from genlab.latent.ops import png_data_urls
from genlab.palette import class_colour
from pages._ui import BY_FILE, _data

PICK = "pick"  # the point selection's name: event.selection[PICK] -> [{"index": i}]
HOVER_PX = 84  # tooltip images are 28 px PNGs shown at this size, with crisp pixels
# The tooltip element lives in the page's own document: this rule enlarges its image.
TOOLTIP_CSS = (f"<style>#vg-tooltip-element img {{width: {HOVER_PX}px; height: {HOVER_PX}px; "
               "image-rendering: pixelated; max-width: none; max-height: none}</style>")


@st.cache_data(show_spinner="Preparing the hover images...", max_entries=8, hash_funcs=BY_FILE)
def thumbs(entry, n: int) -> list[str]:
    """PNG data URLs of the first ``n`` test images of a model's data set (cached per model)."""
    return png_data_urls(_data(entry).test_x[:n])


def _name(classes: list[str], c: int) -> str:
    return classes[c] if 0 <= c < len(classes) else str(c)


def class_scale(labels: np.ndarray, classes: list[str]) -> alt.Scale:
    """The colour scale of the classes present: each class's colour from ``genlab.palette``
    by its index, whichever classes a plot happens to hold."""
    present = sorted({int(c) for c in np.unique(labels)})
    return alt.Scale(domain=[_name(classes, c) for c in present], range=[class_colour(c) for c in present])


def _axis(title: str, extent: tuple[float, float] | None) -> dict:
    scale = alt.Scale(domain=list(extent), nice=False, zero=False) if extent else alt.Scale(zero=False)
    return {"title": title, "scale": scale, "axis": alt.Axis(tickCount=6)}


def image_scatter(coords: np.ndarray, labels: np.ndarray, classes: list[str], title: str,
                  images: list[str] | None = None, prior: np.ndarray | None = None,
                  extra: list[alt.Chart] | None = None, height: int = 460,
                  axes: tuple[str, str] = ("PC 1", "PC 2"),
                  extent: tuple[tuple[float, float], tuple[float, float]] | None = None) -> alt.LayerChart:
    """2-D codes coloured by class (``genlab.palette``) on axes with their scale (latent units
    for PCA; ``extent`` fixes both ranges, to compare two models); hovering a point shows its
    image, class and index; the prior's samples as grey crosses; ``extra`` layers on top."""
    names = [_name(classes, int(c)) for c in labels]
    ex, ey = extent or (None, None)
    df = pd.DataFrame({"x": coords[:, 0], "y": coords[:, 1], "class": names,
                       "index": np.arange(len(coords))})
    tips = [alt.Tooltip("class:N"), alt.Tooltip("index:Q", title="test image #")]
    if images is not None:
        df["image"] = images[:len(coords)]
        tips = [alt.Tooltip("image:N")] + tips
    pick = alt.selection_point(name=PICK, fields=["index"], on="click", clear="dblclick")
    pts = (alt.Chart(df).mark_circle(size=22, opacity=0.75, clip=True)
           .encode(x=alt.X("x:Q", **_axis(axes[0], ex)), y=alt.Y("y:Q", **_axis(axes[1], ey)),
                   color=alt.Color("class:N", scale=class_scale(labels, classes),
                                   legend=alt.Legend(title=None)),
                   tooltip=tips)
           .add_params(pick))
    layers: list[alt.Chart] = [pts]
    if prior is not None:
        pf = pd.DataFrame({"x": prior[:, 0], "y": prior[:, 1]})
        layers.append(alt.Chart(pf).mark_point(shape="M-1,-1L1,1M-1,1L1,-1", size=20, color="#222",
                                                opacity=0.45, strokeWidth=1, clip=True)
                      .encode(x="x:Q", y="y:Q", tooltip=alt.value("prior sample N(0, I)")))
    layers += extra or []
    return alt.layer(*layers).properties(title=title, height=height).configure_axis(gridOpacity=0.6)


def picked_index(event) -> int | None:
    """The test image index a click selected on an :func:`image_scatter`, or None."""
    sel = getattr(event, "selection", None) or {}
    rows = sel.get(PICK) if isinstance(sel, dict) else getattr(sel, PICK, None)
    if rows:
        v = rows[0].get("index") if isinstance(rows[0], dict) else None
        return int(v) if v is not None else None
    return None


def marker_layer(xy: np.ndarray, label: str, ellipse: np.ndarray | None = None) -> list[alt.Chart]:
    """A big black star at ``xy`` (and a closed ellipse curve) to overlay on a latent map."""
    star = (alt.Chart(pd.DataFrame({"x": [float(xy[0])], "y": [float(xy[1])], "what": [label]}))
            .mark_point(shape="diamond", size=260, filled=True, color="black", stroke="white")
            .encode(x="x:Q", y="y:Q", tooltip=alt.Tooltip("what:N", title="")))
    out = [star]
    if ellipse is not None:
        ef = pd.DataFrame({"x": ellipse[:, 0], "y": ellipse[:, 1], "o": np.arange(len(ellipse))})
        out.append(alt.Chart(ef).mark_line(color="black", strokeDash=[4, 3])
                   .encode(x="x:Q", y="y:Q", order="o:Q"))
    return out
