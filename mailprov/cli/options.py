"""Options shared by several commands, and loading the configuration they name."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from ..errors import UsageError

T = TypeVar("T")

if TYPE_CHECKING:
    from rich.console import Console

    from ..directory import Directory
    from ..model import Agency, Config


def path_value(value: str | Path) -> Path:
    """A path option's value. An empty one is refused, not read as the current folder (``Path("")``): it comes
    from a script's unset variable (``--letters "$DIR"``), and password letters or a report must not land in
    whatever folder the job happens to run in."""
    if isinstance(value, Path):  # the default
        return value
    if not value.strip():
        raise typer.BadParameter("is empty: give a path")
    return Path(value)


ConfigOpt = Annotated[
    Path,
    typer.Option("-c", "--config", metavar="FILE", parser=path_value,
                 envvar="MAILPROV_CONFIG", help="The configuration file.", show_default=True),
]
AgencyOpt = Annotated[
    list[str] | None,
    typer.Option("--agency", metavar="ID", help="Only this agency, by id or domain (repeatable).",
                 show_default=False),
]
FormatOpt = Annotated[str, typer.Option("--format", metavar="FORMAT", help="table or json.")]


def load(path: Path) -> Config:
    from ..config import load_config

    return load_config(path, os.environ)


def select_agencies(config: Config, ids: list[str] | None) -> list[Agency]:
    """The agencies named by ``--agency`` (all when none), in file order."""
    if not ids:
        return list(config.agencies)
    found: dict[str, Agency] = {}
    unknown = []
    for text in ids:
        agency = _agency(config, text)
        if agency is None:
            unknown.append(_as_given(text) + _suggestion(config, text))
        else:
            found[agency.id] = agency
    if unknown:
        raise UsageError(f"unknown agency: {'; '.join(unknown)}")
    return [a for a in config.agencies if a.id in found]


def agency_named(config: Config, text: str) -> Agency:
    """The agency ``--agency TEXT`` names: by its id or by its domain."""
    agency = _agency(config, text)
    if agency is None:
        raise UsageError(f"unknown agency: {_as_given(text)}{_suggestion(config, text)}")
    return agency


def _as_given(text: str) -> str:
    """An agency name for a message: an empty one (a script's unset variable) would show as nothing at all."""
    return text if text.strip() else f"'{text}' (empty)"


def _agency(config: Config, text: str) -> Agency | None:
    # an operator with hundreds of agencies remembers their domains better than the ids given them
    from ..addresses import AddressError, to_a_label

    agency = config.agency(text)
    if agency is None and "." in text:
        with contextlib.suppress(AddressError):
            agency = config.agency_for_domain(to_a_label(text))
    return agency


def _suggestion(config: Config, text: str) -> str:
    """`` (did you mean ...?)`` with up to three agencies whose id or domain is close to ``text``."""
    import difflib

    wanted = text.lower().rstrip(".")
    names = {name: a for a in config.agencies for name in (a.id, a.domain)}
    close = [n for n in names if wanted and wanted in n] + difflib.get_close_matches(wanted, list(names), 3, 0.6)
    agencies = list({names[n].id: names[n] for n in close}.values())[:3]
    if not agencies:
        return ""
    return f" (did you mean {', '.join(f'{a.id} ({a.domain})' for a in agencies)}?)"


def domain_argument(text: str) -> str:
    """A domain given on the command line, as A-labels; a bad one is a usage error."""
    from ..addresses import AddressError, to_a_label

    try:
        return to_a_label(text)
    except AddressError as exc:
        raise UsageError(str(exc)) from None


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise UsageError(f"{name} must be one of {', '.join(choices)}, not '{value}'")
    return value


def console(stderr: bool = False) -> Console:
    """A rich console; colour and live progress only on a terminal.

    ``COLUMNS`` fixes the width (tests and cron jobs set it); rich honours
    ``NO_COLOR`` and ``TERM=dumb`` itself. Markup is off: what is printed
    carries names, DNs and published DNS text, which rich would otherwise
    read as style tags (text vanished, ``[/x]`` raised MarkupError); styled
    parts are rich ``Text`` with a style.
    """
    return _console_class()(stderr=stderr, width=columns(), highlight=False, soft_wrap=True, markup=False)


def columns(default: int | None = None) -> int | None:
    """``COLUMNS`` when it is a number (tests and cron jobs set it), else ``default``."""
    value = os.environ.get("COLUMNS", "")
    return int(value) if value.isdigit() else default


@cache
def _console_class() -> type[Console]:
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich would exit with 1, which here means 'non-compliant': the CLI's one handler decides
            self.quiet = True
            raise BrokenPipeError

    return _Console


def text_console() -> tuple[Console, Callable[[], str]]:
    """A console that renders into a string (a table for a file: plain text, no colour), and its reader."""
    import io

    from rich.console import Console

    buffer = io.StringIO()
    return (Console(file=buffer, width=columns(160), color_system=None, force_terminal=False, highlight=False,
                    soft_wrap=False, markup=False), buffer.getvalue)


def warn(message: str) -> None:
    from .journal import WARNING, say

    say(f"warning: {message}", WARNING)


def open_dir(config: Config) -> Directory:
    """Bind to the configured directory (password from env/file, or asked on a terminal)."""
    from ..credentials import terminal_prompt
    from ..directory import open_directory
    from ..profiles import resolve

    return open_directory(config.directory, resolve(config.directory.profile), os.environ,
                          prompt=terminal_prompt(), warn=warn)


def command_group(name: str, help: str) -> typer.Typer:
    """A group of commands (``mailprov NAME ...``), built into Click commands only when it is used."""
    return typer.Typer(name=name, help=help, no_args_is_help=True, rich_markup_mode=None)


def emit(text: str, output: Path | None, mode: int = 0o666) -> None:
    """Write ``text`` to ``output`` (a file of ``mode``, narrowed by the umask) or to stdout."""
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
    else:
        from ..files import write_whole

        write_whole(output, text if text.endswith("\n") else text + "\n", mode)


def with_progress(out: Console | None, total: int, what: str,
                  work: Callable[[Callable[[int], None] | None], T]) -> T:
    """``work`` with a progress bar of ``total`` ``what`` on a terminal; plain silence in a cron job.

    ``work`` gets the function that advances the bar (None off a terminal, or without ``out``)."""
    if out is None or not out.is_terminal:
        return work(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=out, transient=True) as progress:
        task = progress.add_task(what, total=total)
        return work(lambda n: progress.advance(task, n))


def stderr_console() -> Console | None:
    """A console for progress on stderr when stderr is a terminal; None without importing rich (a cron job's
    JSON run has no use for it)."""
    import sys

    return console(stderr=True) if sys.stderr.isatty() else None
