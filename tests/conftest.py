"""Tests run offline on real data: nothing is fetched, user folders are not touched.

Every test fails if it (or a Python subprocess it started) opens a network connection to another
machine; loopback stays allowed (the browser tests talk to a local server). The data cache and
the model folder are temporary folders for the session."""
import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from genlab.jobs.threads import quiet_openmp  # noqa: E402 (no torch: it must run before torch loads)

NETGUARD = Path(__file__).resolve().parent / "netguard"
os.environ["GENLAB_OFFLINE"] = "1"
# The suite runs a Streamlit server, Chromium and CLI subprocesses beside in-process training on
# few cores: OpenMP threads that spin while waiting, and multi-threaded BLAS for tiny products,
# slow that mix down many times over (measured: a digits VAE 0.4 s -> 5.7 s). Set before torch loads.
quiet_openmp()
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
_TMP = tempfile.mkdtemp(prefix="genlab-test-")
atexit.register(shutil.rmtree, _TMP, True)
if "GENLAB_MODELS" not in os.environ:  # the user's own models are never touched by tests
    os.environ["GENLAB_MODELS"] = os.path.join(_TMP, "models")
# Decoded data sets and t-SNE results: not the user's ~/.cache/genlab (whose own torchvision MNIST
# would change what "mnist" means in a test), and never shared between test sessions.
os.environ["GENLAB_CACHE"] = os.path.join(_TMP, "cache")
os.environ["GENLAB_NETGUARD_LOG"] = os.path.join(_TMP, "network.log")
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(NETGUARD)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
for p in (ROOT, ROOT / "bench", NETGUARD):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import guard  # noqa: E402
import pytest  # noqa: E402

_attempts: list[str] = []
guard.install(lambda what: _attempts.append(f"this process: {what}"))


@pytest.fixture(autouse=True)
def offline():
    """Fails the test if it, or a subprocess it started, tried to reach another machine."""
    log = Path(os.environ["GENLAB_NETGUARD_LOG"])
    yield
    tried = _attempts[:] + (log.read_text(encoding="utf-8").splitlines() if log.exists() else [])
    _attempts.clear()
    log.unlink(missing_ok=True)
    if tried:
        pytest.fail("The test reached for the network (tests run offline): " + "; ".join(tried[:5]))


@pytest.fixture(scope="session")
def mnist():
    from genlab.data import load_dataset
    return load_dataset("mnist")


@pytest.fixture(scope="session")
def digits():
    from genlab.data import load_dataset
    return load_dataset("digits")
