"""The consumers of training events are named callbacks (genlab.train.callbacks): what each
path hands ``fit``, in which order, and that no callback changes what is trained."""
import pytest
import torch

import genlab.train as train
from genlab.cli.progress import Progress
from genlab.latent.movie import MovieRecorder
from genlab.models import ModelConfig, build_model
from genlab.train import Callbacks, Hook, TrainConfig, TrainEvent, fit


class Note:
    def __init__(self, name, log):
        self.name, self.log = name, log

    def on_event(self, ev):
        self.log.append((self.name, ev.kind))


def test_callbacks_run_in_order_and_answer_to_their_names():
    log = []
    cbs = Callbacks([Note("a", log), None, Note("b", log)])
    assert cbs.names == ["a", "b"] and len(cbs) == 2 and cbs["b"].name == "b"
    cbs(TrainEvent("start"))
    cbs.on_event(TrainEvent("epoch"))
    assert log == [("a", "start"), ("b", "start"), ("a", "epoch"), ("b", "epoch")]
    with pytest.raises(KeyError):
        cbs["c"]
    with pytest.raises(TypeError):
        cbs.add(object())


def test_what_fit_accepts():
    seen = []

    def on_event(ev):
        seen.append(ev.kind)
    assert Callbacks.of(None).names == []
    assert Callbacks.of(on_event).names == ["on_event"]
    Callbacks.of(on_event)(TrainEvent("start"))
    assert seen == ["start"]
    cbs = Callbacks([Hook(on_event, "x")])
    assert Callbacks.of(cbs) is cbs and Callbacks.of(Note("n", [])).names == ["n"]
    assert Callbacks.of([Note("a", []), Note("b", [])]).names == ["a", "b"]


def _model(digits, kind):
    return build_model(ModelConfig(kind, "mlp", latent_dim=4, hidden=(32,), channels=digits.shape[0],
                                   image_size=digits.shape[1]), seed=0)


def _fit(model, digits, on_event):
    return fit(model, digits, TrainConfig(epochs=2, batch_size=64, seed=0, log_every=5,
                                          progress_every_s=1e9), None, on_event)


@pytest.mark.parametrize("kind", ["vae", "gan"])
def test_callbacks_never_change_the_training(digits, kind):
    """The same seed with no consumer, or with the CLI's (movie, progress) and a function,
    gives bit-identical losses and weights."""
    bare = _model(digits, kind)
    res0 = _fit(bare, digits, None)
    model, events = _model(digits, kind), []
    movie = MovieRecorder(model, digits.test_x, digits.test_y) if MovieRecorder.wants(model) else None
    res1 = _fit(model, digits, Callbacks([Hook(events.append, "log"), movie, Progress(quiet=True)]))
    strip = lambda h: [{k: v for k, v in r.items() if k != "images_per_s"} for r in h]  # noqa: E731
    assert strip(res1.history) == strip(res0.history) and res1.test_history == res0.test_history
    for (k, a), (_, b) in zip(bare.state_dict().items(), model.state_dict().items()):
        assert torch.equal(a, b), k
    assert events[0].kind == "start" and events[-1].kind == "done"
    if movie is not None:
        assert len(movie.movie()) >= 3


@pytest.mark.parametrize("kind,names", [("vae", ["messages", "history", "movie", "checkpoint"]),
                                        ("gan", ["messages", "history", "checkpoint"])])
def test_a_jobs_consumers(digits, tmp_path, monkeypatch, kind, names):
    import genlab.jobs.worker as worker
    from genlab.jobs import JobSpec
    handed = []
    real = worker.fit

    def spy(model, data, cfg, control=None, on_event=None):
        handed.append(on_event)
        return real(model, data, cfg, control, on_event)
    monkeypatch.setattr(worker, "fit", spy)
    spec = JobSpec("digits", ModelConfig(kind, "mlp", latent_dim=4, hidden=(32,)),
                   TrainConfig(epochs=2, batch_size=64, seed=0), "job")
    msgs = []
    final = worker.run_training({"spec": spec, "path": str(tmp_path / "job"), "data": digits},
                                train.TrainControl(), msgs.append)
    assert final["state"] == "done" and isinstance(handed[0], Callbacks) and handed[0].names == names
    kinds = [m["kind"] for m in msgs]
    assert "event" in kinds and "checkpoint" in kinds and ("frame" in kinds) == (kind == "vae")
    history = handed[0]["history"]
    progress = [m["event"] for m in msgs if m["kind"] == "event" and m["event"]["kind"] == "progress"]
    assert [r["step"] for r in history.history] == [e["step"] for e in progress]


def test_the_clis_consumers(tmp_path, monkeypatch):
    from genlab.cli.main import main
    handed = []
    real = train.fit

    def spy(model, data, cfg, control=None, on_event=None):
        handed.append(on_event)
        return real(model, data, cfg, control, on_event)
    monkeypatch.setattr(train, "fit", spy)
    out = tmp_path / "cli-vae"
    assert main(["train", "--model", "vae", "--arch", "mlp", "--dataset", "digits", "--epochs", "1",
                 "--hidden", "16", "--quiet", "--out", str(out)]) == 0
    assert isinstance(handed[0], Callbacks) and handed[0].names == ["movie", "progress"]
