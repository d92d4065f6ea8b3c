"""The lab report as bytes or a file, in the format asked for (HTML, Markdown + PNGs in a zip,
PDF): what ``python -m genlab report`` and the Compare page's download button write."""
from __future__ import annotations

import os
from pathlib import Path

FORMATS = {"html": ".html", "md": ".zip", "pdf": ".pdf"}  # the format -> its file's suffix


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
    from genlab.store.checkpoint import atomic_write
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
