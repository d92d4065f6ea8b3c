"""bench/bench_classroom.py's verdict: the checks (PASS / MISSED), the per-student rows and the
markdown block for bench/RESULTS.md, from the figures the classroom run collected."""
from __future__ import annotations

import statistics
import time
from pathlib import Path

from genlab.store.checkpoint import read_meta

CHECKS: list[tuple[str, bool, str]] = []


def check(what: str, ok: bool, detail: str) -> None:
    CHECKS.append((what, ok, detail))


def summarize(room: dict, alone: dict, models: Path, left: list, named: list, n_pids: int) -> dict:
    names, seen, t_first = room["names"], room["seen"], room["t_first"]
    rows, fails = [], []
    print(f"\n{'student':<12}{'click ms':>9}{'queued':>8}{'queue txt':>10}{'start s':>9}{'done s':>8}"
          f"{'status':>8}{'images/s':>10}{'train s':>9}  others shown")
    for n in names:
        s, path = seen[n], models / f"{n}.safetensors"
        meta = read_meta(path) if path.exists() else {}
        row = {"name": n, "click_ms": (room["clicks"][n] - t_first) * 1000,
               "queued": "queued" in s["states"], "queue_text_samples": s["queue_text"],
               "queued_without_text": s["queued_without_text"], "position_none": s["position_none"],
               "start_s": s["started_at"] - t_first if s["started_at"] else None,
               "done_s": s["done_at"] - t_first if s["done_at"] else None,
               "status": meta.get("status", "missing"), "images_per_s": meta.get("images_per_s"),
               "seconds": meta.get("seconds"), "others": sorted(s["others"]),
               "own_shown": s.get("own_shown", False)}
        rows.append(row)
        if row["status"] != "done":
            fails.append(f"{n}: {row['status']}")
        fmt = lambda v, f: format(v, f) if v is not None else "-"  # noqa: E731
        print(f"{n:<12}{row['click_ms']:>9.0f}{'yes' if row['queued'] else 'no':>8}"
              f"{s['queue_text']:>10}{fmt(row['start_s'], '>9.1f')}{fmt(row['done_s'], '>8.1f')}"
              f"{row['status']:>8}{fmt(row['images_per_s'], '>10,.0f')}{fmt(row['seconds'], '>9.1f')}"
              f"  {', '.join(row['others']) or '-'}")
    cap, n = room["cap"], len(names)
    fails += [f"{m}: its Train page never became ready (left out)" for m in room["left_out"]]
    check("all Start clicks within 1 s", room["spread"] <= 1.0, f"spread {room['spread'] * 1000:.1f} ms")
    # A page may be caught once between its "queued" line and the info below it (a rerun draws
    # top to bottom): a page queued over several samples must have shown its position.
    queued = sum(r["queue_text_samples"] > 0 for r in rows)
    silent = [r["name"] for r in rows if r["queue_text_samples"] == 0 and r["queued_without_text"] >= 3]
    waits_ok = not silent and room["max_running"] <= cap and queued >= max(0, n - cap)
    check("1. every run finishes or waits its turn, none fails", not fails and waits_ok,
          f"{sum(r['status'] == 'done' for r in rows)}/{n + len(room['left_out'])} saved with status done{'; ' + ', '.join(fails) if fails else ''}; "
          f"{queued} waited with their queue position shown (at least {max(0, n - cap)} expected), "
          f"at most {room['max_running']} running at once (cap {cap})"
          + (f"; queued without the position shown: {', '.join(silent)}" if silent else "")
          + (f"; 'position None in the queue' shown (left the queue, worker not started yet): "
             f"{sum(r['position_none'] for r in rows)} samples" if any(r["position_none"] for r in rows) else ""))
    leaks = [f"{r['name']} saw {', '.join(r['others'])}" for r in rows if r["others"]]
    missing = [r["name"] for r in rows if not r["own_shown"]]
    check("2. each page shows only its own run", not leaks and not missing,
          "; ".join(leaks + [f"{m} does not show its own name" for m in missing]) or
          f"{n} pages: own name shown, no other student's")
    home = room["home"]
    if home:
        check("3. Home loads in <= 3 s while they train", max(home) <= 3.0,
              f"{len(home)} samples, max {max(home):.2f} s, median {statistics.median(home):.2f} s")
    else:
        check("3. Home loads in <= 3 s while they train", False, "no sample taken (runs ended first)")
    kinds = sorted(set(room["children_seen"].values()))
    check("4. no process of this run is left", not left and not named,
          f"server's children while they trained: {', '.join(kinds) or 'none'}; "
          f"{n_pids} pids recorded in the server's tree; left by pid: {left or 'none'}; "
          f"by ps name: {named or 'none'}")
    ips = [r["images_per_s"] for r in rows if r["images_per_s"]]
    images = sum(r["images_per_s"] * r["seconds"] for r in rows if r["images_per_s"] and r["seconds"])
    ends = [r["done_s"] for r in rows if r["done_s"]]
    total = images / max(ends) if ends else 0.0
    ref = alone["images_per_s"] or 1.0
    per_job = statistics.mean(ips) if ips else 0.0
    check("5. throughput against one job alone (context)", bool(ips),
          f"alone {ref:,.0f} images/s; per job mean {per_job:,.0f} (min {min(ips or [0]):,.0f}) = "
          f"{per_job / ref:.2f}x; total {total:,.0f} images/s over {max(ends or [0]):.1f} s "
          f"(first click -> last page done) = {total / ref:.2f}x")
    print()
    for what, ok, detail in CHECKS:
        print(f"{'PASS' if ok else 'MISSED':<7} {what}: {detail}")
    return {"rows": rows, "alone": alone, "click_spread_s": room["spread"], "cap": cap,
            "max_running": room["max_running"], "home_load_s": home,
            "per_job_images_per_s_mean": per_job, "total_images_per_s": total,
            "per_job_ratio": per_job / ref, "total_ratio": total / ref, "left_by_pid": left,
            "left_by_name": named,
            "checks": [{"check": c, "ok": ok, "detail": d} for c, ok, d in CHECKS]}


def markdown(figures: dict, argv: list[str]) -> str:
    """The run as a block for bench/RESULTS.md: the command, the machine, the checks, the rows."""
    load = lambda v: ", ".join(f"{x:.1f}" for x in v)  # noqa: E731
    out = [f"### A classroom on one server (issue 8 §5), {time.strftime('%Y-%m-%d')}", "",
           "```", "python bench/bench_classroom.py " + " ".join(argv), "```", "",
           f"{figures['cpu_count']} CPU cores; {figures['students']} students "
           f"({figures['dataset']}, VAE, {figures['epochs']} epoch(s)), training slots (cap) "
           f"{figures['cap']}; load average {load(figures['load_start'])} at the start, "
           f"{load(figures['load_end'])} at the end.", "",
           "| check | | result |", "|---|---|---|"]
    out += [f"| {c['check']} | {'met' if c['ok'] else '**missed**'} | {c['detail']} |"
            for c in figures["checks"]]
    out += ["", "| student | Start click (ms after first) | waited in queue | training began (s) "
            "| done (s) | status | images/s | training time (s) |", "|---|---:|---|---:|---:|---|---:|---:|"]
    f = lambda v, spec: format(v, spec) if v is not None else "—"  # noqa: E731
    a = figures["alone"]
    out.append(f"| alone (reference) | — | — | — | {a['wall_s']:.1f} | {a['status']} | "
               f"{a['images_per_s']:,.0f} | {a['seconds']:.1f} |")
    for r in figures["rows"]:
        out.append(f"| {r['name']} | {r['click_ms']:.0f} | {'yes' if r['queued'] else 'no'} | "
                   f"{f(r['start_s'], '.1f')} | {f(r['done_s'], '.1f')} | {r['status']} | "
                   f"{f(r['images_per_s'], ',.0f')} | {f(r['seconds'], '.1f')} |")
    if figures.get("stalls"):
        out += ["", "Train pages that stalled while the class was prepared: "
                + "; ".join(figures["stalls"]) + "."]
    return "\n".join(out) + "\n"
