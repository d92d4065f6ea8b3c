"""``python -m genlab report CKPT [CKPT ...] --out report.html [--format html|md|pdf]``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genlab.report.output import FORMATS, write_report


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
