"""Under systemd, stderr lines carry their priority (`<3>` error, `<4>` warning) into the journal."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mailprov.cli.journal import to_journal

from .helpers import BASE_ENV, FIXTURES, SAMPLE


def mailprov(args: list[str], stderr_file: Path, journal: Path | None) -> tuple[int, list[str]]:
    """Run mailprov as a service would: stderr is a file, and JOURNAL_STREAM names ``journal`` (if given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILPROV_") and k != "JOURNAL_STREAM"}
    env.update(BASE_ENV)
    with stderr_file.open("wb") as err:
        if journal is not None:
            found = os.stat(journal)
            env["JOURNAL_STREAM"] = f"{found.st_dev}:{found.st_ino}"
        done = subprocess.run([sys.executable, "-m", "mailprov", *args], stdout=subprocess.DEVNULL, stderr=err,
                              env=env, check=False, timeout=60)
    return done.returncode, stderr_file.read_text().splitlines()


def test_errors_reach_the_journal_as_errors(tmp_path: Path) -> None:
    args = ["validate", "-c", str(FIXTURES / "bad" / "duplicate-domain.yaml")]
    plain_code, plain = mailprov(args, tmp_path / "plain", None)
    code, lines = mailprov(args, tmp_path / "journal", tmp_path / "journal")
    assert (plain_code, code) == (2, 2)
    assert plain and not any(line.startswith("<") for line in plain)
    assert lines == ["<3>" + line for line in plain]  # every line of every problem, each an error


def test_a_stream_that_is_not_the_journal_gets_no_prefix(tmp_path: Path) -> None:
    """JOURNAL_STREAM inherited from a service by a command whose stderr went elsewhere (a file, a pipe)."""
    other = tmp_path / "other"
    other.write_text("")
    code, lines = mailprov(["validate", "-c", str(FIXTURES / "bad" / "duplicate-domain.yaml")], tmp_path / "err",
                           other)
    assert code == 2 and lines and not any(line.startswith("<") for line in lines)


def test_warnings_reach_the_journal_as_warnings(tmp_path: Path) -> None:
    """A nightly run whose resolver is down exits 3, which the unit counts as a result: the warning is
    what tells a person, and the journal keeps it as one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:  # a port nothing answers on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, lines = mailprov(["dns", "check", "-c", str(SAMPLE), "probolinggokota.go.id", "--nameserver",
                            f"127.0.0.1:{port}", "--timeout", "0.3", "--format", "json"],
                           tmp_path / "journal", tmp_path / "journal")
    assert code == 3, lines
    assert [line for line in lines if "no nameserver answered" in line] == [
        line for line in lines if line.startswith("<4>warning: no nameserver answered (127.0.0.1:")]
    assert any("no nameserver answered" in line for line in lines)


@pytest.mark.parametrize("value", ["", "12", "a:b", "12:", ":34"])
def test_a_malformed_journal_stream_is_not_the_journal(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", value)
    assert not to_journal()
