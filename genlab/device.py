"""Device choice: CUDA > MPS > CPU, overridable."""
from __future__ import annotations

import os

import torch


def select_device(name: str | None = "auto") -> torch.device:
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("CUDA was asked for, but no CUDA GPU is available here; use --device cpu.")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("Apple MPS was asked for, but it is not available here; use --device cpu.")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise ValueError(f"Unknown device {name!r}: use auto, cpu, cuda or mps.") from exc


def describe_device(device: torch.device | str | None = None) -> str:
    """Human-readable name: 'NVIDIA H100 80GB HBM3 (cuda)', 'Apple GPU (mps)', 'CPU (2 threads)'."""
    dev = select_device(str(device) if device is not None else "auto")
    if dev.type == "cuda":
        return f"{torch.cuda.get_device_name(dev)} (cuda)"
    if dev.type == "mps":
        return "Apple GPU (mps)"
    wait = os.environ.get("OMP_WAIT_POLICY")  # the worker's OpenMP policy (genlab.jobs.threads)
    return f"CPU ({torch.get_num_threads()} threads{f', OMP_WAIT_POLICY={wait}' if wait else ''})"
