"""Joining a Ray cluster and what each GenLab job asks it for (see ``genlab.jobs.ray.backend``).

Settings (environment):
    GENLAB_RAY_CPUS     CPUs each job asks for (default 1)
    GENLAB_RAY_GPUS     GPUs each job asks for, fractions allowed: 0.25 lets four jobs share
                        one GPU (default 0: CPU only)
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path

# a Ray call made without a connection must fail, never start a private local cluster
os.environ.setdefault("RAY_ENABLE_AUTO_CONNECT", "0")
try:
    import ray
    import ray.exceptions as rex  # noqa: F401 (for genlab.jobs.ray.backend: ray is imported here first)
except ImportError:  # said where GENLAB_RAY_ADDRESS or --ray asked for Ray
    raise ImportError("Training on Ray needs the ray package: pip install -r requirements-ray.txt") from None

import genlab
from genlab.jobs.threads import quiet_openmp


class RayBackendError(RuntimeError):
    """Ray cannot run the job (cluster unreachable, not enough resources); said for people."""


def _env_float(name: str, default: float, lo: float, hi: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise RayBackendError(f"{name} must be a number, not {text!r}.") from None
    if not lo <= value <= hi:
        raise RayBackendError(f"{name} must be between {lo:g} and {hi:g}, not {text}.")
    return value


def job_resources() -> tuple[float, float]:
    """(CPUs, GPUs) each job asks Ray for: ``GENLAB_RAY_CPUS`` (1), ``GENLAB_RAY_GPUS`` (0)."""
    return _env_float("GENLAB_RAY_CPUS", 1.0, 0.01, 1024), _env_float("GENLAB_RAY_GPUS", 0.0, 0, 64)


def _answers(address: str, timeout: float = 5.0) -> None:
    """Raise a plain error unless something accepts connections at ``host:port``."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise RayBackendError(f"A Ray address looks like host:port (e.g. 10.0.0.5:6379), not {address!r}.")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise RayBackendError(f"Nothing answers at {address} ({exc.strerror or exc}). Start the Ray "
                              f"head there (ray start --head --port={port}) or fix the address.") from None


_CONNECT_LOCK = threading.Lock()
_CONNECTED: str | None = None


def connect(address: str) -> None:
    """Join the Ray cluster at ``address`` as a driver (once per process)."""
    global _CONNECTED
    with _CONNECT_LOCK:
        if ray.is_initialized():
            if _CONNECTED not in (None, address):
                raise RayBackendError(f"This process already uses the Ray cluster at {_CONNECTED}, "
                                      f"not {address}.")
            return
        _answers(address)  # ray.init would retry an address where nothing listens for minutes
        try:
            ray.init(address=address, namespace="genlab", log_to_driver=False,
                     logging_level=logging.ERROR, runtime_env=runtime_env())
        except Exception as exc:  # ConnectionError, ValueError, RuntimeError... all said plainly
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise RayBackendError(
                f"Cannot join the Ray cluster at {address} ({first[:200]}). Check that its head "
                f"runs and that this machine is one of its nodes: ray status --address {address}"
            ) from None
        _CONNECTED = address


def capacity(cpus: float, gpus: float) -> int:
    """How many jobs of (``cpus``, ``gpus``) the whole cluster fits at once."""
    total = ray.cluster_resources()
    n = int(total.get("CPU", 0) // cpus) if cpus else 1 << 20
    if gpus:
        n = min(n, int(total.get("GPU", 0) // gpus))
    return n


def _check_fits(address: str, cpus: float, gpus: float) -> None:
    if capacity(cpus, gpus) < 1:
        total = ray.cluster_resources()
        raise RayBackendError(
            f"The Ray cluster at {address} has {total.get('CPU', 0):g} CPUs and "
            f"{total.get('GPU', 0):g} GPUs; a job asks for {cpus:g} CPU and {gpus:g} GPU. Add a "
            f"worker (ray start --address={address} --num-gpus=1) or lower GENLAB_RAY_GPUS / "
            "GENLAB_RAY_CPUS.")


def runtime_env() -> dict:
    """What every actor of this process gets: this genlab package (so workers run the same code) and the
    settings that change how data loads (GENLAB_OFFLINE)."""
    env = {k: os.environ[k] for k in ("GENLAB_OFFLINE",) if k in os.environ}
    quiet_openmp(env)
    return {"py_modules": [str(Path(genlab.__file__).parent)], "excludes": ["__pycache__"],
            "env_vars": env}
