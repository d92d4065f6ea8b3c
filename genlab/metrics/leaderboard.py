"""One leaderboard for every family (AE, VAE, GAN, flow matching, DDPM; conditional or not),
measured the same way: the Fréchet distance of samples on GenLab's classifier features beside
the train-vs-test floor of the same size, class coverage, class agreement for a conditional
model (all stored by ``evaluate_checkpoint``), the training time (stored by the trainer) and
the time to sample ``SAMPLE_N`` images (measured here, on this machine, now). Compare and the
lab report show these rows."""
from __future__ import annotations

import time

import torch

from genlab.metrics.format import MISSING, num
from genlab.models import noise
from genlab.models.labels import default_labels

SAMPLE_N = 64  # images per timed sampling run
FAMILIES = {"ae": "AE", "vae": "VAE", "gan": "GAN", "flow": "flow matching", "ddpm": "diffusion (DDPM)"}
COLUMNS = ("model", "family", "data", "Fréchet", "floor", "× floor", "coverage", "class agreement",
           "training time", f"sample {SAMPLE_N}")


@torch.no_grad()
def sample_seconds(model, n: int = SAMPLE_N, seed: int = 0) -> float:
    """Seconds to draw ``n`` images from the model's prior with its default sampler (flow: 20
    Euler steps, DDPM: 50 ancestral steps; a conditional model: the default classes and
    guidance), in eval mode as the app draws them, after one untimed warm-up image."""
    was = model.training
    model.eval()
    try:
        z = noise(n, model.config.latent_dim, seed).to(model.device)
        k = model.config.num_classes

        def draw(z: torch.Tensor):  # an unconditional AE / VAE / GAN's decode takes no labels
            return model.decode(z, default_labels(len(z), k, model.device)) if k else model.decode(z)
        draw(z[:1])  # warm-up: lazy inits
        t0 = time.perf_counter()
        draw(z)
        if model.device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0
    finally:
        model.train(was)


def family(meta: dict) -> str:
    c = meta.get("model") or {}
    name = FAMILIES.get(c.get("kind"), str(c.get("kind")))
    return f"conditional {name}" if c.get("num_classes") else name


def leaderboard_row(name: str, meta: dict, sample_s: float | None = None) -> dict:
    """One model's numbers (None where not measured or not defined): an AE is scored on its
    samples from N(0, I), the prior it is sampled from like a VAE."""
    m = meta.get("metrics") or {}
    s = m.get("samples") or m.get("samples_prior") or {}
    agree = (m.get("class_agreement") or {}).get("agreement")
    f, floor = s.get("frechet"), s.get("frechet_floor")
    return {"model": name, "family": family(meta),
            "data": (meta.get("dataset") or {}).get("name", "?"),
            "Fréchet": f, "floor": floor,
            "× floor": f / floor if isinstance(f, (int, float)) and floor else None,
            "coverage": s.get("coverage"), "class agreement": agree,
            "training time": meta.get("seconds"), f"sample {SAMPLE_N}": sample_s,
            "n": s.get("n"), "device": meta.get("device")}


def _seconds(v) -> str:
    if not isinstance(v, (int, float)):
        return MISSING
    return f"{v / 60:.1f} min" if v >= 120 else f"{v:.2f} s" if v < 10 else f"{v:.0f} s"


def leaderboard_text(rows: list[dict]) -> list[tuple[str, ...]]:
    """The rows as text, header first, best Fréchet-to-floor ratio first (unmeasured last)."""
    order = sorted(rows, key=lambda r: (r["× floor"] is None, r["× floor"] or 0.0))
    out = [COLUMNS]
    for r in order:
        out.append((r["model"], r["family"], r["data"], num(r["Fréchet"], "frechet"),
                    num(r["floor"], "frechet"),
                    f"{r['× floor']:.1f}×" if isinstance(r["× floor"], float) else MISSING,
                    num(r["coverage"], "share"), num(r["class agreement"], "share"),
                    _seconds(r["training time"]), _seconds(r[f"sample {SAMPLE_N}"])))
    return out
