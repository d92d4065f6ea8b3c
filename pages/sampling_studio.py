"""Sampling studio: a flow-matching or DDPM model's samples from fixed noise with each sampler,
step count and guidance weight; the denoising trajectory (x_t or the predicted clean image);
noise interpolation; and quality against the number of steps, measured."""
from pages._ui import data_for, frame, load, pick_model, show  # isort: skip  (first: torch)
from pages._ui.classes import class_names  # isort: skip
from pages._ui.alarms import alarm_box  # isort: skip
from pages._ui.denoise import show_strip  # isort: skip

import streamlit as st
import torch

from genlab import models
from genlab.latent import codes as latent
from genlab.metrics.classifier import metric_classifier
from genlab.metrics.steps import STEPS, quality_vs_steps
from genlab.train.denoise_health import saturation_alarm

DETERMINISTIC = ("ddim", "euler", "heun")  # the same noise always gives the same image
SAMPLER_HELP = ("Flow matching: Euler takes one network call per step, Heun two (a better step). "
                "Diffusion: DDPM (ancestral) adds fresh noise at every step; DDIM is its "
                "deterministic counterpart.")

frame("Sampling studio")
st.title("Sampling studio")
st.markdown("Flow matching and diffusion turn noise into an image in steps. Pick the sampler, "
            "the number of steps and (for a conditional model) the class and the guidance "
            "weight; the noise stays fixed, so every change you see is the sampler's.")
entry = pick_model("Flow or diffusion model", "ss_model", kinds=("flow", "ddpm"))
loaded = load(entry) if entry else None
if loaded is None:
    st.stop()
model, meta = loaded
cfg = model.config
c1, c2, c3, c4 = st.columns(4)
sampler = c1.radio("Sampler", list(model.samplers), index=list(model.samplers).index(model.sampler),
                   horizontal=True, key="ss_sampler", help=SAMPLER_HELP)
steps = int(c2.slider("Steps", 1, 100, model.steps, key="ss_steps"))
seed = int(c3.number_input("Noise seed", 0, 2**31 - 1, 1, key="ss_seed"))
labels = guidance = None
if cfg.conditional:
    names = class_names(model, meta)
    k = c4.selectbox("Class", range(cfg.num_classes), format_func=lambda i: names[i], key="ss_class")
    guidance = float(st.slider("Guidance weight w", 0.0, 7.0, float(model.guidance), 0.5, key="ss_w",
                               help="0: the unconditional model; 1: the plain conditional model; "
                                    "above 1: more like the class, less varied."))
    labels = torch.full((16,), int(k))

noise = models.noise(16, cfg.latent_dim, seed)
with torch.no_grad():
    raw = model.decode(noise, labels, sampler=sampler, steps=steps, guidance=guidance, clamp=False)
show(raw.clamp(0, 1), nrow=8, target=700, caption=f"16 samples, {sampler}, {steps} steps (noise seed {seed})")
saturated = saturation_alarm(raw, guidance)  # a very high guidance weight pushes past black/white
alarm_box([saturated.to_dict()] if saturated else [])

st.subheader("The same noise, every sampler")
with torch.no_grad():
    rows = torch.cat([model.decode(noise[:8], None if labels is None else labels[:8], sampler=s,
                                   steps=steps, guidance=guidance) for s in model.samplers])
show(rows, nrow=8, target=700, caption=" / ".join(f"row {i + 1}: {s}" for i, s in
                                                   enumerate(model.samplers)) + f", {steps} steps each")

st.subheader("From noise to image, step by step")
view = st.radio("Show", ["x_t (the image being denoised)", "x0-hat (the model's guess of the end)"],
                horizontal=True, key="ss_view")
with torch.no_grad():
    traj = model.sample_trajectory(noise[:4], sampler, steps, guidance,
                                   None if labels is None else labels[:4])
frames = traj.x if view.startswith("x_t") else traj.x0
pick = sorted({round(i * (len(frames) - 1) / 7) for i in range(8)})
strip = frames[pick].clamp(0, 1).transpose(0, 1).reshape(-1, *cfg.image_shape)
show(strip, nrow=len(pick), target=800,
     caption=f"4 noises (rows) at steps {', '.join(map(str, pick))} of {len(frames) - 1}")

st.subheader("Interpolate between two noises")
if sampler in DETERMINISTIC:
    a, b, n = st.columns(3)
    za = models.noise(1, cfg.latent_dim, int(a.number_input("From seed", 0, 2**31 - 1, 1, key="ss_a")))
    zb = models.noise(1, cfg.latent_dim, int(b.number_input("To seed", 0, 2**31 - 1, 2, key="ss_b")))
    count = int(n.slider("Images", 3, 12, 8, key="ss_n"))
    path = torch.as_tensor(latent.slerp(za[0].numpy(), zb[0].numpy(), count), dtype=torch.float32)
    with torch.no_grad():
        show(model.decode(path, None if labels is None else labels[:1].repeat(count), sampler=sampler,
                          steps=steps, guidance=guidance), nrow=count, target=900,
             caption=f"slerp between two noises, {sampler}, {steps} steps")
else:
    st.caption(f"The {sampler} sampler adds fresh noise at every step, so nearby starting noises do "
               "not give nearby images; pick DDIM for a deterministic path.")

st.subheader("Quality against the number of steps")
data = data_for(entry)
clf = metric_classifier(data, "cpu") if data is not None else None
if clf is None:
    st.info("GenLab's classifier exists for MNIST and Fashion-MNIST at 28×28 only.")
elif st.button(f"Measure {sampler} at {', '.join(map(str, STEPS))} steps (200 samples each)",
               key="ss_measure"):
    with st.spinner("Sampling and scoring..."):
        st.session_state[f"ss_q_{entry.key}_{sampler}_{guidance}"] = quality_vs_steps(
            model, data, clf, sampler, guidance=guidance)
rows = st.session_state.get(f"ss_q_{entry.key}_{sampler}_{guidance}")
if rows:
    chart = {"steps": [r["steps"] for r in rows], "Fréchet distance": [r["frechet"] for r in rows],
             "floor (real vs real)": [r["frechet_floor"] for r in rows]}
    st.line_chart(chart, x="steps", y=["Fréchet distance", "floor (real vs real)"], x_label="steps",
                  y_label="Fréchet distance (lower is better)")
    if cfg.conditional:
        st.line_chart({"steps": chart["steps"], "class agreement": [r["agreement"] for r in rows]},
                      x="steps", y="class agreement", y_label="share in the asked class")
    st.dataframe([{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in rows],
                 hide_index=True)

st.subheader("How it learned: the denoising strip")
show_strip(entry.key, cfg.kind, class_names(model, meta) if cfg.conditional else [], key="ss_strip")
