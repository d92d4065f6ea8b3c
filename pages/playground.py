"""The 2-D playground: a GAN, a VAE, flow matching or DDPM trains live on 2-D points in a worker
process, and everything is drawn (D's map, G's warp and gradients, posteriors, velocity fields,
sampler paths) by a canvas that plays batches of frames. This script only reads and sends
commands; the training is genlab.playground's, the drawing playground_canvas.js'."""
import streamlit as st

from pages._ui import frame

frame("Playground")
st.title("2-D playground")

from genlab.playground.data2d import NAMES  # noqa: E402
from genlab.playground.pack import unpack  # noqa: E402
from genlab.playground.trainer import PART_NAMES, PARTS  # noqa: E402
from genlab.settings import PLAY_BY_KEY, PLAY_FAMILIES  # noqa: E402
from pages._ui import frames  # noqa: E402
from pages._ui import play_url as url  # noqa: E402
from pages._ui.playground_canvas import KEY, canvas, holder  # noqa: E402

FAMILY_NAMES = {"gan": "GAN", "vae": "VAE", "flow": "Flow matching", "ddpm": "DDPM"}
ss = st.session_state
if "pg_settings" not in ss:  # the first run of this session: the URL (or lesson) decides
    ss.pg_settings, ss.pg_lesson, why = url.from_url()
    if why:
        st.error(why)
    ss.pg_drawn, ss.pg_drawn_version, ss.pg_playing, ss.pg_meta = [], 0, False, None
for k, v in ss.pg_settings.items():  # Streamlit drops a widget's key while it is not shown
    ss.setdefault(f"pg_{k}", v)
h = holder()


def _widget(key: str, col) -> None:
    s = PLAY_BY_KEY[key]
    kw = {"label": s.label, "help": s.help, "key": f"pg_{key}"}
    if s.type == "bool":
        col.toggle(**kw)
    elif s.choices:
        col.selectbox(options=s.choices, **kw)
    elif s.type == "float":
        col.number_input(min_value=s.lo if not s.lo_open else s.lo + 1e-6, max_value=s.hi,
                         format="%.5f", step=s.hi / 100, **kw)
    else:
        col.number_input(min_value=int(s.lo), max_value=int(s.hi), step=1, **kw)


left, right = st.columns([1, 2.6])
with left:
    st.selectbox("Data", list(NAMES), format_func=NAMES.get, key="pg_data",
                 help=PLAY_BY_KEY["data"].help)
    st.radio("Model", PLAY_FAMILIES, format_func=FAMILY_NAMES.get, key="pg_family", horizontal=True)
    fam = ss.pg_family
    with st.expander("Settings", expanded=False):
        for key in PLAY_BY_KEY:
            s = PLAY_BY_KEY[key]
            if key not in ("data", "family") and (not s.kinds or fam in s.kinds):
                _widget(key, st)
    settings = {k: ss[f"pg_{k}"] for k in PLAY_BY_KEY}
    ss.pg_settings = settings
    if ss.pg_data == "drawn":
        st.caption(f"Click on the plane to add points ({len(ss.pg_drawn)} so far).")
        if st.button("Clear my points", disabled=not ss.pg_drawn):
            ss.pg_drawn, ss.pg_drawn_version = [], ss.pg_drawn_version + 1

# a new run when a setting other than slow motion changed (or the drawn points did)
run_key = ({k: v for k, v in settings.items() if k != "slow"},
           tuple(map(tuple, ss.pg_drawn)) if settings["data"] == "drawn" else ())
ready = settings["data"] != "drawn" or bool(ss.pg_drawn)
if ready and (ss.get("pg_run_key") != run_key or h.worker is None or not h.worker.alive()):
    h.start(settings, ss.pg_drawn or None)
    ss.pg_run_key, ss.pg_playing, ss.pg_meta = run_key, False, None
elif h.worker is not None and ss.get("pg_slow_sent") != settings["slow"]:
    h.worker.slow(settings["slow"])
ss.pg_slow_sent = settings["slow"]
url.write(settings, ss.pg_lesson)



def _play(on: bool) -> None:  # one callback per label: a click does what its button says
    ss.pg_playing = on
    (h.worker.play if on else h.worker.pause)()


def _reset() -> None:
    h.start(settings, ss.pg_drawn or None)
    ss.pg_playing = False


def _step(part: str) -> None:
    ss.pg_playing = False
    h.worker.step(part)


with left:
    c1, c2 = st.columns(2)
    c1.button("❚❚ Pause" if ss.pg_playing else "▶ Play", type="primary", disabled=not ready,
              use_container_width=True, on_click=_play, args=(not ss.pg_playing,), key="pg_play")
    c2.button("↺ Reset", disabled=not ready, use_container_width=True, on_click=_reset,
              help="Start again from new weights with the same settings and seed.")
    parts = PARTS[fam]
    st.caption("One step of:")
    slots = list(st.columns(2)) if "d" in parts else []
    for part in parts:
        (slots.pop(0) if part != "iteration" else st).button(
            PART_NAMES[part], key=f"pg_step_{part}", disabled=not ready, use_container_width=True,
            on_click=_step, args=(part,), help="Exactly one optimiser step of the part named (an "
            "iteration: 'D steps per G step' D steps, then one G step).")
    st.caption("**Lessons** · " + " · ".join(f"[{v['title']}]({url.link(k)})"
                                             for k, v in url.LESSONS.items()))
    if ss.pg_lesson in url.LESSONS:
        st.info(url.LESSONS[ss.pg_lesson]["text"])


@st.fragment(run_every=1.0)
def live() -> None:
    buf = frames.buffer(KEY)
    if h.worker is not None:
        for kind, seq, body in h.worker.messages():
            if kind == "error":
                st.session_state.pg_error = body
            else:
                buf.add(seq, body)
        h.worker.ping()
        if not h.worker.alive():
            st.error("The playground's trainer stopped. Press Reset to start it again.")
    if st.session_state.get("pg_error"):
        st.error(st.session_state.pop("pg_error"))
    if buf.frames:
        meta, _ = unpack(buf.frames[-1][1])
        st.session_state.pg_meta = meta
    out = frames.send(canvas, KEY, extra={"family": fam, "draw": settings["data"] == "drawn",
                                          "drawn": ss.pg_drawn, "drawn_version": ss.pg_drawn_version,
                                          "extent": 4.0}, on_drawn_change=lambda: None)
    drawn = out.get("drawn") if out is not None else None
    if settings["data"] == "drawn" and drawn is not None and list(map(list, drawn)) != ss.pg_drawn:
        ss.pg_drawn = [list(p) for p in drawn]
        st.rerun(scope="app")
    if not ready:
        st.caption("Draw some points: click on the plane.")


with right:
    live()
    st.caption("Green: the data; purple: the model's samples. GAN: the background is D's output "
               "(green: 'real'), grey lines are G's image of a regular noise grid, arrows the "
               "direction G's loss pushes each fake point. VAE: orange is the decoder's image of a "
               "latent grid; the panel beside shows the 2σ posteriors of the coloured points. Flow / "
               "DDPM: arrows are the velocity (DDPM: the score's direction) at the slider's time, "
               "lines the particles' paths from noise to data. The JS divergence is measured on "
               "5,000 samples on a 64×64 grid; the dashed line is what two samples of the data "
               "itself give.")
