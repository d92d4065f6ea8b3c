"""``live_scatter``: a 2-D point cloud coloured by class (a latent frame, a 2-D data set) that the
browser is sent only when its ``version`` changes; ``assets/live_scatter.js`` draws it on a canvas
and keeps it between refreshes (a static picture while it is live: no hover, nothing re-sent)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pages._ui.live.base import component, resync, sent


def live_scatter(key: str, version: object, points: Callable[[], tuple[np.ndarray, np.ndarray, list[str]]],
                 *, title: str = "", height: int = 320, projector: bool = False) -> None:
    """Draw ``points()`` -> (xy (N, 2), labels (N,) ints, class names) under ``key``; it is called
    and its points sent only when ``version`` differs from what this session was last sent."""
    mem = sent(key)
    data = {"version": repr(version), "title": title, "height": height, "projector": projector,
            "xy": None, "labels": None, "classes": None}
    if mem.get("version") != data["version"]:
        xy, labels, classes = points()
        data.update(xy=np.round(np.asarray(xy, np.float32), 4).tolist(),
                    labels=np.asarray(labels).astype(int).tolist(), classes=[str(c) for c in classes])
        mem["version"] = data["version"]
    component("live_scatter")(key=key, data=data, on_resync_change=resync(key), height=height)
