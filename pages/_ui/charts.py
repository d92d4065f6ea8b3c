"""Altair latent maps whose hover tooltip shows the test image itself (Vega-Lite renders a
tooltip field named ``image`` holding a data URL as an <img>), and whose clicks come back to
the page through ``st.altair_chart(on_select="rerun")``."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from genlab.latent.ops import png_data_urls
from pages._ui import BY_FILE, _data

# Plotly's qualitative colours (what the maps used before): ten distinct hues, no grey, so
# the prior's grey crosses stand apart.
PALETTE = ["#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692",
           "#b6e880", "#ff97ff", "#fecb52"]
PICK = "pick"  # the point selection's name: event.selection[PICK] -> [{"index": i}]
HOVER_PX = 84  # tooltip images are 28 px PNGs shown at this size, with crisp pixels
# The tooltip element lives in the page's own document: this rule enlarges its image.
TOOLTIP_CSS = (f"<style>#vg-tooltip-element img {{width: {HOVER_PX}px; height: {HOVER_PX}px; "
               "image-rendering: pixelated; max-width: none; max-height: none}</style>")


@st.cache_data(show_spinner="Preparing the hover images...", max_entries=8, hash_funcs=BY_FILE)
def thumbs(entry, n: int) -> list[str]:
    """PNG data URLs of the first ``n`` test images of a model's data set (cached per model)."""
    return png_data_urls(_data(entry).test_x[:n])


def _names(labels: np.ndarray, classes: list[str]) -> list[str]:
    return [classes[int(c)] if 0 <= int(c) < len(classes) else str(int(c)) for c in labels]


def image_scatter(coords: np.ndarray, labels: np.ndarray, classes: list[str], title: str,
                  images: list[str] | None = None, prior: np.ndarray | None = None,
                  extra: list[alt.Chart] | None = None, height: int = 460) -> alt.LayerChart:
    """2-D codes coloured by class; hovering a point shows its image, class and index; the
    prior's samples as grey crosses; ``extra`` layers (e.g. a drawing's point) on top."""
    names = _names(labels, classes)
    order = [n for n in (classes or []) if n in set(names)] or sorted(set(names))
    df = pd.DataFrame({"x": coords[:, 0], "y": coords[:, 1], "class": names,
                       "index": np.arange(len(coords))})
    tips = [alt.Tooltip("class:N"), alt.Tooltip("index:Q", title="test image #")]
    if images is not None:
        df["image"] = images[:len(coords)]
        tips = [alt.Tooltip("image:N")] + tips
    pick = alt.selection_point(name=PICK, fields=["index"], on="click", clear="dblclick")
    pts = (alt.Chart(df).mark_circle(size=22, opacity=0.75)
           .encode(x=alt.X("x:Q", title="1", axis=alt.Axis(labels=False, ticks=False)),
                   y=alt.Y("y:Q", title="2", axis=alt.Axis(labels=False, ticks=False)),
                   color=alt.Color("class:N", scale=alt.Scale(domain=order, range=PALETTE),
                                   legend=alt.Legend(title=None)),
                   tooltip=tips)
           .add_params(pick))
    layers: list[alt.Chart] = [pts]
    if prior is not None:
        pf = pd.DataFrame({"x": prior[:, 0], "y": prior[:, 1]})
        layers.append(alt.Chart(pf).mark_point(shape="M-1,-1L1,1M-1,1L1,-1", size=20, color="#222",
                                                opacity=0.45, strokeWidth=1)
                      .encode(x="x:Q", y="y:Q", tooltip=alt.value("prior sample N(0, I)")))
    layers += extra or []
    return alt.layer(*layers).properties(title=title, height=height).configure_axis(grid=False)


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
