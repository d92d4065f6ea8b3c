"""The class gallery with two browser sessions (AppTest): Alice trains two models on the Train
page, gives her name and shares one; Bob sees the shared one with her name, not the other; the
flag and the name live in the model's file.

AppTest gives every instance the same session id ("test session id"), so session-scoped
resources (each session's training jobs) would be shared between Alice and Bob; a real server
gives each browser session its own id, and so does ``Session`` here."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from genlab.jobs import get_manager
from genlab.store.catalog import WEIGHTS_DIR, user_models_dir
from genlab.store.checkpoint import CheckpointError, read_meta

APP = str(Path(__file__).resolve().parent.parent / "app.py")


class Session:
    """An AppTest with its own session id, as each browser tab has on a real server."""
    current = "test session id"

    def __init__(self, who: str) -> None:
        self.who, self.at = who, AppTest.from_file(APP, default_timeout=300)
        self.run()

    def run(self) -> AppTest:
        Session.current = self.who
        return self.at.run()

    def __getattr__(self, name):
        return getattr(self.at, name)


@pytest.fixture(autouse=True)
def own_session_ids(monkeypatch):
    import streamlit.runtime.scriptrunner.script_runner as sr
    original = sr.ScriptRunner.__init__

    def init(self, *args, session_id, **kwargs):
        original(self, *args, session_id=Session.current, **kwargs)
    monkeypatch.setattr(sr.ScriptRunner, "__init__", init)


def session(who: str) -> Session:
    return Session(who)


def train(at: Session, name: str) -> None:
    """Train a 1-epoch digits VAE named ``name`` on the Train page and wait until it is saved."""
    at.switch_page("pages/train.py")
    at.run()
    at.selectbox(key="tr_source").set_value("digits")
    at.run()
    at.number_input(key="tr_epochs_vae").set_value(1)
    at.text_input(key="tr_name").set_value(name)
    at.run()
    at.button(key="tr_start").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception + at.error]
    # the job itself, not its file (saved after every epoch too): finished, its path recorded
    # (the gallery's "yours" comes from the session's jobs' saved paths)
    job = [j for j in get_manager().jobs() if j.spec.name == name][-1]
    assert job.wait(300), f"{name} was not trained within 300 s"
    assert job.snapshot().state == "done", job.snapshot().message
    assert job.saved_path == user_models_dir() / f"{name}.safetensors"


def gallery(at: Session) -> list[dict]:
    at.switch_page("pages/gallery.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at.dataframe[0].value.to_dict("records") if at.dataframe else []


def test_shared_models_are_seen_by_the_class_and_others_are_not():
    alice, bob = session("alice"), session("bob")
    train(alice, "alice-shared")
    train(alice, "alice-private")
    rows = {r["model"]: r for r in gallery(alice)}
    assert {"alice-shared", "alice-private"} <= set(rows)
    assert rows["alice-shared"]["whose"] == "yours"
    assert not any(r["model"].startswith("alice") for r in gallery(bob))  # nothing shared yet
    alice.text_input(key="gl_owner_name").set_value("Alice")  # the name she gives once
    alice.run()
    alice.checkbox(key="gl_share_alice-shared").check()
    alice.run()
    assert not alice.exception and not alice.error
    assert read_meta(user_models_dir() / "alice-shared.safetensors")["shared"] is True
    assert "shared" not in read_meta(user_models_dir() / "alice-private.safetensors")
    seen = {r["model"]: r for r in gallery(bob)}
    assert "alice-shared" in seen and "alice-private" not in seen
    assert seen["alice-shared"]["whose"] == "shared by Alice" and seen["alice-shared"]["kind"] == "VAE"
    assert read_meta(user_models_dir() / "alice-shared.safetensors")["owner_name"] == "Alice"
    captions = [i.caption for e in bob.get("image") for i in e.proto.imgs]
    assert any(c.startswith("alice-shared · VAE") and c.endswith("samples") for c in captions), captions
    alice.checkbox(key="gl_share_alice-shared").uncheck()  # and unsharing hides it again
    alice.run()
    assert "alice-shared" not in {r["model"] for r in gallery(bob)}


def test_shipped_models_cannot_be_shared():
    from genlab.classroom.gallery import set_shared
    with pytest.raises(CheckpointError, match="not one of the models trained here"):
        set_shared(WEIGHTS_DIR / "mnist-vae.safetensors", True)
