"""The denoising strip: how a flow-matching or DDPM model learns to turn noise into images.

The same fixed noise (``STRIP_ROWS`` images; a conditional model draws class 0, 1, 2, ...) is
sampled with the model's default sampler at the start, at a few points of the first epoch and at
the end of every epoch (the moments of the latent movie, ``genlab.latent.movie``). Each frame
keeps, at ``STRIP_COLUMNS`` sampler steps from noise to data, the state x_t and the model's
guess of the clean image x0-hat, as 8-bit images. The frames are stored beside the checkpoint
(``<model>.denoise.safetensors``) and played back by the pages (``pages/_ui/denoise.py``).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from genlab.latent.movie import MAX_EPOCH_FRAMES, FrameSchedule
from genlab.models.labels import default_labels
from genlab.settings import NOISE_KINDS
from genlab.store.checkpoint import atomic_write, checkpoint_path

STRIP_ROWS = 8  # images in the strip (a conditional model: classes 0..7)
STRIP_COLUMNS = 6  # sampler steps shown, from the noise to the last step
STRIP_SUFFIX = ".denoise.safetensors"
MAX_STRIP_BYTES = 64 * 1024**2


class StripError(ValueError):
    """A denoising-strip file that cannot be read; the message says why."""


@dataclass
class Strip:
    epochs: np.ndarray  # (T,) float32: training progress of each frame, in epochs
    t: np.ndarray  # (K,) float32: the model time of each column (flow: 0 noise .. 1 data;
    # DDPM: the step 999 .. 0)
    xt: np.ndarray  # (T, K, N, C, H, W) uint8: the sampler's state x_t at each column
    x0: np.ndarray  # (T, K, N, C, H, W) uint8: the model's x0-hat there
    labels: np.ndarray  # (N,) int64: the class asked of each row (-1: unconditional)

    def __len__(self) -> int:
        return len(self.epochs)


def columns(steps: int, k: int = STRIP_COLUMNS) -> list[int]:
    """The ``k`` sampler steps shown (all when fewer), evenly spaced, first and last included."""
    return sorted({int(round(i)) for i in np.linspace(0, steps - 1, min(k, steps))})


def _u8(x: torch.Tensor) -> np.ndarray:
    return (x.float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


@torch.no_grad()
def strip_frame(model, noise: torch.Tensor, labels: torch.Tensor | None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t (K,), x_t (K, N, C, H, W), x0-hat (K, N, C, H, W)) of one run of the model's default
    sampler from ``noise``, in eval mode (the mode it is sampled in)."""
    was = model.training
    model.eval()
    try:
        tr = model.sample_trajectory(noise.to(model.device), labels=labels)
    finally:
        model.train(was)
    cols = columns(len(tr.t))
    return (np.asarray([tr.t[i] for i in cols], np.float32), _u8(tr.x[cols]), _u8(tr.x0[cols]))


class StripRecorder(FrameSchedule):
    """Feed it the trainer's events (``on_event``): it samples the fixed noise at the start, at
    the ``EARLY`` points of the first epoch and at every epoch's end (at most
    ``MAX_EPOCH_FRAMES`` of them). For flow-matching and DDPM models (``wants``). A training
    callback (``genlab.train.callbacks``)."""
    name = "denoise"

    def __init__(self, model, rows: int = STRIP_ROWS, seed: int = 0,
                 max_epoch_frames: int = MAX_EPOCH_FRAMES) -> None:
        self.model = model
        k = model.config.num_classes
        g = torch.Generator().manual_seed(seed)
        self.noise = torch.randn(rows, model.config.latent_dim, generator=g)
        self.y = default_labels(rows, k) if k else None
        self.labels = self.y.numpy().astype(np.int64) if k else np.full(rows, -1, np.int64)
        self.epochs: list[float] = []
        self.xt: list[np.ndarray] = []
        self.x0: list[np.ndarray] = []
        self.t: np.ndarray | None = None
        super().__init__(max_epoch_frames)

    @staticmethod
    def wants(model) -> bool:
        return getattr(getattr(model, "config", None), "kind", None) in NOISE_KINDS

    def record(self, epoch: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        y = None if self.y is None else self.y.to(self.model.device)
        t, xt, x0 = strip_frame(self.model, self.noise, y)
        self.t = t
        self.epochs.append(float(epoch))
        self.xt.append(xt)
        self.x0.append(x0)
        return t, xt, x0

    def strip(self) -> Strip | None:
        if not self.xt:
            return None
        return Strip(np.asarray(self.epochs, np.float32), self.t.copy(), np.stack(self.xt),
                     np.stack(self.x0), self.labels.copy())


def strip_path(checkpoint: str | os.PathLike) -> Path:
    p = checkpoint_path(checkpoint)
    return p.with_name(p.name[: -len(p.suffix)] + STRIP_SUFFIX)


def save_strip(checkpoint: str | os.PathLike, strip: Strip) -> Path:
    """Write ``strip`` beside ``checkpoint`` atomically; returns its path."""
    target = strip_path(checkpoint)
    data = st_save({"epochs": strip.epochs.astype(np.float32), "t": strip.t.astype(np.float32),
                    "xt": strip.xt.astype(np.uint8), "x0": strip.x0.astype(np.uint8),
                    "labels": strip.labels.astype(np.int64)},
                   metadata={"genlab": json.dumps({"format": "genlab-denoise/1"})})
    atomic_write(target, data)
    return target


def save_strip_of(recorder: StripRecorder | None, checkpoint: str | os.PathLike) -> None:
    """The strip recorded so far, beside ``checkpoint`` (nothing without a recorder or frame)."""
    if recorder is not None and recorder.strip() is not None:
        save_strip(checkpoint, recorder.strip())


def load_strip(checkpoint: str | os.PathLike) -> Strip | None:
    """The strip stored beside ``checkpoint``; None when it has none. Raises StripError for a
    file that is not a valid strip."""
    p = strip_path(checkpoint)
    if not p.is_file():
        return None
    if p.stat().st_size > MAX_STRIP_BYTES:
        raise StripError(f"{p.name} is larger than {MAX_STRIP_BYTES // 1024**2} MB; not a GenLab "
                         "denoising strip.")
    try:
        d = st_load(p.read_bytes())
    except Exception as exc:  # safetensors raises its own error types for malformed files
        raise StripError(f"{p.name} is not a readable denoising strip ({exc}).") from exc
    need = {"epochs": 1, "t": 1, "xt": 6, "x0": 6, "labels": 1}
    if set(d) != set(need) or any(d[k].ndim != n for k, n in need.items()):
        raise StripError(f"{p.name} does not hold a GenLab denoising strip.")
    T, K, N = d["xt"].shape[:3]
    if (d["x0"].shape != d["xt"].shape or len(d["epochs"]) != T or len(d["t"]) != K
            or len(d["labels"]) != N or T == 0 or d["xt"].dtype != np.uint8):
        raise StripError(f"{p.name}: its frames, times and labels do not agree.")
    return Strip(d["epochs"].astype(np.float32), d["t"].astype(np.float32), d["xt"], d["x0"],
                 d["labels"].astype(np.int64))


def strip_image(xt: np.ndarray, x0: np.ndarray, pad: int = 2, gap: int = 12) -> np.ndarray:
    """One frame as an (H', W', 3) uint8 image: x_t on the left, x0-hat on the right; one row
    per image, one column per sampler step (noise on the left, the last step on the right)."""
    def block(a: np.ndarray) -> np.ndarray:
        k, n, c, h, w = a.shape
        a = np.repeat(a, 3, axis=2) if c == 1 else a
        out = np.full((n * (h + pad) + pad, k * (w + pad) + pad, 3), 255, np.uint8)
        for j in range(k):
            for i in range(n):
                top, left = pad + i * (h + pad), pad + j * (w + pad)
                out[top:top + h, left:left + w] = a[j, i].transpose(1, 2, 0)
        return out
    a, b = block(xt), block(x0)
    return np.concatenate([a, np.full((a.shape[0], gap, 3), 255, np.uint8), b], axis=1)


def strip_gif(strip: Strip, scale: int = 2, ms: int = 500) -> bytes:
    """Every frame of ``strip`` as an animated GIF (looping, the last frame held longer), each
    headed by its epoch: a browser plays it with no server round trips."""
    import io

    from PIL import Image, ImageDraw
    frames = []
    for e, xt, x0 in zip(strip.epochs, strip.xt, strip.x0):
        img = strip_image(xt, x0)
        img = img.repeat(scale, axis=0).repeat(scale, axis=1)
        head = np.full((16, img.shape[1], 3), 255, np.uint8)
        im = Image.fromarray(np.concatenate([head, img]))
        ImageDraw.Draw(im).text((4, 2), f"epoch {e:.2f}    left: x_t    right: x0-hat", fill=(0, 0, 0))
        frames.append(im.convert("P", palette=Image.Palette.ADAPTIVE, colors=255))
    buf = io.BytesIO()
    durations = [ms] * (len(frames) - 1) + [ms * 4]
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], loop=0,
                   duration=durations if len(frames) > 1 else ms)
    return buf.getvalue()
