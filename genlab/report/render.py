"""Write a built report: one self-contained HTML file (figures inline as PNG data URLs, no
external URL of any kind), or Markdown with its PNG figures in a zip. Both come from the same
blocks, so they say the same thing."""
from __future__ import annotations

import html
import io
import re
import zipfile

from genlab.images import png_url
from genlab.report.build import Block, Report

CSS = """
body { font-family: "Open Sans", "Helvetica Neue", Arial, sans-serif; color: #2a3f5f;
       max-width: 1100px; margin: 2em auto; padding: 0 1.5em; line-height: 1.45; }
h1 { font-size: 1.9em; margin-bottom: 0.2em; }
h2 { font-size: 1.45em; margin-top: 2em; border-bottom: 2px solid #636efa; padding-bottom: 0.2em; }
h3 { font-size: 1.12em; margin-top: 1.4em; }
p.note { color: #5a6b85; font-size: 0.88em; margin-top: 0.2em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #d5dce8; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #e5ecf6; }
table.facts th { width: 11em; }
.figures { display: flex; flex-wrap: wrap; gap: 1.2em; align-items: flex-start; }
figure { margin: 0.4em 0; max-width: 100%; break-inside: avoid; }
figure img { max-width: 100%; height: auto; image-rendering: pixelated; display: block; }
figcaption { font-size: 0.85em; color: #5a6b85; max-width: 520px; margin-top: 0.3em; }
code { background: #f1f4f9; padding: 0 0.25em; border-radius: 3px; }
@media print { body { margin: 0; max-width: none; } h2 { break-before: page; } }
"""


def _inline(text: str) -> str:
    """Escaped text with `code` spans."""
    parts = re.split(r"`([^`]*)`", text)
    return "".join(f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p)
                   for i, p in enumerate(parts))


def _html_block(b: Block) -> str:
    if b.kind in ("h1", "h2", "h3"):
        return f"<{b.kind}>{_inline(b.text)}</{b.kind}>"
    if b.kind in ("p", "note"):
        return f'<p class="{b.kind}">{_inline(b.text)}</p>'
    if b.kind == "list":
        return "<ul>" + "".join(f"<li>{_inline(r)}</li>" for r in b.rows) + "</ul>"
    if b.kind == "facts":
        return ('<table class="facts">' + "".join(
            f"<tr><th>{_inline(k)}</th><td>{_inline(v)}</td></tr>" for k, v in b.rows) + "</table>")
    if b.kind == "table":
        head, *rows = b.rows
        return ("<table><thead><tr>" + "".join(f"<th>{_inline(h)}</th>" for h in head) + "</tr></thead><tbody>"
                + "".join("<tr>" + "".join(f"<td>{_inline(str(c))}</td>" for c in r) + "</tr>" for r in rows)
                + "</tbody></table>")
    if b.kind == "figures":
        return '<div class="figures">' + "".join(
            f'<figure><img src="{png_url(f.png)}" alt="{html.escape(f.caption)}" data-name="{f.name}">'
            f"<figcaption>{_inline(f.caption)}</figcaption></figure>" for f in b.figures) + "</div>"
    raise ValueError(f"unknown report block {b.kind!r}")


def to_html(report: Report) -> str:
    """One self-contained HTML page."""
    body = "\n".join(_html_block(b) for b in report.blocks)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(report.title)}</title><style>{CSS}</style></head>\n"
            f"<body>\n{body}\n</body></html>\n")


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_block(b: Block, folder: str) -> str:
    if b.kind in ("h1", "h2", "h3"):
        return "#" * int(b.kind[1]) + " " + b.text
    if b.kind == "p":
        return b.text
    if b.kind == "note":
        return f"*{b.text}*"
    if b.kind == "list":
        return "\n".join(f"- {r}" for r in b.rows)
    if b.kind in ("facts", "table"):
        rows = [("", "")] + list(b.rows) if b.kind == "facts" else list(b.rows)
        head, *rest = rows
        lines = ["| " + " | ".join(_md_cell(h) for h in head) + " |",
                 "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rest]
        return "\n".join(lines)
    if b.kind == "figures":
        return "\n\n".join(f"![{_md_cell(f.caption)}]({folder}/{f.name}.png)\n\n*{f.caption}*"
                           for f in b.figures)
    raise ValueError(f"unknown report block {b.kind!r}")


def to_markdown(report: Report, folder: str = "figures") -> str:
    """Markdown whose figures are ``folder/NAME.png`` files (see ``to_markdown_zip``)."""
    return "\n\n".join(_md_block(b, folder) for b in report.blocks) + "\n"


def to_markdown_zip(report: Report) -> bytes:
    """A zip with ``report.md`` and its figures under ``figures/``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("report.md", to_markdown(report))
        for f in report.figures():
            z.writestr(f"figures/{f.name}.png", f.png)
    return buf.getvalue()
