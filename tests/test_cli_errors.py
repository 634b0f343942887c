"""What the command line does when mailprov itself is wrong: one line and exit 1, the traceback only with
``--debug``, and never a password in either; and ``--version``."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import NoReturn

import pytest

from .configs import write_config
from .helpers import run


def test_version_is_the_installed_distribution_s() -> None:
    """``__version__`` and pyproject.toml both say it: the installed metadata is what pip shows."""
    r = run(["--version"])
    assert (r.exit_code, r.stdout) == (0, f"mailprov {version('mailprov')}\n"), r.output


@pytest.fixture
def a_bug(monkeypatch: pytest.MonkeyPatch, ldap_env: dict[str, str], tmp_path: Path) -> tuple[list[str],
                                                                                                dict[str, str]]:
    """``plan`` failing with an exception mailprov does not expect while it binds: the frames of the
    traceback hold the bind password in local variables (a traceback showing them would print it)."""
    import ldap3

    def bind(*args: object, **kwargs: object) -> NoReturn:
        raise RuntimeError("the bind broke")

    monkeypatch.setattr(ldap3.Connection, "bind", bind)
    return ["plan", "-c", str(write_config(tmp_path))], ldap_env


def test_a_bug_is_one_line_and_exit_1(a_bug: tuple[list[str], dict[str, str]]) -> None:
    args, env = a_bug
    r = run(args, env=env)
    assert (r.exit_code, r.stderr) == (
        1, "error: internal error RuntimeError: the bind broke (run with --debug for a traceback)\n"), r.output
    assert r.stdout == ""


def test_a_bug_under_debug_shows_the_traceback_without_the_bind_password(
        a_bug: tuple[list[str], dict[str, str]]) -> None:
    args, env = a_bug
    r = run(["--debug", *args], env=env)
    assert r.exit_code == 1, r.output
    assert r.stderr.startswith("Traceback (most recent call last):\n"), r.stderr
    assert r.stderr.endswith("RuntimeError: the bind broke\n"), r.stderr
    assert "mailprov/directory.py" in r.stderr  # where it happened
    assert env["MAILPROV_BIND_PASSWORD"] not in r.output
