"""Training-health alarms on a page: a warning box per alarm, and markers on the live curves.

The alarms are the dicts of ``genlab.train.alarms.Alarm.to_dict()`` as a job snapshot
(``JobSnapshot.alarms``) or a checkpoint's meta (``meta["alarms"]``) carries them."""
from __future__ import annotations

import copy

import streamlit as st

MARK = "#d62728"


def alarm_text(a: dict) -> str:
    """One alarm in Markdown: name and step, the diagnosis, the evidence, what to try."""
    where = f" — step {a['step']:,}" if isinstance(a.get("step"), int) else ""
    if isinstance(a.get("epoch"), (int, float)):
        where += f", epoch {a['epoch']:.2f}"
    parts = [f"**{a.get('name', 'Alarm')}**{where}: {a.get('message', '')}"]
    if a.get("evidence"):
        parts.append(f"Evidence: {a['evidence']}")
    if a.get("advice"):
        parts.append(f"**Try:** {a['advice']}")
    return "\n\n".join(parts)


def alarm_box(alarms: list[dict] | None) -> None:
    """A warning per health alarm that fired (nothing when none did)."""
    for a in alarms or []:
        st.warning(alarm_text(a), icon=":material/warning:")


def mark_alarms(fig_spec: dict, alarms: list[dict] | None) -> dict:
    """A copy of a ``pages._ui.curves`` figure spec with a dotted vertical line at each alarm's
    step (or epoch, whichever the figure's x axis shows) on every panel, named on the first."""
    if not alarms:
        return fig_spec
    spec = copy.deepcopy(fig_spec)
    layout = spec.setdefault("layout", {})
    axes = sorted(k for k in layout if k.startswith("xaxis")) or ["xaxis"]
    x_name = ((layout.get("xaxis") or {}).get("title") or {}).get("text", "epoch")
    shapes, notes = list(layout.get("shapes", [])), list(layout.get("annotations", []))
    for a in alarms:
        x = a.get("step") if x_name == "step" else a.get("epoch")
        if not isinstance(x, (int, float)):
            continue
        for i, ax in enumerate(axes):
            sfx = ax[len("xaxis"):]
            shapes.append({"type": "line", "xref": f"x{sfx}", "yref": f"y{sfx} domain",
                           "x0": x, "x1": x, "y0": 0, "y1": 1,
                           "line": {"color": MARK, "dash": "dot", "width": 1.5}})
            if i == 0:
                notes.append({"x": x, "xref": "x", "y": 1, "yref": "y domain", "yanchor": "bottom",
                              "text": a.get("name", "alarm"), "showarrow": False,
                              "font": {"color": MARK, "size": 11}})
    layout["shapes"], layout["annotations"] = shapes, notes
    return spec
