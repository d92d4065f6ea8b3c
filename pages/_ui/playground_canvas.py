"""The playground's canvas: a keyed ``st.components.v2`` element (its JS: playground_canvas.js,
read from the file next to this one) fed by ``pages._ui.frames``; the worker's holder, one per
browser session, which stops the worker when the session ends."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from genlab.playground.worker import PlayWorker

JS = Path(__file__).with_name("playground_canvas.js").read_text(encoding="utf-8")
CSS = """
.pg { font-family: "Source Sans 3", "Source Sans Pro", sans-serif; color: #31333f; }
.pg .row { display: flex; gap: 0.8rem; flex-wrap: nowrap; align-items: flex-start; }
.pg canvas { display: block; margin-bottom: 8px; max-width: 100%; }
.pg .plane { cursor: crosshair; }
.pg .time { font-size: 14px; } .pg .time input { width: 200px; vertical-align: middle; }
.pg .status { font-size: 14px; font-variant-numeric: tabular-nums; margin-bottom: 6px; min-height: 1.3em; }
"""
canvas = st.components.v2.component("genlab.playground_canvas", html='<div class="pg"></div>',
                                    css=CSS, js=JS)
KEY = "pg_canvas"


class Holder:
    """This session's playground worker (one at a time)."""

    def __init__(self) -> None:
        self.worker: PlayWorker | None = None
        self.run = 0  # grows with every new run (the canvas clears its curve)

    def start(self, settings: dict, drawn=None) -> PlayWorker:
        if self.worker is None or not self.worker.alive():
            self.close()
            self.worker = PlayWorker(settings, drawn)
        else:
            self.worker.reset(settings, drawn)
        self.run += 1
        return self.worker

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None


@st.cache_resource(scope="session", on_release=lambda h: h.close(), show_spinner=False)
def holder() -> Holder:
    return Holder()
