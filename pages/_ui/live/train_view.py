"""The Train page's live view on the streaming pieces: curves that append, the live grid sent
when it changes, the latent frame sent once per frame, the refresh timer. pages/train.py calls
these from its live fragment while a run is active; a finished run keeps the interactive
Plotly figures."""
from __future__ import annotations

import numpy as np
import streamlit as st

from genlab.jobs.job import Job
from genlab.jobs.live import JobSnapshot
from genlab.latent.movie import Movie, fixed_frame
from genlab.models.config import LOSS_LABELS, LOSS_PANELS
from pages._ui.live.chart import live_chart
from pages._ui.live.image import live_image
from pages._ui.live.scatter import live_scatter
from pages._ui.live.ticker import ticker
from pages._ui.movie import live_frame_figure
from pages._ui.projector import projector


def live_curves(job: Job, snap: JobSnapshot, title: str = "Training losses (live)") -> None:
    """The loss panels of the run's kind (LOSS_PANELS), the test-set values as dots at each
    epoch's end, the health alarms as dotted lines; only new rows travel each second."""
    on = projector()
    live_chart("tr_live_curves", job.history_since, LOSS_PANELS[snap.kind], stream=snap.id,
               labels=LOSS_LABELS, x="epoch", title=title, height=360 if on else 300, projector=on,
               marks=[{"x": a.get("epoch"), "label": a.get("name", "alarm")} for a in snap.alarms])


def live_grid(job: Job, caption: str) -> None:
    """The live grid at its own size (a few KB), sent again only when a new grid came."""
    live_image("tr_live_grid", job.grid_png(1), caption=caption)


def live_latent(snap: JobSnapshot) -> None:
    """The latent movie's current frame: the probe codes on their principal axes, drawn in the
    browser and sent once per new frame (not once per second)."""
    epoch, z, labels, classes = snap.latent
    if not snap.active:  # the run has ended: the interactive figure (hover names the class)
        st.plotly_chart(live_frame_figure(z.astype(np.float32), labels, classes, epoch), key="tr_latent")
        return

    def frame():
        movie = Movie(np.asarray([epoch], np.float32), z.astype(np.float32)[None], np.arange(len(z)), labels)
        return fixed_frame(movie, 2)[0][0], labels, classes
    on = projector()
    live_scatter("tr_live_latent", (snap.id, epoch), frame, height=330 if on else 320, projector=on,
                 title=f"Latent space, epoch {epoch:.2f} (PCA, {len(z):,} test codes)")


def refresh(job: Job, snap: JobSnapshot, waiting: bool) -> None:
    """The fragment's next rerun while the tab is visible: every second while the run loads or
    trains (the first step and each epoch's images show within a second; 4 times a second until
    the first step, a second or so after Start), every 3 s while it
    waits behind others, slowing to 5 s while it is paused and nothing changes; none while
    the tab is hidden."""
    every = 3.0 if waiting else 1.0
    slowest = 5.0 if snap.state == "paused" else every
    if not waiting and snap.step == 0 and snap.state != "paused":
        # the worker is starting: asked 4 times a second (back to once a second within 2 s
        # while nothing changes, e.g. a large data set loading), so the first step shows at once
        every = 0.25
    ticker("tr_tick", job.version, every=every, slowest=slowest)
