"""Sharing a lesson with a class: a short link that the students' own laptops can open (the
server's network address, never ``localhost``; only the lesson, its variant and the settings that
differ from it) and its QR code for a projector. Nothing here knows about Streamlit."""
from __future__ import annotations

import io
import ipaddress
import os
import socket
import struct
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

import segno

try:
    import fcntl
except ImportError:  # Windows: no interface query; GENLAB_PUBLIC_HOST names the host there
    fcntl = None

from genlab.classroom.lessons import Lesson, lesson_settings

SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address, read without any connection


def _interface_addresses() -> list[str]:
    out = []
    if fcntl is None:
        return out
    try:
        names = [n for _, n in socket.if_nameindex()]
    except OSError:
        return out
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for name in names:
            try:
                raw = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", name[:15].encode()))
            except OSError:  # no IPv4 address on this interface
                continue
            out.append(socket.inet_ntoa(raw[20:24]))
    return out


def network_host() -> str | None:
    """This machine's address on its network (what Streamlit prints as its Network URL): the
    first private IPv4 address of an interface, else the first non-loopback one; None if the
    machine has none. ``GENLAB_PUBLIC_HOST`` overrides it (a server behind a proxy or a name)."""
    if os.environ.get("GENLAB_PUBLIC_HOST", "").strip():
        return os.environ["GENLAB_PUBLIC_HOST"].strip()
    ips = [ipaddress.ip_address(a) for a in _interface_addresses()]
    ips = [ip for ip in ips if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified)]
    best = [ip for ip in ips if ip.is_private] or ips
    return str(best[0]) if best else None


def is_local(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in ("localhost", "localhost.localdomain", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def short_query(lesson: Lesson, variant: str | None, on_screen: Mapping[str, str]) -> dict[str, str]:
    """``?lesson=NAME`` (and ``variant``) plus only the settings on screen that differ from the
    lesson's (or variant's): the short form that the Train page expands. Never the projector."""
    base = lesson_settings(lesson, variant)
    out = {"lesson": lesson.name, **({"variant": variant} if variant else {})}
    out.update({k: str(v) for k, v in on_screen.items() if k in base and str(v) != base[k]})
    return out


def share_url(page_url: str, query: Mapping[str, str], host: str | None = None) -> str | None:
    """The link students open: ``page_url`` (the address the teacher's browser shows) with
    its host replaced by the network address when it is a loopback one, and ``query``; None if
    the page was opened on this machine only and it has no network address."""
    parts = urlsplit(page_url)
    name = parts.hostname or ""
    if is_local(name):
        name = host if host is not None else network_host()
        if not name:
            return None
    netloc = name + (f":{parts.port}" if parts.port else "")
    return f"{parts.scheme or 'http'}://{netloc}{parts.path}?{urlencode(query)}"


def qr_png(text: str, scale: int = 10) -> bytes:
    """A QR code of ``text`` as PNG bytes (black on white, a quiet zone of 4 modules)."""
    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()
