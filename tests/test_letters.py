"""letters render: every kind, language and format from the sample; escaping, modes, templates, PDF."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from mailprov.compliance import Compliance, from_json
from mailprov.config import load_config
from mailprov.errors import TemplateError, UsageError
from mailprov.letters import Renderer, html_to_pdf, markdown_cell

from .configs import write_config
from .helpers import FIXTURES, SAMPLE, run

DATE = ["--date", "2026-11-28"]


def results_file(folder: Path, lang: str | None = None) -> Path:
    """A dns check result in the JSON shape of DESIGN.md, for two sample agencies (``lang``: of its reasons,
    as dns check now says; left out, as in a file from before)."""
    path = folder / "dns.json"
    path.write_text(json.dumps({
        "generated_at": "2026-11-28T02:00:00Z", "version": "0.1.0", **({"lang": lang} if lang else {}),
        "summary": {"domains": 2, "pass": 1, "warn": 0, "fail": 1, "error": 0},
        "domains": [
            {"domain": "probolinggokota.go.id", "agency": "pemkot-probolinggo", "status": "pass", "checks": [
                {"check": "mx", "status": "pass", "reason": "MX menunjuk ke platform", "records": []}]},
            {"domain": "sidoarjokab.go.id", "agency": "pemkab-sidoarjo", "status": "fail", "checks": [
                {"check": "dmarc", "status": "fail", "reason": "kebijakan DMARC p=none terlalu lemah",
                 "records": ["v=DMARC1; p=none"]}]},
        ]}))
    return path


@pytest.mark.parametrize(("lang", "said"), [
    ("en", "note: the reasons in {results} are in Bahasa Indonesia (its dns check --lang); the letters in English "
           "quote them so (--history gives each letter its own language)"),
    ("id", None),
])
def test_letters_in_another_language_than_the_results_say_so(tmp_path: Path, lang: str, said: str | None) -> None:
    """The demo's English letters carried Indonesian reasons without a word: the JSON now names its language."""
    results = results_file(tmp_path, "id")
    r = run(["letters", "render", "-c", SAMPLE, "--kind", "agency", "--lang", lang, "--out", tmp_path / "out",
             "--results", results, *DATE])
    assert r.exit_code == 0, r.output
    assert r.stderr == (said.format(results=results) + "\n" if said else "")
    assert "kebijakan DMARC p=none terlalu lemah" in (tmp_path / "out" / "pemkab-sidoarjo" / "agency.md").read_text()


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("fmt", ["md", "html"])
def test_agency_letters_from_the_sample(tmp_path: Path, lang: str, fmt: str) -> None:
    out = tmp_path / "letters"
    r = run(["letters", "render", "-c", SAMPLE, "--kind", "agency", "--lang", lang, "--format", fmt,
             "--out", out, "--results", results_file(tmp_path), *DATE])
    assert r.exit_code == 0, r.output
    assert "wrote 7 letter(s)" in r.stdout
    letter = (out / "pemkot-probolinggo" / f"agency.{fmt}").read_text()
    assert "Jakarta, 28 November 2026" in letter
    assert "001/MMD/XI/2026" in letter
    assert "002/MMD/XI/2026" in (out / "pemkab-banyuwangi" / f"agency.{fmt}").read_text()
    records = run(["dns", "records", "-c", SAMPLE, "probolinggokota.go.id", "--lang", lang]).stdout
    for line in records.splitlines():
        expected = line.replace('"', "&#34;") if fmt == "html" else line
        assert expected in letter, line  # the same text as mailprov dns records
    assert "walikota@probolinggokota.go.id" in letter and "lukman.maulana@probolinggokota.go.id" in letter
    assert ("Kepada Yth." if lang == "id" else "To:") in letter
    assert ("Perihal" if lang == "id" else "Subject") in letter
    assert "Ir. Hadi Prasetyo, M.T." in letter and "197203141998031002" in letter
    # the result was checked at 02:00 UTC; the letter shows it where it is signed (letters.timezone, Jakarta)
    assert ("28 November 2026 09.00 WIB" if lang == "id" else "28 November 2026 09:00 WIB") in letter
    failing = (out / "pemkab-sidoarjo" / f"agency.{fmt}").read_text()
    assert "kebijakan DMARC p=none terlalu lemah" in failing
    unchecked = (out / "desa-sukamaju" / f"agency.{fmt}").read_text()
    assert ("belum diperiksa" if lang == "id" else "has not been checked yet") in unchecked
    for path in (out / "pemkot-probolinggo").rglob("*"):  # no password anywhere in an agency letter
        assert "Kata sandi awal |" not in path.read_text()


def test_letter_numbers_are_kept_and_restart_each_year(tmp_path: Path) -> None:
    out = tmp_path / "letters"
    args: list[str | Path] = ["letters", "render", "-c", SAMPLE, "--kind", "agency", "--out", out]
    run([*args, "--agency", "pemkab-sidoarjo", *DATE])
    run([*args, "--agency", "pemkot-probolinggo", *DATE])
    run([*args, "--agency", "pemkab-sidoarjo", "--date", "2026-12-01"])
    assert "001/MMD/XII/2026" in (out / "pemkab-sidoarjo" / "agency.md").read_text()  # its number, this month
    assert "002/MMD/XI/2026" in (out / "pemkot-probolinggo" / "agency.md").read_text()
    run([*args, "--agency", "pemkot-probolinggo", "--date", "2027-01-05"])
    assert "001/MMD/I/2027" in (out / "pemkot-probolinggo" / "agency.md").read_text()


@pytest.mark.parametrize("lang", ["id", "en"])
def test_mailbox_letters_modes_and_no_overwrite(tmp_path: Path, lang: str) -> None:
    out = tmp_path / "letters"
    r = run(["letters", "render", "-c", SAMPLE, "--kind", "mailbox", "--lang", lang, "--out", out,
             "--agency", "pemkab-banyuwangi", "--format", "html", *DATE])
    assert r.exit_code == 0, r.output
    folder = out / "pemkab-banyuwangi" / "mailboxes"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    letter = folder / "diskominfo.html"
    assert stat.S_IMODE(letter.stat().st_mode) == 0o600
    text = letter.read_text()
    assert "diskominfo@banyuwangikab.go.id" in text and "kominfo@banyuwangikab.go.id" in text
    assert "imap.mail.go.id" in text and "smtp.mail.go.id" in text and "https://webmail.mail.go.id" in text
    assert ("Kata sandi awal" if lang == "id" else "First password") not in text  # no password was just set
    letter.write_text("holds a first password")
    r = run(["letters", "render", "-c", SAMPLE, "--kind", "mailbox", "--out", out, "--agency", "pemkab-banyuwangi",
             "--format", "html"])
    assert "kept 3 existing mailbox letter(s)" in r.stdout
    assert letter.read_text() == "holds a first password"
    run(["letters", "render", "-c", SAMPLE, "--kind", "mailbox", "--out", out, "--agency", "pemkab-banyuwangi",
         "--format", "html", "--force"])
    assert "diskominfo@banyuwangikab.go.id" in letter.read_text()


def test_html_escapes_names(tmp_path: Path) -> None:
    agencies = """\
agencies:
  - id: pemkot-contoh
    name: "Pemkot <script>alert('x')</script>"
    domain: contohkota.go.id
    mailboxes:
      - {local: budi, name: "<script>alert(1)</script>", title: "<b>Walikota</b>"}
"""
    config = write_config(tmp_path, agencies)
    out = tmp_path / "letters"
    assert run(["letters", "render", "-c", config, "--format", "html", "--out", out]).exit_code == 0
    for path in (out / "pemkot-contoh" / "agency.html", out / "pemkot-contoh" / "mailboxes" / "budi.html"):
        html = path.read_text()
        assert "<script>" not in html and "<b>Walikota" not in html
        assert "&lt;script&gt;alert(" in html


def test_custom_templates_fall_back_per_file(tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "mailbox.id.md.j2").write_text("Halo {{ mailbox.name }} <{{ mailbox.address }}>\n")
    out = tmp_path / "letters"
    r = run(["letters", "render", "-c", SAMPLE, "--agency", "pemkab-sidoarjo", "--templates", own, "--out", out])
    assert r.exit_code == 0, r.output
    assert (out / "pemkab-sidoarjo" / "mailboxes" / "bupati.md").read_text() == \
        "Halo Subandi <bupati@sidoarjokab.go.id>\n"
    assert "Kepada Yth." in (out / "pemkab-sidoarjo" / "agency.md").read_text()  # built-in template


@pytest.mark.parametrize(("body", "line", "message"), [
    ("Baris satu\nHalo {{ agency.nmae }}\n", 2, "undefined variable"),
    ("Satu\nDua\n{% if %}\n", 3, "Expected an expression"),
    ("{{ ''.__class__.__mro__ }}\n", 1, "access to attribute '__class__'"),
    ("Satu\n{% include 'kop-surat.md.j2' %}\n", 2, "no template kop-surat.md.j2 in "),
    # expressions that fail as they run: before, "internal error ZeroDivisionError", exit 1, naming no file
    ("Satu\nDua\n{{ 1 / 0 }}\n", 3, "the template failed: division by zero (ZeroDivisionError)"),
    ("{{ agency.name - 1 }}\n", 1, "(TypeError)"),
])
def test_template_mistakes_stop_with_name_and_line(tmp_path: Path, body: str, line: int, message: str) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "agency.id.md.j2").write_text(body)
    out = tmp_path / "letters"
    r = run(["letters", "render", "-c", SAMPLE, "--kind", "agency", "--templates", own, "--out", out])
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith(f"error: {own / 'agency.id.md.j2'}:{line}: "), r.stderr
    assert message in r.stderr
    assert not out.exists()  # no letter, no letter-numbers.json, not even the folder


def test_a_failing_expression_in_a_built_in_template_is_mailprovs_own_error(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the operator's templates are theirs to mend: the same failure in a shipped one stays an internal error
    (exit 1, a traceback with --debug), not a template for the operator to correct."""
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "agency.id.md.j2").write_text("Satu\n{{ 1 / 0 }}\n")
    monkeypatch.setattr("mailprov.letters.builtin_templates", lambda: shipped)
    with pytest.raises(ZeroDivisionError):
        Renderer().render("agency.id.md.j2", {})
    own = tmp_path / "own"
    own.mkdir()
    (own / "agency.id.md.j2").write_text("Satu\n{{ 1 / 0 }}\n")
    with pytest.raises(TemplateError, match=r"agency\.id\.md\.j2:2: the template failed: division by zero"):
        Renderer(own).render("agency.id.md.j2", {})


def test_a_template_not_in_utf8_is_named_with_its_line(tmp_path: Path) -> None:
    """Saved by a Windows editor in cp1252, an included template: before, "internal error UnicodeDecodeError", exit 1,
    naming no file."""
    own = tmp_path / "own"
    own.mkdir()
    (own / "agency.id.md.j2").write_text("Satu\n{% include '_kop.md.j2' %}\n")
    (own / "_kop.md.j2").write_bytes("Kop\nDinas Komunikasi dan Informatika \u2013 Kota\n".encode("cp1252"))
    out = tmp_path / "letters"
    r = run(["letters", "render", "-c", SAMPLE, "--kind", "agency", "--templates", own, "--out", out])
    said = f"error: {own / '_kop.md.j2'}:2: not UTF-8 text: save the template as UTF-8\n"
    assert (r.exit_code, r.stderr) == (2, said), r.output
    assert not out.exists()


def test_letters_written_before_a_failure_keep_their_numbers(tmp_path: Path) -> None:
    """A template that fails on the second agency: the first one's letter went out with 001, so an agency
    rendered next must not be given 001 again."""
    own = tmp_path / "own"
    own.mkdir()
    (own / "agency.id.md.j2").write_text("{{ number }}\n{% if agency.id == 'pemkab-banyuwangi' %}{{ agency.nmae }}"
                                         "{% endif %}\n")
    out = tmp_path / "letters"
    r = run(["letters", "render", "-c", SAMPLE, "--kind", "agency", "--templates", own, "--out", out, *DATE])
    assert r.exit_code == 2 and "undefined variable" in r.stderr, r.output
    assert (out / "pemkot-probolinggo" / "agency.md").read_text().startswith("001/MMD/XI/2026")
    r = run(["letters", "render", "-c", SAMPLE, "--kind", "agency", "--agency", "desa-sukamaju", "--out", out, *DATE])
    assert r.exit_code == 0, r.output
    assert "003/MMD/XI/2026" in (out / "desa-sukamaju" / "agency.md").read_text()  # 002 went to the one that failed


def test_agency_named_by_domain_and_unknown_ones_suggested(tmp_path: Path) -> None:
    """Operators remember agencies by domain; a name that is neither an id nor a domain gets the close ones."""
    out = tmp_path / "letters"
    r = run(["letters", "render", "-c", SAMPLE, "--kind", "agency", "--agency", "ProbolinggoKota.go.id.",
             "--out", out, *DATE])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["pemkot-probolinggo"]
    r = run(["letters", "render", "-c", SAMPLE, "--agency", "probolinggokota", "--agency", "pemkab-sidoarjo",
             "--agency", "pemkab-banyuwagi", "--out", tmp_path / "other", *DATE])
    assert (r.exit_code, r.stderr) == (2, "error: unknown agency: probolinggokota (did you mean pemkot-probolinggo "
                                          "(probolinggokota.go.id)?); pemkab-banyuwagi (did you mean "
                                          "pemkab-banyuwangi (banyuwangikab.go.id)?)\n"), r.output
    assert not (tmp_path / "other").exists()
    r = run(["letters", "render", "-c", SAMPLE, "--agency", "zzz", "--out", tmp_path / "other", *DATE])
    assert (r.exit_code, r.stderr) == (2, "error: unknown agency: zzz\n"), r.output
    r = run(["letters", "render", "-c", SAMPLE, "--agency", "", "--out", tmp_path / "other", *DATE])
    assert (r.exit_code, r.stderr) == (2, "error: unknown agency: '' (empty)\n"), r.output
    assert not (tmp_path / "other").exists()


def test_a_mailbox_letter_promises_only_what_the_directory_keeps(tmp_path: Path) -> None:
    """inetorgperson stores no aliases or quotas: a letter naming setda@ sent the owner's correspondents into
    bounces. iredmail stores both, and its letters give them."""
    for folder in ("keys", "staff"):  # what the sample names by relative path
        (tmp_path / folder).symlink_to(SAMPLE.parent / folder)
    for profile, shown in (("inetorgperson", False), ("iredmail", True)):
        config = tmp_path / f"{profile}.yaml"
        config.write_text(SAMPLE.read_text().replace("  profile: inetorgperson\n", f"  profile: {profile}\n"))
        for lang, words in (("id", ("Alamat lain (alias)", "Kapasitas kotak surat | 5.120 MB")),
                            ("en", ("Other addresses (aliases)", "Mailbox size | 5,120 MB"))):
            out = tmp_path / profile / lang
            r = run(["letters", "render", "-c", config, "--kind", "mailbox", "--agency", "pemkot-probolinggo",
                     "--lang", lang, "--out", out, *DATE])
            assert r.exit_code == 0, r.output
            letter = (out / "pemkot-probolinggo" / "mailboxes" / "sekda.md").read_text()
            assert ("setda@probolinggokota.go.id" in letter) is shown and all((w in letter) is shown for w in words)


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_a_letter_for_a_disabled_mailbox_says_it_is_not_active_yet(tmp_path: Path, fmt: str) -> None:
    """sri.wulandari is listed with active: false: her letter must not read as a login that works."""
    for lang, notice in (("id", "belum aktif"), ("en", "not active yet")):
        out = tmp_path / lang
        r = run(["letters", "render", "-c", SAMPLE, "--kind", "mailbox", "--agency", "pemkot-probolinggo",
                 "--lang", lang, "--format", fmt, "--out", out, *DATE])
        assert r.exit_code == 0, r.output
        folder = out / "pemkot-probolinggo" / "mailboxes"
        assert notice in (folder / f"sri.wulandari.{fmt}").read_text()
        assert notice not in (folder / f"walikota.{fmt}").read_text()


def test_render_waits_for_no_one_writing_the_same_letters(tmp_path: Path) -> None:
    """apply and the mailbox commands write first passwords into the folder: a render beside them could write
    a mailbox letter without the password over the one with it, and two renders would share letter numbers."""
    from mailprov.files import run_lock

    out = tmp_path / "letters"
    out.mkdir()
    with run_lock(out / ".lock"):
        r = run(["letters", "render", "-c", SAMPLE, "--out", out, *DATE])
    assert r.exit_code == 3, r.output
    assert r.stderr == (f"error: another mailprov run holds {out / '.lock'} (pid {os.getpid()}); "
                        "not starting a second one\n")
    assert [p.name for p in out.iterdir()] == [".lock"]


BAD_RESULTS = sorted((FIXTURES / "bad" / "results").glob("*.json"))


@pytest.mark.parametrize("results", BAD_RESULTS, ids=[p.stem for p in BAD_RESULTS])
def test_results_that_are_not_a_dns_check_are_refused_with_every_place(tmp_path: Path, results: Path) -> None:
    """An agency letter states what the check found: a file dns check did not write (another tool's, one cut
    short, one edited) is refused, each wrong place named, before any letter is written."""
    out = tmp_path / "letters"
    r = run(["letters", "render", "-c", SAMPLE, "--kind", "agency", "--results", results, "--out", out, *DATE])
    assert r.exit_code == 2, r.output
    assert r.stderr == results.with_suffix(".expect").read_text(encoding="utf-8").format(path=results)
    assert not out.exists()


def test_results_nested_deeper_than_json_reads_are_refused_as_not_a_dns_check(tmp_path: Path) -> None:
    """The JSON reader gives up on such nesting with a RecursionError, which uncaught is an "internal error"."""
    results = tmp_path / "deep.json"
    results.write_text('{"generated_at": "2026-11-28T02:00:00Z", "domains": ' + "[" * 100_000 + "]" * 100_000 + "}")
    out = tmp_path / "letters"
    r = run(["letters", "render", "-c", SAMPLE, "--kind", "agency", "--results", results, "--out", out, *DATE])
    assert (r.exit_code, r.stderr) == (2, f"error: --results {results}: not the JSON of mailprov dns check (nested "
                                          "too deep)\n"), r.output
    assert not out.exists()


def test_results_read_by_the_library(tmp_path: Path) -> None:
    found, lang = from_json(results_file(tmp_path, "id"))
    assert lang == "id"
    at = "2026-11-28T02:00:00Z"
    assert found == {
        "probolinggokota.go.id": Compliance("pass", at, (("mx", "pass", "MX menunjuk ke platform"),)),
        "sidoarjokab.go.id": Compliance("fail", at, (("dmarc", "fail", "kebijakan DMARC p=none terlalu lemah"),))}
    assert from_json(results_file(tmp_path))[1] is None  # a file from before dns check named its language
    with pytest.raises(UsageError) as refused:
        from_json(FIXTURES / "bad" / "results" / "edited.json")
    assert len(refused.value.lines()) == 2


def test_results_that_cannot_be_read_are_named(tmp_path: Path) -> None:
    missing = tmp_path / "dns.json"
    r = run(["letters", "render", "-c", SAMPLE, "--kind", "agency", "--results", missing, "--out", tmp_path / "o"])
    assert (r.exit_code, r.stderr) == (2, f"error: --results {missing}: cannot read it (No such file or directory)\n")


def test_many_wrong_places_are_counted_after_the_first_twenty(tmp_path: Path) -> None:
    results = tmp_path / "dns.json"
    results.write_text(json.dumps({"generated_at": "2026-11-28T02:00:00Z", "domains": [7] * 25}))
    r = run(["letters", "render", "-c", SAMPLE, "--kind", "agency", "--results", results, "--out", tmp_path / "o"])
    assert r.exit_code == 2, r.output
    lines = r.stderr.splitlines()
    assert len(lines) == 21 and lines[0] == f"error: --results {results}: domains[0]: 7 is not an object"
    assert lines[-1] == f"error: --results {results}: ... and 5 more problem(s)"


def test_templates_must_be_a_folder(tmp_path: Path) -> None:
    (tmp_path / "a-file").touch()
    r = run(["letters", "render", "-c", SAMPLE, "--templates", tmp_path / "a-file", "--out", tmp_path / "out"])
    assert (r.exit_code, r.stderr) == (2, f"error: --templates {tmp_path / 'a-file'}: not a folder\n"), r.output


@pytest.mark.parametrize(("zone", "hour", "dated"), [
    (None, 20, "Jakarta, 29 November 2026"),  # the default, Asia/Jakarta: 20:30 UTC is 03:30 WIB the next day
    ("UTC", 20, "Jakarta, 28 November 2026"),
    (None, 16, "Jakarta, 28 November 2026"),  # 23:30 WIB
    ("Asia/Jayapura", 16, "Jakarta, 29 November 2026"),  # 01:30 WIT
])
def test_a_letter_carries_the_local_day_where_it_is_signed(tmp_path: Path, zone: str | None, hour: int,
                                                           dated: str) -> None:
    import datetime as dt

    from mailprov.letters import MailboxLetter, MailboxLetterWriter

    extra = f"letters: {{place: Jakarta, timezone: {zone}}}\n" if zone else "letters: {place: Jakarta}\n"
    config = load_config(write_config(tmp_path, extra=extra), {})
    agency = config.agencies[0]
    moment = dt.datetime(2026, 11, 28, hour, 30, tzinfo=dt.UTC)
    writer = MailboxLetterWriter(config, tmp_path / "letters", lang="id", clock=lambda: moment)
    path = writer.write(MailboxLetter(agency, agency.mailboxes[0], "Rahasia-Sekali-123"))
    assert dated in path.read_text()


@pytest.mark.parametrize(("lang", "fmt", "created", "reset", "labels"), [
    ("id", "md", "telah dibuat", "telah diatur ulang atas permintaan", ("| Kata sandi awal |", "| Kata sandi baru |")),
    ("id", "html", "telah dibuat", "telah diatur ulang atas permintaan",
     ("<th>Kata sandi awal</th>", "<th>Kata sandi baru</th>")),
    ("en", "md", "has been created", "has been reset on request", ("| First password |", "| New password |")),
    ("en", "html", "has been created", "has been reset on request",
     ("<th>First password</th>", "<th>New password</th>")),
])
def test_a_reset_password_letter_says_the_password_was_reset(tmp_path: Path, lang: str, fmt: str, created: str,
                                                             reset: str, labels: tuple[str, str]) -> None:
    """Its owner has had the account for years: 'your account has been created' with a 'first password' would
    read as a second account, or a mistake."""
    from mailprov.letters import MailboxLetter, MailboxLetterWriter

    config = load_config(write_config(tmp_path), {})
    agency = config.agencies[0]
    writer = MailboxLetterWriter(config, tmp_path / "letters", lang=lang, fmt=fmt)
    new = writer.render(MailboxLetter(agency, agency.mailboxes[0], "Rahasia-Sekali-123"))
    again = writer.render(MailboxLetter(agency, agency.mailboxes[0], "Rahasia-Sekali-456", reset=True))
    assert created in new and labels[0] in new and reset not in new and labels[1] not in new
    assert reset in again and labels[1] in again and created not in again and labels[0] not in again
    assert "Rahasia-Sekali-456" in again
    # a disabled mailbox: a new one is not active yet, a reset one is disabled for now
    disabled = next(m for m in agency.mailboxes if not m.active)
    words = {"id": ("belum aktif", "sedang dinonaktifkan"), "en": ("not active yet", "disabled")}[lang]
    new = writer.render(MailboxLetter(agency, disabled, "Rahasia-Sekali-123"))
    again = writer.render(MailboxLetter(agency, disabled, "Rahasia-Sekali-456", reset=True))
    assert words[0] in new and words[1] not in new
    assert words[1] in again and words[0] not in again


@pytest.mark.parametrize(("content", "message"), [
    ('{"2026": {"pemkab-sidoarjo": 1,}}\n', ":1: not valid JSON: "),
    ('{"2026": {"pemkab-sidoarjo": "satu"}}\n', ':1: expected {"YEAR": {"AGENCY_ID": NUMBER, ...}, ...}'),
])
def test_a_damaged_letter_number_file_stops_rendering(tmp_path: Path, content: str, message: str) -> None:
    """Numbers must never be given twice: a file that cannot be read is not silently started over."""
    out = tmp_path / "letters"
    out.mkdir()
    (out / "letter-numbers.json").write_text(content)
    r = run(["letters", "render", "-c", SAMPLE, "--kind", "agency", "--out", out, *DATE])
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith(f"{out / 'letter-numbers.json'}{message}"), r.stderr
    assert (out / "letter-numbers.json").read_text() == content
    assert not any(out.rglob("agency.md"))


@dataclass(frozen=True)
class _Holder:
    mro: str


def test_sandbox_verdicts_are_per_type_and_attribute(tmp_path: Path) -> None:
    # the renderer remembers the sandbox's verdict per (type, attribute): an attribute allowed
    # on one type must still be refused where the stock sandbox refuses it (``mro`` of a class)
    (tmp_path / "t.md.j2").write_text("{{ obj.mro }}{{ obj.mro }}")
    (tmp_path / "u.md.j2").write_text("{{ cls.mro }}")
    renderer = Renderer(tmp_path)
    for _ in range(2):
        assert renderer.render("t.md.j2", {"obj": _Holder("x")}) == "xx"
    with pytest.raises(TemplateError, match="access to attribute 'mro' of 'type' object is unsafe"):
        renderer.render("u.md.j2", {"cls": str})


@dataclass(frozen=True)
class _Formats:
    name: str
    _secret: str
    fmt: object


def test_the_sandbox_still_guards_format_strings_and_private_attributes(tmp_path: Path) -> None:
    # plain data skips the stock str.format check (a letter reads only data); a str.format method,
    # reached as an attribute or on a literal, must still be sandboxed, and a private attribute refused
    holder = _Formats("Sekda", "hidden", "{0.__class__.__mro__}".format)
    templates = {"plain.md.j2": "{{ obj.name }}", "attr.md.j2": "{{ obj.fmt(obj) }}",
                 "literal.md.j2": "{{ '{0.__class__.__mro__}'.format(obj) }}", "private.md.j2": "{{ obj._secret }}"}
    for name, text in templates.items():
        (tmp_path / name).write_text(text)
    renderer = Renderer(tmp_path)
    assert renderer.render("plain.md.j2", {"obj": holder}) == "Sekda"
    for name in ("attr.md.j2", "literal.md.j2"):
        with pytest.raises(TemplateError, match="access to attribute '__class__' of '_Formats' object is unsafe"):
            renderer.render(name, {"obj": holder})
    with pytest.raises(TemplateError, match="access to attribute '_secret' of '_Formats' object is unsafe"):
        renderer.render("private.md.j2", {"obj": holder})


def test_threads_rendering_the_first_letters_share_one_environment(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # the environment is made at the first letter, which apply's two letter threads may render at once
    (tmp_path / "t.md.j2").write_text("{{ who }}")
    renderer = Renderer(tmp_path)
    made = []
    make = Renderer._make_env

    def slow_make(self: Renderer) -> object:
        made.append(1)
        time.sleep(0.05)  # wide enough for every thread to ask meanwhile
        return make(self)

    monkeypatch.setattr(Renderer, "_make_env", slow_make)
    start = threading.Barrier(6)
    out: list[str] = []

    def one(i: int) -> None:
        start.wait()
        out.append(renderer.render("t.md.j2", {"who": i}))

    workers = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(made) == 1
    assert sorted(out) == [str(i) for i in range(6)]


def test_pdf_letters_carry_their_text(tmp_path: Path) -> None:
    out = tmp_path / "letters"
    r = run(["letters", "render", "-c", SAMPLE, "--agency", "pemkab-sidoarjo", "--format", "pdf", "--out", out,
             *DATE])
    assert r.exit_code == 0, r.output
    for path, words in ((out / "pemkab-sidoarjo" / "agency.pdf", ["001/MMD/XI/2026", "Jakarta, 28 November 2026",
                                                                   "aptika@sidoarjokab.go.id"]),
                        (out / "pemkab-sidoarjo" / "mailboxes" / "bupati.pdf", ["bupati@sidoarjokab.go.id"])):
        text = subprocess.run(["/usr/bin/pdftotext", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
        for word in words:
            assert word in text, (path.name, word)
    assert stat.S_IMODE((out / "pemkab-sidoarjo" / "mailboxes" / "bupati.pdf").stat().st_mode) == 0o600


def test_pdf_without_weasyprint_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as if the pdf extra were not installed
    with pytest.raises(UsageError, match=r"pip install 'mailprov\[pdf\]'"):
        html_to_pdf("<p>x</p>", tmp_path)


def test_bad_options(tmp_path: Path) -> None:
    assert run(["letters", "render", "-c", SAMPLE, "--format", "docx"]).exit_code == 2
    for given in ("28/11/2026", "20261128", "2026-W48-6"):
        r = run(["letters", "render", "-c", SAMPLE, "--date", given, "--out", tmp_path])
        assert (r.exit_code, r.stderr) == (2, f"error: --date {given}: expected YYYY-MM-DD\n"), r.output
    r = run(["letters", "render", "-c", SAMPLE, "--date", "2026-02-29", "--out", tmp_path])
    assert (r.exit_code, r.stderr) == (2, "error: --date 2026-02-29: no such day (day is out of range for month)\n")
    assert list(tmp_path.iterdir()) == []
    results = results_file(tmp_path)
    r = run(["letters", "render", "-c", SAMPLE, "--results", results, "--history", results, "--out", tmp_path / "o"])
    assert (r.exit_code, r.stderr) == (2, "error: --results and --history both say where the DNS results come from: "
                                          "give one of them\n")
    assert load_config(SAMPLE, {}).letters.number_code == "MMD"


@pytest.mark.parametrize("fmt", ["md", "html", "pdf"])
@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("kind", ["agency", "mailbox"])
def test_every_kind_language_and_format(tmp_path: Path, kind: str, lang: str, fmt: str) -> None:
    out = tmp_path / "letters"
    r = run(["letters", "render", "-c", SAMPLE, "--agency", "diskominfo-jatim", "--kind", kind, "--lang", lang,
             "--format", fmt, "--out", out, *DATE])
    assert r.exit_code == 0, r.output
    folder = out / "diskominfo-jatim"
    path = folder / f"agency.{fmt}" if kind == "agency" else folder / "mailboxes" / f"helpdesk.{fmt}"
    if fmt == "pdf":
        text = subprocess.run(["/usr/bin/pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
    else:
        text = path.read_text()
    assert "helpdesk@kominfo.jatimprov.go.id" in text
    assert "28 November 2026" in text
    if kind == "agency":
        assert "001/MMD/XI/2026" in text and "kominfo.jatimprov.go.id. 3600 IN MX 10 mx1.mail.go.id." in text
        assert ("Kepada Yth." if lang == "id" else "To:") in text
    else:
        assert "imap.mail.go.id" in text
        assert ("Mengganti kata sandi" if lang == "id" else "Changing your password") in text
        if fmt == "md":  # the address block keeps its lines when the Markdown is rendered (hard breaks)
            head = "Kepada Yth." if lang == "id" else "To:"
            assert (f"{head}\\\n**Tim Helpdesk Kominfo Jatim**, Layanan Pengaduan\\\n"
                    "Dinas Komunikasi dan Informatika Provinsi Jawa Timur\n\n") in text, text


def test_private_files_fresh_in_place_or_replaced_whole(tmp_path: Path) -> None:
    from mailprov.files import write_private

    folder = tmp_path / "letters" / "pemkot-contoh" / "mailboxes"
    letter = folder / "sekda.md"
    write_private(letter, "password: first\n", fresh=True)
    assert letter.read_text() == "password: first\n"
    assert stat.S_IMODE(letter.stat().st_mode) == 0o600 and stat.S_IMODE(folder.stat().st_mode) == 0o700
    # a letter already there (an earlier password) is replaced whole through a temporary file
    inode = letter.stat().st_ino
    write_private(letter, "password: second\n", fresh=True)
    assert letter.read_text() == "password: second\n" and letter.stat().st_ino != inode
    assert stat.S_IMODE(letter.stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == ["sekda.md"]  # no temporary file left


def test_markdown_letters_show_names_as_written_once_converted(tmp_path: Path) -> None:
    """Rendered by a CommonMark parser (with GFM tables and strikethrough), every name, title and address reads
    as written. Before, '*Plt*' became emphasis, '<b>' HTML, '[x](y)' a link, and an agency name starting with
    '1. ' a numbered list."""
    from html import escape

    from markdown_it import MarkdownIt

    name, title = "*Plt* Budi_ <b>Santoso</b> &amp;", "[Kabid](http://x.test) ~~Umum~~ `kode` _TU_"
    agency, street, block = "1. Dinas Kominfo", "Jl. Panglima Sudirman [No. 17]", "- Blok <B>"
    agencies = f"""\
agencies:
  - id: pemkot-contoh
    name: "{agency}"
    domain: contohkota.go.id
    address: "{street}\\n{block}"
    contact: {{name: Siti, email: siti@contohkota.go.id, title: "# Kepala"}}
    mailboxes:
      - {{local: _humas, name: "{name}", title: "{title}"}}
"""
    config = write_config(tmp_path, agencies)
    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    for kind, letter in (("agency", "agency.md"), ("mailbox", "mailboxes/_humas.md")):
        for lang in ("id", "en"):
            out = tmp_path / f"{kind}-{lang}"
            r = run(["letters", "render", "-c", config, "--kind", kind, "--lang", lang, "--format", "md",
                     "--out", out, *DATE])
            assert r.exit_code == 0, r.output
            html = parser.render((out / "pemkot-contoh" / letter).read_text())
            shown = [name, title, agency] + ([street, block, "# Kepala", "_humas@contohkota.go.id"]
                                             if kind == "agency" else [])
            for value in shown:
                assert escape(value, quote=False) in html, (value, html)
            for tag in ("<em>", "<a ", "<b>", "<s>", "<del>", "<li>Dinas", "<li>Blok", "<h1>Kepala", "<code>kode"):
                assert tag not in html, (tag, html)


def test_markdown_tables_keep_their_columns(tmp_path: Path) -> None:
    """A '|' in a name or title (or in a published record a reason quotes) stays inside its cell."""
    import re

    agencies = """\
agencies:
  - id: pemkot-contoh
    name: Pemkot Contoh
    domain: contohkota.go.id
    mailboxes:
      - {local: budi, name: "Budi | Santoso", title: "Kabid | Plt"}
      - {local: siti, name: Siti, title: Sekda}
"""
    config = write_config(tmp_path, agencies)
    out = tmp_path / "letters"
    r = run(["letters", "render", "-c", config, "--kind", "agency", "--format", "md", "--out", out])
    assert r.exit_code == 0, r.output
    rows = [line for line in (out / "pemkot-contoh" / "agency.md").read_text().splitlines()
            if line.startswith("| ") and "contohkota.go.id" in line and "@" in line]
    assert len(rows) == 2
    columns = [len(re.split(r"(?<!\\)\|", row)) for row in rows]
    assert columns[0] == columns[1]
    assert "Budi \\| Santoso" in rows[0] and "Kabid \\| Plt" in rows[0]
    # names with control characters are refused by validate; a published record quoted in a cell may hold them
    assert markdown_cell("v=DMARC1; p=\x1b[2J|none\n") == "v=DMARC1; p=\\x1b\\[2J\\|none "


def test_mailbox_letters_go_only_into_a_folder_of_the_user_s_own(tmp_path: Path) -> None:
    """A mailboxes folder another user made beforehand (in a shared /tmp) was taken, and root's chmod 0700 left it
    that user's: they could replace the letters in it. It is refused, and nothing is written there."""
    out = tmp_path / "out"
    folder = out / "pemkot-probolinggo" / "mailboxes"
    if os.geteuid() == 0:
        folder.mkdir(parents=True)
        os.chown(folder, 65534, -1)  # nobody's
        owner = 65534
    else:  # an ordinary user cannot give a folder away: one root owns stands for it
        folder.parent.mkdir(parents=True)
        folder.symlink_to("/usr/share", target_is_directory=True)
        owner = 0
    before = sorted(os.listdir(folder))
    r = run(["letters", "render", "-c", SAMPLE, "--kind", "mailbox", "--agency", "pemkot-probolinggo", "--out", out])
    assert (r.exit_code, r.stderr) == (2, f"error: {folder}: cannot write here (it belongs to another user (uid "
                                          f"{owner}), who could replace the letters in it)\n"), r.output
    assert sorted(os.listdir(folder)) == before
