"""The Typer command line: parses arguments, calls the core, renders results.

Only this layer catches ``MailprovError``: one clear line per problem on
stderr and the exit code from DESIGN.md; a traceback only with ``--debug``.
Heavy libraries (ldap3, dnspython, jinja2, rich) are imported inside the
commands that need them so ``mailprov --help`` starts fast.
"""

from __future__ import annotations

import signal
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import EXIT_BROKEN_PIPE, MailprovError, Terminated, interrupted_status
from .journal import ERR, WARNING, say

#: the command groups and the modules that make them, built only when a command line names one (or the help
#: lists them): building every group's Click commands took 11 ms of each command's start, 2-3 ms each
_GROUPS = {"directory": "directory_cmds", "mailbox": "mailbox_cmds", "dns": "dns_cmds", "letters": "letters_cmds"}


class _Group(TyperGroup):
    """Root group: builds a command group when it is named; turns a ``MailprovError`` from any command into its
    exit code."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(name for name in _GROUPS if name not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in _GROUPS:
            from importlib import import_module

            module = import_module(f"{__name__}.{_GROUPS[cmd_name]}")
            command = typer.main.get_group(module.group())
            self.add_command(command, cmd_name)
        return command

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and args[0] not in _GROUPS:  # a typo: "did you mean" looks at all
            for name in _GROUPS:
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except MailprovError as exc:
            _traceback_if_debug(ctx, exc)
            say("\n".join(exc.lines()), ERR)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt as exc:
            say("terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted", WARNING)
            raise typer.Exit(interrupted_status(exc)) from None
        except BrokenPipeError:
            # whoever read the output stopped (`| head`): end quietly with the status a shell
            # shows for a command SIGPIPE stopped, as Unix tools do
            _discard_stdout()
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug: say so in one line, details with --debug
            if _is_usage_error(exc):
                raise
            if _traceback_if_debug(ctx, exc):
                raise typer.Exit(1) from None
            say(f"error: internal error {type(exc).__name__}: {exc} (run with --debug for a traceback)", ERR)
            raise typer.Exit(1) from None


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so what is still buffered for the closed pipe is not
    written again (and reported again) when the interpreter flushes it at exit."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


def _is_usage_error(exc: Exception) -> bool:
    """Click's own errors (unknown command, bad option) that it reports itself.

    Typer vendors click privately, so its exception classes are recognised by
    their interface rather than imported.
    """
    return any(cls.__name__ == "ClickException" for cls in type(exc).__mro__)


def _traceback_if_debug(ctx: Any, exc: BaseException) -> bool:
    state = ctx.obj if isinstance(ctx.obj, dict) else {}
    if not state.get("debug"):
        return False
    import traceback

    # the standard formatter prints no local variables: a bind password must never be printed
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    return True


app = typer.Typer(
    cls=_Group,
    name="mailprov",
    help="Provision agencies, domains and mailboxes of the multi-domain mail platform; "
    "check their DNS; render their letters.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mailprov {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logging.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    ctx.obj = {"debug": debug}
    if debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")


def _register() -> None:
    from . import directory_cmds, validate_cmd

    validate_cmd.register(app)
    directory_cmds.register(app)


_register()


def _whole_writes() -> None:
    """Give an unbuffered stdout/stderr a buffer again, so a large output is written whole.

    Under ``python -u`` or ``PYTHONUNBUFFERED=1`` (common in service units and
    CI) the text streams write straight to a raw file, and a raw write to a
    pipe may write only part of what it was given: the text layer does not
    retry, so the rest is lost silently. Measured: 1 in 10 ``dns check
    --format json`` runs of 1,000 domains piped to a reader lost everything
    after a short write (seen only when the run used uvloop; never with
    asyncio's own loop). A buffered writer retries short writes until everything is out.
    """
    import io

    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(getattr(stream, "buffer", None), io.FileIO):
            encoding, errors = stream.encoding, stream.errors
            raw = stream.detach()
            setattr(sys, name, io.TextIOWrapper(io.BufferedWriter(raw), encoding=encoding, errors=errors,
                                                line_buffering=True))


def main() -> None:
    from ..gcpolicy import rare_collections, spare_the_last_collection

    _whole_writes()
    # SIGTERM (systemd stopping the unit, a timeout) stops a run the way Ctrl-C does: apply reports
    # what it did and what is unknown, a nightly run stores nothing, the lock is released
    signal.signal(signal.SIGTERM, _terminate)
    try:
        with rare_collections():  # for the whole command: loading, planning and rendering build large data too
            app(prog_name="mailprov")
    finally:  # the process ends here, also when app() raises SystemExit (it always does)
        spare_the_last_collection()
