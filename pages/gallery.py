"""Class gallery: the models trained on this server that their owners shared, and your own."""
import os

import streamlit as st

from pages._ui import frame

frame("Class gallery")
st.title("Class gallery")
st.markdown(
    "The models trained on this server, with their lesson, key numbers and samples, so a class "
    "can compare its runs at a glance. A model stays private to the browser session that trained "
    "it until its owner ticks **share with the class** below. The list refreshes by itself.")

from genlab.classroom.gallery import SORTS, gallery_rows, preview_grid, set_shared, sort_rows  # noqa: E402
from genlab.store.checkpoint import CheckpointError  # noqa: E402
from pages._ui import _folder_signature, show, viewer  # noqa: E402
from pages._ui.share import OWNER, owner_name_input  # noqa: E402

REFRESH_S = 10.0  # how often the class's list is read again (the folder's file stamps; the rows only when one changed)


@st.cache_data(show_spinner=False, max_entries=128)
def _grid(path: str, mtime: int):
    return preview_grid(path)


@st.cache_data(show_spinner=False, max_entries=64)
def _rows(signature: tuple, who: str) -> list[dict]:
    return gallery_rows(who)  # read again only when a model file changed


def _toggle(path: str, key: str) -> None:
    try:
        set_shared(path, st.session_state[key], viewer(), st.session_state.get(OWNER, ""))
    except (CheckpointError, OSError) as exc:
        st.session_state["gl_error"] = f"Could not change sharing: {exc}"


def whose(r: dict) -> str:
    return "yours" if r["own"] else f"shared by {r['owner_name']}" if r["owner_name"] else "shared"


@st.fragment(run_every=REFRESH_S)
def gallery() -> None:
    """Your models (share switches) and the class's: a fragment read again every few seconds,
    so a model shared or unshared elsewhere appears or goes without a reload."""
    rows = _rows(_folder_signature(), viewer())
    mine = [r for r in rows if r["own"]]
    if mine:
        st.subheader("Your models")
        owner_name_input("gl_owner_name")
        for r in mine:
            key = f"gl_share_{r['name']}"
            st.session_state[key] = r["shared"]
            st.checkbox(f"share **{r['name']}** with the class", key=key, on_change=_toggle,
                        args=(r["path"], key))
    else:
        st.caption("You have not trained a model in this session yet (Train page); models you "
                   "train appear here, and you choose whether the class sees them.")
    if "gl_error" in st.session_state:
        st.error(st.session_state.pop("gl_error"))

    st.subheader("The class's models")
    if not rows:
        st.info("No shared models yet. When someone ticks 'share with the class', their model "
                "appears here.")
        return
    how = st.selectbox("Sort by", list(SORTS), key="gl_sort")
    rows = sort_rows(rows, how)
    st.dataframe([{"model": r["name"], "whose": whose(r), "lesson": r["lesson"], "kind": r["kind"],
                   "data set": r["dataset"], "epochs": r["epochs"], "MSE/pixel": r["mse_text"],
                   "−ELBO (nats)": r["elbo_text"], "Fréchet": r["frechet_text"]} for r in rows],
                 hide_index=True, key="gl_table", width="stretch")
    st.caption("Click a column header to sort the table. Numbers: the test split at the end of "
               "training, or `python -m genlab eval` when it was run; '—' means not measured.")
    cols = st.columns(4)
    for i, r in enumerate(rows):
        with cols[i % 4]:
            try:
                grid = _grid(r["path"], os.stat(r["path"]).st_mtime_ns)
            except (CheckpointError, OSError) as exc:
                st.warning(f"{r['name']}: {exc}")
                continue
            what = "test images and reconstructions" if r["kind"] == "AE" else "samples"
            show(grid, caption=f"{r['name']} · {r['kind']} · {whose(r)} · {r['lesson']} — {what}",
                 target=240)


gallery()
