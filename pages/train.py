"""Train: pick a lesson or data and a model, start / pause / stop, watch curves and images live.
Every setting is in the URL (pages/_ui/train_url.py), so a teacher shares a run as a link."""
import streamlit as st

from pages._ui import KIND_NAMES, LOSS_LABELS, curves, frame, session_jobs  # isort: skip
from genlab.images import png_url
from pages._ui.alarms import alarm_box, mark_alarms
from pages._ui.denoise import live_strip
from pages._ui.live.train_view import live_curves, live_grid, live_latent, refresh
from pages._ui.projector import projector
from pages._ui.share import finished_model
from pages._ui.train_form import choose_data, choose_model
from pages._ui.train_url import chosen, lesson_picker, read_url, write_url

frame("Train")
jobs = session_jobs()
current = jobs.current()
first = current.snapshot(max_rows=1) if current is not None else None
busy = first is not None and first.active


def _waits(snap) -> bool:
    """Queued behind other runs (not yet taking a free slot)."""
    return snap.state == "queued" and bool(snap.queue_position)


# A run waiting in the queue behind others is polled every 3 s, not every second: in a class of
# 8 on one server the waiting pages' refreshes were what kept a new page from loading.
waiting = busy and _waits(first)
if busy:  # the live view must fit a 1366×768 projector screen: a small heading, little padding
    # and the progress bar jumps instead of gliding: its 0.5 s glide, once a second, cost Chromium
    # 0.035 CPU-s/s of the live page's 0.12 (bench/RESULTS.md, "The live view's Chromium cost")
    st.html("<style>[data-testid='stMainBlockContainer']{padding-top:2.2rem}"
            "[data-testid='stProgressBarTrack'] > div{transition:none}</style>")
    if st.session_state.pop("tr_to_top", False):  # Start was pressed far down the settings
        st.html("<script>for (const m of parent.document.querySelectorAll('.stMain')) m.scrollTo(0, 0)"
                "</script>", unsafe_allow_javascript=True)
    st.subheader("Train a model", anchor=False)
else:
    st.title("Train a model", anchor=False)
read_url()  # a link's settings into the widgets, before they are drawn
for problem in st.session_state.pop("tr_url_problems", []):
    st.warning(problem)


def _fmt(s: float) -> str:
    return f"{int(s // 60)} min {int(s % 60):02d} s" if s >= 60 else f"{s:.0f} s"


def _name(snap) -> str:
    return f"**{snap.name}** ({KIND_NAMES[snap.kind]})"


def _buttons(snap, job) -> tuple:
    """What ``controls`` draws depends on. Pause, Resume and Stop rerun the whole page
    themselves; of the rest, only the first step (Pause can be pressed from then on) and the
    run's end change it."""
    return snap.state == "paused", snap.state == "running", snap.active, job.stop_requested


def controls(job, snap):
    """Pause / Resume and Stop. While a run is active they are drawn above the live fragment,
    not in it: redrawn once a second they cost Chromium about 0.015 of the live page's ~0.1
    CPU-s/s (bench/RESULTS.md); when what they show changes, the fragment reruns the whole page."""
    c1, c2, c3 = st.columns([1, 1, 4])
    if snap.state == "paused":
        c1.button("Resume", on_click=job.resume, key="tr_resume", type="primary")
    else:
        c1.button("Pause", on_click=job.pause, key="tr_pause",
                  disabled=snap.state != "running" or job.stop_requested)
    c2.button("Stop", on_click=job.stop, key="tr_stop", disabled=not snap.active or job.stop_requested)
    return c3  # beside the buttons: the run's name and state where they are drawn with them


def live(in_fragment: bool = False, drawn: tuple | None = None):
    """The run's live view. Polled (a fragment) only while the run is queued, loading or
    training, every second (every 3 s while it waits behind others): a page with nothing
    running costs the server nothing."""
    job = jobs.current()
    if job is None:
        st.caption("No training yet in this session.")
        return
    snap = job.snapshot(max_rows=300)
    if waiting and not _waits(snap):
        st.rerun()  # its turn came: the whole page again, polled every second from now on
    if not in_fragment:
        controls(job, snap).markdown(f"{_name(snap)} — *{snap.state}*")
    elif snap.state in ("loading", "running", "paused"):  # the name stands beside the buttons
        st.caption(f"*{snap.state}* · {snap.message}")
    else:
        st.markdown(f"*{snap.state}*")
    if snap.state == "queued":
        st.info(f"Waiting for a free training slot: position {snap.queue_position} in the queue."
                if snap.queue_position else "A training slot is free: starting the training process...")
    elif snap.state == "failed":
        st.error(snap.message)
    elif snap.state in ("done", "stopped"):
        st.success(snap.message) if snap.saved_path else st.warning(snap.message)
    elif not in_fragment:
        st.caption(snap.message)
    text = (f"step {snap.step:,} / {snap.total_steps:,} · epoch {snap.epoch:.2f} / {snap.epochs} · "
            f"{snap.images_per_s:,.0f} images/s · ETA {_fmt(snap.eta_s)} · elapsed {_fmt(snap.elapsed_s)}")
    st.progress(snap.fraction, text=text)
    left, right = st.columns([3, 2])
    if snap.history and snap.active:  # a chart that appends new points (pages/_ui/live)
        with left:
            live_curves(job, snap)
    elif snap.history:
        fig = mark_alarms(curves(snap.history, snap.kind, "Training losses (live)"), snap.alarms)
        left.plotly_chart(fig, key="tr_curves", config={"staticPlot": snap.active})
    else:
        left.caption("Curves appear after the first steps.")
    if snap.grid is not None:
        with right:
            what = ("fixed-noise samples" if snap.kind in ("gan", "flow", "ddpm")
                    else "test images (top) and reconstructions")
            if snap.active:  # sent to the browser only when a new grid came
                live_grid(job, f"Live: {what}")
            else:  # inside the page, not a media file: a grid replaced by the final one in the
                # rerun that ends the run is not fetched after the server dropped it (HTTP 404)
                st.image(png_url(job.grid_png(900 if projector() else 600)), caption=f"Live: {what}")
    live_strip(snap, left)  # flow / DDPM: noise turning into images, epoch by epoch
    with right:  # the health alarms, next to the curves that they mark
        alarm_box(snap.alarms)
    if snap.latent is not None:  # the latent movie's current frame: how the space is forming,
        with right:  # beside the curves, so that it stays above the fold on a projector too
            live_latent(snap)
    if snap.test_history:  # a table redrawn every second is costly for the browser: text while live
        last = snap.test_history[-1]
        st.caption(f"Test set after epoch {last['epoch']:.0f}: " + ", ".join(
            f"{LOSS_LABELS.get(k, k)} {v:.4g}" for k, v in last.items() if k != "epoch"))
        if not snap.active:
            st.dataframe(snap.test_history, hide_index=True, height=150)
    was = st.session_state.get("tr_seen_active")
    st.session_state["tr_seen_active"] = snap.id if snap.active else None
    if was == snap.id and not snap.active:
        st.rerun()  # the new model appears in every picker
    if in_fragment and _buttons(snap, job) != drawn:
        st.rerun()  # the buttons above the live view change: the whole page again
    if snap.active:
        refresh(job, snap, waiting)  # the next refresh, only while the tab is visible


def settings() -> None:
    with st.expander("Settings", expanded=not busy):
        lesson_picker()
        data, fields = choose_data()
        spec = choose_model(data, fields) if data is not None else None
        st.session_state["tr_spec"] = spec  # what Start would submit now (the tests read it)
        # The spec is built in the run that the click starts, so it has every value just typed
        # (an on_click callback would get the values of the run before).
        if st.button("Start training", type="primary", disabled=spec is None or busy, key="tr_start",
                     help="One training per browser session at a time." if busy else None):
            try:
                jobs.submit(spec, data)
                st.session_state.pop("tr_error", None)
                st.session_state["tr_to_top"] = True
            except RuntimeError as exc:
                st.session_state["tr_error"] = str(exc)
            st.rerun()
    write_url()  # the URL now says every setting on screen
    if "tr_error" in st.session_state:
        st.error(st.session_state["tr_error"])


if busy:  # the live view first, the folded settings under it
    # the run's name beside the buttons; its state changes: in the fragment, on the line under
    controls(current, first).markdown(_name(first))
    # refreshed by its own timer (refresh(): not while the tab is hidden)
    st.fragment(live)(True, _buttons(first, current))
    lesson, _ = chosen()
    if lesson is not None:
        st.info(f"**{lesson.title}** — what to look for: {lesson.look_for}", icon=":material/school:")
    settings()
elif current is not None:  # a run ended: its result, share switch and report first
    if current.saved_path is not None:
        st.subheader("Your model", anchor=False)
        finished_model(current.saved_path)
    live()
    st.subheader("Train another model", anchor=False)
    settings()
else:
    settings()
    st.subheader("Progress")
    live()
