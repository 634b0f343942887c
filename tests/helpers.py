"""Helpers shared by the tests: running the CLI the way an operator does."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from typer.testing import CliRunner, Result

from mailprov.cli import app

if TYPE_CHECKING:
    from mailprov.checks.result import CheckReport

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE = REPO / "domains.yaml"

#: a fixed terminal so rich tables render the same everywhere
BASE_ENV = {"COLUMNS": "160", "NO_COLOR": "1", "TERM": "dumb"}


@contextmanager
def ctrl_c_reaches_children() -> Iterator[None]:
    """Around the start of a child a test stops with SIGINT (Ctrl-C).

    A shell without job control starts background commands (a suite run with
    ``&``) with SIGINT ignored; children inherit that, Python keeps it, and the
    child ran to its end. A handler, unlike ignoring, is not inherited: the
    child starts with the default and Python turns it into KeyboardInterrupt.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """The environment for a CLI run: no MAILPROV_* from the developer's shell."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("MAILPROV_")}
    env.update(BASE_ENV)
    env.update(extra or {})
    return env


def run(args: Sequence[str | Path], env: Mapping[str, str] | None = None, input: str | None = None) -> Result:
    runner = CliRunner()
    return runner.invoke(app, [str(a) for a in args], env=clean_env(env), input=input, catch_exceptions=False)


def report_quoting(published: str, agency: str = "a",
                   at: dt.datetime = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)) -> CheckReport:
    """A check report of one domain, a.go.id, whose DMARC record ``published`` (anyone's to write) fails
    and is quoted in the reason and the records, as the renderers of untrusted text are tested with."""
    from mailprov.checks.messages import Reason
    from mailprov.checks.result import CheckReport, CheckResult, DomainResult

    check = CheckResult("dmarc", "fail", [Reason("dmarc.invalid", {"name": "_dmarc.a.go.id", "detail": published})],
                        [published])
    return CheckReport(at, "test", [DomainResult("a.go.id", agency, [check])])


def on_a_terminal(args: list[str], env: dict[str, str], answers: Mapping[str, str | signal.Signals],
                  timeout: float = 60) -> tuple[int, str]:
    """Run mailprov on a pseudo-terminal, typing an answer whenever a prompt appears (a signal is sent, as the
    terminal sends SIGINT for Ctrl-C: the child is not in the terminal's foreground process group)."""
    import pty
    import select

    master, slave = pty.openpty()
    with ctrl_c_reaches_children():  # an answer may be Ctrl-C, and a suite run in the background ignores SIGINT
        proc = subprocess.Popen([sys.executable, "-m", "mailprov", *args], stdin=slave, stdout=slave, stderr=slave,
                                env={**os.environ, **env, "COLUMNS": "160"}, cwd=REPO, close_fds=True)
    os.close(slave)
    seen = ""
    pending = dict(answers)
    deadline = time.monotonic() + timeout
    #: the signal last sent and when, sent again every 2 s until the child ends: a SIGINT that lands after the
    #: prompt is written but before input() blocks in read() is taken only at the next signal (Python's handler
    #: sets a flag that read() does not see; seen once in 25 runs on a loaded machine). A person presses Ctrl-C
    #: again.
    signalled: tuple[signal.Signals, float] | None = None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096).decode(errors="replace")
            except OSError:  # the child closed the terminal
                break
            seen += chunk
            for prompt in list(pending):
                if prompt in seen:
                    answer = pending.pop(prompt)
                    if isinstance(answer, signal.Signals):
                        proc.send_signal(answer)
                        signalled = answer, time.monotonic()
                    else:
                        os.write(master, (answer + "\n").encode())
        elif proc.poll() is not None:
            break
        elif signalled is not None and time.monotonic() - signalled[1] > 2:
            proc.send_signal(signalled[0])
            signalled = signalled[0], time.monotonic()
    proc.wait(timeout=10)
    os.close(master)
    return proc.returncode, seen


#: what a listener that is not the server asked for answers: an HTTP proxy's error page (what an egress proxy sent
#: back on the machine these tests were written on), a TLS stack's alert record
NOT_THE_PROTOCOL = {
    "http": b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n"
            b"date: Sun, 29 Nov 2026 18:39:30 GMT\r\n\r\n",
    "tls-alert": bytes.fromhex("15030300020232"),
}


@contextmanager
def answering(answer: bytes | Callable[[bytes], bytes], first: bool = False) -> Iterator[int]:
    """A loopback port whose listener sends ``answer`` to each connection (``first``: as soon as it connects,
    as a server greets; else after the client's first bytes), then hangs up. A callable ``answer`` holds a
    conversation instead: what it makes of each request is sent, until it makes nothing."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with suppress(OSError):
            while True:
                peer, _ = listener.accept()
                with peer:
                    if not callable(answer):
                        if not first:
                            peer.recv(4096)
                        peer.sendall(answer)
                        continue
                    while (asked := peer.recv(4096)) and (reply := answer(asked)):
                        peer.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    with listener:
        yield listener.getsockname()[1]
