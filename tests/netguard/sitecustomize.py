"""Loaded by every Python subprocess a test starts (this folder is on PYTHONPATH): the network
guard of guard.py, recording into $GENLAB_NETGUARD_LOG."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import guard
finally:
    sys.path.pop(0)


def _record(what: str) -> None:
    with open(os.environ.get("GENLAB_NETGUARD_LOG") or os.devnull, "a", encoding="utf-8") as f:
        f.write(f"{' '.join(sys.argv)[:200]}: {what}\n")


guard.install(_record)
