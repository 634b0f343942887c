"""What ``--help`` shows an operator: every option with a word for its value, as DESIGN.md writes them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .helpers import run

COMMANDS = [["validate"], ["plan"], ["apply"], ["mailbox", "list"], ["mailbox", "show"], ["mailbox", "add"],
            ["mailbox", "disable"], ["mailbox", "enable"], ["mailbox", "reset-password"], ["mailbox", "set-quota"],
            ["directory", "export"], ["dns", "check"], ["dns", "records"], ["letters", "render"]]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_option_names_its_value(command: list[str]) -> None:
    r = run([*command, "--help"])
    assert r.exit_code == 0, r.output
    # Typer's own placeholders (<str>, <list[str]>, <path>) say nothing to an operator
    options = [line for line in r.stdout.splitlines() if line.lstrip().startswith("-")]
    assert options and not [line for line in options if re.search(r"^\s*-[^ ]*( -[^ ]*)* <", line)], r.stdout


def test_dns_check_help_reads_as_design_md_writes_it() -> None:
    out = run(["dns", "check", "--help"]).stdout
    for shown in ("--nameserver IP[:PORT]", "--timeout SECONDS", "--concurrency N", "--format FORMAT",
                  "--agency ID", "-c, --config FILE"):
        assert shown in out, shown


def test_the_top_level_help_lists_every_command_in_order() -> None:
    """The command groups are built only when named; the help still lists them all, with their help."""
    r = run(["--help"])
    assert r.exit_code == 0, r.output
    listed = [line.split()[0] for line in r.stdout.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == ["validate", "plan", "apply", "directory", "mailbox", "dns", "letters"]
    assert "Check that agencies' DNS points their mail at the platform." in r.stdout


@pytest.mark.parametrize(("typed", "typo", "meant"), [(["dnss", "check"], "dnss", "dns"), (["plna"], "plna", "plan"),
                                                      (["mailbox", "lst"], "lst", "list")])
def test_a_mistyped_command_is_refused_with_the_command_meant(typed: list[str], typo: str, meant: str) -> None:
    """Typer suggests the command meant (from 0.20; the oldest Typer allowed only refuses): the groups not
    built yet are among those it looks at."""
    import inspect

    from typer.core import TyperGroup

    r = run(typed)
    assert r.exit_code == 2, r.output
    assert f"No such command '{typo}'" in r.output
    if "suggest_commands" in inspect.signature(TyperGroup.__init__).parameters:
        assert f"Did you mean '{meant}'?" in r.output


ARGUMENTS = {"mailbox show": ["a@a.go.id"], "mailbox add": ["a@a.go.id"], "mailbox disable": ["a@a.go.id"],
             "mailbox enable": ["a@a.go.id"], "mailbox reset-password": ["a@a.go.id"],
             "mailbox set-quota": ["a@a.go.id", "100"], "dns records": ["a.go.id"]}
PATH_OPTIONS = [(command, option) for command in COMMANDS
                for option in re.findall(r"(--[a-z-]+) (?:FILE|DIR|DB)\b", run([*command, "--help"]).stdout)]


def test_every_command_has_its_path_options_found() -> None:
    """The list below is read from --help: it must find the options that write files and folders."""
    found = {(" ".join(c), o) for c, o in PATH_OPTIONS}
    for expected in [("apply", "--letters"), ("mailbox reset-password", "--letters"), ("dns check", "--report"),
                     ("dns check", "--history"), ("directory export", "--output"), ("letters render", "--out"),
                     ("validate", "--config")]:
        assert expected in found, sorted(found)


@pytest.mark.parametrize(("command", "option"), PATH_OPTIONS, ids=[f"{' '.join(c)} {o}" for c, o in PATH_OPTIONS])
def test_an_empty_path_is_refused_not_read_as_the_current_folder(command: list[str], option: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """``--letters "$DIR"`` with DIR unset: Path("") is the current folder, where password letters (and a lock
    file) would otherwise have landed."""
    monkeypatch.chdir(tmp_path)
    yes = ["--yes"] if command == ["apply"] else []  # apply would refuse a missing --yes first
    r = run([*command, *ARGUMENTS.get(" ".join(command), []), option, "", *yes])
    assert r.exit_code == 2, r.output
    assert re.search(f"Invalid value for .*'{option}'.*: is empty: give a path", r.output), r.output
    assert list(tmp_path.iterdir()) == []
