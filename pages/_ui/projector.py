"""Projector mode: the sidebar switch (session and URL), its CSS and the chart styling."""
from __future__ import annotations

import streamlit as st

# Projector mode: larger type and images, thick lines and strong colours (Okabe-Ito, readable by
# colour-blind viewers) for a class watching one screen.
PROJECTOR_CSS = """<style>
html { font-size: 20px; }
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
[data-testid="stHeader"] { background: transparent; }  /* 20 px type: it would hide the title's top */
[data-testid="stProgress"] p { font-size: 1.05rem !important; font-weight: 600; }
[data-testid="stProgress"] [role="progressbar"] > div > div { height: 0.9rem !important; }
.js-plotly-plot .scatterlayer .js-line { stroke-width: 4px !important; }
[data-testid="stWidgetLabel"] p { font-size: 1rem !important; }
[data-testid="stSliderThumbValue"], [data-testid="stSliderTickBarMin"],
[data-testid="stSliderTickBarMax"] { font-size: 0.9rem !important; }
[data-testid="stSidebar"][data-collapsed="false"] { min-width: 14rem !important; max-width: 14rem !important; }
</style>"""
HIGH_CONTRAST = ["#000000", "#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]


def projector() -> bool:
    """Whether this session is in projector mode."""
    return bool(st.session_state.get("projector_on"))


def sidebar_state() -> str:
    """The sidebar on a page load: collapsed in projector mode (the screen is for the lesson;
    the arrow at the top left opens it), else Streamlit's own choice."""
    on = st.session_state.get("projector_on", st.query_params.get("projector") == "1")
    return "collapsed" if on else "auto"


def _projector_changed() -> None:
    st.session_state["projector_on"] = st.session_state["_projector"]


def projector_toggle() -> None:
    """The sidebar's Projector mode switch: remembered for the session (every page) and in the
    URL as ``projector=1``, so a link opens in it."""
    ss = st.session_state
    if "projector_on" not in ss:
        ss["projector_on"] = st.query_params.get("projector") == "1"
    ss["_projector"] = ss["projector_on"]  # the widget's state is dropped on other pages; this is not
    st.toggle("Projector mode", key="_projector", on_change=_projector_changed,
              help="Larger text and images and high-contrast charts, for a classroom screen.")
    if ss["projector_on"]:
        st.html(PROJECTOR_CSS)
        if st.query_params.get("projector") != "1":
            st.query_params["projector"] = "1"
    elif "projector" in st.query_params:
        del st.query_params["projector"]


def projector_layout(layout: dict) -> dict:
    """``layout`` (a Plotly layout dict) with projector styling added when it is on."""
    if not projector():
        return layout
    axis = {"gridcolor": "#999", "linecolor": "#000", "tickfont": {"size": 16, "color": "#000"},
            "title": {"font": {"size": 18, "color": "#000"}}}
    for k in [k for k in layout if k.startswith(("xaxis", "yaxis"))] or ["xaxis", "yaxis"]:
        layout[k] = {**axis, **layout.get(k, {}), "title": {**axis["title"], **(layout.get(k, {}).get("title") or {})}}
    layout.update(font={"size": 18, "color": "#000"}, colorway=HIGH_CONTRAST, paper_bgcolor="#fff",
                  plot_bgcolor="#fff", legend={**layout.get("legend", {}), "font": {"size": 18}})
    return layout
