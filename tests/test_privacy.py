"""Privacy on a shared class server: a model trained in a browser session is private to that
session until its owner shares it; then the class sees it, read only (genlab.store.catalog).

The rule in the library, then two browser sessions (AppTest, each with its own session id as on
a real server): Alice trains a VAE on the Train page and an AE and a GAN as her jobs; Bob opens
every page with a model picker and sees none of them; once Alice shares them Bob sees them,
labelled 'shared by a classmate', and Compare offers him no button that writes into them."""
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.local_script_runner import LocalScriptRunner

from genlab.classroom.gallery import gallery_rows, set_shared
from genlab.jobs import Job, JobSpec, get_manager
from genlab.models import ModelConfig, build_model
from genlab.store.catalog import ModelEntry, list_models, user_models_dir
from genlab.store.checkpoint import CheckpointError, read_meta, save_checkpoint
from genlab.train import TrainConfig

APP = str(Path(__file__).resolve().parent.parent / "app.py")
ROOT = Path(__file__).resolve().parent.parent


# -- the rule -----------------------------------------------------------------------------------
@pytest.fixture
def folder(tmp_path, monkeypatch):
    """An empty models folder with three tiny models: Alice's private one, Alice's shared one,
    and one with no owner recorded (trained by the CLI)."""
    monkeypatch.setenv("GENLAB_MODELS", str(tmp_path / "models"))
    model = build_model(ModelConfig("ae", "mlp", image_size=8, latent_dim=2, hidden=(8,)).validate())
    for name, meta in {"a-private": {"owner": "alice"}, "a-shared": {"owner": "alice", "shared": True},
                       "cli-made": {}}.items():
        save_checkpoint(user_models_dir() / name, model, dataset={"name": "digits"}, **meta)
    return user_models_dir()


def seen(viewer) -> dict[str, ModelEntry]:
    return {e.name: e for e in list_models(viewer=viewer) if e.origin != "shipped"}


def test_a_session_sees_its_own_models_the_shared_ones_and_the_ownerless_ones(folder):
    alice, bob = seen("alice"), seen("bob")
    assert {n: e.origin for n, e in alice.items()} == {"a-private": "yours", "a-shared": "yours",
                                                       "cli-made": "yours"}
    assert {n: e.origin for n, e in bob.items()} == {"a-shared": "shared", "cli-made": "yours"}
    assert bob["a-shared"].label.endswith("(shared by a classmate)") and "yours" not in bob["a-shared"].label
    assert alice["a-private"].label.endswith("(yours)")
    assert alice["a-shared"].writable and not bob["a-shared"].writable and bob["cli-made"].writable
    shipped = [e for e in list_models(viewer="bob") if e.origin == "shipped"]
    assert shipped and not any(e.writable for e in shipped)  # everyone sees them, nobody writes
    # the machine's user (the CLI, viewer None) sees every file, as before
    assert {n: e.origin for n, e in seen(None).items()} == {"a-private": "yours", "a-shared": "yours",
                                                            "cli-made": "yours"}


def test_only_the_owner_shares_or_unshares(folder):
    with pytest.raises(CheckpointError, match="belongs to another browser session"):
        set_shared(folder / "a-shared.safetensors", False, viewer="bob")
    with pytest.raises(CheckpointError, match="belongs to another browser session"):
        set_shared(folder / "a-private.safetensors", True, viewer="bob")
    assert read_meta(folder / "a-shared.safetensors")["shared"] is True
    assert "shared" not in read_meta(folder / "a-private.safetensors")
    set_shared(folder / "a-private.safetensors", True, viewer="alice")
    assert "a-private" in seen("bob") and seen("bob")["a-private"].origin == "shared"
    set_shared(folder / "a-private.safetensors", False, viewer="alice")
    assert "a-private" not in seen("bob")


def test_the_gallery_follows_the_same_rule(folder):
    assert {r["name"]: r["own"] for r in gallery_rows("alice")} == {"a-private": True, "a-shared": True}
    assert {r["name"]: r["own"] for r in gallery_rows("bob")} == {"a-shared": False}


def test_a_job_records_its_owner_and_a_script_records_none(folder, digits):
    spec = JobSpec("digits", ModelConfig("ae", "mlp", latent_dim=2, hidden=(16,)),
                   TrainConfig(epochs=1, batch_size=256, seed=0), "owned")
    for owner, name in (("sess-1", "owned"), ("", "script")):
        job = Job(replace(spec, name=name), digits, owner=owner)
        job.run()
        assert job.snapshot().state == "done", job.snapshot().message
        assert read_meta(job.saved_path).get("owner") == (owner or None)
    assert set(seen("sess-2")) == {"a-shared", "cli-made", "script"}


def test_pages_list_models_only_through_the_sessions_catalog():
    """A page that called list_models itself would list every session's models."""
    for page in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        assert "list_models" not in page.read_text(encoding="utf-8"), page.name


# -- two browser sessions -----------------------------------------------------------------------
@pytest.fixture
def sessions(monkeypatch, tmp_path):
    """AppTest runs every instance under one session id; a real server gives each browser tab
    its own. Restore that, in an empty models folder."""
    original = LocalScriptRunner.__init__

    def init(self, script_path, session_state, *args, **kwargs):
        original(self, script_path, session_state, *args, **kwargs)
        self._session_id = f"apptest-{id(session_state)}"

    monkeypatch.setattr(LocalScriptRunner, "__init__", init)
    monkeypatch.setenv("GENLAB_MODELS", str(tmp_path / "models"))


def visit(at: AppTest, page: str) -> AppTest:
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def pickers(at: AppTest) -> dict[str, list[str]]:
    """Every page's model pickers (their labels) and Home's models table (name (origin))."""
    out = {}
    home = visit(at, "app.py").dataframe[1].value
    out["home"] = [f"{m} ({o})" for m, o in zip(home["model"], home["origin"])]
    visit(at, "pages/explorer.py")
    out["explorer"] = list(at.selectbox(key="ex_model").options)
    visit(at, "pages/latent_space.py")
    out["latent_space"] = list(at.selectbox(key="ls_ae").options) + list(at.selectbox(key="ls_vae").options)
    visit(at, "pages/gan_studio.py")
    out["gan_studio"] = list(at.selectbox(key="gs_model").options)
    visit(at, "pages/compare.py")
    out["compare"] = list(at.multiselect(key="cmp_models").options)
    visit(at, "pages/gallery.py")
    out["gallery"] = [f"{r['model']} ({r['whose']})" for r in
                      (at.dataframe[0].value.to_dict("records") if at.dataframe else [])]
    return out


def of(labels: dict[str, list[str]], name: str) -> dict[str, list[str]]:
    """The labels naming model ``name``, per page (pages without it left out)."""
    found = {page: [x for x in xs if x.startswith(f"{name} ")] for page, xs in labels.items()}
    return {page: xs for page, xs in found.items() if xs}


WHERE = {"priv-vae": {"home", "explorer", "latent_space", "compare", "gallery"},
         "priv-ae": {"home", "explorer", "latent_space", "compare", "gallery"},
         "priv-gan": {"home", "explorer", "gan_studio", "compare", "gallery"}}


def test_two_sessions_see_only_their_own_and_shared_models(sessions, digits):
    alice, bob = AppTest.from_file(APP, default_timeout=300), AppTest.from_file(APP, default_timeout=300)
    alice.run()
    bob.run()
    visit(alice, "pages/train.py")  # Alice trains a VAE on the Train page
    alice.selectbox(key="tr_source").set_value("digits").run()
    alice.radio(key="tr_kind").set_value("vae").run()
    alice.radio(key="tr_arch").set_value("mlp").run()
    alice.number_input(key="tr_epochs_vae").set_value(1)
    alice.text_input(key="tr_name").set_value("priv-vae")
    alice.run()
    alice.button(key="tr_start").click().run()
    assert not alice.exception and not alice.error, [e.value for e in alice.exception + alice.error]
    job = [j for j in get_manager().jobs() if j.spec.name == "priv-vae"][-1]
    assert job.wait(300) and job.snapshot().state == "done", job.snapshot().message
    for kind, name in (("ae", "priv-ae"), ("gan", "priv-gan")):  # and an AE and a GAN as her jobs
        spec = JobSpec("digits", ModelConfig(kind, "mlp", latent_dim=4, hidden=(32,)),
                       TrainConfig(epochs=1, batch_size=256, seed=0), name)
        Job(spec, digits, owner=job.owner).run()  # in this process; the same run_training
    metas = {n: read_meta(user_models_dir() / f"{n}.safetensors") for n in WHERE}
    assert {m["owner"] for m in metas.values()} == {job.owner} and not any("shared" in m for m in metas.values())

    mine, theirs = pickers(alice), pickers(bob)
    for name, pages in WHERE.items():
        assert set(of(mine, name)) == pages, (name, of(mine, name))
        assert all(x.endswith("(yours)") for xs in of(mine, name).values() for x in xs), of(mine, name)
        assert of(theirs, name) == {}, (name, of(theirs, name))  # nowhere, not even in a picker

    visit(alice, "pages/gallery.py")  # Alice shares them
    for name in WHERE:
        alice.checkbox(key=f"gl_share_{name}").check().run()
        assert not alice.exception and not alice.error, [e.value for e in alice.exception + alice.error]
    assert all(read_meta(user_models_dir() / f"{n}.safetensors")["shared"] is True for n in WHERE)

    theirs = pickers(bob)
    for name, pages in WHERE.items():
        assert set(of(theirs, name)) == pages, (name, of(theirs, name))
        labels = [x for xs in of(theirs, name).values() for x in xs]
        assert not any("yours" in x for x in labels), labels
        assert all(x.endswith(("(shared by a classmate)", "(shared)")) for x in labels), labels

    # Bob opens Alice's VAE in the explorer (readable) ...
    vae = str(user_models_dir() / "priv-vae.safetensors")
    visit(bob, "pages/explorer.py").selectbox(key="ex_model").set_value(vae).run()
    assert not bob.exception and not bob.error, [e.value for e in bob.exception + bob.error]
    # ... but Compare offers him nothing that writes into it; Alice, its owner, may measure it
    before = Path(vae).stat().st_mtime_ns
    for at, button in ((bob, False), (alice, True)):
        visit(at, "pages/compare.py").multiselect(key="cmp_models").set_value([vae])
        at.slider(key="cmp_n").set_value(200)
        at.run()
        assert not at.exception and not at.error, [e.value for e in at.exception + at.error]
        assert any(b.key == "cmp_eval" for b in at.button) is button
    assert any("shared by a classmate" in c.value and "read only" in c.value for c in bob.caption)
    assert Path(vae).stat().st_mtime_ns == before and "metrics" not in read_meta(vae)

    visit(alice, "pages/gallery.py").checkbox(key="gl_share_priv-vae").uncheck().run()  # unshared:
    visit(bob, "pages/compare.py")  # gone from where Bob had it picked, without an error
    assert not bob.error and not any(o.startswith("priv-vae ") for o in bob.multiselect(key="cmp_models").options)
    visit(bob, "pages/explorer.py")
    assert not bob.error and not any(o.startswith("priv-vae ") for o in bob.selectbox(key="ex_model").options)
    assert bob.selectbox(key="ex_model").value != vae


def test_sharing_while_it_trains_survives_the_next_epochs_save(folder, digits):
    """A job saves its model after every epoch: a model shared from the gallery while it still
    trains stays shared (it used to lose 'shared' at the next epoch's save)."""
    from genlab.train import fit, save_trained
    model = build_model(ModelConfig("ae", "mlp", image_size=8, latent_dim=2, hidden=(8,)).validate())
    path = folder / "training"
    result = fit(model, digits, TrainConfig(epochs=1, batch_size=256))
    save_trained(path, model, result, dataset={"name": "digits"}, owner="alice")
    set_shared(str(path) + ".safetensors", True, viewer="alice")  # ticked between two epochs
    save_trained(path, model, result, dataset={"name": "digits"}, owner="alice")
    assert read_meta(str(path) + ".safetensors")["shared"] is True
    assert "training" in seen("bob")
    set_shared(str(path) + ".safetensors", False, viewer="alice")
    save_trained(path, model, result, dataset={"name": "digits"}, owner="alice")
    assert "training" not in seen("bob")
