"""``live_image``: an image that the browser is sent only when its content changes (keyed by a
hash of its bytes), at its own pixel size; ``assets/live_image.js`` shows it at ``width`` CSS
pixels (or the column's width) with crisp pixels, and keeps it between refreshes."""
from __future__ import annotations

import hashlib

from genlab.images import png_url
from pages._ui.live.base import component, resync, sent


def live_image(key: str, png: bytes | None, *, caption: str = "", width: int | None = None) -> None:
    """Show the PNG ``png`` (None: nothing yet) under ``key``; its bytes travel only when they
    differ from what this session was last sent for ``key``."""
    mem = sent(key)
    digest = hashlib.blake2b(png, digest_size=12).hexdigest() if png else None
    src = None
    if digest is not None and mem.get("id") != digest:
        src = png_url(png)
        mem["id"] = digest
    data = {"id": digest, "src": src, "caption": caption, "width": width}
    component("live_image")(key=key, data=data, on_resync_change=resync(key))
