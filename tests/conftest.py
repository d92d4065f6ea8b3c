"""Tests run offline on real data: nothing is fetched, user folders are not touched."""
import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ["GENLAB_OFFLINE"] = "1"
# The suite runs a Streamlit server, Chromium and CLI subprocesses beside in-process training on
# few cores: OpenMP threads that spin while waiting, and multi-threaded BLAS for tiny products,
# slow that mix down many times over (measured: a digits VAE 0.4 s -> 5.7 s). Set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
if "GENLAB_MODELS" not in os.environ:  # the user's own models are never touched by tests
    os.environ["GENLAB_MODELS"] = tempfile.mkdtemp(prefix="genlab-test-models-")
    atexit.register(shutil.rmtree, os.environ["GENLAB_MODELS"], True)
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def mnist():
    from genlab.data import load_dataset
    return load_dataset("mnist")


@pytest.fixture(scope="session")
def digits():
    from genlab.data import load_dataset
    return load_dataset("digits")
