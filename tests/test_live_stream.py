"""The streaming pieces' server side (pages/_ui/live, genlab.jobs.live.RowLog): a page is sent
the rows after its cursor, not the history again; a new stream or a lost browser copy (resync)
sends everything; an unchanged image sends only its hash; the refresh timer slows down while
nothing changes. (The browser side: tests/test_e2e_live.py.)"""
import json

from streamlit.testing.v1 import AppTest

from genlab.jobs.live import RowLog


def _script():
    import streamlit as st

    from genlab.jobs.live import RowLog
    from pages._ui.live import live_chart, live_image, ticker
    log = st.session_state.setdefault("log", RowLog(cap=8))
    live_chart("c", log.since, [["mse"]], stream=st.session_state.get("stream", "a"))
    live_image("i", st.session_state.get("png", b"one"), caption="Live: grid")
    ticker("t", st.session_state.get("version", 0))


def payloads(at) -> dict:
    return {e.proto.component_name.split(".")[1]: json.loads(e.proto.json) for e in at.get("bidi_component")}


def test_rowlog_gives_what_is_new_and_everything_after_thinning():
    log = RowLog(cap=8)
    for i in range(3):
        log.append({"epoch": i})
    first = log.since(None)
    assert first.reset and [r["epoch"] for r in first.rows] == [0, 1, 2]
    log.append({"epoch": 3})
    nxt = log.since(first.cursor)
    assert not nxt.reset and [r["epoch"] for r in nxt.rows] == [3]
    assert log.since(nxt.cursor).rows == []
    for i in range(4, 12):  # past the cap: thinned, a new generation
        log.append({"epoch": i})
    again = log.since(nxt.cursor)
    assert again.reset and len(again.rows) <= 8 and again.rows[-1]["epoch"] == 11


def test_a_refresh_sends_only_new_rows_and_an_unchanged_image_only_its_hash():
    at = AppTest.from_function(_script, default_timeout=60)
    at.run()
    assert payloads(at)["live_chart"]["reset"] and payloads(at)["live_chart"]["rows"] == []
    assert payloads(at)["live_image"]["src"].startswith("data:image/png;base64,")
    log = at.session_state["log"]
    for i in range(3):
        log.append({"epoch": i, "mse": 1.0 / (i + 1)})
    at.run()
    p = payloads(at)
    assert not p["live_chart"]["reset"] and len(p["live_chart"]["rows"]) == 3
    log.append({"epoch": 3, "mse": 0.2})
    at.run()
    p = payloads(at)
    assert not p["live_chart"]["reset"] and p["live_chart"]["rows"] == [[3.0, 0.2]]
    assert (p["live_chart"]["base"], p["live_chart"]["seq"]) == (3, 4)
    assert p["live_image"]["src"] is None and p["live_image"]["id"]  # the browser has it
    at.session_state["png"] = b"two"
    at.session_state["stream"] = "b"  # another run: everything again
    at.run()
    p = payloads(at)
    assert p["live_chart"]["reset"] and len(p["live_chart"]["rows"]) == 4
    assert p["live_image"]["src"]
    del at.session_state["_live_c"]  # what the resync trigger's callback does
    at.run()
    assert payloads(at)["live_chart"]["reset"]


def test_the_timer_slows_down_while_nothing_changes():
    at = AppTest.from_function(_script, default_timeout=60)
    waits = []
    for version in (1, 2, 2, 2, 2, 2, 2, 3):
        at.session_state["version"] = version
        at.run()
        waits.append(payloads(at)["ticker"]["ms"])
    assert waits[0] == waits[1] == 1000 and waits[2] == 1500
    assert waits[6] == 5000 and waits[7] == 1000  # at most 5 s; back to 1 s on a change
