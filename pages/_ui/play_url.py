"""The playground's settings in the URL and its lessons: every setting is a query parameter
(a share link opens the same run: same data, settings and seed); ``?lesson=NAME`` opens a
lesson's settings (any other parameters given override them)."""
from __future__ import annotations

import streamlit as st

from genlab.playground.config import resolve, to_text
from genlab.settings import SettingError

LESSONS: dict[str, dict] = {
    "mode-collapse": {
        "title": "Mode collapse on 8 Gaussians",
        # measured (seed 1, 12 s, one thread): 95% of the samples in one of the eight modes
        "settings": {"family": "gan", "data": "gaussians8", "noise": 1, "lr": 0.003, "lr_d": 0.0003,
                     "width": 64, "depth": 2},
        "text": "A generator with a 1-D noise and a learning rate ten times its discriminator's "
                "piles its samples onto one of the eight Gaussians: the purple points sit in one "
                "place, the warped noise line folds onto it, and the JS divergence stays high. "
                "Compare with the default GAN, which covers all eight."},
    "d-wins": {
        "title": "A discriminator that wins",
        "settings": {"family": "gan", "data": "moons", "lr": 0.0001, "lr_d": 0.01, "d_steps": 5},
        "text": "Five fast D steps for each slow G step: D's map turns sharp (real regions green, "
                "everything else purple) and its loss falls towards 0 while G barely moves. Step "
                "D alone with 'One D step' to see the map harden; then lower D's learning rate."},
    "posterior-collapse": {
        "title": "Posterior collapse in 2-D",
        "settings": {"family": "vae", "data": "gaussians8", "latent": 2, "sigma": 2.0},
        "text": "A decoder whose own noise (σ = 2) already explains the data makes the latent "
                "not worth its KL cost: every posterior ellipse grows to the prior's circle and "
                "sits at its centre, the decoded grid shrinks to a point, and the samples are one "
                "blob. Set σ back to 0.1 and the ellipses shrink and spread out."},
    "straight-flow": {
        "title": "Straight flow paths",
        "settings": {"family": "flow", "data": "moons"},
        "text": "Flow matching learns the straight path from each noise point to the data: move "
                "the time slider and the particles travel along nearly straight lines. Open the "
                "next lesson, the same data with DDPM, to compare."},
    "curved-diffusion": {
        "title": "Curved diffusion paths",
        "settings": {"family": "ddpm", "data": "moons"},
        "text": "DDPM's (DDIM-sampled) paths from the same noise bend: they first shrink towards "
                "the centre, then fan out to the moons. Compare with the straight flow paths."},
}


def from_url() -> tuple[dict, str | None, str | None]:
    """(settings, lesson name or None, an error in words or None) from the query parameters."""
    q = {k: st.query_params[k] for k in st.query_params}
    lesson = q.pop("lesson", None)
    base = {}
    if lesson is not None:
        if lesson not in LESSONS:
            return resolve({}), None, f"There is no lesson {lesson!r}; the lessons are {', '.join(LESSONS)}."
        base = dict(LESSONS[lesson]["settings"])
    try:
        return resolve({**base, **q}), lesson, None
    except SettingError as exc:
        return resolve(base), lesson, f"The link's settings could not be used: {exc}"


def write(settings: dict, lesson: str | None) -> None:
    """Every setting in the URL (and the lesson while its settings still hold)."""
    want = to_text(settings)
    if lesson in LESSONS and all(settings[k] == v for k, v in LESSONS[lesson]["settings"].items()):
        want["lesson"] = lesson
    if {k: st.query_params[k] for k in st.query_params} != want:
        st.query_params.from_dict(want)


def link(name: str) -> str:
    return f"/playground?lesson={name}"
