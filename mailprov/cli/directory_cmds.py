"""``plan``, ``apply`` and ``directory export``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import EXIT_FAILED, UsageError, interrupted_status
from .options import (
    AgencyOpt,
    ConfigOpt,
    FormatOpt,
    check_choice,
    command_group,
    console,
    emit,
    load,
    open_dir,
    path_value,
    select_agencies,
    warn,
    with_progress,
)

if TYPE_CHECKING:
    from rich.console import Console

    from ..apply import ApplyReport
    from ..directory import Directory
    from ..model import Agency, Config
    from ..plan import Plan

PruneOpt = Annotated[bool, typer.Option("--prune", help="Also delete entries the configuration no longer lists.")]
AllOpt = Annotated[bool, typer.Option("--all", help="List every change in the table (default: 50 per action).")]


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)
    app.command("apply")(apply)


def group() -> typer.Typer:
    commands = command_group("directory", "Read the whole directory.")
    commands.command("export")(export)
    return commands


def _plan(config_path: Path, agency_ids: list[str] | None,
          prune: bool) -> tuple[Config, list[Agency], Directory, Plan]:
    from ..plan import build_plan

    cfg = load(config_path)
    agencies = select_agencies(cfg, agency_ids)
    directory = open_dir(cfg)
    try:
        snapshot = directory.snapshot(agencies, whole=not agency_ids)
    except BaseException:
        directory.close()
        raise
    result = build_plan(agencies, snapshot, directory.profile, cfg.directory.base_dn, prune=prune,
                        whole=not agency_ids)
    return cfg, agencies, directory, result


def plan(
    config: ConfigOpt = Path("domains.yaml"),
    agency: AgencyOpt = None,
    fmt: FormatOpt = "table",
    prune: PruneOpt = False,
    show_all: AllOpt = False,
) -> None:
    """Show what apply would change in the directory (reads it; writes nothing)."""
    from .plan_view import render_plan, to_json

    check_choice("--format", fmt, ("table", "json"))
    _, _, directory, result = _plan(config, agency, prune)
    directory.close()
    if fmt == "json":
        emit(to_json(result.to_dict()), None)
    else:
        render_plan(console(), result, show_all)
    if result.mass_deletion:
        warn(f"{result.mass_deletion}; apply refuses it without --force")


def apply(
    config: ConfigOpt = Path("domains.yaml"),
    agency: AgencyOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    letters: Annotated[Path, typer.Option("--letters", metavar="DIR", parser=path_value,
                                          help="Folder for the mailbox letters (passwords).")] = Path(
        "letters"),
    prune: PruneOpt = False,
    fmt: FormatOpt = "table",
    lang: Annotated[str | None, typer.Option("--lang", metavar="LANG",
                                             help="Letter language (default: the agency's).")] = None,
    show_all: AllOpt = False,
    force: Annotated[bool, typer.Option("--force", help="Delete even when --prune would delete more than 30% of "
                                                        "the mailboxes.")] = False,
) -> None:
    """Create and update domains and mailboxes so the directory matches the configuration."""
    from ..files import letters_lock
    from .plan_view import held_back_summary, render_report, to_json

    check_choice("--format", fmt, ("table", "json"))
    if lang is not None:
        from ..model import LANGUAGES

        check_choice("--lang", lang, LANGUAGES)
    if not yes and not sys.stdin.isatty():
        raise UsageError("refusing to apply without --yes: not on a terminal, nobody can confirm the plan")
    out = console(stderr=fmt == "json")
    # The whole run, its plan included, holds the letters folder's lock: two applies writing letters into
    # one folder could leave a mailbox without its letter (the run whose add loses removes the letter file
    # the winner's password is in), and a plan made while another run works is stale.
    with letters_lock(letters):
        report = _plan_and_apply(config, agency, prune, yes, letters, lang, show_all, force, out)
    if report.outcomes:
        render_report(out, report)
    if report.letters:
        out.print(f"letters: {len(report.letters)} mailbox letter(s) with first passwords in {letters} (mode 0600)")
    if report.held_back:
        # a nightly apply --yes exits 0 only when the directory matches the file: one held back stays a failure
        # until someone moves the entry in its way
        out.print(f"not done: {held_back_summary(report.held_back)} held back, as other entries carry their "
                  "addresses (see the notes above); the first apply after those are moved or deleted adds them")
    if fmt == "json":
        emit(to_json(report.to_dict()), None)
    if report.interrupted is not None:
        raise typer.Exit(interrupted_status(report.interrupted))
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


def _plan_and_apply(config: Path, agency: list[str] | None, prune: bool, yes: bool, letters: Path,
                    lang: str | None, show_all: bool, force: bool, out: Console) -> ApplyReport:
    """Plan, show, ask, apply (a report of no changes when there was nothing to do)."""
    from ..apply import BATCH_SIZE, ApplyReport, apply_plan
    from ..letters import MailboxLetterWriter
    from .plan_view import render_plan

    cfg, agencies, directory, result = _plan(config, agency, prune)
    try:
        render_plan(out, result, show_all)
        if result.empty:  # the shape of every apply's report: nothing done, nothing failed
            return ApplyReport([], held_back=result.held_back)
        if result.mass_deletion and not force:
            raise UsageError(f"refusing to apply: {result.mass_deletion}; check the plan, then run again with --force")
        # the server and base DN in the question: a staging and a production configuration look alike
        question = f"Apply {len(result.changes)} change(s) to {directory.url} under {cfg.directory.base_dn}?"
        if not yes:
            _confirm(question)
        writer = MailboxLetterWriter(cfg, letters, lang=lang)
        if any(change.set_password for change in result.changes):
            writer.ready()  # an unusable --letters is found before anything is written
        # two connections when there is more than a batch: slapd runs at most threads/2 requests of one
        # connection at once (10,000 mailboxes, Password Modify: 1.35-1.47 s over two, 1.56-1.99 s over one)
        pipelines = [directory.pipeline() for _ in range(2 if len(result.changes) > BATCH_SIZE else 1)]
        return with_progress(out, len(result.changes), "applying", lambda progress: apply_plan(
            result, pipelines, writer, agencies, directory.profile, scheme=cfg.directory.password_scheme,
            password_length=cfg.directory.password_length, progress=progress, base_dn=cfg.directory.base_dn))
    finally:
        directory.close()


def _confirm(question: str) -> None:
    """Return when the operator answers yes; otherwise say nothing was changed and exit: 1 for "no" or the end of
    input, an interrupt's status for Ctrl-C."""
    try:
        if typer.confirm(question, default=False):
            return
        status = EXIT_FAILED
    except typer.Abort as exc:  # click turns Ctrl-C and the end of input into Abort, keeping which in __context__
        typer.echo("", err=True)
        interrupt = exc.__context__
        status = interrupted_status(interrupt) if isinstance(interrupt, KeyboardInterrupt) else EXIT_FAILED
    typer.echo("cancelled: nothing was changed", err=True)
    raise typer.Exit(status)


def export(
    config: ConfigOpt = Path("domains.yaml"),
    agency: AgencyOpt = None,
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="ldif or csv.")] = "ldif",
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", parser=path_value,
                                                      help="Write to this file.")] = None,
    hashes: Annotated[bool, typer.Option("--include-password-hashes",
                                         help="Keep userPassword hashes in LDIF (left out by default).")] = False,
) -> None:
    """Export every entry under the base DN (LDIF) or every mailbox (CSV), or only the --agency domains'."""
    from ..export import ldif, mailbox_csv

    check_choice("--format", fmt, ("ldif", "csv"))
    if hashes and fmt != "ldif":
        raise UsageError("--include-password-hashes is for --format ldif: the CSV is a staff list, with no passwords")
    cfg = load(config)
    if output is not None:  # known before the whole directory is read, not after
        from ..files import check_writable

        check_writable(output)
    # per agency, a CSV export is that agency's staff list, ready to become its mailboxes_csv
    domains = [a.domain for a in select_agencies(cfg, agency)] if agency else []
    directory = open_dir(cfg)
    try:
        if fmt == "ldif":
            text = "".join(ldif(directory.entries(domains), hashes))
        else:
            found = [m for d in domains for m in directory.mailboxes(d)] if domains else directory.mailboxes()
            text = "".join(mailbox_csv(directory.profile, found))
    finally:
        directory.close()
    # 0600 with or without the hashes: an export holds every owner's name and NIP (personal data); its folder is
    # the operator's and is left as it is
    emit(text, output, mode=0o600)
