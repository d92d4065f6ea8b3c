"""Latent sliders that decode in the browser: a self-contained HTML component (no network, no
CDN) holding the decoder's weights (``genlab.latent.export``) and running the decoder in plain
JavaScript on every slider input, one decode per animation frame. The server sends the weights
once per model file (the HTML is cached, and Streamlit sends an unchanged element by reference).

Slider moves come back: 300 ms after the last move the component posts where its sliders
stand to the page, where a small bridge component (``st.components.v2``, no visible element)
hands the values to the server (``moved``); the explorer then sets its own slider state from them,
so its code, its server sliders and its other tools follow what the user sees."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st

from genlab.latent.export import DecoderExportError, decoder_spec
from genlab.models import GenerativeModel
from genlab.store.catalog import ModelEntry
from pages._ui import BY_FILE, load

JS = (Path(__file__).with_name("fast_sliders.js")).read_text(encoding="utf-8")
ROW_PX = 50  # height of one slider row in the component
STYLE = """
body { margin: 0; font-family: "Source Sans 3", "Source Sans Pro", sans-serif; color: #31333f;
       background: transparent; }
#wrap { display: flex; gap: 2rem; align-items: flex-start; }
#sliders { flex: 3; min-width: 0; }
#out { flex: 2; min-width: 0; }
.row { height: ROWpx; box-sizing: border-box; padding: 2px 0; }
.row .top { display: flex; justify-content: space-between; font-size: 14px; }
.row .val { color: #ff4b4b; font-variant-numeric: tabular-nums; }
input[type=range] { -webkit-appearance: none; appearance: none; width: 100%; height: 4px;
  margin: 12px 0 8px 0; border-radius: 2px; outline: none; cursor: pointer;
  background: linear-gradient(to right, #ff4b4b var(--fill), #d5dae5 var(--fill)); }
input[type=range]::-webkit-slider-thumb { -webkit-appearance: none; width: 12px; height: 12px;
  border-radius: 50%; background: #ff4b4b; border: none; }
input[type=range]::-moz-range-thumb { width: 12px; height: 12px; border-radius: 50%;
  background: #ff4b4b; border: none; }
input[type=range]:focus-visible::-webkit-slider-thumb { box-shadow: 0 0 0 4px rgba(255, 75, 75, .3); }
@media (prefers-color-scheme: dark) {
  body { color: #fafafa; }
  .cap { color: rgba(250, 250, 250, 0.6) !important; }
  input[type=range] { background: linear-gradient(to right, #ff4b4b var(--fill), #555867 var(--fill)); }
}
canvas { image-rendering: pixelated; display: block; }
.cap { font-size: 14px; color: rgba(49, 51, 63, 0.6); margin-top: 4px; }
""".replace("ROW", str(ROW_PX))


# The bridge: passes the sliders' postMessage (the frame's id must match) to the server as the
# component state "moved"; the listener goes when the component is unmounted.
BRIDGE_JS = """
export default function (component) {
  const { data, setStateValue } = component;
  const onMessage = (e) => {
    const m = e.data;
    if (!m || m.genlab !== "fast_sliders" || m.id !== data.id || !Array.isArray(m.values)) return;
    setStateValue("moved", { id: m.id, values: m.values });
  };
  window.addEventListener("message", onMessage);
  return () => window.removeEventListener("message", onMessage);
}
"""


def _script(kind: str, text: str, id_: str) -> str:
    safe = text.replace("</", "<\\/")  # no early end of the script element
    return f'<script type="{kind}" id="{id_}">{safe}</script>'


def decoder_html(model: GenerativeModel) -> tuple[str | None, str | None]:
    """(the component's HTML up to the page's own settings, None), or (None, why it cannot be
    exported). The HTML ends where ``component_html`` appends the sliders."""
    try:
        spec = decoder_spec(model)
    except DecoderExportError as exc:
        return None, str(exc)
    weights = spec.pop("weights")
    head = ('<!doctype html><html><head><meta charset="utf-8"><style>' + STYLE + "</style></head>"
            '<body><div id="wrap"><div id="sliders"></div><div id="out"><canvas id="img"></canvas>'
            '<div class="cap" id="cap">Decoded in your browser</div><div class="cap" id="norm">'
            "</div></div></div>" + _script("application/json", json.dumps(spec), "spec")
            + _script("text/plain", weights, "weights"))
    return head, None


@st.cache_resource(show_spinner="Preparing the in-browser decoder...", max_entries=8,
                   hash_funcs=BY_FILE)
def _cached_head(entry: ModelEntry) -> tuple[str | None, str | None]:
    return decoder_html(load(entry)[0])


def unavailable(entry: ModelEntry) -> str | None:
    """Why this model's sliders cannot decode in the browser, or None when they can."""
    return _cached_head(entry)[1]


def component_html(head: str, sliders: list[dict], base: np.ndarray, dirs: np.ndarray | None,
                   scale: int, show_norm: bool, id_: str = "") -> str:
    """The whole component: ``head`` (weights) + the sliders and the code they move.

    ``sliders``: dicts with label, min, max, step, value and either ``dim`` (a raw latent
    dimension, set to the value) or ``pc`` (index into ``dirs``: the code moves by value x
    dirs[pc]). ``base`` is the code before the principal-direction sliders are added; ``id_``
    names this rendering in the moves it posts."""
    page = {"id": id_, "sliders": sliders, "base": [float(v) for v in np.asarray(base, np.float64)],
            "dirs": [] if dirs is None else np.asarray(dirs, np.float64).tolist(),
            "scale": int(scale), "show_norm": bool(show_norm)}
    return head + _script("application/json", json.dumps(page), "page") + f"<script>{JS}</script></body></html>"


def height(n_sliders: int, image_px: int) -> int:
    return max(n_sliders * ROW_PX + 8, image_px + 56)


def moved_values(reported, sliders: list[dict]) -> list[float] | None:
    """The slider values a browser reported, checked: one finite number per slider, each put
    back into its slider's range; None for anything else (nothing is taken from it)."""
    if not isinstance(reported, list) or len(reported) != len(sliders):
        return None
    try:
        vals = [float(v) for v in reported]
    except (TypeError, ValueError):
        return None
    if not all(np.isfinite(vals)):
        return None
    return [min(max(v, s["min"]), s["max"]) for v, s in zip(vals, sliders)]


def browser_sliders(entry: ModelEntry, sliders: list[dict], base: np.ndarray,
                    dirs: np.ndarray | None, image_size: int, show_norm: bool,
                    target: int = 280, *, key: str, id_: str,
                    on_moved: Callable[[list[float]], None] | None = None) -> None:
    """Draw the in-browser sliders and decoded image (``show``'s display size for ``target``);
    ``on_moved(values)`` runs (as a widget callback) when the browser reports new positions of
    the sliders of the rendering ``id_``."""
    head, why = _cached_head(entry)
    if head is None:
        raise DecoderExportError(why)
    scale = max(1, min(8, target // max(image_size, 1)))
    st.iframe(component_html(head, sliders, base, dirs, scale, show_norm, id_),
              height=height(len(sliders), image_size * scale))
    if on_moved is None:
        return

    def moved() -> None:
        got = (st.session_state.get(key) or {}).get("moved") or {}
        vals = moved_values(got.get("values"), sliders) if got.get("id") == id_ else None
        if vals is not None:
            on_moved(vals)
    bridge = st.components.v2.component("genlab.fast_sliders_bridge", js=BRIDGE_JS)
    bridge(key=key, data={"id": id_}, on_moved_change=moved, height=0)
