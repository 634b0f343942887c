"""What ``--help`` shows an operator: every option with a word for its value, as DESIGN.md writes them."""

from __future__ import annotations

import re

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
