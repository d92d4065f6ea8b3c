"""``ticker``: the refresh timer of an ``st.fragment`` (use it instead of ``run_every``). Its
browser side (``assets/ticker.js``) asks for the fragment's next rerun ``every`` seconds, only
while the tab is visible (a hidden tab asks for nothing until it is shown again), and the
interval stretches (up to ``slowest``) while ``version`` stays the same: nothing changed."""
from __future__ import annotations

from pages._ui.live.base import component, sent


def _tick() -> None:  # a trigger needs a callback to be registered; the rerun is the point
    pass


def ticker(key: str, version: object, *, every: float = 1.0, slowest: float = 5.0) -> None:
    """Put at the end of a fragment: its next rerun comes ``every`` seconds while the tab is
    visible and ``version`` (e.g. ``Job.version``) keeps changing; each unchanged rerun waits
    1.5x longer, up to ``slowest`` seconds."""
    mem = sent(key)
    n = mem.get("n", 0) + 1
    wait = every if mem.get("version") != version else min(slowest, mem.get("wait", every) * 1.5)
    mem.update(n=n, version=version, wait=wait)
    component("ticker")(key=key, data={"n": n, "ms": int(wait * 1000)}, on_tick_change=_tick,
                        height=0)
