"""PDF through Chromium's own print-to-PDF (``chromium --headless --print-to-pdf``): the PDF
shows exactly what the HTML report shows in a browser."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
KNOWN_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
               "/snap/bin/chromium",
               "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
               "/Applications/Chromium.app/Contents/MacOS/Chromium")
TIMEOUT_S = 180


class PdfError(RuntimeError):
    """No PDF could be made; the message says what to install or what went wrong."""


def find_browser() -> str | None:
    """``GENLAB_CHROMIUM``, else a Chromium or Chrome on PATH or in a usual place; None if none."""
    env = os.environ.get("GENLAB_CHROMIUM", "").strip()
    if env:
        return env if Path(env).is_file() else None
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return next((p for p in KNOWN_PATHS if Path(p).is_file()), None)


def require_browser() -> str:
    """The browser that prints PDFs; PdfError saying what to install when there is none."""
    browser = find_browser()
    if browser is None:
        raise PdfError("A PDF needs Chromium or Google Chrome, and neither was found: install one "
                       "(e.g. `sudo apt install chromium`) or set GENLAB_CHROMIUM to its path, or "
                       "write HTML and print it from your browser.")
    return browser


def html_to_pdf(html: str) -> bytes:
    """The PDF of an HTML page (A4, backgrounds printed, no header or footer)."""
    browser = require_browser()
    with tempfile.TemporaryDirectory(prefix="genlab-pdf-") as tmp:
        page, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-first-run", f"--user-data-dir={Path(tmp) / 'profile'}",
               f"--print-to-pdf={out}", page.as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise PdfError(f"{browser} did not finish printing the PDF within {TIMEOUT_S} s; "
                           "write HTML and print it from your browser instead.") from None
        except OSError as exc:
            raise PdfError(f"Could not start {browser} ({exc.strerror or exc}).") from exc
        if not out.is_file() or out.stat().st_size == 0:
            why = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
            raise PdfError(f"{browser} made no PDF (exit status {done.returncode}: {why[0]}).")
        return out.read_bytes()
