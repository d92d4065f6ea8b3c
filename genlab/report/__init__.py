"""The lab report: ``build_report`` turns checkpoints into blocks (what was trained, curves,
images, latent plots, metrics with their meaning, alarms, the AE-vs-VAE table); ``render``
writes them as one self-contained HTML file or Markdown + PNGs in a zip; ``pdf`` prints the
HTML with Chromium. ``output`` writes it in the format asked for; ``python -m genlab report`` is
``genlab.cli.report``.

Names load on first use, so ``genlab.cli.report`` (the argument parser) imports no torch."""
from importlib import import_module

_HOMES = {"Block": "build", "Figure": "build", "Report": "build", "build_report": "build",
          "measure_row": "build", "report_bytes": "output", "write_report": "output", "PdfError": "pdf", "find_browser": "pdf",
          "html_to_pdf": "pdf", "to_html": "render", "to_markdown": "render", "to_markdown_zip": "render"}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(f"genlab.report.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'genlab.report' has no attribute {name!r}")
