"""``mailbox list|show|add|disable|enable|reset-password|set-quota``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ..mailboxes import MailboxInfo

from .options import (
    ConfigOpt,
    FormatOpt,
    agency_named,
    check_choice,
    columns,
    command_group,
    console,
    emit,
    load,
    open_dir,
    path_value,
    warn,
)


def _checked_address(value: str) -> str:
    """A malformed address is refused before a password is asked for or a server contacted."""
    from ..mailboxes import normalise

    normalise(value)  # the commands' own check, run as the argument is parsed
    return value


def _text(value: str) -> str:
    """What domains.yaml and the CSVs refuse for a name, title or NIP is refused here too: the value reaches
    the directory and the letter as typed."""
    from ..reader import control_character

    refused = control_character(value, one_line=True)
    if refused:
        raise typer.BadParameter(refused)
    return value.strip()


def _employee_id(value: str) -> str:
    from ..reader import employee_number, shortened_number

    text = _text(value)
    refused = shortened_number(text)
    if refused:
        raise typer.BadParameter(refused)
    return employee_number(text)


def _name(value: str) -> str:
    text = _text(value)
    if not text:
        raise typer.BadParameter("must not be empty")
    return text


def _given(check: Callable[[str], str]) -> Callable[[str | None], str | None]:
    """``check`` as the callback of an option that may be left out (None: the configuration's value)."""
    return lambda value: None if value is None else check(value)


AddressArg = Annotated[str, typer.Argument(metavar="ADDRESS", help="The mailbox address (local@domain).",
                                           callback=_checked_address)]
LettersOpt = Annotated[Path, typer.Option("--letters", metavar="DIR", parser=path_value,
                                          help="Folder for the mailbox letter (password).")]


def group() -> typer.Typer:
    commands = command_group("mailbox", "One mailbox at a time: look, add, disable, enable, reset the password.")
    for name, func in (("list", list_), ("show", show), ("add", add), ("disable", disable), ("enable", enable),
                       ("reset-password", reset_password), ("set-quota", set_quota)):
        commands.command(name)(func)
    return commands


def _print(info: MailboxInfo, fmt: str) -> None:
    from .plan_view import to_json

    if fmt == "json":
        emit(to_json(info.to_dict()), None)
        return
    from ..report import terminal_text

    out = console()
    for name, value in info.to_dict().items():
        key, shown = name, value
        if isinstance(value, list):
            shown = ", ".join(value) or "-"
        elif isinstance(value, bool):
            shown = "yes" if value else "no"  # as 'mailbox list' shows it
        elif value is None:
            shown = "(not stored by this profile)"
        elif name == "locked_since":
            # the lock may have run out already: ppolicy keeps the time until the next good bind
            key, shown = "locked", (f"after failed logins at {value}, until the password policy's lockout time "
                                    "has passed (`mailbox enable` lifts it now)")
        out.print(f"{key:12s} {terminal_text(str(shown))}")


def list_(
    config: ConfigOpt = Path("domains.yaml"),
    agency: Annotated[str | None, typer.Option("--agency", metavar="ID",
                                               help="Only this agency (by id or domain).")] = None,
    name: Annotated[str | None, typer.Option(
        "--name", metavar="TEXT", help="Only mailboxes whose name, address or alias contains this text.")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """List mailboxes in the directory."""
    from ..mailboxes import info
    from .plan_view import to_json

    check_choice("--format", fmt, ("table", "json"))
    cfg = load(config)
    domain = agency_named(cfg, agency).domain if agency else None
    with open_dir(cfg) as directory:
        profile = directory.profile
        items = sorted((info(profile, f) for f in directory.mailboxes(domain, name)), key=lambda i: i.address)
    if fmt == "json":
        emit(to_json({"mailboxes": [i.to_dict() for i in items]}), None)
        return
    if not items:  # a line, not an empty table
        where = f" in {domain}" if domain else ""
        typer.echo(f"no mailbox{where}" + (f" whose name, address or alias contains '{name}'" if name else ""))
        return
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    from ..report import terminal_text

    table = Table(title=f"{len(items)} mailbox(es)", title_justify="left")
    # the address is what an operator copies from here: the other columns wrap first (an address
    # wider than the whole terminal is still folded)
    table.add_column("address", no_wrap=True, overflow="fold")
    table.add_column("name", overflow="fold")
    table.add_column("title", overflow="fold")
    table.add_column("active", no_wrap=True)
    # columns a profile cannot fill are left out: at 80 columns they squeezed names into folded fragments
    if profile.stores_quota:
        table.add_column("quota MB", justify="right", no_wrap=True)
    if profile.stores_aliases:
        table.add_column("aliases", overflow="fold")
    widest = [cell_len(str(column.header)) for column in table.columns]
    for item in items:  # as the directory has them: Text, never read as markup
        row = [item.address, terminal_text(item.name), terminal_text(item.title), "yes" if item.active else "no"]
        if profile.stores_quota:
            row.append("-" if item.quota_mb is None else str(item.quota_mb))
        if profile.stores_aliases:
            row.append(", ".join(item.aliases))
        widest = [max(w, cell_len(cell)) for w, cell in zip(widest, row, strict=True)]
        table.add_row(*(Text(cell) for cell in row))
    out = console()
    if not out.is_terminal and columns() is None:
        # piped into grep or a file: one line per mailbox, not rows folded at 80 columns (a cell, its padding
        # and its border line: 3 more; the closing border: 1)
        out.width = max(out.width, sum(w + 3 for w in widest) + 1)
    out.print(table)


def show(address: AddressArg, config: ConfigOpt = Path("domains.yaml"), fmt: FormatOpt = "table") -> None:
    """Show one mailbox as the directory has it."""
    from ..mailboxes import find, info

    check_choice("--format", fmt, ("table", "json"))
    cfg = load(config)
    with open_dir(cfg) as directory:
        _print(info(directory.profile, find(directory, address)), fmt)


def add(
    address: AddressArg,
    name: Annotated[str | None, typer.Option("--name", metavar="NAME", show_default=False, callback=_given(_name),
                                             help="Full name (default: the configuration's, if it lists the "
                                                  "address).")] = None,
    config: ConfigOpt = Path("domains.yaml"),
    title: Annotated[str | None, typer.Option("--title", metavar="TITLE", help="Job title.", show_default=False,
                                              callback=_given(_text))] = None,
    employee_id: Annotated[str | None, typer.Option("--employee-id", metavar="NIP", help="NIP.", show_default=False,
                                                    callback=_given(_employee_id))] = None,
    quota_mb: Annotated[int | None, typer.Option("--quota-mb", metavar="MB", min=1, max=1048576,
                                                 help="Quota in MiB (default: the agency's).")] = None,
    letters: LettersOpt = Path("letters"),
) -> None:
    """Create one mailbox now (its agency must be in the configuration), with its letter.

    An address the configuration lists is created as it says (before a whole apply of its agency).
    """
    from ..files import letters_lock
    from ..letters import MailboxLetterWriter
    from ..mailboxes import add as add_mailbox
    from ..mailboxes import requested

    cfg = load(config)
    mailbox, listed = requested(cfg, address, name=name, title=title, employee_id=employee_id, quota_mb=quota_mb)
    with letters_lock(letters), open_dir(cfg) as directory:
        path = add_mailbox(directory, cfg, mailbox, MailboxLetterWriter(cfg, letters), warn=warn)
    typer.echo(f"created {mailbox.address}; letter with the first password: {path}")
    if listed is None:
        typer.echo(f"note: {mailbox.address} is not in {config}; add it there or the next plan lists it as unmanaged")
    elif mailbox != listed:
        differ = [f for f in ("name", "title", "employee_id", "quota_mb") if getattr(mailbox, f) != getattr(listed, f)]
        typer.echo(f"note: {config} lists {mailbox.address} otherwise ({', '.join(differ)} given here): the "
                   "next apply sets the file's values")


def _status(address: str, config: Path, active: bool) -> None:
    from ..mailboxes import declared, set_active

    cfg = load(config)
    with open_dir(cfg) as directory:
        outcome = set_active(directory, address, active)
    result = outcome.mailbox
    state = "enabled" if result.active else "disabled"
    typer.echo(f"{result.address}: {state if outcome.changed else f'already {state}, nothing changed'}")
    listed = declared(cfg, result.address)
    if listed is not None and listed.active != active:  # the file is the source of truth for apply
        change, setting = ("enables", "active: false") if listed.active else ("disables", "active: true")
        typer.echo(f"note: {config} lists {result.address} as {'active' if listed.active else 'inactive'}: the "
                   f"next apply {change} it again unless you set {setting} there")


def disable(address: AddressArg, config: ConfigOpt = Path("domains.yaml")) -> None:
    """Disable a mailbox: the directory refuses its logins from now on."""
    _status(address, config, False)


def enable(address: AddressArg, config: ConfigOpt = Path("domains.yaml")) -> None:
    """Enable a disabled mailbox again."""
    _status(address, config, True)


def reset_password(address: AddressArg, config: ConfigOpt = Path("domains.yaml"),
                   letters: LettersOpt = Path("letters")) -> None:
    """Set a new first password; it is written only into the mailbox's letter (0600)."""
    from ..files import letters_lock
    from ..letters import MailboxLetterWriter
    from ..mailboxes import reset_password as reset

    cfg = load(config)
    with letters_lock(letters), open_dir(cfg) as directory:
        done = reset(directory, cfg, address, MailboxLetterWriter(cfg, letters))
    typer.echo(f"new password set; it is in the letter {done.letter}")
    if not done.active:  # the letter would otherwise go out with a password that logs no one in
        typer.echo(f"note: {done.address} is disabled, and stays so: its owner can log in with this password only "
                   f"after 'mailprov mailbox enable {done.address}'")


def set_quota(address: AddressArg, quota_mb: Annotated[int, typer.Argument(metavar="MB", min=1, max=1048576,
                                                                           help="The new quota in MiB.")],
              config: ConfigOpt = Path("domains.yaml")) -> None:
    """Change a mailbox's quota (in MiB) in the directory."""
    from ..mailboxes import declared, refuse_without_quota
    from ..mailboxes import set_quota as change
    from ..profiles import resolve

    cfg = load(config)
    refuse_without_quota(resolve(cfg.directory.profile))
    with open_dir(cfg) as directory:
        result = change(directory, address, quota_mb)
    typer.echo(f"{result.address}: quota {result.quota_mb} MB")
    listed = declared(cfg, result.address)
    if listed is not None and listed.quota_mb != quota_mb:
        typer.echo(f"note: {config} gives {result.address} {listed.quota_mb} MB: the next apply sets that again "
                   "unless you change its quota_mb there")
