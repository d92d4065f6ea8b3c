"""'Share this lesson': a short link (the lesson, its variant and only the settings changed) on
the server's network address (never localhost, never the projector flag), and its QR code."""
import io
import ipaddress

from PIL import Image
from test_train_url import train_page

from genlab.classroom.lessons import load_lesson
from genlab.classroom.share import is_local, network_host, qr_png, share_url, short_query


def test_short_query_keeps_only_what_differs_from_the_lesson():
    les = load_lesson("ae-vs-vae-mnist")
    on_screen = {"dataset": "mnist", "kind": "ae", "epochs": "3", "lr": "0.001", "projector": "1"}
    assert short_query(les, "ae", on_screen) == {"lesson": "ae-vs-vae-mnist", "variant": "ae", "epochs": "3"}
    assert short_query(les, None, {"epochs": "20"}) == {"lesson": "ae-vs-vae-mnist"}


def test_share_url_replaces_a_loopback_host_and_keeps_a_network_one():
    q = {"lesson": "ae-vs-vae-mnist"}
    assert share_url("http://localhost:8501/train", q, host="10.0.0.7") == \
        "http://10.0.0.7:8501/train?lesson=ae-vs-vae-mnist"
    assert share_url("http://127.0.0.1:8501/train", q, host="") is None  # no address to give
    assert share_url("http://192.168.1.5:8501/train", q, host="10.0.0.7").startswith("http://192.168.1.5:8501/")
    host = network_host()
    assert host is None or not is_local(host)
    if host is not None:
        assert not ipaddress.ip_address(host).is_loopback


def test_qr_is_a_scannable_size_png():
    png = qr_png("http://10.0.0.7:8501/train?lesson=ae-vs-vae-mnist")
    im = Image.open(io.BytesIO(png))
    assert im.format == "PNG" and im.size[0] == im.size[1] >= 250


def test_the_train_page_shares_the_short_network_link():
    at = train_page({"lesson": "ae-vs-vae-mnist", "variant": "ae", "epochs": "3", "projector": "1"})
    at.button(key="tr_share_lesson").click().run()
    assert not at.exception
    if network_host() is None:  # a machine without a network: said in words, no localhost link
        assert any("no network address" in e.value for e in at.error)
        return
    assert not at.error, [e.value for e in at.error]
    links = [c.value for c in at.code if "lesson=" in c.value]
    assert len(links) == 1
    url = links[0]
    assert url.endswith("/train?lesson=ae-vs-vae-mnist&variant=ae&epochs=3")
    host = url.split("//")[1].split("/")[0].split(":")[0]
    assert not is_local(host) and host == network_host() and "projector" not in url
    assert any(im.captions and im.captions[0].startswith("Scan to open") for im in at.image)


def test_the_short_link_opens_the_run_the_teacher_set_up():
    """The link holds only what differs from the lesson; a student's fresh page opened by it
    fills in the rest from the lesson and starts the very run the teacher's page would start."""
    from urllib.parse import parse_qsl, urlsplit
    teacher = train_page({"lesson": "ae-vs-vae-mnist", "variant": "ae", "projector": "1"})
    teacher.number_input(key="tr_latent_ae").set_value(12).run()
    teacher.number_input(key="tr_epochs_ae").set_value(3).run()
    teacher.button(key="tr_share_lesson").click().run()
    assert not teacher.exception
    if network_host() is None:
        return  # no network address here: the test above checks what the page says instead
    url = next(c.value for c in teacher.code if "lesson=" in c.value)
    query = dict(parse_qsl(urlsplit(url).query))
    assert query == {"lesson": "ae-vs-vae-mnist", "variant": "ae", "latent": "12", "epochs": "3"}, query
    student = train_page(query)
    want, got = teacher.session_state["tr_spec"], student.session_state["tr_spec"]
    assert got is not None and (got.model, got.train) == (want.model, want.train)
    assert got.model.latent_dim == 12 and got.train.epochs == 3 and got.model.kind == "ae"
