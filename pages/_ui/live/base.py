"""Registration of the live components' packaged assets, and what each session was sent."""
from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.components.v2.manifest_scanner import ComponentConfig, ComponentManifest
from streamlit.runtime import Runtime

PACKAGE = "genlab"
HERE = Path(__file__).resolve().parent
ASSETS = "assets"
NAMES = ("live_chart", "live_image", "live_scatter", "ticker")
_mounts: dict[tuple[int, str], object] = {}


def component(name: str):
    """The mount function of the component ``name`` (one of ``NAMES``): ``assets/<name>.js``
    as its module, ``assets/live.css`` as its style. Registered once per Streamlit runtime
    (AppTest makes a new runtime per test)."""
    manager = Runtime.instance().bidi_component_registry
    full = f"{PACKAGE}.{name}"
    mount = _mounts.get((id(manager), name))
    if mount is None:
        if manager.get_component_asset_root(full) is None:
            manager.register_from_manifest(
                ComponentManifest(PACKAGE, "1", [ComponentConfig(n, ASSETS) for n in NAMES]), HERE)
        mount = st.components.v2.component(full, js=f"{name}.js", css="live.css")
        _mounts[(id(manager), name)] = mount
    return mount


def sent(key: str) -> dict:
    """What this browser session was sent for the component ``key`` (per session state)."""
    return st.session_state.setdefault(f"_live_{key}", {})


def resync(key: str):
    """A callback for a component's ``resync`` trigger: forget what was sent, send it all again."""
    def forget() -> None:
        st.session_state.pop(f"_live_{key}", None)
    return forget
