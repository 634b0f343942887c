"""``letters render``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from .options import AgencyOpt, ConfigOpt, check_choice, command_group, load, path_value, select_agencies


def group() -> typer.Typer:
    commands = command_group("letters", "Letters to agencies and to mailbox owners.")
    commands.command("render")(render)
    return commands


def render(
    config: ConfigOpt = Path("domains.yaml"),
    agency: AgencyOpt = None,
    kind: Annotated[str | None, typer.Option("--kind", metavar="KIND",
                                             help="agency or mailbox (default: both).")] = None,
    lang: Annotated[str | None, typer.Option("--lang", metavar="LANG",
                                             help="id or en (default: the agency's language).")] = None,
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="md, html or pdf.")] = "md",
    out: Annotated[Path, typer.Option("--out", metavar="DIR", parser=path_value,
                                              help="Folder for the letters.")] = Path("letters"),
    templates: Annotated[Path | None, typer.Option("--templates", metavar="DIR", parser=path_value,
                                                   help="Your own templates, file by file before the "
                                                        "built-in ones.")] = None,
    results: Annotated[Path | None, typer.Option("--results", metavar="FILE", parser=path_value,
                                                 help="JSON of dns check: the compliance shown in agency "
                                                      "letters.")] = None,
    history: Annotated[Path | None, typer.Option("--history", metavar="DB", parser=path_value,
                                                 help="Or the latest run of this history.")] = None,
    date: Annotated[str | None, typer.Option("--date", metavar="YYYY-MM-DD",
                                             help="Date of the letters, YYYY-MM-DD (default today).")]
    = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing mailbox letters (they may hold "
                                                        "first passwords).")] = False,
) -> None:
    """Render agency letters (records to publish, compliance, mailboxes) and mailbox letters."""
    from ..compliance import from_json
    from ..letters import FORMATS, render_letters
    from ..model import LANGUAGE_NAMES, LANGUAGES

    check_choice("--format", fmt, FORMATS)
    if lang is not None:
        check_choice("--lang", lang, LANGUAGES)
    kinds = [check_choice("--kind", kind, ("agency", "mailbox"))] if kind else ["agency", "mailbox"]
    if results is not None and history is not None:
        raise UsageError("--results and --history both say where the DNS results come from: give one of them")
    day = None
    if date is not None:
        day = _day(date)
    cfg = load(config)
    chosen = select_agencies(cfg, agency)
    compliance = None  # by language, then domain
    if results is not None:  # the reasons in the language that dns check run was given
        found, given = from_json(results)
        compliance = dict.fromkeys(LANGUAGES, found)
        others = sorted({lang or a.language for a in chosen} - {given}) if "agency" in kinds else []
        if given is not None and others:
            names = " and ".join(LANGUAGE_NAMES.get(o, o) for o in others)
            typer.echo(f"note: the reasons in {results} are in {LANGUAGE_NAMES.get(given, given)} (its dns check "
                       f"--lang); the letters in {names} quote them so (--history gives each letter its own "
                       "language)", err=True)
    elif history is not None:  # the history keeps both: each letter gets its own language's
        from ..history import History

        if not history.exists():
            raise UsageError(f"--history {history}: no such file")
        with History(history, read_only=True) as store:
            compliance = {language: store.latest_compliance(language) for language in LANGUAGES}
    from ..files import letters_lock

    # apply and the mailbox commands write first passwords into the same folder, and two renders would give
    # the same letter number twice: one writer at a time
    with letters_lock(out):
        done = render_letters(cfg, chosen, kinds, lang, fmt, out, templates=templates, day=day,
                              compliance=compliance, force=force)
    typer.echo(f"wrote {len(done.written)} letter(s) under {out}")
    if done.skipped:
        typer.echo(f"kept {len(done.skipped)} existing mailbox letter(s) (they may hold first passwords; "
                   "--force overwrites them)")


def _day(text: str) -> dt.date:
    """``--date``: the form the help names, and a day the calendar has (fromisoformat alone also takes
    20261128 and 2026-W48-6, which a letter's date was never meant to be written as)."""
    import re

    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise UsageError(f"--date {text}: expected YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"--date {text}: no such day ({exc})") from None
