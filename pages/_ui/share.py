"""What a finished model offers where it was trained: "share with the class" (the Class
gallery shows shared models) and its lab report as a download (``genlab.report``, the same file
as the Compare page's)."""
from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from genlab.classroom.gallery import set_shared
from genlab.store.checkpoint import CheckpointError, read_meta
from pages._ui import viewer

FORMATS = {"html": ("HTML (one file)", "html", "text/html"),
           "md": ("Markdown + figures (zip)", "zip", "application/zip"),
           "pdf": ("PDF", "pdf", "application/pdf")}


@st.cache_data(show_spinner=False, max_entries=8)
def _report(paths: tuple[str, ...], mtimes: tuple[int, ...], fmt: str) -> bytes:
    from genlab.report import report_bytes
    return report_bytes(list(paths), fmt)


def report_download(paths: list[str], key: str, what: str) -> None:
    """A format choice and a button that downloads the lab report of ``paths`` (built only
    when the button is pressed)."""
    from genlab.report import find_browser
    formats = [f for f in FORMATS if f != "pdf" or find_browser() is not None]
    c1, c2 = st.columns([1, 2])
    fmt = c1.radio("Report format", formats, format_func=lambda f: FORMATS[f][0], key=f"{key}_fmt")
    c2.download_button(
        f"Download lab report{what}", key=key, on_click="ignore", icon=":material/download:",
        data=lambda: _report(tuple(paths), tuple(os.stat(p).st_mtime_ns for p in paths), fmt),
        file_name=f"{Path(paths[0]).stem if len(paths) == 1 else 'genlab'}-report.{FORMATS[fmt][1]}",
        mime=FORMATS[fmt][2], help="What was trained, the curves, reconstructions and samples, "
        "latent plots and metrics with their meaning, figures inline. Takes seconds to build.")


OWNER = "owner_name"  # the name this session's student gave (kept for the whole session)


def owner_name_input(key: str) -> str:
    """The student's name, asked once per session (every page's box shows the same name); saved
    with the models they share, so the gallery says whose a model is."""
    ss = st.session_state
    ss[key] = ss.get(OWNER, "")
    st.text_input("Your name (shown with the models you share)", key=key, max_chars=40,
                  on_change=lambda: ss.__setitem__(OWNER, ss[key].strip()),
                  placeholder="e.g. Ada", help="Once per session; the class gallery shows it "
                  "beside your shared models. Leave it empty to share without a name.")
    return ss.get(OWNER, "")


def _toggle(path: str, key: str) -> None:
    try:
        set_shared(path, st.session_state[key], viewer(), st.session_state.get(OWNER, ""))
    except (CheckpointError, OSError) as exc:
        st.session_state["tr_share_error"] = f"Could not change sharing: {exc}"


def finished_model(path: Path) -> None:
    """The share tickbox and the report download for a model this session just trained."""
    try:
        shared = bool(read_meta(path).get("shared"))
    except (CheckpointError, OSError) as exc:
        st.warning(f"The saved model cannot be read: {exc}")
        return
    key = f"tr_share_{path.stem}"
    st.session_state[key] = shared
    if not st.session_state.get(OWNER):
        owner_name_input("tr_owner_name")
    st.checkbox(f"Share **{path.stem}** with the class", key=key, on_change=_toggle,
                args=(str(path), key), help="Shared models appear on the Class gallery page of "
                "everyone on this server; unshared ones only in yours.")
    if "tr_share_error" in st.session_state:
        st.error(st.session_state.pop("tr_share_error"))
    report_download([str(path)], "tr_report", f" of {path.stem}")
