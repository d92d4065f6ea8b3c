"""A classroom on one server: N students press Start at once on one `streamlit run app.py`.

    python bench/bench_classroom.py                      # 8 students, MNIST VAE, 10 epochs
    python bench/bench_classroom.py --students 4 --epochs 1 --dataset digits   # a short check
    python bench/bench_classroom.py --students 2 --epochs 2 --json out.json --markdown out.md

One real server (headless, 127.0.0.1, a free port, a temporary GENLAB_MODELS, GENLAB_OFFLINE=1)
and real Playwright contexts in Debian's Chromium. First ONE student trains alone (the reference),
then N students each prepare the Train page (own model name), and all click Start within a
second. Checks, each ending in PASS or MISSED:
  1. every run finishes or waits its turn (queue position shown while queued, never more than
     GENLAB_MAX_JOBS running), none fails; each model file exists with status done
  2. each page shows only its own run (its name, never another student's)
  3. Home (`/`) loads in <= 3 s in a fresh context of a separate Chromium process (a visitor's own
     browser) while they train (models table visible)
  4. no genlab-train / genlab-spare / streamlit process of this run is left after SIGTERM
     (the server's children are listed while they train and after)
  5. throughput: per-job and total images/s against the job alone (ratios; context, no target)
A student page that is not ready within --ready-timeout seconds is reloaded (up to --retries
times; each stall is printed with the server's CPU at that moment); one that never becomes
ready is left out of the class and the report says so. At the end a markdown block for
bench/RESULTS.md is printed (and written with --markdown).
Exit status 0 whatever the checks say; non-zero only if the bench itself crashes.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from app_procs import all_procs, cpu_seconds, descendants  # noqa: E402
from classroom_report import markdown, summarize  # noqa: E402
from classroom_server import dump_stacks, of_this_run, start_server  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from genlab.store.checkpoint import read_meta  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# The brief's flags, plus no throttling of pages in the background: each student has their own
# screen, so no page here may be slowed because another one is "in front".
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows"]
MAIN_TEXT = "() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).innerText"
ARM = """(button, at) => setTimeout(() => {
    button.addEventListener("click", () => { window.__clickedAt = performance.timeOrigin + performance.now(); },
                            {once: true});
    button.click(); }, Math.max(0, at - Date.now()))"""


def prepare(browser, url: str, name: str, dataset: str, epochs: int, timeout_s: float = 180,
            retries: int = 0, server_pid: int | None = None, stalls: list | None = None):
    """A context on /train with the data set, a VAE (the default kind), ``epochs`` and ``name``
    set, ready to Start; reloaded up to ``retries`` times when not ready within ``timeout_s``.
    None if it never became ready."""
    for attempt in range(retries + 1):
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        t0, cpu0 = time.perf_counter(), cpu_seconds(server_pid) if server_pid else 0.0
        try:
            return (ctx, _fill(ctx.new_page(), url, name, dataset, epochs, timeout_s))
        except (PlaywrightTimeout, AssertionError) as exc:
            dt = time.perf_counter() - t0
            cpu = (cpu_seconds(server_pid) - cpu0) / dt if server_pid else float("nan")
            note = (f"{name}: Train page not ready after {dt:.0f} s (attempt {attempt + 1}; server "
                    f"process {cpu:.2f} CPU-s/s meanwhile; {type(exc).__name__})")
            if server_pid:  # the server's threads, for the stall's cause
                note += f"; server stacks appended to {dump_stacks(server_pid)}"
            print("  " + note, flush=True)
            if stalls is not None:
                stalls.append(note)
            ctx.close()
    return None


def _fill(pg, url: str, name: str, dataset: str, epochs: int, timeout_s: float):
    pg.set_default_timeout(timeout_s * 1000)
    pg.goto(url + "/train")
    pg.get_by_role("heading", name="Train a model").wait_for()
    if dataset != "mnist":  # mnist is the first choice
        pg.locator('[data-testid="stSelectbox"]').filter(has_text="Data set").click()
        pg.get_by_role("option", name=re.compile(re.escape(dataset) + "|8×8", re.I)).first.click()
    pg.get_by_text(re.compile(rf"^{re.escape(dataset)}: ")).first.wait_for()  # the data summary
    for label, value in (("Epochs", str(epochs)), ("Save the model as", name)):
        pg.get_by_label(label, exact=True).fill(value)
        pg.get_by_label(label, exact=True).press("Enter")
    idle(pg, timeout_s)
    assert pg.get_by_label("Save the model as").input_value() == name
    return pg


def idle(pg, timeout_s: float = 120) -> None:
    """Until the page's script has finished its rerun (Streamlit's 'Running...' is gone)."""
    pg.wait_for_timeout(300)  # let the rerun the last input started begin
    pg.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=timeout_s * 1000)


def home_load(browser, url: str, limit_s: float) -> dict:
    """The HTML of Home fetched without a browser; then a fresh context opens Home: seconds from navigation to the HTML loaded, to the title drawn
    (the app's script runs for this session) and to the models table (``inf`` past ``limit_s``)."""
    marks = {"http": float("inf"), "html": float("inf"), "title": float("inf"), "table": float("inf")}
    t0 = time.perf_counter()  # first the page's HTML alone, without a browser: is the server busy?
    try:
        urllib.request.urlopen(url + "/", timeout=limit_s).read()
        marks["http"] = time.perf_counter() - t0
    except OSError:
        pass
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg = ctx.new_page()
        t0 = time.perf_counter()
        left = lambda: max(0.5, limit_s - (time.perf_counter() - t0)) * 1000  # noqa: E731
        pg.goto(url + "/", timeout=left(), wait_until="domcontentloaded")
        marks["html"] = time.perf_counter() - t0
        pg.get_by_role("heading", name="GenLab").wait_for(timeout=left())
        marks["title"] = time.perf_counter() - t0
        pg.locator('[data-testid="stDataFrame"]').nth(1).wait_for(timeout=left())
        marks["table"] = time.perf_counter() - t0
    except PlaywrightTimeout:
        pass
    finally:
        ctx.close()
    return marks


def state_of(text: str, name: str) -> str | None:
    m = re.search(rf"{re.escape(name)}\s*\(VAE\)\s*—\s*(\w+)", text)
    return m.group(1) if m else None


def alone_run(browser, url: str, models: Path, args, server_pid: int) -> dict:
    ready = prepare(browser, url, "alone-ref", args.dataset, args.epochs, args.ready_timeout,
                    args.retries, server_pid)
    if ready is None:
        raise RuntimeError("the reference student's Train page never became ready")
    ctx, pg = ready
    t0 = time.perf_counter()
    pg.get_by_role("button", name="Start training").click()
    pg.get_by_text("saved as 'alone-ref'").wait_for(timeout=1_800_000)
    wall = time.perf_counter() - t0
    ctx.close()
    meta = read_meta(models / "alone-ref.safetensors")
    return {"status": meta["status"], "images_per_s": meta["images_per_s"], "seconds": meta["seconds"],
            "wall_s": wall}


def classroom(browser, url: str, server_pid: int, models: Path, args, visitor=None) -> dict:
    names = [f"student-{i + 1:02d}" for i in range(args.students)]
    pages, stalls, left_out = {}, [], []
    for n in names:
        ready = prepare(browser, url, n, args.dataset, args.epochs, args.ready_timeout,
                        args.retries, server_pid, stalls)
        if ready is None:
            left_out.append(n)
            continue
        pages[n] = ready
        print(f"  {n}: Train page ready", flush=True)
    names = list(pages)
    if not names:
        raise RuntimeError("no student's Train page became ready")
    # Each page's own timer clicks its Start button at the same wall-clock moment (the pages are
    # armed one by one beforehand, so the Playwright round trips of a loaded machine add nothing);
    # each page records when its click event fired, in the system clock.
    at_ms = time.time() * 1000 + 2000 + 500 * len(names)
    for _, pg in pages.values():
        pg.get_by_role("button", name="Start training").evaluate(ARM, at_ms)
    clicks = {}
    for n, (_, pg) in pages.items():
        pg.wait_for_function("() => window.__clickedAt !== undefined", timeout=60_000)
        clicks[n] = pg.evaluate("() => window.__clickedAt") / 1000 - time.time() + time.perf_counter()
    t_first = min(clicks.values())
    spread = max(clicks.values()) - t_first
    print(f"  all {len(names)} clicked Start within {spread:.3f} s", flush=True)
    seen = {n: {"states": set(), "queue_text": 0, "queued_without_text": 0, "position_none": 0, "others": set(),
                "done_at": None, "started_at": None} for n in names}
    pids, max_running, home, next_home = {}, 0, [], time.perf_counter() + 2
    cap = args.cap or int(os.environ.get("GENLAB_MAX_JOBS") or max(1, (os.cpu_count() or 2) // 2))
    deadline = time.perf_counter() + args.timeout
    children_seen: dict[int, str] = {}
    while time.perf_counter() < deadline:
        kids = descendants(server_pid)
        pids.update(kids)
        children_seen.update(kids)
        running = 0
        for n, (_, pg) in pages.items():
            s = seen[n]
            if s["done_at"]:
                continue
            text = pg.evaluate(MAIN_TEXT)
            state = state_of(text, n)
            s["others"] |= {o for o in names if o != n and o in text}
            if state:
                s["states"].add(state)
            if state == "queued":
                if re.search(r"position \d+ in the queue", text):
                    s["queue_text"] += 1
                else:
                    s["queued_without_text"] += 1
                    # out of the queue, its worker not yet reporting: the page says "position None"
                    s["position_none"] += "position None" in text
            if state in ("running", "paused"):
                running += 1
                s["started_at"] = s["started_at"] or time.perf_counter()
            if state == "done" and f"saved as '{n}'" in text or state in ("stopped", "failed"):
                s["done_at"] = time.perf_counter()
                s["final_text"] = text
        max_running = max(max_running, running)
        if all(s["done_at"] for s in seen.values()):
            break
        if len(home) < args.home_samples and time.perf_counter() >= next_home:
            marks = home_load(visitor or browser, url, args.home_limit)
            home.append(marks["table"])
            print(f"  Home: plain HTTP GET {marks['http']:.2f} s; in a fresh context: HTML {marks['html']:.2f} s, title {marks['title']:.2f} s, "
                  f"models table {marks['table']:.2f} s ({running} page(s) showed a running job "
                  f"just before; inf = not within {args.home_limit:.0f} s)", flush=True)
            next_home = time.perf_counter() + 3
        time.sleep(args.poll)  # reading 8 pages' text forces their layout: not too often
    for n, (_, pg) in pages.items():  # the final text of each page, once its last rerun is drawn
        try:
            pg.get_by_text(f"saved as '{n}'").wait_for(timeout=60_000)
            idle(pg)
        except PlaywrightTimeout:
            pass
        text = pg.evaluate(MAIN_TEXT)
        seen[n]["others"] |= {o for o in names if o != n and o in text}
        seen[n]["own_shown"] = n in text
    return {"names": names, "pages": pages, "clicks": clicks, "spread": spread, "seen": seen,
            "t_first": t_first, "max_running": max_running, "cap": cap, "home": home, "pids": pids,
            "stalls": stalls, "left_out": left_out, "children_seen": children_seen}


def run(args) -> dict:
    from playwright.sync_api import sync_playwright
    figures: dict = {"students": args.students, "dataset": args.dataset, "epochs": args.epochs,
                     "cpu_count": os.cpu_count(), "load_start": os.getloadavg()}
    print(f"{os.cpu_count()} CPU cores, load average at start {figures['load_start']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="genlab-classroom-") as tmp:
        models = Path(tmp)
        proc, url = start_server(tmp, args.cap)
        pids: dict[int, str] = {proc.pid: all_procs()[proc.pid][1]}
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                try:
                    print("one job alone first (the reference)", flush=True)
                    alone = alone_run(browser, url, models, args, proc.pid)
                    print(f"  alone: {alone['images_per_s']:,.0f} images/s, {alone['seconds']:.1f} s "
                          f"training, {alone['wall_s']:.1f} s Start -> saved", flush=True)
                    pids.update(descendants(proc.pid))
                    # Home is opened by a visitor with a browser of their own (its own process),
                    # as in a class, where every student's browser runs on their own computer
                    visitor = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                    try:
                        room = classroom(browser, url, proc.pid, models, args, visitor)
                    finally:
                        visitor.close()
                    pids.update(room["pids"])
                    for ctx, _ in room["pages"].values():
                        ctx.close()
                finally:
                    browser.close()
            pids.update(descendants(proc.pid))
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
            t0, left, named = time.monotonic(), [], []
            while time.monotonic() - t0 < 20:  # workers end once the server's pipes close
                now = all_procs()  # a pid counts only under its recorded name (pids get reused)
                left = [f"{p} {n}" for p, n in pids.items() if now.get(p, (0, None))[1] == n]
                named = of_this_run(tmp)
                if not left and not named:
                    break
                time.sleep(0.5)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            for p in [*pids, *(int(s.split()[0]) for s in of_this_run(tmp))]:
                try:
                    os.kill(p, signal.SIGKILL)  # only this run's own processes, if any remain
                except OSError:
                    pass
        figures.update(summarize(room, alone, models, left, named, len(pids)))
        figures.update(stalls=room["stalls"], left_out=room["left_out"],
                       children_seen=sorted(set(room["children_seen"].values())))
    figures["load_end"] = os.getloadavg()
    print(f"load average at end {figures['load_end']}", flush=True)
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=8)
    ap.add_argument("--dataset", default="mnist", choices=["mnist", "digits"])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--home-samples", type=int, default=3)
    ap.add_argument("--poll", type=float, default=1.0,
                    help="seconds between two readings of the 8 pages (each forces their layout)")
    ap.add_argument("--home-limit", type=float, default=20, help="seconds a Home sample may take")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds the classroom may take")
    ap.add_argument("--cap", type=int, help="training slots (GENLAB_MAX_JOBS) for the server")
    ap.add_argument("--ready-timeout", type=float, default=120,
                    help="seconds a student's Train page may take to become ready before a reload")
    ap.add_argument("--retries", type=int, default=2, help="reloads of a page that is not ready")
    ap.add_argument("--json", metavar="OUT", help="write the figures to this JSON file")
    ap.add_argument("--markdown", metavar="OUT", help="write the markdown block to this file")
    args = ap.parse_args()
    # a bench stopped from outside (timeout, kill) still stops its server and workers (finally:)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    figures = run(args)
    block = markdown(figures, sys.argv[1:])
    print("\n" + block)
    if args.markdown:
        Path(args.markdown).write_text(block)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1, default=list))


if __name__ == "__main__":
    main()
