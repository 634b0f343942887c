"""The nightly run against the lab Knot: history, drift, HTML report (in headless Chromium), notifications, lock."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
import os
import re
import signal
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from lab.dnsproxy import DelayingRelay
from lab.knot import Knot
from lab.procs import free_port
from lab.tls import make_ca_and_server_cert
from lab.zones import build_zones
from mailprov.config import load_config
from mailprov.files import run_lock
from mailprov.notify import Mail, send

from .configs import write_config
from .conftest import new_knot
from .helpers import NOT_THE_PROTOCOL, REPO, answering, ctrl_c_reaches_children, run

AGENCIES = """\
agencies:
  - id: stabil
    name: Dinas Stabil
    domain: stabil.go.id
    contact: {name: Budi, email: budi@stabil.go.id}
  - id: akan-rusak
    name: Dinas Akan Rusak
    domain: akan-rusak.go.id
    contact: {name: Siti, email: siti@akan-rusak.go.id}
  - id: akan-pulih
    name: Dinas Akan Pulih
    domain: akan-pulih.go.id
    contact: {name: Agus, email: agus@akan-pulih.go.id}
  - id: tetap-gagal
    name: Dinas Tetap Gagal
    domain: tetap-gagal.go.id
    contact: {name: Dewi, email: dewi@tetap-gagal.go.id}
"""
BEFORE = {"akan-pulih": ["dmarc-none"], "tetap-gagal": ["mx-outside"]}
AFTER = {"akan-rusak": ["spf-no-include"], "tetap-gagal": ["mx-outside"]}


class Inbox:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # read as a mail program would: headers decoded, the body's transfer encoding undone
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append({"to": list(envelope.rcpt_tos), "subject": str(message["Subject"]),
                              "text": message.get_content().replace("\r\n", "\n")})
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, Controller]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller
    with contextlib.suppress(AssertionError, RuntimeError):  # a test may have stopped it already
        controller.stop()


@pytest.fixture
def nightly(tmp_path: Path, knot_factory: list[Knot], smtp: tuple[Inbox, Controller]) -> dict[str, Any]:
    inbox, controller = smtp
    port = controller.port
    notify = (f"notify: {{smtp_host: 127.0.0.1, smtp_port: {port}, from: mailprov@mail.go.id, "
              "to: [noc@mail.go.id], agency_contacts: true}\n")
    config_path = write_config(tmp_path, AGENCIES, extra=notify)
    config = load_config(config_path, {})
    knot = new_knot(knot_factory, tmp_path / "knot", build_zones(config, BEFORE).texts())
    return {"config": config_path, "cfg": config, "knot": knot, "inbox": inbox, "smtp": controller,
            "state": tmp_path / "state.db", "report": tmp_path / "report.html"}


def nightly_check(lab: dict[str, Any], *extra: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    r = run(["dns", "check", "-c", lab["config"], "--nameserver", lab["knot"].address, "--history", lab["state"],
             "--report", lab["report"], "--notify", "--format", "json", "--lang", "en", *extra], env=env)
    return r.exit_code, json.loads(r.stdout)


def chromium(*args: str) -> str:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    out = subprocess.run(["/usr/bin/chromium", *flags, *args], capture_output=True, text=True, timeout=60, check=True)
    return out.stdout


def test_drift_report_and_notifications_across_three_runs(nightly: dict[str, Any], tmp_path: Path) -> None:
    code, first = nightly_check(nightly)
    assert code == 1
    assert first["summary"]["newly_failing"] == ["akan-pulih.go.id", "tetap-gagal.go.id"]
    assert first["summary"]["fixed"] == []
    by_domain = {d["domain"]: d for d in first["domains"]}
    assert by_domain["stabil.go.id"]["previous_status"] is None
    first_fail = by_domain["tetap-gagal.go.id"]["failing_since"]
    assert first_fail == first["generated_at"]
    inbox = nightly["inbox"]
    assert len(inbox.messages) == 3  # the admins, and the two agencies that fail
    admin = next(m for m in inbox.messages if m["to"] == ["noc@mail.go.id"])
    # the failing ones by name; the new domains that pass (two here, hundreds on a first run) as a number
    assert "tetap-gagal.go.id (tetap-gagal): - -> fail" in admin["text"] and "stabil.go.id" not in admin["text"]
    assert "* 2 domain(s) checked for the first time, passing." in admin["text"]
    # in the platform's time zone, as the report and the letters show it
    assert re.search(r"^DNS check of Layanan Mail Multi Domain, \d+ \w+ 20\d\d \d\d:\d\d WIB\.$", admin["text"], re.M)
    inbox.messages.clear()

    # overnight: one agency fixed its DMARC, another broke its SPF
    time.sleep(1.1)  # the next run starts a second later: failing_since must keep the first run's time
    nightly["knot"].reload(build_zones(nightly["cfg"], AFTER).texts())
    code, second = nightly_check(nightly)
    assert code == 1
    assert second["summary"]["newly_failing"] == ["akan-rusak.go.id"]
    assert second["summary"]["fixed"] == ["akan-pulih.go.id"]
    by_domain = {d["domain"]: d for d in second["domains"]}
    assert by_domain["akan-rusak.go.id"]["previous_status"] == "pass"
    assert by_domain["akan-rusak.go.id"]["failing_since"] == second["generated_at"]
    assert by_domain["akan-pulih.go.id"]["previous_status"] == "fail"
    assert by_domain["akan-pulih.go.id"]["failing_since"] is None
    assert by_domain["tetap-gagal.go.id"]["failing_since"] == first_fail  # still the start of the streak
    assert by_domain["stabil.go.id"]["previous_status"] == "pass"
    # mail: a summary for the admins, and a letter to the agency whose status got worse only
    recipients = sorted(m["to"][0] for m in inbox.messages)
    assert recipients == ["noc@mail.go.id", "siti@akan-rusak.go.id"]
    admin = next(m for m in inbox.messages if m["to"] == ["noc@mail.go.id"])
    assert "1 newly failing, 1 fixed" in admin["subject"]
    assert "akan-rusak.go.id (akan-rusak): pass -> fail" in admin["text"]
    assert "akan-pulih.go.id (akan-pulih): fail -> pass" in admin["text"]
    agency = next(m for m in inbox.messages if m["to"] == ["siti@akan-rusak.go.id"])
    assert "akan-rusak.go.id. 3600 IN TXT" in agency["text"]  # the records to publish
    inbox.messages.clear()

    # the report, read by a real browser
    html = nightly["report"].read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # self-contained: no external assets
    dom = chromium("--dump-dom", nightly["report"].as_uri())
    text = re.sub(r"<[^>]+>", " ", dom)
    assert "Newly failing (1)" in text and "Fixed (1)" in text
    assert re.search(r"akan-rusak\.go\.id\s+akan-rusak\s+fail", text)
    assert "Trend of the last 30 runs" in dom and dom.count("<rect") == 2 * 2  # two runs: pass and fail bars
    shot = tmp_path / "report.png"
    chromium("--window-size=1280,1000", f"--screenshot={shot}", nightly["report"].as_uri())
    assert shot.stat().st_size > 20_000

    # a third run with nothing changed sends nothing
    code, third = nightly_check(nightly)
    assert third["summary"]["newly_failing"] == [] and third["summary"]["fixed"] == []
    assert inbox.messages == []
    with sqlite3.connect(nightly["state"]) as db:
        # every run did its notification step (the third owed nothing) and reached everyone it owed
        assert db.execute("SELECT COUNT(*), SUM(notified) FROM runs").fetchone() == (3, 3)
        assert db.execute("SELECT COUNT(*) FROM undelivered").fetchone() == (0,)
        # every run keeps each domain's status; a domain's checks only when they changed: the second run's
        # zones were built again (a new DKIM key for every domain), the third run changed nothing
        assert db.execute("SELECT COUNT(*) FROM domain_results").fetchone()[0] == 3 * 4
        assert db.execute("SELECT run_id, COUNT(*) FROM check_results GROUP BY run_id").fetchall() == [
            (1, 4 * 4), (2, 4 * 4)]
        # every run's checks stay queryable, as they were seen
        assert db.execute("SELECT run_id, COUNT(*) FROM run_checks GROUP BY run_id").fetchall() == [
            (1, 16), (2, 16), (3, 16)]
        assert db.execute("SELECT status, reason_en FROM run_checks WHERE run_id = 3 AND domain = 'akan-rusak.go.id' "
                          "AND check_name = 'spf'").fetchone()[0] == "fail"


def test_a_mail_the_smtp_server_did_not_take_is_owed_to_the_next_run(nightly: dict[str, Any],
                                                                      tmp_path: Path) -> None:
    """Mails tell what changed since the last mail that went out, not since the last run: a night with the
    relay down would otherwise lose that night's news for good."""
    inbox, smtp = nightly["inbox"], nightly["smtp"]
    assert nightly_check(nightly)[0] == 1 and len(inbox.messages) == 3
    inbox.messages.clear()
    smtp.stop()
    nightly["knot"].reload(build_zones(nightly["cfg"], AFTER).texts())
    command = ["dns", "check", "-c", nightly["config"], "--nameserver", nightly["knot"].address, "--history",
               nightly["state"], "--notify", "--format", "json", "--lang", "en"]
    down = run(command)
    assert down.exit_code == 1, down.output  # the DNS verdict stays the exit code when something fails
    assert down.stderr.startswith(f"warning: notification not sent through 127.0.0.1:{smtp.port}: "), down.stderr
    assert down.stderr.endswith("(the next run with --notify sends what changed again)\n"), down.stderr
    assert json.loads(down.stdout)["summary"]["newly_failing"] == ["akan-rusak.go.id"]
    back = Controller(inbox, hostname="127.0.0.1", port=smtp.port)  # aiosmtpd's controller cannot restart
    back.start()
    try:
        code, after = nightly_check(nightly)  # nothing changed since the last run, but the admins were never told
        assert code == 1
        assert after["summary"]["newly_failing"] == [] and after["summary"]["fixed"] == []
        assert sorted(m["to"][0] for m in inbox.messages) == ["noc@mail.go.id", "siti@akan-rusak.go.id"]
        admin = next(m for m in inbox.messages if m["to"] == ["noc@mail.go.id"])
        assert "1 newly failing, 1 fixed" in admin["subject"]
        assert "akan-rusak.go.id (akan-rusak): pass -> fail" in admin["text"]
        inbox.messages.clear()
        assert nightly_check(nightly)[0] == 1 and inbox.messages == []  # told once
    finally:
        back.stop()
    # nothing failing, but the mail it owed did not go out: cron must see it (exit 3)
    quiet = run(["dns", "check", "-c", nightly["config"], "--nameserver", nightly["knot"].address, "--agency",
                 "stabil", "--history", tmp_path / "other.db", "--notify", "--format", "json"])
    assert quiet.exit_code == 3, quiet.output
    assert json.loads(quiet.stdout)["summary"]["pass"] == 1 and "notification not sent" in quiet.stderr


def test_a_broken_platform_record_is_not_blamed_on_the_agencies(nightly: dict[str, Any]) -> None:
    """The platform's SPF include loses its IPv6 address and the key behind the agencies' DKIM alias goes:
    every agency that depends on them would be newly failing and mailed to fix DNS that is right. Their checks
    are 'error' instead, the operator is told what to fix, and no agency is mailed; an agency failing on its
    own account still fails."""
    from lab.zones import txt

    faults = {**BEFORE, "stabil": ["dkim-cname"], "akan-rusak": ["spf-no-include"]}
    zones = build_zones(nightly["cfg"], faults)
    nightly["knot"].reload(zones.texts())
    assert nightly_check(nightly)[0] == 1
    nightly["inbox"].messages.clear()
    own = zones.zones["mail.go.id"]
    own.records = [r for r in own.records if r[0] not in ("_spf", "mmd2026._domainkey", "*._report._dmarc")]
    own.add("_spf", "TXT", txt("v=spf1 ip4:203.0.113.10 -all"))
    nightly["knot"].reload(zones.texts())
    r = run(["dns", "check", "-c", nightly["config"], "--nameserver", nightly["knot"].address, "--history",
             nightly["state"], "--notify", "--format", "json", "--lang", "en", "--report", nightly["report"]])
    assert r.exit_code == 1, r.output  # tetap-gagal's MX and akan-rusak's SPF are their own
    data = json.loads(r.stdout)
    checks = {(d["domain"], c["check"]): c for d in data["domains"] for c in d["checks"]}
    spf, dkim = checks[("stabil.go.id", "spf")], checks[("stabil.go.id", "dkim")]
    assert (spf["status"], spf["reason"]) == ("error", (
        "could not be decided: the platform's own record _spf.mail.go.id is broken, and the agency's record "
        "depends on it; there is nothing for the agency to change until the platform fixes it"))
    assert dkim["status"] == "error" and "own record mmd2026._domainkey.mail.go.id is broken" in dkim["reason"]
    assert checks[("akan-rusak.go.id", "spf")]["status"] == "fail"  # no include: its own record denies
    # the platform's report domain no longer authorises reports: a note beside the agency's pass, not a warning
    dmarc = checks[("stabil.go.id", "dmarc")]
    assert dmarc["status"] == "pass" and dmarc["reason"] == (
        "DMARC p=reject; a note for the platform: mail.go.id does not authorise reports for this domain yet (no "
        "stabil.go.id._report._dmarc.mail.go.id); there is nothing for the agency to change"), dmarc
    assert data["summary"]["newly_failing"] == [] and "stabil.go.id" not in data["summary"]["fixed"]
    # the admins are told, though no agency's status changed: it is theirs to fix
    (admin,) = nightly["inbox"].messages
    assert admin["to"] == ["noc@mail.go.id"] and admin["subject"].endswith("; 3 platform record(s) broken")
    assert "Changes:\n* no domain changed status\n\nThe platform's own records are broken" in admin["text"]
    assert ("The platform's own records are broken (the platform's to fix; the agency checks are not failed for "
            "them, and no agency is mailed about them):\n* the platform's own SPF record _spf.mail.go.id gives fail "
            "for the platform's server 2001:db8::10") in admin["text"], admin["text"]
    assert data["platform_problems"] == [
        "the platform's own SPF record _spf.mail.go.id gives fail for the platform's server 2001:db8::10 "
        "('-all' matched in _spf.mail.go.id)",
        "the platform's own DKIM key record at mmd2026._domainkey.mail.go.id (selector mmd2026) is not valid: "
        "0 TXT records, there must be exactly one",
        "the platform's own DMARC report domain mail.go.id does not authorise reports for 3 agency domain(s) "
        '(publish *._report._dmarc.mail.go.id TXT "v=DMARC1")']
    page = nightly["report"].read_text()
    assert "The platform&#39;s own records are broken (the platform&#39;s to fix" in page, page[:2000]
    assert "_spf.mail.go.id gives fail for the platform&#39;s server 2001:db8::10" in page
    warnings = r.stderr.splitlines()
    assert len(warnings) == 3 and all(w.startswith("warning: the platform's own ") and w.endswith(
        ": the platform's to fix; the agency checks that depend on it are not failed for it, and no agency is told "
        "to change anything") for w in warnings)
    # told once: the next night, still broken, mails no one
    nightly["inbox"].messages.clear()
    assert nightly_check(nightly)[0] == 1 and nightly["inbox"].messages == []
    # mended: the admins hear that too; the agencies, back to pass, changed nothing and are not written to
    nightly["knot"].reload(build_zones(nightly["cfg"], faults).texts())
    code, mended = nightly_check(nightly)
    assert code == 1 and "platform_problems" not in mended and mended["summary"]["fixed"] == []
    (admin,) = nightly["inbox"].messages
    assert "platform record" not in admin["subject"]
    assert ("The platform's own records mended since the last mail:\n* the platform's own SPF record "
            "_spf.mail.go.id gives fail") in admin["text"], admin["text"]


class RefusingInbox(Inbox):
    """A relay that knows its users: it refuses some recipients at RCPT, as Postfix does an unknown one; and
    it can answer a message's DATA with 421 and hang up, as a relay that caps messages per connection does."""

    def __init__(self, refuse: dict[str, str]) -> None:
        super().__init__()
        self.refuse = refuse
        self.hang_up_after: int | None = None
        #: after this many messages of a connection, the next one's RCPT is answered only after a long pause
        self.stall_after: int | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.stall_after is not None and getattr(session, "taken", 0) >= self.stall_after:
            await asyncio.sleep(20)  # before the message is sent: it cannot have been delivered
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        taken = getattr(session, "taken", 0)  # messages of this connection
        if self.hang_up_after is not None and taken >= self.hang_up_after:
            return "421 4.7.0 too many messages in this connection"

        session.taken = taken + 1
        return await super().handle_DATA(server, session, envelope)


def refusing_relay(tmp_path: Path, knot: Knot, refuse: dict[str, str], admins: str = "noc@mail.go.id"
                   ) -> tuple[RefusingInbox, Controller, list[str]]:
    inbox = RefusingInbox(refuse)
    relay = Controller(inbox, hostname="127.0.0.1", port=free_port())
    config = write_config(tmp_path, AGENCIES, extra=(
        f"notify: {{smtp_host: 127.0.0.1, smtp_port: {relay.port}, from: mailprov@mail.go.id, "
        f"to: [{admins}], agency_contacts: true}}\n"))
    command = ["dns", "check", "-c", str(config), "--nameserver", knot.address, "--history",
               str(tmp_path / "state.db"), "--notify", "--format", "json", "--lang", "en"]
    return inbox, relay, command


def undelivered(state: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(state) as db:
        return db.execute("SELECT run_id, reader FROM undelivered ORDER BY run_id, reader").fetchall()


def test_an_agency_address_the_relay_refuses_for_good_does_not_hold_back_the_others(
        nightly: dict[str, Any], tmp_path: Path) -> None:
    """A mistyped contact address (550 at RCPT) would be refused every night: it is reported once, the other
    mails go out, and the mail is owed again once the address is corrected."""
    unknown = "550 5.1.1 <agus@akan-pulih.go.id>: Recipient address rejected: User unknown"
    inbox, relay, command = refusing_relay(tmp_path, nightly["knot"], {"agus@akan-pulih.go.id": unknown})
    relay.start()
    try:
        first = run(command)
        assert first.exit_code == 1, first.output
        assert sorted(m["to"][0] for m in inbox.messages) == ["dewi@tetap-gagal.go.id", "noc@mail.go.id"]
        assert first.stderr == (f"warning: the mail to agency akan-pulih (agus@akan-pulih.go.id) was refused: "
                                f"{unknown}; correct its contact.email (the next run with --notify sends it to the "
                                "corrected address)\n")
        inbox.messages.clear()
        again = run(command)  # nothing changed, and the same address would be refused again: no mail, no warning
        assert (again.exit_code, again.stderr, inbox.messages) == (1, "", [])
        # the refusal stays on record, run after run, until the address changes
        assert undelivered(tmp_path / "state.db") == [(1, "akan-pulih.go.id"), (2, "akan-pulih.go.id")]
        # the admins' next summary lists it: only they can correct it
        nightly["knot"].reload(build_zones(nightly["cfg"], {**BEFORE, "akan-rusak": ["spf-no-include"]}).texts())
        assert run(command).exit_code == 1
        admin = next(m for m in inbox.messages if m["to"] == ["noc@mail.go.id"])
        assert ("Agency contact addresses the mail relay refused; their mail is held until contact.email is "
                "corrected:\n* akan-pulih.go.id (akan-pulih): agus@akan-pulih.go.id\n") in admin["text"]
        inbox.messages.clear()
        # the operator corrects the address: the next run owes the agency its mail, at the new address, once
        config = Path(command[command.index("-c") + 1])
        config.write_text(config.read_text().replace("agus@akan-pulih.go.id", "agus.baru@akan-pulih.go.id"))
        corrected = run(command)
        assert (corrected.exit_code, corrected.stderr) == (1, ""), corrected.output
        assert [m["to"] for m in inbox.messages] == [["agus.baru@akan-pulih.go.id"]]
        inbox.messages.clear()
        assert run(command).exit_code == 1 and inbox.messages == []
        # a domain that only warns mails its agency nothing (DESIGN.md: each failing agency's contact), so
        # its refused address is not even tried; the admins' summary has it
        only = write_config(tmp_path / "warn", AGENCIES.replace("agus@akan-pulih.go.id", "siti@akan-rusak.go.id"),
                            extra=(f"notify: {{smtp_host: 127.0.0.1, smtp_port: {relay.port}, "
                                   "from: mailprov@mail.go.id, to: [noc@mail.go.id], agency_contacts: true}\n"))
        nightly["knot"].reload(build_zones(nightly["cfg"], {"akan-rusak": ["spf-softfail"]}).texts())
        inbox.refuse = {"siti@akan-rusak.go.id": unknown.replace("agus@akan-pulih", "siti@akan-rusak")}
        warned = run(["dns", "check", "-c", only, "--nameserver", nightly["knot"].address, "--agency", "akan-rusak",
                      "--history", tmp_path / "warn.db", "--notify", "--format", "json"])
        assert (warned.exit_code, warned.stderr) == (0, ""), warned.output
        assert json.loads(warned.stdout)["summary"]["warn"] == 1
        assert [m["to"] for m in inbox.messages] == [["noc@mail.go.id"]]
        assert "akan-rusak.go.id (akan-rusak): - -> peringatan" in inbox.messages[0]["text"]
        # when it fails, its agency is mailed (and the refusal said)
        inbox.messages.clear()
        nightly["knot"].reload(build_zones(nightly["cfg"], {"akan-rusak": ["spf-no-include"]}).texts())
        failed = run(["dns", "check", "-c", only, "--nameserver", nightly["knot"].address, "--agency", "akan-rusak",
                      "--history", tmp_path / "warn.db", "--notify", "--format", "json"])
        assert failed.exit_code == 1, failed.output
        assert "the mail to agency akan-rusak (siti@akan-rusak.go.id) was refused: 550 5.1.1" in failed.stderr
    finally:
        relay.stop()


@pytest.mark.parametrize(("refused", "reader", "who", "answer"), [
    ("agus@akan-pulih.go.id", "akan-pulih.go.id", "agency akan-pulih",
     "450 4.2.1 <agus@akan-pulih.go.id>: mailbox busy, try again later"),
    ("noc@mail.go.id", "@admins", "the admins", "550 5.1.1 <noc@mail.go.id>: Recipient address rejected: User unknown"),
])
def test_a_mail_refused_for_now_is_owed_to_its_reader_only(nightly: dict[str, Any], tmp_path: Path, refused: str,
                                                           reader: str, who: str, answer: str) -> None:
    """A 4xx may pass the next night; the admins' own address refused must be fixed and then told. Either
    way the next run owes that one reader its mail, and the others, already told, nothing."""
    inbox, relay, command = refusing_relay(tmp_path, nightly["knot"], {refused: answer})
    relay.start()
    try:
        first = run(command)
        assert first.exit_code == 1, first.output
        assert first.stderr == (f"warning: the mail to {who} ({refused}) was not sent through 127.0.0.1:{relay.port}: "
                                f"{answer} (the next run with --notify sends it again)\n")
        told = sorted(m["to"][0] for m in inbox.messages)
        assert refused not in told and len(told) == 2
        assert undelivered(tmp_path / "state.db") == [(1, reader)]
        inbox.messages.clear()
        inbox.refuse = {}
        later = run(command)
        assert later.exit_code == 1 and later.stderr == "", later.output
        assert [m["to"] for m in inbox.messages] == [[refused]]
        text = inbox.messages[0]["text"]
        assert ("akan-pulih.go.id (akan-pulih): - -> fail" in text if reader == "@admins" else
                "menemukan masalah pada DNS domain akan-pulih.go.id" in text)  # the agency's language: Indonesian
        inbox.messages.clear()
        assert run(command).exit_code == 1 and inbox.messages == []  # told once
    finally:
        relay.stop()


def test_an_admin_address_refused_beside_one_taken_is_reported(nightly: dict[str, Any], tmp_path: Path) -> None:
    """smtplib raises only when every recipient is refused: one admin address of two refused was silent."""
    gone = "550 5.1.1 <kepala@mail.go.id>: Recipient address rejected: User unknown"
    inbox, relay, command = refusing_relay(tmp_path, nightly["knot"], {"kepala@mail.go.id": gone},
                                           admins="noc@mail.go.id, kepala@mail.go.id")
    relay.start()
    try:
        first = run(command)
        assert first.exit_code == 1, first.output
        assert first.stderr == ("warning: the mail to the admins (noc@mail.go.id, kepala@mail.go.id) went out, but "
                                f"the relay refused kepala@mail.go.id ({gone}); correct notify.to\n")
        assert ["noc@mail.go.id"] in [m["to"] for m in inbox.messages]
        assert undelivered(tmp_path / "state.db") == []  # the admins were told: nothing owed
    finally:
        relay.stop()


def test_a_relay_that_hangs_up_half_way_owes_only_the_rest(nightly: dict[str, Any], tmp_path: Path) -> None:
    """A relay that takes a few messages per connection (421 and hang up): what went out is not sent again,
    what did not is, the next night (a night that started over each time would never get past the cap)."""
    inbox, relay, command = refusing_relay(tmp_path, nightly["knot"], {})
    inbox.hang_up_after = 1
    relay.start()
    try:
        first = run(command)
        assert first.exit_code == 1, first.output
        assert [m["to"] for m in inbox.messages] == [["noc@mail.go.id"]]  # the admins' summary goes first
        lines = first.stderr.splitlines()
        assert len(lines) == 2 and all(line.startswith("warning: the mail to agency ") for line in lines), lines
        assert "421 4.7.0 too many messages in this connection" in lines[0]
        assert undelivered(tmp_path / "state.db") == [(1, "akan-pulih.go.id"), (1, "tetap-gagal.go.id")]
        second = run(command)  # one more mail gets through per night here
        assert second.exit_code == 1 and len(inbox.messages) == 2, second.output
        inbox.hang_up_after = None
        third = run(command)
        assert third.exit_code == 1 and third.stderr == "", third.output
        assert sorted(m["to"][0] for m in inbox.messages) == [
            "agus@akan-pulih.go.id", "dewi@tetap-gagal.go.id", "noc@mail.go.id"]  # each told once
    finally:
        relay.stop()


def test_a_run_stopped_while_mailing_owes_only_what_it_had_not_sent(nightly: dict[str, Any],
                                                                  tmp_path: Path) -> None:
    """systemd stops the unit while the relay is slow: the mail that went out is not sent again."""
    inbox, relay, command = refusing_relay(tmp_path, nightly["knot"], {})
    inbox.stall_after = 1
    relay.start()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "mailprov", *command], cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "120"})
        deadline = time.monotonic() + 30
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the second mail's RCPT is now waiting on the relay
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 143, err
        assert [m["to"] for m in inbox.messages] == [["noc@mail.go.id"]]
        assert undelivered(tmp_path / "state.db") == [(1, "akan-pulih.go.id"), (1, "tetap-gagal.go.id")]
        inbox.stall_after = None
        again = run(command)
        assert again.exit_code == 1 and again.stderr == "", again.output
        assert sorted(m["to"][0] for m in inbox.messages) == [
            "agus@akan-pulih.go.id", "dewi@tetap-gagal.go.id", "noc@mail.go.id"]  # each once
    finally:
        relay.stop()


def test_a_night_no_nameserver_answered_is_shown_not_kept(nightly: dict[str, Any]) -> None:
    """The resolver down: every verdict 'error'. Kept, it would mail every domain as "pass -> error" and back
    the next night, and end every failing streak."""
    inbox = nightly["inbox"]
    code, first = nightly_check(nightly)
    assert code == 1 and len(inbox.messages) == 3
    inbox.messages.clear()
    dead = f"127.0.0.1:{free_port()}"
    r = run(["dns", "check", "-c", nightly["config"], "--nameserver", dead, "--timeout", "0.5", "--history",
             nightly["state"], "--report", nightly["report"], "--notify", "--format", "json"])
    assert r.exit_code == 3, r.output
    assert r.stderr.endswith("check --nameserver and the network; the run is not kept in the history and nothing "
                             "is mailed\n"), r.stderr
    assert {d["status"] for d in json.loads(r.stdout)["domains"]} == {"error"}
    assert "error" in nightly["report"].read_text()  # tonight's report shows it
    assert inbox.messages == []
    with sqlite3.connect(nightly["state"]) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)
    time.sleep(1.1)  # a second later: a streak the dead night had ended would start at this run's time
    code, after = nightly_check(nightly)  # the next good night compares with the last kept one
    assert code == 1 and after["summary"]["newly_failing"] == [] and inbox.messages == []
    tetap = next(d for d in after["domains"] if d["domain"] == "tetap-gagal.go.id")
    assert tetap["failing_since"] == first["generated_at"] != after["generated_at"]


def test_mails_speak_their_readers_language(nightly: dict[str, Any], tmp_path: Path) -> None:
    """The admins' summary in --lang (Indonesian by default); an agency's mail in that agency's language."""
    english = AGENCIES.replace("    domain: tetap-gagal.go.id\n", "    domain: tetap-gagal.go.id\n    language: en\n")
    port = nightly["smtp"].port
    config = write_config(tmp_path / "lang", english, extra=(
        f"notify: {{smtp_host: 127.0.0.1, smtp_port: {port}, from: mailprov@mail.go.id, to: [noc@mail.go.id], "
        "agency_contacts: true}\n"))
    r = run(["dns", "check", "-c", config, "--nameserver", nightly["knot"].address, "--history",
             tmp_path / "lang.db", "--notify", "--format", "json"])
    assert r.exit_code == 1, r.output
    mails = {m["to"][0]: m for m in nightly["inbox"].messages}
    assert sorted(mails) == ["agus@akan-pulih.go.id", "dewi@tetap-gagal.go.id", "noc@mail.go.id"]
    assert mails["noc@mail.go.id"]["subject"] == "[mailprov] DNS: 2 baru gagal, 0 pulih (2 gagal dari 4 domain)"
    assert "Perubahan:" in mails["noc@mail.go.id"]["text"]
    assert "* 2 domain diperiksa untuk pertama kali dan lulus." in mails["noc@mail.go.id"]["text"]
    assert "Yth. Agus," in mails["agus@akan-pulih.go.id"]["text"]
    assert "The DNS of tetap-gagal.go.id needs fixing" in mails["dewi@tetap-gagal.go.id"]["subject"]
    assert "Dear Dewi," in mails["dewi@tetap-gagal.go.id"]["text"]


def test_agency_letters_show_each_domains_latest_result_from_the_history(nightly: dict[str, Any],
                                                                        tmp_path: Path) -> None:
    assert nightly_check(nightly)[0] == 1
    nightly["knot"].reload(build_zones(nightly["cfg"], AFTER).texts())
    assert nightly_check(nightly)[0] == 1
    # the last run checks two agencies only, and finds them as the run before: their checks are not kept again
    assert nightly_check(nightly, "--agency", "akan-rusak", "--agency", "akan-pulih")[0] == 1
    with sqlite3.connect(nightly["state"]) as db:
        assert db.execute("SELECT COUNT(*) FROM domain_results WHERE run_id = 3").fetchone() == (2,)
        assert db.execute("SELECT COUNT(*) FROM check_results WHERE run_id = 3").fetchone() == (0,)
    out = tmp_path / "letters"
    r = run(["letters", "render", "-c", nightly["config"], "--kind", "agency", "--lang", "en", "--history",
             nightly["state"], "--out", out, "--date", "2026-11-28"])
    assert r.exit_code == 0, r.output
    letter = {agency: (out / agency / "agency.md").read_text() for agency in
              ("stabil", "akan-rusak", "akan-pulih", "tetap-gagal")}
    # akan-pulih failed in the first run and passed in the second and third: the letter has the third's status
    # and the checks kept by the second
    assert "**not compliant**" in letter["akan-rusak"] and "**compliant**" in letter["akan-pulih"]
    assert "| spf | fail |" in letter["akan-rusak"]
    # not checked by the last run: the second run's result
    assert "**not compliant**" in letter["tetap-gagal"] and "| mx | fail |" in letter["tetap-gagal"]
    assert "**compliant**" in letter["stabil"]
    # without --lang each letter is in its agency's language, and so are the reasons the history kept
    english = Path(nightly["config"])
    english.write_text(english.read_text().replace("    domain: akan-rusak.go.id\n",
                                                   "    domain: akan-rusak.go.id\n    language: en\n"))
    r = run(["letters", "render", "-c", english, "--kind", "agency", "--history", nightly["state"], "--out",
             tmp_path / "own", "--date", "2026-11-28"])
    assert r.exit_code == 0, r.output
    own = (tmp_path / "own" / "akan-rusak" / "agency.md").read_text()
    assert "| spf | fail | SPF gives fail for the platform's server 203.0.113.10" in own, own
    assert "| mx | gagal | MX mail.tetap-gagal.go.id bukan server platform" in (
        tmp_path / "own" / "tetap-gagal" / "agency.md").read_text()


def notifying_lab(tmp_path: Path, knot_factory: list[Knot], relay: str) -> tuple[Path, Knot]:
    """A configuration that mails the admins through a relay on 127.0.0.1 (``relay``: its other notify keys),
    and Knot serving its agencies' zones as the first night sees them."""
    config = write_config(tmp_path, AGENCIES, extra=(
        f"notify: {{smtp_host: 127.0.0.1, {relay}, from: mailprov@mail.go.id, to: [noc@mail.go.id]}}\n"))
    return config, new_knot(knot_factory, tmp_path / "knot", build_zones(load_config(config, {}), BEFORE).texts())


def relay_certificate(tmp_path: Path) -> ssl.SSLContext:
    """A TLS relay's side: a certificate for 127.0.0.1 from a CA made for the test (SSL_CERT_FILE trusts it)."""
    make_ca_and_server_cert(tmp_path / "tls", hosts=["127.0.0.1"])
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(tmp_path / "tls" / "server.pem", tmp_path / "tls" / "server.key")
    return tls


def test_notifications_through_a_relay_that_wants_starttls_and_a_login(tmp_path: Path,
                                                                        knot_factory: list[Knot]) -> None:
    """The usual submission relay: STARTTLS first (certificate verified), then AUTH with the password from
    the environment variable password_env names; the password appears in no output."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    tls = relay_certificate(tmp_path)
    logins: list[bool] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"mailprov", b"sandi-relay-2026")
        logins.append(ok)
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    inbox = Inbox()
    relay = Controller(inbox, hostname="127.0.0.1", port=free_port(), tls_context=tls, require_starttls=True,
                       authenticator=authenticator, auth_required=True)
    relay.start()
    try:
        config, knot = notifying_lab(tmp_path, knot_factory, f"smtp_port: {relay.port}, starttls: true, "
                                     "username: mailprov, password_env: MAILPROV_SMTP_PASSWORD")
        command: list[str | Path] = ["dns", "check", "-c", config, "--nameserver", knot.address, "--notify", "--format",
                                     "json"]
        env = {"SSL_CERT_FILE": str(tmp_path / "tls" / "ca.pem"), "MAILPROV_SMTP_PASSWORD": "salah"}
        wrong = run([*command, "--history", tmp_path / "a.db"], env=env)
        assert wrong.exit_code == 1 and "notification not sent through 127.0.0.1" in wrong.stderr, wrong.output
        assert f"{relay.port}: 535 5.7.8 Authentication credentials invalid (the next" in wrong.stderr
        assert inbox.messages == [] and logins and not any(logins)
        r = run([*command, "--history", tmp_path / "b.db"], env={**env, "MAILPROV_SMTP_PASSWORD": "sandi-relay-2026"})
        assert r.exit_code == 1 and "warning" not in r.stderr, r.output
        assert [m["to"] for m in inbox.messages] == [["noc@mail.go.id"]] and logins[-1] is True
        assert "sandi-relay-2026" not in r.output
        # without the CA the relay's certificate is not trusted: not sent, and said why
        untrusted = run([*command, "--history", tmp_path / "c.db"], env={"MAILPROV_SMTP_PASSWORD": "sandi-relay-2026"})
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr and len(inbox.messages) == 1, untrusted.output
        assert "if a CA of your own signed the relay's certificate, name it in notify.ca_file" in untrusted.stderr
    finally:
        relay.stop()


def test_notifications_through_a_relay_that_speaks_tls_from_the_first_byte(tmp_path: Path,
                                                                            knot_factory: list[Knot]) -> None:
    """SMTPS (port 465, implicit_tls): a plain session there would wait out its timeout and say only that.
    The relay's certificate is trusted through notify.ca_file (relative to the YAML file), as a relay with a
    certificate from the platform's own CA needs."""
    inbox = Inbox()
    relay = Controller(inbox, hostname="127.0.0.1", port=free_port(), ssl_context=relay_certificate(tmp_path))
    relay.start()
    try:
        config, knot = notifying_lab(tmp_path, knot_factory, f"smtp_port: {relay.port}, implicit_tls: true, "
                                     "ca_file: tls/ca.pem")
        r = run(["dns", "check", "-c", config, "--nameserver", knot.address, "--notify", "--format", "json",
                 "--history", tmp_path / "a.db"])
        assert r.exit_code == 1 and "warning" not in r.stderr, r.output
        assert [m["to"] for m in inbox.messages] == [["noc@mail.go.id"]]
        # a CA file that is not there: said so, nothing sent, owed to the next run
        (tmp_path / "tls" / "ca.pem").rename(tmp_path / "tls" / "moved.pem")
        missing = run(["dns", "check", "-c", config, "--nameserver", knot.address, "--notify", "--format", "json",
                       "--history", tmp_path / "b.db"])
        assert missing.exit_code == 1, missing.output  # non-compliant agencies: 1 says more than 3
        assert f"notify.ca_file {tmp_path / 'tls' / 'ca.pem'} does not exist" in missing.stderr, missing.output
        (tmp_path / "tls" / "ca.pem").mkdir()  # a folder where the file should be
        folder = run(["dns", "check", "-c", config, "--nameserver", knot.address, "--notify", "--format", "json",
                      "--history", tmp_path / "c.db"])
        assert f"notify.ca_file {tmp_path / 'tls' / 'ca.pem'} is a folder, not a file" in folder.stderr, folder.output
        (tmp_path / "tls" / "ca.pem").rmdir()  # a copy cut short: it was "[X509] PEM lib (_ssl.c:4154)"
        (tmp_path / "tls" / "ca.pem").write_text((tmp_path / "tls" / "moved.pem").read_text()[:300])
        damaged = run(["dns", "check", "-c", config, "--nameserver", knot.address, "--notify", "--format", "json",
                       "--history", tmp_path / "d.db"])
        assert (f"notify.ca_file {tmp_path / 'tls' / 'ca.pem'} holds a damaged PEM block: give the PEM file of the "
                "CA that signed the server's certificate") in damaged.stderr, damaged.output
        assert len(inbox.messages) == 1
    finally:
        relay.stop()
    # port 465 means TLS from the first byte unless the file says otherwise; STARTTLS does not apply there
    smtps = load_config(write_config(tmp_path / "465", AGENCIES, extra=(
        "notify: {smtp_host: relay.mail.go.id, smtp_port: 465, starttls: true, username: mailprov, "
        "password_env: MAILPROV_SMTP_PASSWORD, from: mailprov@mail.go.id, to: [noc@mail.go.id]}\n")), {}).notify
    assert smtps is not None and (smtps.implicit_tls, smtps.starttls) == (True, False)


def test_a_relay_port_where_something_else_answers_is_said_so(tmp_path: Path, knot_factory: list[Knot]) -> None:
    """smtplib takes a greeting without a reply code as code -1, and the warning read '-1 /1.1 400 Bad Request'."""
    with answering(NOT_THE_PROTOCOL["http"], first=True) as port:
        config, knot = notifying_lab(tmp_path, knot_factory, f"smtp_port: {port}")
        r = run(["dns", "check", "-c", config, "--nameserver", knot.address, "--notify", "--format", "json",
                 "--history", tmp_path / "a.db"])
        cfg = load_config(config, {})
        delivery = send([Mail(("noc@mail.go.id",), "s", "b")], cfg, {}, timeout=5)
    assert r.exit_code == 1, r.output
    assert f"warning: notification not sent through 127.0.0.1:{port}: the answer is not SMTP (another service on " \
           "this port?)" in r.stderr, r.stderr
    assert [reason for _, reason in delivery.undelivered] == ["the answer is not SMTP (another service on this port?)"]


def test_second_run_waits_for_no_one(nightly: dict[str, Any]) -> None:
    lock = nightly["state"].with_name("state.db.lock")
    with run_lock(lock):
        r = run(["dns", "check", "-c", nightly["config"], "--nameserver", nightly["knot"].address,
                 "--history", nightly["state"]])
    assert r.exit_code == 3
    assert r.stderr.strip() == (f"error: another mailprov run holds {lock} (pid {os.getpid()}); "
                                "not starting a second one")
    assert run(["dns", "check", "-c", nightly["config"], "--nameserver", nightly["knot"].address,
                "--history", nightly["state"], "--format", "json"]).exit_code == 1


def test_a_history_another_program_keeps_locked_is_worth_another_try(nightly: dict[str, Any],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A report tool holding a read transaction on state.db through the night's write: exit 3 (another try
    will do), not 2 ("cannot use it as the history database", as for a file that is not one)."""
    import mailprov.history

    assert nightly_check(nightly)[0] == 1
    monkeypatch.setattr(mailprov.history, "BUSY_TIMEOUT", 0.3)
    reader = sqlite3.connect(nightly["state"], isolation_level=None)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)  # a shared lock, held
        r = run(["dns", "check", "-c", nightly["config"], "--nameserver", nightly["knot"].address,
                 "--history", nightly["state"]])
    finally:
        reader.close()
    assert r.exit_code == 3, r.output
    assert r.stderr == (f"error: {nightly['state']}: another program held the history database locked (database is "
                        "locked) for more than 0.3 s; this run is not kept, the next one tries again\n")
    with sqlite3.connect(nightly["state"]) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)
    assert nightly_check(nightly)[0] == 1  # the lock gone, the next run is kept
    with sqlite3.connect(nightly["state"]) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (2,)


def test_the_history_carries_its_layout_version(nightly: dict[str, Any]) -> None:
    """So that a later mailprov can tell the layout it migrates from, and an older one refuses a newer file."""
    assert nightly_check(nightly)[0] == 1
    with sqlite3.connect(nightly["state"]) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (2,)
        # a history of version 1: no platform_problems table yet; the next run adds it and stamps the file
        db.execute("DROP TABLE platform_problems")
        db.execute("PRAGMA user_version = 1")
    assert nightly_check(nightly)[0] == 1
    with sqlite3.connect(nightly["state"]) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (2,)
        assert db.execute("SELECT COUNT(*) FROM platform_problems").fetchone() == (0,)
        db.execute("PRAGMA user_version = 0")  # a history kept before the version was written
        db.execute("DROP TABLE platform_problems")
    code, data = nightly_check(nightly)
    assert code == 1
    with sqlite3.connect(nightly["state"]) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (2,)
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (3,)
        db.execute("PRAGMA user_version = 0")
    # a reader (letters render --history, perhaps as another user) reads it and changes nothing, not even that
    import mailprov.history

    with mailprov.history.History(nightly["state"], read_only=True) as store:
        assert set(store.previous()) == {d["domain"] for d in data["domains"]}
    before = nightly["state"].read_bytes()
    r = run(["letters", "render", "-c", nightly["config"], "--kind", "agency", "--history", nightly["state"],
             "--out", nightly["state"].parent / "letters-from-history"])
    assert r.exit_code == 0, r.output
    assert nightly["state"].read_bytes() == before  # not stamped: the writer does that


def test_killed_run_leaves_the_history_usable(nightly: dict[str, Any]) -> None:
    assert nightly_check(nightly)[0] == 1
    host, port = nightly["knot"].address.split(":")
    relay = DelayingRelay((host, int(port)), delay=3.0).start()  # a resolver so slow the run can be killed
    try:
        env = {**os.environ, "COLUMNS": "120"}
        proc = subprocess.Popen([sys.executable, "-m", "mailprov", "dns", "check", "-c", str(nightly["config"]),
                                 "--nameserver", relay.address, "--history", str(nightly["state"]), "--timeout", "20"],
                                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        relay.stop()
    with sqlite3.connect(nightly["state"]) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)
    # the kernel dropped the dead run's lock: the next run goes ahead
    code, data = nightly_check(nightly)
    assert code == 1 and data["summary"]["newly_failing"] == []


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_nightly_run_stores_nothing_and_frees_the_lock(nightly: dict[str, Any], signum: int,
                                                                 status: int) -> None:
    """systemd stopping the unit (SIGTERM) or Ctrl-C: no half run in the history, no lock left behind."""
    assert nightly_check(nightly)[0] == 1
    host, port = nightly["knot"].address.split(":")
    relay = DelayingRelay((host, int(port)), delay=3.0).start()
    try:
        with ctrl_c_reaches_children():
            proc = subprocess.Popen([sys.executable, "-m", "mailprov", "dns", "check", "-c", str(nightly["config"]),
                                     "--nameserver", relay.address, "--history", str(nightly["state"]), "--report",
                                     str(nightly["report"]), "--timeout", "20", "--format", "json"],
                                    cwd=REPO, env={**os.environ, "COLUMNS": "120"}, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        report_before = nightly["report"].read_text()
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        relay.stop()
    assert proc.returncode == status, err
    assert out == "" and "Traceback" not in err
    with sqlite3.connect(nightly["state"]) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)
    assert nightly["report"].read_text() == report_before  # the last complete run's report stays
    code, data = nightly_check(nightly)  # the lock went with the process
    assert code == 1 and data["summary"]["newly_failing"] == []


def test_no_colour_off_a_terminal(nightly: dict[str, Any]) -> None:
    r = run(["dns", "check", "-c", nightly["config"], "--nameserver", nightly["knot"].address],
            env={"NO_COLOR": "", "TERM": "xterm-256color"})
    assert r.exit_code == 1
    assert "\x1b[" not in r.output and "tetap-gagal.go.id" in r.stdout


@pytest.mark.parametrize(("option", "where", "message"), [
    ("--history", "in-the-way/state.db", "{t}/in-the-way/state.db: cannot write here ({t}/in-the-way is a file, "
                                         "not a folder)"),
    ("--history", "not-sqlite.db", "{t}/not-sqlite.db: cannot use it as the history database (file is not a "
                                   "database)"),
    ("--history", "foreign.db", "{t}/foreign.db: cannot use it as the history database (a SQLite database with "
                                "other tables (invoices))"),
    ("--history", "newer.db", "{t}/newer.db: cannot use it as the history database (kept by a newer mailprov "
                              "(history version 9; this one knows up to 2): run that version, or give another "
                              "--history)"),
    ("--report", "in-the-way/report.html", "{t}/in-the-way/report.html: cannot write here ({t}/in-the-way is a "
                                           "file, not a folder)"),
    ("--output", "in-the-way/last-check.json", "{t}/in-the-way/last-check.json: cannot write here ({t}/in-the-way "
                                               "is a file, not a folder)"),
    # a folder given as the file: its lock was made beside it, in its parent, and the run went on
    ("--history", "a-folder", "{t}/a-folder: cannot write here (is a folder: give a file name)"),
    ("--report", "a-folder", "{t}/a-folder: cannot write here (is a folder: give a file name)"),
    ("--output", "a-folder", "{t}/a-folder: cannot write here (is a folder: give a file name)"),
])
def test_an_unusable_output_path_is_one_line_and_exit_2(nightly: dict[str, Any], tmp_path: Path, option: str,
                                                        where: str, message: str) -> None:
    """Before: 'internal error FileExistsError' / 'DatabaseError' and exit 1, which a job reads as non-compliant."""
    (tmp_path / "in-the-way").write_text("a file, not a folder\n")
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "not-sqlite.db").write_text("this is not a database\n")
    with sqlite3.connect(tmp_path / "foreign.db") as foreign:  # a mistyped --history: another program's file
        foreign.execute("CREATE TABLE invoices (number INTEGER)")
    with sqlite3.connect(tmp_path / "newer.db") as newer:  # a history a later mailprov laid out its own way
        newer.executescript("CREATE TABLE runs (id INTEGER PRIMARY KEY, started_at TEXT, layout TEXT); "
                            "CREATE TABLE domain_results (x); CREATE TABLE check_results (x); PRAGMA user_version = 9")
    r = run(["dns", "check", "-c", nightly["config"], "--nameserver", nightly["knot"].address,
             option, tmp_path / where, "--format", "json"])
    assert r.exit_code == 2, r.output
    assert r.stderr == f"error: {message.format(t=tmp_path)}\n"
    assert r.stdout == ""  # stopped before the checks: no result printed for a run that keeps nothing
    assert not (tmp_path / "a-folder.lock").exists()
    if where == "a-folder" and option == "--history":  # and the reader of a history
        read = run(["letters", "render", "-c", nightly["config"], "--history", tmp_path / where, "--out",
                    tmp_path / "letters"])
        assert (read.exit_code, read.stderr) == (2, f"error: {tmp_path / where}: cannot use it as the history database "
                                                    "(is a folder: give the history database's file name "
                                                    "(state.db))\n"), read.output
    assert (tmp_path / "not-sqlite.db").read_text() == "this is not a database\n"
    with sqlite3.connect(tmp_path / "foreign.db") as foreign:  # left exactly as it was
        assert [r[0] for r in foreign.execute("SELECT name FROM sqlite_master")] == ["invoices"]
    with sqlite3.connect(tmp_path / "newer.db") as newer:
        assert newer.execute("PRAGMA user_version").fetchone() == (9,)
        assert len(newer.execute("SELECT name FROM sqlite_master").fetchall()) == 3  # no table or index added


def test_notify_needs_history(nightly: dict[str, Any]) -> None:
    r = run(["dns", "check", "-c", nightly["config"], "--nameserver", nightly["knot"].address, "--notify"])
    assert r.exit_code == 2 and "--notify needs --history" in r.stderr


def test_notify_needs_a_notify_section(nightly: dict[str, Any], tmp_path: Path) -> None:
    """Said before the run, as a configuration error: not a warning after a night's checks, with nothing kept."""
    config = write_config(tmp_path, AGENCIES)  # no notify: section
    state = tmp_path / "state.db"
    r = run(["dns", "check", "-c", config, "--nameserver", nightly["knot"].address, "--notify", "--history", state])
    assert (r.exit_code, r.stderr) == (2, f"error: --notify needs a notify: section in {config} (smtp_host, from, "
                                          "to)\n"), r.output
    assert not state.exists()
