"""Frames to a keyed ``st.components.v2`` element, in batches: each call sends only the frames
this session has not yet sent to that key, with a little JSON for the page's own state, as ONE
raw-bytes payload (it arrives in the component's JS as a Uint8Array). Generic: what a frame
holds is the caller's business (the playground packs its own, genlab.playground.pack).

A batch: b"GLFB", u32 batch id, u32 JSON length, the JSON (space-padded to 4 bytes), u32 frame
count, then per frame a u32 length and its bytes (zero-padded to 4); little-endian. The batch id
grows with every batch that carries frames; a batch of no new frames repeats the last id, so the
JS (which plays each id once) takes only its JSON."""
from __future__ import annotations

import json
import struct
from collections.abc import Callable, Sequence

import streamlit as st

MAGIC = b"GLFB"
KEEP = 64  # frames kept per key for a page that reruns before the component took them


def pack_batch(batch_id: int, frames: Sequence[bytes], extra: dict | None = None) -> bytes:
    head = json.dumps(extra or {}, separators=(",", ":")).encode()
    head += b" " * ((-len(head)) % 4)
    parts = [MAGIC, struct.pack("<II", batch_id, len(head)), head, struct.pack("<I", len(frames))]
    for f in frames:
        parts += [struct.pack("<I", len(f)), f, b"\0" * ((-len(f)) % 4)]
    return b"".join(parts)


class FrameBuffer:
    """The frames produced for one key in this session, by sequence number (seq > 0, rising)."""

    def __init__(self) -> None:
        self.frames: list[tuple[int, bytes]] = []
        self.sent = 0  # the last seq handed to the component
        self.batch = 0

    def add(self, seq: int, frame: bytes) -> None:
        self.frames.append((seq, frame))
        del self.frames[:-KEEP]

    def take(self) -> list[bytes]:
        """The frames not yet sent; marks them sent."""
        new = [f for s, f in self.frames if s > self.sent]
        if new:
            self.sent = self.frames[-1][0]
            self.batch += 1
        return new

    def reset(self) -> None:
        """A new run: its sequence numbers start again."""
        self.frames.clear()
        self.sent = 0


def buffer(key: str) -> FrameBuffer:
    """This session's buffer for component key ``key``."""
    return st.session_state.setdefault(f"_frames_{key}", FrameBuffer())


def send(component: Callable, key: str, extra: dict | None = None, **mount):
    """Mount ``component`` (a ``st.components.v2.component``) under ``key`` with the frames
    not yet sent and ``extra``; returns the component's result."""
    buf = buffer(key)
    new = buf.take()
    return component(key=key, data=pack_batch(buf.batch, new, extra), **mount)
