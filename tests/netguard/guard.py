"""Offline means offline: a connection to anything but this machine is refused and recorded.

``install(record)`` patches ``socket.socket.connect`` / ``connect_ex`` in this process. Tests
install it from conftest.py; their subprocesses (CLI runs, the Streamlit server) get it through
``sitecustomize.py`` in this folder, which conftest puts on ``PYTHONPATH``, and append what they
tried to the file named by ``GENLAB_NETGUARD_LOG``, which conftest reads after every test."""
from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Callable

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host) -> bool:
    host = str(host).strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # any other host name would be looked up and contacted


def install(record: Callable[[str], None]) -> None:
    if getattr(socket.socket.connect, "_genlab_guard", False):
        return
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(sock: socket.socket, address) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
            what = f"a network connection to {address[0]}:{address[1]}"
            record(what)
            raise OSError(errno.ENETUNREACH, f"{what} was refused: tests run offline")

    def connect(self, address):
        check(self, address)
        return real_connect(self, address)

    def connect_ex(self, address):
        check(self, address)
        return real_connect_ex(self, address)

    connect._genlab_guard = True
    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
