"""The Train page's settings and the URL: one table, ``FIELDS``, maps each setting's query
parameter to the key of the widget that holds it, so a copied link restores the exact run
(``?lesson=NAME`` alone fills a lesson's settings). A widget added to the page later needs one
row here: its query name, its key, how to read the URL's text and how to write its value.

The query names are the lessons' (``genlab.classroom.lessons``), so a Train link and a lesson file say
the same thing. Streamlit's own ``bind="query-params"`` is not used: it names parameters after
widget keys (``tr_latent_vae``), drops defaults and ignores bad values without a word."""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from genlab.classroom.lessons import Lesson, LessonError, lesson_names, lesson_settings, load_lesson
from genlab.settings import BY_KEY, DATASETS, KNOB_KEYS, NOISE_KINDS, SettingError, parse
from pages._ui.share_lesson import share_lesson_button

SOURCES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "digits": "8×8 digits (tiny, fast)",
           "faces": "faces (64×64)",
           "upload": "Upload a .zip of images", "folder": "A folder on this computer"}
assert set(DATASETS) <= set(SOURCES)  # every built-in data set has its entry
MAIN = "main"  # the lesson's own settings, as opposed to one of its variants
OTHER_PARAMS = {"lesson", "variant", "projector"}  # query parameters that are not a setting


def _dataset(text: str) -> str:
    name = str(text).strip().lower()
    if name not in SOURCES:
        raise LessonError(f"dataset must be one of {', '.join(SOURCES)}, not {text!r}.")
    return name


@dataclass(frozen=True)
class Field:
    query: str  # the URL's name for it: the settings table's key (genlab.settings)
    widget: str  # the widget's key; {dataset}, {kind} and {arch} stand for the current settings
    parse: Callable[[str], Any]  # the URL's text -> the widget's value (SettingError in words)
    text: Callable[[Any], str] = str  # the widget's value -> the URL's text

    def key(self, ctx: dict) -> str:
        return self.widget.format(**ctx)

    def when(self, ctx: dict) -> bool:
        """Part of the current settings: the alarm knobs only for the kinds they apply to."""
        if self.query == "folder":
            return ctx["dataset"] == "folder"
        if self.query == "latent":  # flow / DDPM: the latent is the image-shaped noise
            return ctx["kind"] not in NOISE_KINDS
        return (self.query not in (*KNOB_KEYS, "schedule")) or ctx["kind"] in BY_KEY[self.query].kinds


def _table(key: str, cast=None) -> Callable[[str], Any]:
    return lambda text: (cast or (lambda v: v))(parse(key, text))


_float_text = lambda v: repr(float(v))  # noqa: E731 (the lessons' spelling: 0.001, 1.0)
# dataset, kind and arch first: the keys of the others depend on them
FIELDS = [
    Field("dataset", "tr_source", _dataset),
    Field("kind", "tr_kind", _table("kind")),
    Field("arch", "tr_arch", _table("arch")),
    Field("size", "tr_size_{dataset}", _table("size")),
    Field("channels", "tr_mode", _table("channels", lambda c: "gray" if c == 1 else "RGB"),
          lambda v: "1" if v == "gray" else "3"),
    Field("folder", "tr_folder", lambda t: str(t).strip()),  # the page's own: a path here
    Field("latent", "tr_latent_{kind}", _table("latent")),
    Field("schedule", "tr_schedule", _table("schedule")),
    Field("hidden", "tr_hidden_{arch}_{kind}", _table("hidden", lambda h: ",".join(map(str, h))),
          lambda v: str(v).replace(" ", "")),
    Field("beta", "tr_beta", _table("beta"), _float_text),
    Field("lr", "tr_lr_{kind}", _table("lr"), _float_text),
    Field("b1", "tr_b1_{kind}", _table("b1"), _float_text),
    Field("b2", "tr_b2_{kind}", _table("b2"), _float_text),
    Field("batch", "tr_batch_{kind}", _table("batch")),
    Field("epochs", "tr_epochs_{kind}", _table("epochs")),
    Field("seed", "tr_seed", _table("seed")),
    Field("kl_warmup", "tr_kl_warmup", _table("kl_warmup"), _float_text),
    Field("lr_d", "tr_lr_d", _table("lr_d"), lambda v: "" if v is None else repr(float(v))),
    Field("smoothing", "tr_smoothing", _table("smoothing"), _float_text),
    Field("d_steps", "tr_d_steps", _table("d_steps")),
    Field("conditional", "tr_conditional", _table("conditional"), lambda v: str(int(bool(v)))),
]
BY_QUERY = {f.query: f for f in FIELDS}
CONTEXT = {"dataset": "mnist", "kind": "vae", "arch": "conv"}  # the page's defaults


def context() -> dict:
    """The settings the other widgets' keys depend on, as they stand."""
    return {q: st.session_state.get(BY_QUERY[q].widget, default) for q, default in CONTEXT.items()}


def bounds(key: str) -> dict:
    """A number input's min_value / max_value: the settings table's bounds (an open bound, as
    the learning rate's 0, is left to the table's check, which says so in words)."""
    s = BY_KEY[key]
    return {"min_value": None if s.lo_open else s.lo, "max_value": None if s.hi_open else s.hi}


def widget(key: str) -> dict:
    """A widget's label, help and (for numbers) bounds, from the settings table."""
    s = BY_KEY[key]
    return {"label": s.label, "help": s.help, **(bounds(key) if s.lo is not None else {})}


def apply(values: dict[str, str]) -> list[str]:
    """Put URL-style ``values`` into the widgets (before they are drawn); the problems, in
    words, of the values that could not be used (those widgets keep what they had)."""
    ctx, problems = context(), []
    for f in FIELDS:
        if f.query not in values or not f.when(ctx):
            continue
        try:
            v = f.parse(values[f.query])
        except (SettingError, ValueError, TypeError) as exc:
            problems.append(f"The link's {f.query} was not used: {exc}")
            continue
        st.session_state[f.key(ctx)] = v
        if f.query in ctx:
            ctx[f.query] = v
    return problems


def current() -> dict[str, str]:
    """The settings on screen as the URL's strings (after the widgets are drawn)."""
    ctx = context()
    return {f.query: f.text(st.session_state[f.key(ctx)]) for f in FIELDS
            if f.when(ctx) and f.key(ctx) in st.session_state}


@st.cache_data(show_spinner=False, max_entries=64)
def _load(name: str, stamp: tuple) -> Lesson:
    return load_lesson(name)


def lesson(name: str) -> Lesson:
    """The lesson ``lessons/NAME.toml`` (re-read when its file changes)."""
    from genlab.classroom.lessons import LESSONS_DIR
    path = LESSONS_DIR / f"{name}.toml"
    st_ = os.stat(path) if path.is_file() else None
    return _load(name, (st_.st_mtime_ns, st_.st_size) if st_ else ())


def chosen() -> tuple[Lesson | None, str | None]:
    """The lesson picked on the page (or None) and its variant (None for its own settings)."""
    name = st.session_state.get("tr_lesson") or ""
    if not name:
        return None, None
    try:
        les = lesson(name)
    except LessonError:
        return None, None
    variant = st.session_state.get("tr_variant", MAIN)
    return les, (variant if variant in les.variants else None)


def fill_from_lesson() -> None:
    """The picker's callback: the chosen lesson's (or variant's) settings into the widgets."""
    les, variant = chosen()
    st.session_state.pop("tr_name", None)  # a fresh default name, after the lesson
    if les is None:
        return
    if st.session_state.get("tr_variant", MAIN) not in les.variants:
        st.session_state["tr_variant"] = MAIN
    st.session_state["tr_url_problems"] = apply(lesson_settings(les, variant))


def switch_variant() -> None:
    """The variant radio's callback: only what the lesson's variants set changes (the model kind
    for the AE variant); every other setting on screen (epochs typed, say) is kept."""
    les, variant = chosen()
    if les is None:
        return
    keep = current()  # the settings on screen, read under the kind they were typed for
    lesson_keys = {k for v in les.variants.values() for k in v}
    new = lesson_settings(les, variant)
    st.session_state["tr_url_problems"] = apply({**keep, **{k: new[k] for k in lesson_keys if k in new}})


def read_url() -> None:
    """Before the widgets: a link's settings (or a lesson's) into them, once per new URL.
    Coming back from another page (whose links drop the query), the settings as they were."""
    q = {k: v for k, v in st.query_params.to_dict().items() if k != "projector"}
    last = st.session_state.get("tr_url")
    if q == last:
        return
    if q in st.session_state.get("tr_url_sent", ()) or (not q and "tr_source" in st.session_state):
        # Our own earlier URL, sent back with a rerun that the browser asked for before it had
        # the newest one (a value typed right after another): not a new link. Applying it would
        # put back the value the user just replaced.
        return
    if not q and last:  # back from another page: its run dropped the widgets' state
        q = last
    problems, values = [], {}
    if q.get("lesson"):
        try:
            les = lesson(q["lesson"])
            variant = q.get("variant") or MAIN
            values = lesson_settings(les, None if variant == MAIN else variant)
            st.session_state["tr_lesson"], st.session_state["tr_variant"] = les.name, variant
        except LessonError as exc:
            problems.append(f"The link's lesson was not used: {exc}")
    unknown = sorted(set(q) - set(BY_QUERY) - OTHER_PARAMS)
    if unknown:
        problems.append(f"The link has unknown setting{'s' if len(unknown) > 1 else ''} "
                        f"{', '.join(unknown)}; ignored. The settings are {', '.join(BY_QUERY)}.")
    values.update({k: v for k, v in q.items() if k in BY_QUERY})
    st.session_state["tr_url_problems"] = problems + apply(values)


def write_url() -> None:
    """After the widgets: the URL says every setting on screen (and the lesson picked), from
    the first change on (the default page keeps its plain address)."""
    les, variant = chosen()
    out = {**({"lesson": les.name} if les else {}), **({"variant": variant} if variant else {}),
           **current()}
    linked = any(k != "projector" for k in st.query_params)
    if not linked and st.session_state.setdefault("tr_url_default", out) == out:
        st.session_state["tr_url"] = {}  # a plain /train with the defaults keeps its clean URL
        return
    st.session_state["tr_url"] = out
    sent = st.session_state.setdefault("tr_url_sent", [])
    if out not in sent:
        sent[:] = [*sent[-15:], out]  # the last 16 URLs written: any may come back stale
    want = {**out, **{k: v for k, v in st.query_params.to_dict().items() if k == "projector"}}
    if st.query_params.to_dict() != want:
        st.query_params.from_dict(want)


def lesson_picker() -> Lesson | None:
    """The lesson selectbox (and variant), the lesson's title and what to look for."""
    names = lesson_names()
    titles = {}
    for n in names:
        try:
            titles[n] = lesson(n).title
        except LessonError:
            continue  # a broken file is named when someone opens it by link
    c1, c2 = st.columns([3, 2])
    c1.selectbox("Lesson", ["", *titles], key="tr_lesson", on_change=fill_from_lesson,
                 format_func=lambda n: titles.get(n, "None: choose every setting yourself"),
                 help="A lesson fills every setting below; the URL then opens this page on it.")
    les, _ = chosen()
    if les is None:
        return None
    if les.variants:
        c2.radio("Variant", [MAIN, *les.variants], key="tr_variant", on_change=switch_variant,
                 horizontal=True, format_func=lambda v: "the lesson's settings" if v == MAIN else v)
    st.info(f"**{les.title}**\n\n*What to look for:* {les.look_for}", icon=":material/school:")
    share_lesson_button(les, chosen()[1], current())
    return les
