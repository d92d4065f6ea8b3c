"""Home: a first step (a link that opens the Train page on the AE-vs-VAE lesson) and the data
sets' sources as genlab.data decides them now: where this server loaded a data set (the Train
page's), else the first source present, a download naming what replaces it offline."""
from test_app import page

from genlab.data import available_datasets, builtin, load_dataset


def test_home_first_step_opens_the_ae_vs_vae_lesson():
    at = page("app.py")
    links = [e.proto for e in at.get("page_link") if "AE-vs-VAE lesson" in e.proto.label]
    assert len(links) == 1 and links[0].label.startswith("First step")
    assert links[0].page.endswith("train") and "lesson=ae-vs-vae-mnist" in links[0].query_string


def test_data_sources_say_what_is_used_now(monkeypatch):
    monkeypatch.setattr(builtin, "USED", {})
    monkeypatch.setenv("GENLAB_OFFLINE", "0")  # status only: nothing is downloaded
    status = {d["name"]: d["source"] for d in available_datasets()}
    assert status["mnist"].startswith("downloaded by torchvision on first use")
    assert "without the internet: offline subset, 5,000 digits" in status["mnist"]
    monkeypatch.setenv("GENLAB_OFFLINE", "1")
    data = load_dataset("mnist")  # what the Train page does
    status = {d["name"]: d for d in available_datasets()}["mnist"]
    assert status["in_use"] and status["source"] == data.source
    at = page("app.py")
    table = at.dataframe[0].value.set_index("data set")
    assert table.loc["mnist", "from"] == f"{data.source} (in use)"
