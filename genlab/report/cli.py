"""``python -m genlab report CKPT [CKPT ...] --out report.html [--format html|md|pdf]``."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

FORMATS = {"html": ".html", "md": ".zip", "pdf": ".pdf"}


def report_bytes(paths: list[str | os.PathLike], fmt: str = "html", *, tsne: bool = False,
                 progress=None) -> bytes:
    """The lab report for ``paths`` as the bytes of one file: ``html`` (self-contained page),
    ``md`` (a zip of report.md and figures/*.png) or ``pdf``."""
    from genlab.report.build import build_report
    from genlab.report.render import to_html, to_markdown_zip
    if fmt not in FORMATS:
        raise ValueError(f"The report format must be one of {', '.join(FORMATS)}, not {fmt!r}.")
    if fmt == "pdf":
        from genlab.report.pdf import require_browser
        require_browser()  # before minutes of work, not after
    report = build_report(paths, tsne=tsne, progress=progress)
    if fmt == "md":
        return to_markdown_zip(report)
    page = to_html(report)
    if fmt == "pdf":
        from genlab.report.pdf import html_to_pdf
        return html_to_pdf(page)
    return page.encode("utf-8")


def write_report(paths: list[str | os.PathLike], out: str | os.PathLike, fmt: str | None = None, *,
                 tsne: bool = False, progress=None) -> Path:
    """Write the report to ``out`` atomically; the format defaults to ``out``'s suffix
    (.html, .zip / .md, .pdf). Returns the path written."""
    from genlab.checkpoint import atomic_write
    target = Path(out).expanduser()
    if fmt is None:
        fmt = {".zip": "md", ".md": "md", ".pdf": "pdf"}.get(target.suffix.lower(), "html")
    if fmt == "md" and target.suffix.lower() == ".md":
        target = target.with_suffix(".zip")  # the Markdown travels with its figures
    atomic_write(target, report_bytes(paths, fmt, tsne=tsne, progress=progress))
    try:  # a report is for sharing: readable like any file the user writes
        umask = os.umask(0)
        os.umask(umask)
        target.chmod(0o666 & ~umask)
    except OSError:
        pass
    return target


def add_report_parser(subparsers) -> argparse.ArgumentParser:
    """The ``report`` subcommand, added to ``python -m genlab``'s subparsers."""
    r = subparsers.add_parser(
        "report", help="write a lab report (HTML, Markdown zip or PDF) from checkpoints",
        description="Write a lab report for one or more checkpoints: what was trained, training "
                    "curves, reconstructions and samples, latent plots, metrics with their "
                    "meaning, health alarms and the AE-vs-VAE (and GAN) table with measured numbers.")
    r.add_argument("checkpoints", nargs="+", metavar="CKPT", help="checkpoint files (.safetensors)")
    r.add_argument("--out", default=None,
                   help="file to write (default report.html, report.zip or report.pdf)")
    r.add_argument("--format", choices=list(FORMATS), default=None,
                   help="html: one self-contained file; md: Markdown + PNG figures in a zip; "
                        "pdf: printed by Chromium (default: from --out's suffix, else html)")
    r.add_argument("--tsne", action="store_true",
                   help="compute t-SNE plots that are not cached yet (seconds to a minute each)")
    return r


def cmd_report(args) -> int:
    fmt = args.format
    out = args.out or f"report{FORMATS[fmt or 'html']}"
    for p in args.checkpoints:
        if not Path(p).expanduser().is_file() and not Path(p + ".safetensors").expanduser().is_file():
            print(f"error: no checkpoint at {p}.", file=sys.stderr)
            return 2
    from genlab.report.pdf import PdfError
    try:
        path = write_report(args.checkpoints, out, fmt, tsne=args.tsne,
                            progress=lambda msg: print(msg, file=sys.stderr))
    except PdfError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0
