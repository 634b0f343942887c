"""Run history in SQLite: every run, every domain and check, what changed since the last run.

A run is stored in one transaction once it is complete, so a run killed
half-way leaves the database as it was (SQLite's journal takes care of a
kill in the middle of the write itself).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .checks.result import ERROR, FAIL, ORDER, PASS, WARN, CheckReport
from .errors import HistoryBusy, HistoryError
from .stamps import stamp

if TYPE_CHECKING:
    from .compliance import Compliance

#: ``PRAGMA user_version`` of the file: a later layout of the tables counts up, and gets a migration
SCHEMA_VERSION = 2  # 2: platform_problems (a version 1 file gets the table and the stamp from the next run)
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    version TEXT NOT NULL,
    domains INTEGER NOT NULL,
    pass INTEGER NOT NULL, warn INTEGER NOT NULL, error INTEGER NOT NULL, fail INTEGER NOT NULL,
    notified INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS domain_results (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    domain TEXT NOT NULL,
    agency TEXT,
    status TEXT NOT NULL,
    PRIMARY KEY (run_id, domain)
);
CREATE INDEX IF NOT EXISTS domain_results_by_domain ON domain_results (domain, run_id);
-- "failing since" asks for each domain's last run that passed or warned: without this index a year of
-- nightly runs of 5,000 domains made that a scan of 1.8 million rows (0.9 s a run, growing), with it 0.11 s
CREATE INDEX IF NOT EXISTS domain_results_by_status ON domain_results (domain, status, run_id);
CREATE TABLE IF NOT EXISTS check_results (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    domain TEXT NOT NULL,
    check_name TEXT NOT NULL,
    selector TEXT,
    status TEXT NOT NULL,
    reason_id TEXT NOT NULL,
    reason_en TEXT NOT NULL,
    records TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS check_results_by_domain ON check_results (domain, run_id);
-- a mail a run owed and did not deliver (relay down, a 4xx): its reader ('@admins', or the domain whose
-- agency was written to) is told again by the next run; a run with notified = 1 told everyone else.
-- refused: the agency address the relay refused for good; told again only once the address is another
CREATE TABLE IF NOT EXISTS undelivered (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    reader TEXT NOT NULL,
    refused TEXT,
    PRIMARY KEY (run_id, reader)
);
-- what was wrong with the platform's own records in a run (its include, the key behind agency CNAMEs), in
-- both languages: the admins are told when that changes since the last run that reached them
CREATE TABLE IF NOT EXISTS platform_problems (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    problem_en TEXT NOT NULL,
    problem_id TEXT NOT NULL
);
-- every run's checks of every domain it checked, as they were: check_results keeps a domain's checks only
-- when they changed, so a run's are the last ones kept at or before it (for whoever queries the file)
CREATE VIEW IF NOT EXISTS run_checks AS
SELECT d.run_id, d.domain, c.check_name, c.selector, c.status, c.reason_id, c.reason_en, c.records
FROM domain_results d JOIN check_results c ON c.domain = d.domain AND c.run_id = (
    SELECT MAX(k.run_id) FROM check_results k WHERE k.domain = d.domain AND k.run_id <= d.run_id);
"""

#: each asked domain's last decided status (not error) in a run whose notification reached the admins, and
#: its agency
UNANNOUNCED = """
WITH told AS (SELECT id FROM runs WHERE notified = 1)
SELECT a.domain,
       (SELECT d.status FROM domain_results d WHERE d.domain = a.domain AND d.run_id IN told
        AND d.status != :error
        AND NOT EXISTS (SELECT 1 FROM undelivered u WHERE u.run_id = d.run_id AND u.reader = :admins)
        ORDER BY d.run_id DESC LIMIT 1),
       (SELECT d.status FROM domain_results d WHERE d.domain = a.domain AND d.run_id IN told
        AND d.status != :error
        AND NOT EXISTS (SELECT 1 FROM undelivered u WHERE u.run_id = d.run_id AND u.reader = d.domain
                        AND (u.refused IS NULL OR u.refused != a.contact))
        ORDER BY d.run_id DESC LIMIT 1)
FROM temp.asked a
"""
#: addresses refused for good in the latest notified run that checked the domain, and still its contact
STILL_REFUSED = """
SELECT u.reader, u.refused FROM undelivered u JOIN temp.asked a ON a.domain = u.reader
WHERE u.refused = a.contact AND u.run_id = (
    SELECT MAX(d.run_id) FROM domain_results d JOIN runs ON runs.id = d.run_id
    WHERE d.domain = u.reader AND runs.notified = 1)
"""

#: the platform problems of the latest run whose notification reached the admins
PLATFORM_TOLD = """
SELECT problem_en, problem_id FROM platform_problems WHERE run_id = (
    SELECT MAX(id) FROM runs WHERE notified = 1
    AND NOT EXISTS (SELECT 1 FROM undelivered u WHERE u.run_id = runs.id AND u.reader = :admins))
"""


@dataclass(frozen=True)
class RunSummary:
    """One kept run: when it started and how many domains had each status."""
    id: int
    started_at: str
    counts: dict[str, int]


@dataclass(frozen=True)
class Changes:
    """What changed between two runs, domain by domain."""
    #: domain -> (previous status or None, status now)
    changed: dict[str, tuple[str | None, str]]
    newly_failing: list[str]
    fixed: list[str]

    @property
    def any(self) -> bool:
        return bool(self.changed)

    def got_worse(self, domain: str) -> bool:
        before, now = self.changed.get(domain, (None, None))
        if now not in (WARN, FAIL):
            return False
        return before is None or ORDER.index(now) > ORDER.index(before)


#: the reader of the admins' summary in ``undelivered`` (a domain, the other readers, has a dot and no '@')
ADMINS = "@admins"


@dataclass(frozen=True)
class Owed:
    """What the notification owes: each reader is told against the statuses it was last told."""

    #: every domain against its status in the latest run whose summary reached the admins
    admins: Changes
    #: every domain against its status in the latest run that told its agency (or owed it nothing, or knew
    #: its address would be refused)
    agencies: Changes
    #: domain -> its agency's address, refused for good by the latest run that mailed it and still its contact:
    #: each run records it again, so the mail is owed once the address is corrected
    refused: dict[str, str] = field(default_factory=dict)
    #: the platform's own broken records as the admins were last told them: English text -> Indonesian
    platform_told: dict[str, str] = field(default_factory=dict)

    def platform_news(self, report: CheckReport) -> bool:
        """Whether the platform's own records broke, or were mended, since the admins were last told."""
        return {r.text("en") for r in report.platform_problems} != set(self.platform_told)


def _changes(before: dict[str, str], report: CheckReport) -> Changes:
    """``report`` against each domain's last decided status (none: a domain not decided before).

    An ``error`` (a timeout, SERVFAIL) says nothing about the agency's DNS: it
    is no news tonight, and the comparison goes past it, so a failing domain
    whose server timed out one night is not "newly failing" (nor mailed
    again) the night after.
    """
    changed: dict[str, tuple[str | None, str]] = {}
    newly_failing, fixed = [], []
    for domain in report.domains:
        was, status = before.get(domain.domain), domain.status
        if status == ERROR:
            continue
        if was != status:
            changed[domain.domain] = (was, status)
        if status == FAIL and was != FAIL:
            newly_failing.append(domain.domain)
        if was == FAIL and status in (PASS, WARN):
            fixed.append(domain.domain)
    return Changes(changed, newly_failing, fixed)


#: seconds a write waits for another program's lock (a report tool reading the file) before giving up
BUSY_TIMEOUT = 30.0


def history_error(path: Path, exc: sqlite3.Error) -> HistoryError:
    """The error for ``exc``: a lock another program held too long is worth another try (exit 3), the rest not."""
    if getattr(exc, "sqlite_errorcode", 0) & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return HistoryBusy(path, str(exc), BUSY_TIMEOUT)
    return HistoryError(path, str(exc))


class History:
    """The history file; ``read_only`` for a reader (``letters render --history``), which never changes it:
    it may be another user's, and a nightly run may be writing it meanwhile."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = path
        if path.is_dir():  # SQLite's own words for a folder are "disk I/O error" or "unable to open database file"
            raise HistoryError(path, "is a folder: give the history database's file name (state.db)")
        try:
            if read_only:
                self.db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.db = sqlite3.connect(path, timeout=BUSY_TIMEOUT)
        except OSError as exc:
            raise HistoryError(path, exc.strerror or str(exc)) from None
        except sqlite3.Error as exc:
            raise history_error(path, exc) from None
        try:
            tables = {row[0] for row in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            foreign = (bool(tables) or read_only) and not {"runs", "domain_results", "check_results"} <= tables
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            # another program's database (a mistyped --history) never gets tables added, nor does a history
            # a newer mailprov laid out differently
            if not foreign and version <= SCHEMA_VERSION and not read_only:
                self.db.execute("PRAGMA foreign_keys = ON")
                self.db.executescript(SCHEMA)
                if version < SCHEMA_VERSION:  # new, or kept before the version was: the same tables
                    self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as exc:  # not a SQLite file at all, or another program's lock
            self.db.close()
            raise history_error(path, exc) from None
        if foreign:
            self.db.close()
            found = f"other tables ({', '.join(sorted(tables)[:5])})" if tables else "no tables"
            raise HistoryError(path, f"a SQLite database with {found}")
        if version > SCHEMA_VERSION:
            self.db.close()
            raise HistoryError(path, f"kept by a newer mailprov (history version {version}; this one knows up to "
                                     f"{SCHEMA_VERSION}): run that version, or give another --history")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def previous(self) -> dict[str, tuple[str, str | None, str | None]]:
        """Every domain ever checked: its status in the latest run that checked it, its last decided status
        (pass, warn or fail: an ``error`` decides nothing), and when it has been failing since.

        One query for the whole run (a nightly job of thousands of agencies
        asked three small queries per domain before). "Failing since" is the
        start of the streak of failing runs that reaches the latest, runs that
        decided nothing not breaking it.
        """
        rows = self.db.execute(
            """
            WITH latest AS (SELECT domain, MAX(run_id) AS run_id FROM domain_results GROUP BY domain),
            -- the last decided status walks back from the latest run only where that one is an error
            now AS (SELECT d.domain, d.status, CASE WHEN d.status != :error THEN d.status ELSE (
                        SELECT x.status FROM domain_results x WHERE x.domain = d.domain AND x.status != :error
                        ORDER BY x.run_id DESC LIMIT 1) END AS decided
                    FROM latest l JOIN domain_results d ON d.domain = l.domain AND d.run_id = l.run_id)
            SELECT domain, status, decided,
                   CASE WHEN decided = :fail THEN (
                       SELECT runs.started_at FROM domain_results f JOIN runs ON runs.id = f.run_id
                       WHERE f.domain = now.domain AND f.status = :fail AND f.run_id > COALESCE((
                           SELECT MAX(g.run_id) FROM domain_results g
                           WHERE g.domain = now.domain AND g.status IN (:pass, :warn)), 0)
                       ORDER BY f.run_id LIMIT 1) END
            FROM now
            """, {"fail": FAIL, "error": ERROR, "pass": PASS, "warn": WARN}).fetchall()
        return {domain: (status, decided, since) for domain, status, decided, since in rows}

    def annotate(self, report: CheckReport) -> Changes:
        """Fill in previous_status / failing_since and the summary's newly_failing / fixed."""
        now = stamp(report.generated_at)
        previous = self.previous()
        for domain in report.domains:
            before, _, since = previous.get(domain.domain, (None, None, None))
            domain.previous_status = before
            domain.failing_since = (since or now) if domain.status == FAIL else None
        changes = _changes({name: decided for name, (_, decided, _) in previous.items() if decided}, report)
        report.newly_failing, report.fixed = changes.newly_failing, changes.fixed
        return changes

    def unannounced(self, report: CheckReport, contacts: Mapping[str, str] | None = None) -> Owed:
        """What the notification owes, for each reader against the latest run that told it.

        Not against the previous run: when the SMTP server was down, that run's
        changes were never told, and the next run must still tell them. Per
        reader: when only one agency's mail did not go out, the next run owes
        that agency its mail, and the admins and the other agencies nothing.
        ``contacts`` (domain -> its agency's contact address now): a mail the
        relay refused for good is owed again once the address has changed.
        """
        # per domain of the report, walking its runs from the latest back (the (domain, run_id) index) to the
        # first whose notification reached the reader: one or two steps on most nights. Grouping every row
        # of a year's history took 0.5 s for the two readers, this 0.03 s.
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS asked (domain TEXT PRIMARY KEY, contact TEXT NOT NULL)")
        with self.db:
            self.db.execute("DELETE FROM asked")
            self.db.executemany("INSERT OR IGNORE INTO asked VALUES (?, ?)",
                                [(d.domain, (contacts or {}).get(d.domain, "")) for d in report.domains])
        admins: dict[str, str] = {}
        agencies: dict[str, str] = {}
        for domain, told_admins, told_agency in self.db.execute(UNANNOUNCED, {"admins": ADMINS, "error": ERROR}):
            if told_admins is not None:  # None: never told (a domain checked for the first time)
                admins[domain] = told_admins
            if told_agency is not None:
                agencies[domain] = told_agency
        refused = dict(self.db.execute(STILL_REFUSED).fetchall())
        told = dict(self.db.execute(PLATFORM_TOLD, {"admins": ADMINS}).fetchall())
        return Owed(_changes(admins, report), _changes(agencies, report), refused, told)

    def store(self, report: CheckReport) -> int:
        """Keep the run; one transaction, so a killed run leaves nothing half-written.

        Every run keeps each domain's status; a domain's checks (reasons and
        records) are kept when they differ from the last ones kept for it. A
        compliant agency's checks are the same night after night: kept in full,
        a year of nightly runs of 5,000 domains would take about 2.4 GB (1.3 MB
        a night measured at 1,000 domains).
        """
        counts = report.summary
        kept = self._latest_checks()
        with self.db:
            cursor = self.db.execute(
                "INSERT INTO runs (started_at, version, domains, pass, warn, error, fail) VALUES (?,?,?,?,?,?,?)",
                (stamp(report.generated_at), report.version, counts["domains"], counts["pass"], counts["warn"],
                 counts["error"], counts["fail"]))
            run_id = int(cursor.lastrowid or 0)
            self.db.executemany(
                "INSERT INTO domain_results (run_id, domain, agency, status) VALUES (?,?,?,?)",
                [(run_id, d.domain, d.agency, d.status) for d in report.domains])
            rows = []
            for domain in report.domains:
                checks = [(c.check, c.selector, c.status, c.reason("id"), c.reason("en"),
                           json.dumps(c.records, ensure_ascii=False)) for c in domain.checks]
                if kept.get(domain.domain) != checks:
                    rows += [(run_id, domain.domain, *check) for check in checks]
            self.db.executemany("INSERT INTO check_results VALUES (?,?,?,?,?,?,?,?)", rows)
            self.db.executemany("INSERT INTO platform_problems VALUES (?,?,?)",
                                [(run_id, r.text("en"), r.text("id")) for r in report.platform_problems])
        return run_id

    def _latest_checks(self) -> dict[str, list[tuple[str, str | None, str, str, str, str]]]:
        """Each domain's checks as last kept, in their order."""
        found: dict[str, list[tuple[str, str | None, str, str, str, str]]] = {}
        for domain, *check in self.db.execute(
                """
                WITH last AS (SELECT domain, MAX(run_id) AS run_id FROM check_results GROUP BY domain)
                SELECT c.domain, c.check_name, c.selector, c.status, c.reason_id, c.reason_en, c.records
                FROM last JOIN check_results c ON c.domain = last.domain AND c.run_id = last.run_id
                ORDER BY c.rowid
                """):
            found.setdefault(domain, []).append(tuple(check))
        return found

    def mark_notified(self, run_id: int, undelivered: Iterable[str] = (),
                      refused: Mapping[str, str] | None = None) -> None:
        """The run's notification step ran. ``undelivered``: the readers it did not reach (``ADMINS`` or the
        domains whose agency's mail did not go out), owed again by the next run; ``refused``: domain -> the
        agency address the relay refused for good, owed again once the agency has another."""
        rows: list[tuple[int, str, str | None]] = [(run_id, reader, None) for reader in undelivered]
        rows += [(run_id, domain, address) for domain, address in (refused or {}).items()]
        with self.db:
            self.db.execute("UPDATE runs SET notified = 1 WHERE id = ?", (run_id,))
            self.db.executemany("INSERT OR IGNORE INTO undelivered VALUES (?, ?, ?)", rows)

    def reached(self, run_id: int, reader: str) -> None:
        """The run's mail reached ``reader``: it is owed nothing more for this run."""
        with self.db:
            self.db.execute("DELETE FROM undelivered WHERE run_id = ? AND reader = ?", (run_id, reader))

    def mark_refused(self, run_id: int, refused: Mapping[str, str]) -> None:
        """domain -> the agency address the relay refused for good in this run."""
        with self.db:
            self.db.executemany("UPDATE undelivered SET refused = ? WHERE run_id = ? AND reader = ?",
                                [(address, run_id, domain) for domain, address in refused.items()])

    def recent_runs(self, limit: int = 30) -> list[RunSummary]:
        rows = self.db.execute(
            "SELECT id, started_at, domains, pass, warn, error, fail FROM runs ORDER BY id DESC LIMIT ?",
            (limit,)).fetchall()
        return [RunSummary(r[0], r[1], {"domains": r[2], "pass": r[3], "warn": r[4], "error": r[5], "fail": r[6]})
                for r in reversed(rows)]

    def latest_compliance(self, lang: str) -> dict[str, Compliance]:
        """Each domain's result in the latest run that checked it (what the agency letter shows): its status
        and time from that run, its checks as last kept (unchanged since, or they would have been kept)."""
        from .compliance import Compliance

        # two queries for all domains, not one per domain: `letters render --history` for thousands of agencies
        kept = self._latest_checks()
        rows = self.db.execute(
            """
            WITH latest AS (SELECT domain, MAX(run_id) AS run_id FROM domain_results GROUP BY domain)
            SELECT r.domain, r.status, runs.started_at
            FROM latest JOIN domain_results r ON r.domain = latest.domain AND r.run_id = latest.run_id
            JOIN runs ON runs.id = r.run_id
            """).fetchall()
        return {domain: Compliance(status, started_at, tuple(
            (name + (f" ({selector})" if selector else ""), st, reason_id if lang == "id" else reason_en)
            for name, selector, st, reason_id, reason_en, _records in kept.get(domain, [])))
            for domain, status, started_at in rows}
