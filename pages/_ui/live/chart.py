"""``live_chart``: line panels that append new rows in the browser instead of being rebuilt.

The server keeps, per browser session and key, the cursor of the rows it already sent, and asks
the data's ``since(cursor)`` for what is new (a snapshot diff: ``genlab.jobs.live.RowLog`` /
``Job.history_since``); the browser's chart object (``assets/live_chart.js``, a small canvas line
chart) appends those rows and redraws itself. A new ``stream`` (another run) starts over."""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from genlab.jobs.live import RowDelta
from pages._ui.live.base import component, resync, sent


def _num(v):
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


def live_chart(key: str, since: Callable[[tuple | None], RowDelta], panels: Sequence[Sequence[str]],
               *, stream: str, labels: Mapping[str, str] | None = None, x: str = "epoch",
               title: str = "", marks: Sequence[dict] = (), height: int = 300,
               projector: bool = False) -> None:
    """Draw (first call) or extend (later calls) a chart of line panels side by side.

    ``key``: the component's key (one chart per key and session). ``since(cursor)``: the rows
    after ``cursor`` (None: from the start) as a ``RowDelta``: ``rows`` (dicts holding ``x`` and
    the series' keys), the next ``cursor``, ``reset`` (the rows replace what was drawn) and
    ``points`` (dicts drawn whole as dots on the series of the same key: test-set values).
    ``panels``: per panel, the row keys drawn as its lines; ``labels``: key -> legend label.
    ``stream``: the data's identity (a job id); a new one clears the chart. ``marks``: vertical
    dotted lines ``{"x": value, "label": str}`` (health alarms), on every panel, named on the
    first. ``projector``: thick lines and large type."""
    mem = sent(key)
    fresh = mem.get("stream") != stream
    delta = since(None if fresh else mem.get("cursor"))
    reset = fresh or delta.reset
    keys = [k for p in panels for k in p]
    cols = [x, *keys]
    rows = [[_num(r.get(c)) for c in cols] for r in delta.rows]
    base = 0 if reset else mem.get("seq", 0)
    points = [{c: _num(p.get(c)) for c in cols if c in p} for p in delta.points]
    marks = [{"x": _num(m.get("x")), "label": str(m.get("label", ""))} for m in marks]
    extras = (points, marks)
    send_extras = reset or mem.get("extras") != extras
    mem.update(stream=stream, cursor=delta.cursor, seq=base + len(rows), extras=extras)
    labels = labels or {}
    data = {"stream": stream, "base": base, "seq": base + len(rows), "reset": reset, "cols": cols,
            "rows": rows, "panels": [[{"key": k, "label": labels.get(k, k)} for k in p] for p in panels],
            "x_label": x, "title": title, "height": height, "projector": projector,
            "points": points if send_extras else None, "marks": marks if send_extras else None}
    component("live_chart")(key=key, data=data, on_resync_change=resync(key), height=height)
