"""Lines on stderr that keep their priority in systemd's journal.

A service's stderr usually goes to the journal, and systemd reads a ``<N>``
prefix on each line as its syslog priority (sd-daemon(3); ``SyslogLevelPrefix=``
is on by default). With it, ``journalctl -u mailprov-nightly -p warning`` lists
what a person has to look at (no nameserver answered, a mail the relay did not
take, a configuration error), which the exit code alone cannot say: the nightly
unit counts exit 3 as a result, as most nights some agency's DNS times out. The
prefix is written only when stderr is that journal stream (``$JOURNAL_STREAM``
names its device and inode); a terminal, a file or a pipe gets the lines as before.
"""

from __future__ import annotations

import os
import sys

import typer

ERR, WARNING = 3, 4


def to_journal() -> bool:
    """Whether stderr is the journal stream systemd gave this process."""
    device, _, inode = os.environ.get("JOURNAL_STREAM", "").partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        found = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):  # stderr replaced by something without a descriptor
        return False
    return (found.st_dev, found.st_ino) == (int(device), int(inode))


def say(text: str, priority: int) -> None:
    """``text`` on stderr, each line at ``priority`` when the journal reads it."""
    prefix = f"<{priority}>" if to_journal() else ""
    typer.echo("\n".join(prefix + line for line in text.splitlines()), err=True)
