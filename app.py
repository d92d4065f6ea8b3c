"""GenLab: `streamlit run app.py`. Navigation and the shared sidebar; each page is in pages/."""
import os

# Before torch loads: idle OpenMP threads sleep instead of spinning. On a busy CPU spinning
# threads made training 10x slower here (the training thread shares the cores with the server).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import streamlit as st  # noqa: E402

st.set_page_config(page_title="GenLab", page_icon=":material/science:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/explorer.py", title="Latent explorer", icon=":material/tune:"),
    st.Page("pages/latent_space.py", title="Latent space", icon=":material/scatter_plot:"),
    st.Page("pages/gan_studio.py", title="GAN studio", icon=":material/palette:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
]
page = st.navigation(PAGES)


@st.fragment(run_every=2.0)
def job_status() -> None:
    from pages._ui import session_jobs
    job = session_jobs().current()
    if job is not None:
        snap = job.snapshot(max_rows=1)
        st.caption(f"Training '{snap.name}': {snap.state}"
                   + (f", {snap.fraction:.0%}" if snap.active and snap.total_steps else ""))


try:
    page.run()  # first: the page draws before the sidebar's imports (torch) on a cold start
finally:  # also after a page's st.stop()
    from pages._ui import device_text
    with st.sidebar:
        st.caption(f"Device: {device_text()}")
        job_status()
