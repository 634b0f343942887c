"""Ports and processes of the lab servers."""

from __future__ import annotations

import signal
import socket
import subprocess


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def die_with_parent() -> None:
    """In the child before exec: the kernel sends it SIGTERM when the process that started it dies.

    A test run or benchmark killed outright (a CI timeout, kill -9) runs no
    clean-up, and its slapd and knotd would live on holding their ports.
    Linux only (prctl PR_SET_PDEATHSIG); elsewhere the servers are stopped
    by the normal clean-up alone.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def terminate(process: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if the server has not gone after ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
