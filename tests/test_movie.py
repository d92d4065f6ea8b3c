"""The latent movie: frames recorded while a model trains, stored beside it, one fixed frame."""
import numpy as np
import pytest
import torch

from genlab.latent.movie import (
    EARLY,
    MovieError,
    MovieRecorder,
    fixed_frame,
    load_movie,
    movie_path,
    probe_indices,
    save_movie,
)
from genlab.models import ModelConfig, build_model
from genlab.store.checkpoint import save_checkpoint
from genlab.train import TrainConfig, fit


def separation(codes: np.ndarray, labels: np.ndarray) -> float:
    """Between-class over within-class variance of the codes (higher: tighter clusters)."""
    z = codes.astype(np.float64)
    mean = z.mean(0)
    between = sum((labels == c).sum() * ((z[labels == c].mean(0) - mean) ** 2).sum() for c in np.unique(labels))
    within = sum(((z[labels == c] - z[labels == c].mean(0)) ** 2).sum() for c in np.unique(labels))
    return between / max(within, 1e-12)


def test_probe_is_stratified_and_fixed():
    y = torch.arange(10).repeat_interleave(300)  # 3,000 test labels, 10 classes
    idx = probe_indices(y, 1000, seed=0)
    assert len(idx) == 1000 and len(set(idx.tolist())) == 1000
    assert np.bincount(y[idx].numpy(), minlength=10).tolist() == [100] * 10
    assert (probe_indices(y, 1000, seed=0) == idx).all()
    assert len(probe_indices(y[:500], 1000)) == 500  # a small split: all of it


@pytest.fixture(scope="module")
def trained(digits, tmp_path_factory):
    model = build_model(ModelConfig("vae", "mlp", 1, 8, 4, (64,)).validate(), seed=0)
    rec = MovieRecorder(model, digits.test_x, digits.test_y)
    result = fit(model, digits, TrainConfig(epochs=6, batch_size=32, lr=3e-3, log_every=1, seed=0),
                 on_event=rec.on_event)
    assert result.status == "done"
    path = tmp_path_factory.mktemp("movie") / "vae.safetensors"
    save_checkpoint(path, model)
    return rec, path


def test_frames_at_start_early_and_every_epoch(trained):
    rec, _ = trained
    movie = rec.movie()
    assert movie.epochs[0] == 0.0 and movie.epochs.tolist()[-6:] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    early = movie.epochs[(movie.epochs > 0) & (movie.epochs < 1)]
    assert len(early) == len(EARLY) and (np.diff(movie.epochs) > 0).all()
    assert movie.codes.dtype == np.float16 and movie.codes.shape[1:] == (len(rec.indices), 4)
    # the clusters form: classes are better separated at the end than at the start
    assert separation(movie.codes[-1], movie.labels) > 2 * separation(movie.codes[0], movie.labels)


def test_saved_beside_the_model_and_loaded(trained):
    rec, path = trained
    movie = rec.movie()
    out = save_movie(path, movie)
    assert out == movie_path(path) and out.name == "vae.movie.safetensors"
    back = load_movie(path, latent_dim=4)
    assert (back.codes == movie.codes).all() and (back.epochs == movie.epochs).all()
    assert (back.indices == rec.indices).all() and (back.labels == movie.labels).all()
    with pytest.raises(MovieError, match="latent size"):
        load_movie(path, latent_dim=8)
    out.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(MovieError):
        load_movie(path)
    out.unlink()
    assert load_movie(path) is None


def test_one_fixed_frame(trained):
    rec, _ = trained
    movie = rec.movie()
    frames, cloud = fixed_frame(movie, 2, prior=200)
    assert frames.shape == (len(movie), len(rec.indices), 2) and cloud.shape == (200, 2)
    # the final frame is centred by its own PCA; earlier frames are in the same axes, not refitted
    assert np.allclose(frames[-1].mean(0), 0, atol=1e-2)
    assert not np.allclose(frames[0].std(0), frames[-1].std(0), rtol=0.05)


def test_long_runs_keep_at_most_max_frames():
    rec = MovieRecorder.__new__(MovieRecorder)
    rec.max_epoch_frames = 30
    kept = [e for e in range(1, 121) if rec.keeps(e, 120)]
    assert len(kept) == 30 and kept[0] == 1 and kept[-1] == 120
    assert all(rec.keeps(e, 20) for e in range(1, 21))


def test_gan_gets_no_recorder():
    gan = build_model(ModelConfig("gan", "mlp", 1, 8, 8).validate(), seed=0)
    assert not MovieRecorder.wants(gan)
    assert MovieRecorder.wants(build_model(ModelConfig("ae", "mlp", 1, 8, 8).validate(), seed=0))


def test_a_training_job_streams_the_live_frame_and_saves_the_movie(digits):
    """In the app the worker process records the movie: the Train page gets the current frame,
    and the saved model has its movie beside it."""
    from genlab.jobs import JobManager, JobSpec
    spec = JobSpec("digits", ModelConfig("vae", "mlp", latent_dim=4, hidden=(64,)),
                   TrainConfig(epochs=3, batch_size=64, seed=0, log_every=5), "movie job")
    job = JobManager(max_jobs=1).submit(spec, digits)
    assert job.wait(300), "a 3-epoch digits VAE did not finish"
    snap = job.snapshot()
    assert snap.state == "done", snap.message
    epoch, codes, labels, classes = snap.latent
    assert epoch == 3.0 and codes.shape == (len(labels), 4) and len(classes) == 10
    movie = load_movie(snap.saved_path, latent_dim=4)
    assert movie.epochs[-1] == 3.0 and (movie.codes[-1] == codes).all()
