"""What a live Train page costs, this checkout against a reference checkout (main) in the same run.

    nice -n 15 python bench/bench_live.py --ref /tmp/main-ref          # page, first, sessions, class
    python bench/bench_live.py --only page,first --ref /tmp/main-ref --seconds 15
    python bench/bench_live.py --only class --pages 1,4,8,16
A reference checkout of main, without touching main's worktree:
    mkdir -p /tmp/main-ref && git -C /work/main archive HEAD | tar -x -C /tmp/main-ref

page:     one Chromium page on the Train page while its run trains (MNIST conv VAE, latent 16, the
          issue's model): CPU-s per second of the server process (workers excluded) and of
          Chromium; refreshes the page asks for per second; the same with the tab hidden. Targets:
          Chromium <= 0.10 and <= a fifth of the reference; server <= 0.03 and <= a third of it.
first:    Start click -> first step shown in Chromium (warm spare worker), target <= 1.5 s.
sessions: an idle session's server memory (20 Home pages: RSS growth / 20, target <= 50 MB) and
          200 sessions opened and closed (server RSS after / before, target within 5%).
class:    N students (own browser contexts and runs; GENLAB_MAX_JOBS=N so every page is live; 8x8
          digits so N workers fit) at each N of --pages: server CPU-s/s and RSS, the cost per
          page (slope from the smallest to the largest N) and a sizing table.
Each figure is printed with its target and OK / MISSED; timings under load are rough.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from app_procs import browser, cpu_seconds, rss_mb, start_server  # noqa: E402

HIDE = """(hidden) => { Object.defineProperty(document, 'visibilityState',
    {configurable: true, get: () => hidden ? 'hidden' : 'visible'});
    document.dispatchEvent(new Event('visibilitychange')) }"""
STEP = re.compile(r"step ([\d,]+) /")
STEP_BYTES = re.compile(STEP.pattern.encode())  # the same, in the websocket's raw frames


def report(name: str, value: float, unit: str, target: str, ok: bool | None) -> None:
    verdict = "context" if ok is None else ("OK" if ok else "MISSED")
    print(f"{name:<58} {value:10.4g} {unit:<6} target {target:<22} {verdict}", flush=True)


class Server:
    def __init__(self, root: Path, **env: str) -> None:
        self.models = tempfile.mkdtemp(prefix="genlab-bench-live-")
        self.proc, self.url = start_server({**os.environ, "GENLAB_OFFLINE": "1",
                                            "GENLAB_MODELS": self.models, **env}, root)

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def rss(self) -> float:
        return rss_mb(self.proc.pid)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


VIEW = {"width": 1366, "height": 768}


def open_page(ctx_or_browser, url: str, path: str = "/train"):
    """A page of a browser (its own context: a new session) or of a context, at ``path``."""
    is_browser = hasattr(ctx_or_browser, "new_context")
    pg = ctx_or_browser.new_page(**({"viewport": VIEW} if is_browser else {}))
    pg.set_default_timeout(180_000)
    for _ in range(600):
        try:
            pg.goto(url + path, timeout=3000)
            break
        except Exception:  # the server is not listening yet
            time.sleep(0.2)
    pg.get_by_role("heading", name="GenLab" if path == "/" else "Train a model").first.wait_for()
    return pg


def start_run(pg, name: str, dataset: str, epochs: int) -> float:
    """Fill the Train form and press Start; seconds from the click to the first step shown."""
    if dataset == "digits":
        pg.locator('[data-testid="stSelectbox"]').filter(has_text="Data set").click()
        pg.get_by_role("option", name="8×8 digits (tiny, fast)").click()
        pg.get_by_text("digits: 1,4").wait_for()
    else:
        pg.get_by_label("Latent size", exact=True).fill("16")
        pg.get_by_label("Latent size", exact=True).press("Enter")
    for label, value in (("Epochs", str(epochs)), ("Save the model as", name)):
        pg.get_by_label(label, exact=True).fill(value)
        pg.get_by_label(label, exact=True).press("Enter")
    pg.wait_for_timeout(3000)  # the warm spare worker finishes importing torch
    t0 = time.perf_counter()
    pg.get_by_role("button", name="Start training").click()
    while step_of(pg) < 1:
        pg.wait_for_timeout(20)
    return time.perf_counter() - t0


def step_of(pg) -> int:
    bar = pg.locator('[data-testid="stProgress"]')
    m = STEP.search(bar.first.inner_text() if bar.count() else "")
    return int(m.group(1).replace(",", "")) if m else 0


def window(pg, server: Server, seconds: float, sent: list | None = None,
           steps: list | None = None) -> dict:
    """CPU-s/s of the server process and of Chromium over ``seconds``; step-counter changes
    (the run's report rate: every 10 steps) and the page's messages to the server (``sent``:
    one per refresh it asks for). The step counter is read from the messages the page receives
    (``steps``, see ``listen``), not from its DOM: reading the DOM 5 times a second cost
    Chromium CPU that the page itself does not spend (bench/RESULTS.md)."""
    c0, b0, t0 = server.cpu(), cpu_seconds(os.getpid(), ("chrom", "headless"), tree=True), time.perf_counter()
    n0, k0 = len(sent or []), len(steps or [])
    pg.wait_for_timeout(seconds * 1000)  # the listeners run meanwhile
    wall = time.perf_counter() - t0
    seen = (steps or [])[k0:]
    changes = sum(a != b for a, b in zip(seen, seen[1:]))
    return {"server": (server.cpu() - c0) / wall, "browser":
            (cpu_seconds(os.getpid(), ("chrom", "headless"), tree=True) - b0) / wall,
            "changes_per_s": changes / wall, "asks_per_s": (len(sent or []) - n0) / wall}


def listen(pg) -> tuple[list, list]:
    """Lists that fill as the page talks to the server: one entry per message it sends (a
    refresh asked for), and the step number of each step counter it receives."""
    sent, steps = [], []

    def received(payload) -> None:
        raw = payload if isinstance(payload, bytes) else payload.encode()
        for m in STEP_BYTES.finditer(raw):
            steps.append(int(m.group(1).replace(b",", b"")))
    pg.on("websocket", lambda ws: (ws.on("framesent", lambda _: sent.append(1)),
                                   ws.on("framereceived", received)))
    return sent, steps


def page_cost(root: Path, seconds: float, dataset: str) -> dict:
    server, (pw, b) = Server(root), browser()
    try:
        pg = open_page(b, server.url)
        sent, steps = listen(pg)
        pg.reload()  # the listener sees the page's websocket from its start
        pg.get_by_role("heading", name="Train a model").wait_for()
        first = start_run(pg, "live-bench", dataset, 50)
        pg.wait_for_timeout(3000)
        visible = window(pg, server, seconds, sent, steps)
        pg.evaluate(HIDE, True)
        pg.wait_for_timeout(1500)
        hidden = window(pg, server, seconds, sent, steps)
        return {"first": first, "visible": visible, "hidden": hidden}
    finally:
        b.close()
        pw.stop()
        server.close()


def bench_page(roots: dict, seconds: float, dataset: str) -> None:
    got = {name: page_cost(root, seconds, dataset) for name, root in roots.items()}
    ref = got.get("reference")
    for name, r in got.items():
        v, h = r["visible"], r["hidden"]
        print(f"  {name}: Start -> first step {r['first']:.2f} s; visible: server {v['server']:.3f}, "
              f"Chromium {v['browser']:.3f} CPU-s/s, refreshes asked {v['asks_per_s']:.2f}/s, step "
              f"counter changed {v['changes_per_s']:.2f}/s (the run's reports); hidden: server "
              f"{h['server']:.3f}, Chromium {h['browser']:.3f}, refreshes asked {h['asks_per_s']:.2f}/s",
              flush=True)
    me = got["this"]
    b, s = me["visible"]["browser"], me["visible"]["server"]
    report("Chromium CPU-s/s per live Train page", b, "s/s", "<= 0.10" + (", <= ref/5" if ref else ""),
           b <= 0.10 and (not ref or b <= ref["visible"]["browser"] / 5))
    report("server CPU-s/s per live Train page", s, "s/s", "<= 0.03" + (", <= ref/3" if ref else ""),
           s <= 0.03 and (not ref or s <= ref["visible"]["server"] / 3))
    report("refreshes the visible page asks for per second", me["visible"]["asks_per_s"], "/s",
           ">= 0.9 (1 per second)", me["visible"]["asks_per_s"] >= 0.9)
    report("refreshes a hidden tab asks for per second", me["hidden"]["asks_per_s"], "/s", "0",
           me["hidden"]["asks_per_s"] == 0)
    report("server CPU-s/s, Train page in a hidden tab", me["hidden"]["server"], "s/s", "~0", None)
    report("Start click -> first step shown (warm worker)", me["first"], "s", "<= 1.5 s", me["first"] <= 1.5)


def bench_sessions(root: Path, idle_n: int = 20, churn: int = 200) -> None:
    server, (pw, b) = Server(root), browser()
    try:
        pages = [open_page(b, server.url, "/")]  # the first session loads the app's imports
        time.sleep(3)
        r0 = server.rss()
        for _ in range(idle_n):
            pages.append(open_page(b, server.url, "/"))
        time.sleep(3)
        per = (server.rss() - r0) / idle_n
        report(f"server memory per idle session ({idle_n} Home pages)", per, "MB", "<= 50 MB", per <= 50)
        for p in pages[1:]:
            p.close()
        time.sleep(5)
        before = server.rss()
        for i in range(0, churn, 10):
            batch = [open_page(b, server.url, "/") for _ in range(min(10, churn - i))]
            for p in batch:
                p.close()
        time.sleep(10)  # the server lets closed sessions go
        after = server.rss()
        report(f"server memory after {churn} sessions opened and closed / before", after / before,
               "ratio", "<= 1.05", after / before <= 1.05)
    finally:
        b.close()
        pw.stop()
        server.close()


def bench_class(root: Path, levels: list[int], seconds: float) -> None:
    rows = []
    for n in levels:
        server, (pw, b) = Server(root, GENLAB_MAX_JOBS=str(n)), browser()
        try:
            pages = []
            for i in range(n):
                pg = open_page(b.new_context(viewport=VIEW), server.url)
                start_run(pg, f"student-{i}", "digits", 1000)
                pages.append(pg)
            pages[0].wait_for_timeout(2000)
            w = window(pages[0], server, seconds)
            rows.append((n, w["server"], server.rss(), w["browser"]))
            print(f"  {n:>2} live pages: server {w['server']:.3f} CPU-s/s, {server.rss():.0f} MB; "
                  f"Chromium (all pages) {w['browser']:.3f} CPU-s/s", flush=True)
        finally:
            b.close()
            pw.stop()
            server.close()
    if len(rows) > 1:
        (n0, c0, m0, _), (n1, c1, m1, _) = rows[0], rows[-1]
        cpu, mem = (c1 - c0) / (n1 - n0), (m1 - m0) / (n1 - n0)
        report("server CPU-s/s per live page (slope)", cpu, "s/s", "context", None)
        report("server memory per live page (slope)", mem, "MB", "context", None)
        per_gb = f"{1024 / mem:.0f}" if mem > 0.5 else "more than 2,000 (below what RSS can tell)"
        print("  sizing (the web server alone; each training worker needs its own core share and "
              f"memory on top):\n    live pages per server core: {1 / max(cpu, 1e-4):.0f}; "
              f"per GB of server memory: {per_gb}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="page,sessions,class")
    ap.add_argument("--ref", type=Path, help="a checkout of main to compare with in the same run")
    ap.add_argument("--seconds", type=float, default=15.0, help="length of each measuring window")
    ap.add_argument("--dataset", default="mnist", choices=["mnist", "digits"])
    ap.add_argument("--pages", default="1,4,8,16")
    ap.add_argument("--churn", type=int, default=200)
    args = ap.parse_args()
    which = args.only.split(",")
    print(f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    roots = {"this": ROOT, **({"reference": args.ref.resolve()} if args.ref else {})}
    if "page" in which:
        bench_page(roots, args.seconds, args.dataset)
    if "sessions" in which:
        for name, root in roots.items():
            print(f"  sessions, {name}:", flush=True)
            bench_sessions(root, churn=args.churn)
    if "class" in which:
        for name, root in roots.items():
            print(f"  classroom, {name}:", flush=True)
            bench_class(root, [int(n) for n in args.pages.split(",")], args.seconds)


if __name__ == "__main__":
    main()
