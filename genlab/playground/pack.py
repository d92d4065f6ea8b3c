"""One frame as bytes, for the browser: a little-endian u32 header length, the header (UTF-8
JSON: the frame's metadata and, per array, its name, dtype "f4" or "u1", shape and byte offset),
padding to a multiple of 4, then each array's bytes, each padded to a multiple of 4. The page's
canvas (pages/_ui/playground_canvas.js) reads it back with typed arrays."""
from __future__ import annotations

import json
import struct

import numpy as np

DTYPES = {np.dtype("float32"): "f4", np.dtype("uint8"): "u1"}


def _pad(n: int) -> int:
    return (-n) % 4


def pack(meta: dict, arrays: dict[str, np.ndarray]) -> bytes:
    specs, blobs, off = [], [], 0
    for name, a in arrays.items():
        a = np.ascontiguousarray(a)
        if a.dtype not in DTYPES:
            raise TypeError(f"A frame holds float32 or uint8 arrays, not {a.dtype} ({name}).")
        b = a.tobytes()
        specs.append({"name": name, "dtype": DTYPES[a.dtype], "shape": list(a.shape), "offset": off})
        blobs.append(b + b"\0" * _pad(len(b)))
        off += len(blobs[-1])
    head = json.dumps({"meta": meta, "arrays": specs}, separators=(",", ":")).encode()
    head += b" " * _pad(len(head))
    return struct.pack("<I", len(head)) + head + b"".join(blobs)


def unpack(buf: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """The inverse of ``pack`` (tests, and any Python reader)."""
    (n,) = struct.unpack_from("<I", buf)
    head = json.loads(buf[4:4 + n])
    base, out = 4 + n, {}
    for s in head["arrays"]:
        dt = np.float32 if s["dtype"] == "f4" else np.uint8
        count = int(np.prod(s["shape"])) if s["shape"] else 1
        out[s["name"]] = np.frombuffer(buf, dt, count, base + s["offset"]).reshape(s["shape"])
    return head["meta"], out
