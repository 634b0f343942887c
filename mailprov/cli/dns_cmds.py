"""``dns check`` and ``dns records``."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import EXIT_FAILED, EXIT_OK, EXIT_UNDECIDED, UsageError
from .options import (
    AgencyOpt,
    ConfigOpt,
    check_choice,
    command_group,
    console,
    domain_argument,
    emit,
    load,
    path_value,
    select_agencies,
    stderr_console,
    text_console,
    warn,
    with_progress,
)

if TYPE_CHECKING:
    from ..checks.mta_sts import PolicyFetcher
    from ..checks.result import CheckReport
    from ..checks.runner import Progress, Target
    from ..model import Config
    from ..nightly import NightlyOutcome

LangOpt = Annotated[str, typer.Option("--lang", metavar="LANG", help="Language of the reasons: id or en.")]


def group() -> typer.Typer:
    commands = command_group("dns", "Check that agencies' DNS points their mail at the platform.")
    commands.command("check")(check)
    commands.command("records")(records)
    return commands


def nameservers(given: list[str] | None) -> list[tuple[str, int]]:
    """--nameserver, else $MAILPROV_NAMESERVER (the lab sets it), else /etc/resolv.conf."""
    from ..checks.resolver import parse_nameserver, system_nameservers

    texts, where = list(given or []), "--nameserver"
    if not texts and os.environ.get("MAILPROV_NAMESERVER"):
        texts = [t for t in os.environ["MAILPROV_NAMESERVER"].replace(",", " ").split() if t]
        where = "MAILPROV_NAMESERVER"
    if not texts:
        found = system_nameservers()
        if not found:
            raise UsageError("no nameserver: give --nameserver IP[:PORT] (none in /etc/resolv.conf)")
        return found
    result = []
    for text in texts:
        try:
            result.append(parse_nameserver(text))
        except ValueError as exc:
            raise UsageError(f"{where} {text}: {exc}; expected IP, IP:PORT or [IPv6]:PORT") from None
    return result


def targets(cfg: Config, agency_ids: list[str] | None, domains: list[str] | None) -> list[Target]:
    from ..checks.runner import Target

    # --agency and DOMAIN together: the union, each domain once, the agencies' first (in the file's order)
    chosen = select_agencies(cfg, agency_ids) if agency_ids or not domains else []
    result = {a.domain: Target(a.domain, a.id) for a in chosen}
    for text in domains or []:
        domain = domain_argument(text)
        agency = cfg.agency_for_domain(domain)
        result.setdefault(domain, Target(domain, agency.id if agency else None))
    return list(result.values())


def mta_sts_fetcher() -> PolicyFetcher:
    """Where MTA-STS policies are fetched: port 443 and the system CAs, unless the lab overrides them."""
    from ..checks.mta_sts import PolicyFetcher

    port = os.environ.get("MAILPROV_MTA_STS_PORT", "443")
    if not port.isdigit():
        raise UsageError(f"MAILPROV_MTA_STS_PORT={port} is not a port number")
    return PolicyFetcher(port=int(port), ca_file=os.environ.get("MAILPROV_MTA_STS_CA") or None)


def _seconds(value: float) -> float:
    """Click's range check lets 'nan' through (every comparison with it is false), and a query given nan
    seconds waits forever: the run hung."""
    if not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a number of seconds")
    return value


def check(
    domains: Annotated[list[str] | None, typer.Argument(metavar="DOMAIN",
                                                        help="Domains to check (default: every agency's).",
                                                        show_default=False)] = None,
    config: ConfigOpt = Path("domains.yaml"),
    agency: AgencyOpt = None,
    nameserver: Annotated[list[str] | None, typer.Option("--nameserver", metavar="IP[:PORT]",
                                                         help="Resolver IP[:PORT] (repeatable).",
                                                         show_default=False)] = None,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS", min=0.1, max=120, callback=_seconds,
                                           help="Seconds per query.")] = 5.0,
    concurrency: Annotated[int, typer.Option("--concurrency", metavar="N", min=1, max=10000,
                                             help="Queries in flight at most.")] = 200,
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="table, json, csv or junit.")] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", parser=path_value,
                                                help="Write the result to this file.")] = None,
    lang: LangOpt = "id",
    history: Annotated[Path | None, typer.Option("--history", metavar="DB", parser=path_value,
                                                 help="SQLite file that keeps every run.")] = None,
    report_file: Annotated[Path | None, typer.Option("--report", metavar="FILE", parser=path_value,
                                                     help="Write a self-contained HTML report.")] = None,
    notify: Annotated[bool, typer.Option("--notify", help="Mail what changed (needs --history).")] = False,
) -> None:
    """Check MX, SPF, DKIM and DMARC (and the extended checks the config lists) of agency domains."""
    from .. import report as renderers
    from ..checks.runner import run_checks
    from ..model import LANGUAGES

    check_choice("--format", fmt, renderers.FORMATS)
    check_choice("--lang", lang, LANGUAGES)
    if notify and history is None:
        raise UsageError("--notify needs --history: it mails what changed since the last run")
    cfg = load(config)
    if notify and cfg.notify is None:  # a nightly job asked to mail and configured not to: said before the run
        raise UsageError(f"--notify needs a notify: section in {config} (smtp_host, from, to)")
    servers = nameservers(nameserver)
    chosen = targets(cfg, agency, domains)
    fetch = mta_sts_fetcher().fetch if "mta-sts" in cfg.platform.checks else None
    if output is not None:  # known before the checks run, not after
        from ..files import check_writable

        check_writable(output)
    def checked(progress: Progress | None) -> tuple[CheckReport, NightlyOutcome | None]:
        if history is None and report_file is None and not notify:  # no sqlite3 or smtplib to import
            return run_checks(chosen, cfg.platform, servers, timeout=timeout, concurrency=concurrency, fetch=fetch,
                              progress=progress), None
        from ..nightly import nightly_run

        outcome = nightly_run(cfg, chosen, servers, timeout=timeout, concurrency=concurrency, history=history,
                              report_file=report_file, notify=notify, lang=lang, fetch=fetch, warn=warn,
                              progress=progress)
        return outcome.report, outcome

    # on a terminal a bar on stderr: real agencies' DNS, with a timeout here and there, takes a while
    result, nightly = with_progress(stderr_console(), len(chosen), "checking", checked)
    not_told = nightly.not_told if nightly is not None else []
    for line in not_told:
        warn(line)
    if result.decided_nothing:  # one line that says why every verdict is 'error'
        asked = ", ".join(f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in servers)
        dropped = "; the run is not kept in the history and nothing is mailed" if nightly and not nightly.kept else ""
        if not result.answers:
            why = " (refused at once: nothing listens on that port)" if result.refused else ""
            warn(f"no nameserver answered ({asked}): none of {result.queries} queries got a reply{why}; "
                 f"check --nameserver and the network{dropped}")
        else:
            which = "the nameserver" if len(servers) == 1 else "the nameservers"
            warn(f"every answer of {which} ({asked}) was REFUSED ({result.answers} of them): "
                 f"{'it does' if len(servers) == 1 else 'they do'} not resolve for this host (recursion not allowed "
                 f"from here, or an authoritative-only server); give --nameserver a resolver that does{dropped}")
    for problem in result.platform_problems:  # the operator's to fix, not the agencies'
        warn(f"{problem.text('en')}: the platform's to fix; the agency checks that depend on it are not failed "
             "for it, and no agency is told to change anything")
    if fmt == "table" and output is None:
        renderers.render_table(console(), result, lang, cfg.letters.timezone)
    elif fmt == "table":  # the table as plain text, as the terminal would show it (it used to be JSON)
        out, text = text_console()
        renderers.render_table(out, result, lang, cfg.letters.timezone)
        emit(text(), output)
    else:
        emit(renderers.render(result, "json" if fmt == "table" else fmt, lang), output)
    code = exit_code(result.status)
    # a nightly job's exit code is what cron reports: a notification that did not go out must show there
    raise typer.Exit(EXIT_UNDECIDED if not_told and code == EXIT_OK else code)


def exit_code(status: str) -> int:
    return {"pass": EXIT_OK, "warn": EXIT_OK, "error": EXIT_UNDECIDED, "fail": EXIT_FAILED}[status]


def records(domain: Annotated[str | None, typer.Argument(metavar="DOMAIN", help="The agency's domain.",
                                                        show_default=False)] = None,
            config: ConfigOpt = Path("domains.yaml"),
            lang: Annotated[str | None, typer.Option(
                "--lang", metavar="LANG", show_default=False,
                help="Language of the comments: id or en (default: the agency's, as its letter has them).")] = None,
            platform: Annotated[bool, typer.Option(
                "--platform", help="The records the platform's own zone must hold instead.")] = False,
            ) -> None:
    """Print the exact records an agency must publish (zone-file syntax)."""
    from ..model import LANGUAGES
    from ..records import platform_zone_text, zone_text

    if lang is not None:
        check_choice("--lang", lang, LANGUAGES)
    if platform == (domain is not None):
        raise UsageError("give an agency's DOMAIN, or --platform for the platform's own records")
    cfg = load(config)
    if domain is None:
        typer.echo(platform_zone_text(cfg.platform, lang or cfg.defaults.language), nl=False)
        return
    name = domain_argument(domain)
    agency = cfg.agency_for_domain(name)
    if agency is None:
        from ..suffixes import not_an_agency_domain

        refused = not_an_agency_domain(name)  # as validate refuses it for an agency's domain
        if refused:
            raise UsageError(f"{name} {refused}")
    chosen = lang or (agency.language if agency else cfg.defaults.language)
    typer.echo(zone_text(cfg.platform, name, chosen), nl=False)
