"""The unattended run: check, keep history, write the HTML report, notify, never two at once."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .checks.mta_sts import Fetch
from .checks.result import CheckReport
from .checks.runner import Clock, Progress, Target, run_checks
from .files import check_writable, run_lock, write_whole
from .history import Changes, Owed, RunSummary, history_error
from .model import Config

if TYPE_CHECKING:
    from .history import History
    from .notify import Delivery


@dataclass(frozen=True)
class NightlyOutcome:
    """A nightly run: its report, what became of the mails, and whether it was kept."""
    report: CheckReport
    #: what became of the notification mails (None: nothing was owed, or no --notify)
    delivery: Delivery | None = None
    #: the run was stored in the history (not when no nameserver answered at all)
    kept: bool = True

    @property
    def not_told(self) -> list[str]:
        """Who the notification did not reach, and why: warnings cron must see."""
        return self.delivery.warnings() if self.delivery is not None else []


def nightly_run(config: Config, targets: Sequence[Target], nameservers: Sequence[tuple[str, int]], *,
                timeout: float, concurrency: int, history: Path | None, report_file: Path | None, notify: bool,
                lang: str, fetch: Fetch | None = None, warn: Callable[[str], None] | None = None,
                clock: Clock | None = None, progress: Progress | None = None) -> NightlyOutcome:
    from .history import History

    anchor = history or report_file
    assert anchor is not None
    # what the run will write is checked before it starts: a nightly job learns in a second, not after every
    # domain's checks, that its history or report path is unusable; the lock's folder is the anchor's, so an
    # unusable one is reported under the name the operator gave, not the lock's
    check_writable(anchor)
    with run_lock(anchor.with_name(anchor.name + ".lock")):
        if report_file is not None and report_file is not anchor:
            check_writable(report_file)
        store = History(history) if history is not None else None
        changes: Changes | None = None
        owed: Owed | None = None
        runs: list[RunSummary] = []
        delivery: Delivery | None = None
        try:
            report = run_checks(targets, config.platform, nameservers, timeout=timeout, concurrency=concurrency,
                                clock=clock or (lambda: dt.datetime.now(dt.UTC)), fetch=fetch, progress=progress)
            run_id = 0
            # no nameserver answered at all (the resolver down, a firewall), or every answer was REFUSED (a
            # resolver that does not serve this host): every verdict is 'error' and says nothing about the
            # agencies. Kept, it would mail every domain as "pass -> error" tonight and back tomorrow, and end
            # every failing streak; it is shown, not kept.
            decided = not report.decided_nothing
            if store is not None:
                try:
                    changes = store.annotate(report)
                    if decided:
                        owed = store.unannounced(report, _contacts(config)) if notify else None
                        run_id = store.store(report)
                    runs = store.recent_runs(30)
                except sqlite3.Error as exc:  # a full disk, a database another program locked
                    raise history_error(store.path, exc) from None
            if report_file is not None:
                _write_report(report, changes, runs, lang, config, report_file)
            if owed is not None and store is not None:
                if config.notify is None:
                    (warn or print)("--notify: the configuration has no notify: section; nothing sent")
                else:
                    try:
                        delivery = _notify(store, run_id, report, owed, config, lang)
                    except sqlite3.Error as exc:
                        raise history_error(store.path, exc) from None
        finally:
            if store is not None:
                store.close()
    return NightlyOutcome(report, delivery, kept=store is None or decided)


def _notify(store: History, run_id: int, report: CheckReport, owed: Owed, config: Config,
            lang: str) -> Delivery | None:
    """Send what the run owes, keeping in the history who it reached (mail by mail: a run killed while mailing
    leaves owed exactly the mails it had not sent)."""
    from .notify import compose, send  # smtplib and email only when mailing

    mails = compose(report, owed, config, lang)
    readers = [mail.reader for mail in mails]
    # an address refused for good stays on record until it is corrected (then the mail is owed)
    held = {domain: address for domain, address in owed.refused.items() if domain not in readers}
    store.mark_notified(run_id, readers, held)  # nobody reached yet
    if not mails:
        return None
    delivery = send(mails, config, os.environ, reached=lambda mail: store.reached(run_id, mail.reader))
    store.mark_refused(run_id, delivery.refused_addresses)
    return delivery


def _contacts(config: Config) -> dict[str, str]:
    """Each domain's agency contact address, as far as agencies are written to (none are without
    ``agency_contacts``: then no refused address is held either)."""
    if config.notify is None or not config.notify.agency_contacts:
        return {}
    return {agency.domain: agency.contact.email for agency in config.agencies if agency.contact.email}


def _write_report(report: CheckReport, changes: Changes | None, runs: list[RunSummary], lang: str,
                  config: Config, path: Path) -> None:
    from .report_html import render_report

    html = render_report(report, changes, runs, lang, config.platform.name, zone=config.letters.timezone)
    write_whole(path, html)
