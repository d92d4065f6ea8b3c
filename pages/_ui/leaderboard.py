"""The one leaderboard (Compare): every family on one data set measured the same way, from the
numbers ``python -m genlab eval`` stored in each file, and the time to sample 64 images
measured on this machine when asked. Render code only: ``genlab.metrics.leaderboard``."""
from __future__ import annotations

import streamlit as st

from genlab.metrics.leaderboard import COLUMNS, SAMPLE_N, leaderboard_row, leaderboard_text, sample_seconds
from pages._ui import BY_FILE, load


@st.cache_data(show_spinner=False, max_entries=128, hash_funcs=BY_FILE)
def _sample_s(entry) -> float | None:
    loaded = load(entry)
    return None if loaded is None else sample_seconds(loaded[0])


def leaderboard(entries: list) -> None:
    """The table over the readable models in ``entries`` that have stored metrics."""
    st.subheader("Leaderboard: every family, measured the same way")
    measured = [e for e in entries if e.readable and (e.meta.get("metrics") or {})]
    if not measured:
        st.info("No measured model yet: run `python -m genlab eval` on one, or measure it below.")
        return
    names = sorted({(e.meta.get("dataset") or {}).get("name", "?") for e in measured})
    c1, c2 = st.columns([1, 2])
    data = c1.selectbox("Data set", names, index=names.index("mnist") if "mnist" in names else 0,
                        key="cmp_lb_data")
    timed = c2.toggle(f"Time sampling {SAMPLE_N} images with each (on this machine, now)",
                      key="cmp_lb_time", help="Each model's default sampler: flow 20 Euler steps, "
                      "DDPM 50 ancestral steps; a conditional model with its default guidance.")
    rows = []
    for e in measured:
        if (e.meta.get("dataset") or {}).get("name", "?") != data:
            continue
        seconds = None
        if timed:
            with st.spinner(f"Timing {e.name}..."):
                seconds = _sample_s(e)
        rows.append(leaderboard_row(e.name, e.meta, seconds))
    text = leaderboard_text(rows)
    st.dataframe([dict(zip(COLUMNS, r)) for r in text[1:]], hide_index=True,
                 height=35 * len(text) + 3, key="cmp_leaderboard")
    st.caption("Fréchet distance of samples to the test split on GenLab's classifier features, "
               "beside the floor (as many real training images against the same test split); "
               "× floor: how many times the floor (1 is as good as real images). Coverage: how "
               "evenly samples spread over the classes; class agreement (conditional models): "
               "the share the classifier puts in the class asked for. An AE is scored on samples "
               "from N(0, I). Training time: as recorded when it was trained (its machine and "
               f"load); sample {SAMPLE_N}: measured now on this server's CPU, under its current "
               "load. Best ratio first; '—': not measured or not defined.")
