"""When a run ends, the Train page shows its result first: the share switch and the report
button come before the settings form (they used to be two screens below it)."""
from test_train_url import started, train_page


def walk(node) -> list:
    """The page's elements in the order they are drawn."""
    kids = getattr(node, "children", None)
    if kids is None:
        return [node]
    return [e for k in sorted(kids) for e in walk(kids[k])]


def test_a_finished_run_shows_result_share_and_report_before_the_settings():
    at = train_page({"dataset": "digits", "size": "8", "epochs": "1", "kind": "ae", "arch": "mlp"})
    job = started(at)
    assert job.wait(300), "one epoch of digits did not finish"
    at.run()
    stem = job.snapshot().saved_path.stem
    order = walk(at.main)
    where = {getattr(e, "key", None): i for i, e in enumerate(order)}
    report = next(i for i, e in enumerate(order) if e.type == "download_button")
    subheads = [i for i, e in enumerate(order) if e.type == "subheader" and e.value == "Your model"]
    assert subheads and subheads[0] < where[f"tr_share_{stem}"] < report < where["tr_lesson"]
    assert where[f"tr_share_{stem}"] < 4  # the first things on the page, under the title

