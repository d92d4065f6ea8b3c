"""The denoising strip: a flow / DDPM model's fixed noise sampled at the start, in the first
epoch and at every epoch's end, sent live by a job, stored beside the checkpoint, played back."""
import numpy as np
import pytest
import torch

from genlab.latent.denoise import (
    STRIP_COLUMNS,
    STRIP_ROWS,
    StripError,
    StripRecorder,
    columns,
    load_strip,
    save_strip,
    strip_gif,
    strip_image,
    strip_path,
)
from genlab.latent.movie import EARLY
from genlab.models import ModelConfig
from genlab.train import TrainConfig, TrainControl


def test_columns_span_noise_to_the_last_step():
    assert columns(20) == [0, 4, 8, 11, 15, 19] and columns(3) == [0, 1, 2] and columns(1) == [0]


@pytest.fixture(scope="module", params=[("flow", 10), ("ddpm", 0)])
def job(request, digits, tmp_path_factory):
    """A lesson-size U-Net trained by a job (the worker's code path) for 3 epochs on 8x8 digits."""
    from genlab.jobs import JobSpec
    from genlab.jobs.worker import run_training
    kind, k = request.param
    spec = JobSpec("digits", ModelConfig(kind, "conv", hidden=(16,), num_classes=k),
                   TrainConfig(epochs=3, batch_size=32, lr=2e-3, seed=0), "strip")
    msgs = []
    final = run_training({"spec": spec, "path": str(tmp_path_factory.mktemp(kind) / "strip"),
                          "data": digits}, TrainControl(), msgs.append)
    assert final["state"] == "done", final["message"]
    return kind, k, [m for m in msgs if m["kind"] == "strip"], final["path"], digits


def test_a_job_sends_frames_and_saves_the_strip(job):
    kind, k, frames, path, _ = job
    epochs = [f["epoch"] for f in frames]
    assert epochs[0] == 0.0 and epochs[-3:] == [1.0, 2.0, 3.0]
    # early frames: the trainer reads the losses at each point of EARLY on any machine, fast or slow
    assert len(epochs) == 1 + len(EARLY) + 3 and (np.diff(epochs) > 0).all()
    strip = load_strip(path)
    assert strip is not None and np.allclose(strip.epochs, epochs)  # float32 in the file
    assert strip.xt.shape == (len(epochs), STRIP_COLUMNS, STRIP_ROWS, 1, 8, 8) and strip.xt.dtype == np.uint8
    assert (strip.xt[-1] == frames[-1]["xt"]).all() and (strip.x0[-1] == frames[-1]["x0"]).all()
    assert strip.labels.tolist() == (list(range(STRIP_ROWS)) if k else [-1] * STRIP_ROWS)
    t = strip.t.tolist()  # flow: 0 (noise) upwards; DDPM: from step 999 down
    assert (t[0] == 0.0 and t == sorted(t)) if kind == "flow" else (t[0] == 999 and t == sorted(t)[::-1])
    # every frame starts from the same noise
    assert all((f == strip.xt[0, 0]).all() for f in strip.xt[:, 0])


def test_noise_turns_into_digits(job):
    """The strip's final images: at epoch 0 (the U-Net starts by predicting zero) they are the
    noise, far from every digit; after 3 epochs each is much nearer its nearest training digit
    (RMS distance per pixel; measured on the shipped MNIST models: 0.57 -> 0.24)."""
    kind, _, frames, path, digits = job
    strip = load_strip(path)
    real = digits.train_x.float().flatten(1) / 255

    def off(i):  # mean over the rows of the RMS distance to the nearest training digit
        final = torch.from_numpy(strip.x0[i, -1].astype(np.float32)).flatten(1) / 255
        return float(torch.cdist(final, real).min(1).values.mean()) / final.shape[1] ** 0.5
    print(kind, [round(off(i), 3) for i in range(len(strip))])
    assert off(len(strip) - 1) < 0.75 * off(0)


def test_strip_image_and_gif(job):
    _, _, _, path, _ = job
    strip = load_strip(path)
    img = strip_image(strip.xt[-1], strip.x0[-1])
    assert img.dtype == np.uint8 and img.shape[2] == 3 and img.shape[0] == STRIP_ROWS * 10 + 2
    gif = strip_gif(strip)
    assert gif[:6] == b"GIF89a" and gif.count(b"\x21\xf9\x04") == len(strip)  # one frame per epoch


def test_bad_strip_files_are_refused(tmp_path, job):
    _, _, _, path, _ = job
    strip = load_strip(path)
    target = tmp_path / "m.safetensors"
    assert load_strip(target) is None
    strip_path(target).write_bytes(b"not a strip")
    with pytest.raises(StripError, match="not a readable"):
        load_strip(target)
    strip.labels = strip.labels[:3]
    save_strip(target, strip)
    with pytest.raises(StripError, match="do not agree"):
        load_strip(target)


def test_only_noise_models_record_a_strip():
    from genlab.models import build_model
    assert not StripRecorder.wants(build_model(ModelConfig("vae", "mlp", 1, 8, 4, (32,)).validate()))
    m = build_model(ModelConfig("flow", "conv", 1, 8, hidden=(16,)).validate())
    assert StripRecorder.wants(m) and StripRecorder(m).strip() is None
    assert StripRecorder(m).noise.shape == (STRIP_ROWS, 64) and torch.equal(
        StripRecorder(m).noise, StripRecorder(m).noise)
