"""``mailprov validate``: every kind of bad input, reported as file:line, exit 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailprov.config import load_config
from mailprov.errors import ConfigError

from .helpers import FIXTURES, SAMPLE, run

BAD = sorted((FIXTURES / "bad").glob("*.yaml"))
_MARK = re.compile(r"#\s*!!\s*(.+)$")
_EXPECT = re.compile(r"^#\s*expect:\s*([^:]+):(\d+):\s*(.+)$")


def expectations(path: Path) -> list[tuple[str, int, str]]:
    """(file, line, message fragment) read from the markers in a fixture."""
    found = []
    # lines as an editor counts them: splitlines() also breaks at U+2028 and the like, which yaml-line-breaks has
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        header = _EXPECT.match(line)
        if header:
            found.append((str(path.parent / header.group(1)), int(header.group(2)), header.group(3).strip()))
            continue
        mark = _MARK.search(line)
        if mark:
            found.append((str(path), number, mark.group(1).strip()))
    return found


def test_a_csv_nip_written_as_printed_is_read_as_its_digits(tmp_path: Path) -> None:
    from mailprov.config import load_config

    good = FIXTURES / "good"
    (tmp_path / "minimal.yaml").write_text((good / "minimal.yaml").read_text())
    (tmp_path / "staff.csv").write_text((good / "staff.csv").read_text().replace("198702142010012003",
                                                                                 "19870214 201001 2 003"))
    config = load_config(tmp_path / "minimal.yaml", {})
    (siti,) = [m for a in config.agencies for m in a.mailboxes if m.local == "siti.rahma"]
    assert siti.employee_id == "198702142010012003"


def test_a_configuration_not_in_utf8_says_at_which_line_and_how_to_save_it(tmp_path: Path) -> None:
    """Before: "cannot read configuration: 'utf-8' codec can't decode byte 0xff in position 0", at line 0."""
    good = (FIXTURES / "good" / "minimal.yaml").read_text()
    utf16 = tmp_path / "notepad.yaml"
    utf16.write_text(good, encoding="utf-16")  # with its byte order mark, as Notepad's 'Unicode' saves it
    bare = tmp_path / "no-bom.yaml"  # UTF-16 without the mark: decodes as UTF-8, a NUL after every letter
    bare.write_bytes(good.encode("utf-16-le"))
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(good.encode() + "  # Caf\u00e9\n".encode("latin-1"))
    line = good.count("\n") + 1
    for path, said in ((utf16, f"{utf16}:1: is UTF-16 text (Notepad's 'Unicode'): save it as UTF-8\n"),
                       (bare, f"{bare}:1: holds NUL bytes, so it is UTF-16 text without a byte-order mark or not "
                              "text at all: save it as UTF-8\n"),
                       (latin1, f"{latin1}:{line}: is not valid UTF-8: save it as UTF-8\n")):
        r = run(["validate", "-c", path])
        assert (r.exit_code, r.stderr, r.stdout) == (2, said, ""), r.output


def test_every_fixture_declares_what_it_expects() -> None:
    assert len(BAD) >= 14
    for path in BAD:
        assert expectations(path), f"{path.name} has no expectation markers"


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_input_is_reported_at_its_line(path: Path, tmp_path: Path) -> None:
    before = sorted(p.name for p in path.parent.iterdir())
    r = run(["validate", "-c", path])
    assert r.exit_code == 2, r.output
    lines = r.stderr.splitlines()
    for file, line, fragment in expectations(path):
        prefix = f"{file}:{line}: "
        hits = [ln for ln in lines if ln.startswith(prefix) and fragment in ln]
        assert hits, f"expected '{prefix}...{fragment}...' in:\n{r.stderr}"
    # every problem is reported, each once, and nothing else
    assert len(lines) == len(expectations(path)), r.stderr
    assert r.stdout == ""
    # validation writes nothing next to the file
    assert sorted(p.name for p in path.parent.iterdir()) == before


def test_problems_come_sorted_by_file_and_line() -> None:
    r = run(["validate", "-c", FIXTURES / "bad" / "quota-range.yaml"])
    assert r.exit_code == 2
    keys = []
    for line in r.stderr.splitlines():
        file, number, _ = line.split(":", 2)
        keys.append((file, int(number)))
    assert keys == sorted(keys)


def test_sample_configuration_is_valid() -> None:
    r = run(["validate", "-c", SAMPLE])
    assert r.exit_code == 0, r.output
    assert "valid: 7 agencies, 7 domains, 68 mailboxes (directory profile inetorgperson)" in r.stdout


def test_missing_configuration_file(tmp_path: Path) -> None:
    r = run(["validate", "-c", tmp_path / "tidak-ada.yaml"])
    assert r.exit_code == 2
    assert r.stderr.strip() == f"{tmp_path / 'tidak-ada.yaml'}: configuration file not found"


def test_config_option_from_environment(tmp_path: Path) -> None:
    r = run(["validate"], env={"MAILPROV_CONFIG": str(FIXTURES / "good" / "minimal.yaml")})
    assert r.exit_code == 0, r.output
    assert "1 agency, 1 domain, 3 mailboxes" in r.stdout


def test_library_raises_config_error_with_every_problem() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(FIXTURES / "bad" / "invalid-domains.yaml", {})
    assert len(info.value.problems) == 7
    assert {p.line for p in info.value.problems} == {7, 10, 13, 16, 19, 22, 25}


def test_bad_environment_override_is_reported() -> None:
    r = run(["validate", "-c", FIXTURES / "good" / "minimal.yaml"], env={"MAILPROV_START_TLS": "kadang"})
    assert r.exit_code == 2
    assert r.stderr.strip() == "$MAILPROV_START_TLS: expected true or false, got 'kadang'"


def test_staff_sheets_say_active_in_english_or_indonesian(tmp_path: Path) -> None:
    from .configs import write_config

    rows = ["local,name,title,employee_id,quota_mb,aliases,active"]
    states = {"a1": "ya", "a2": "Aktif", "a3": "TRUE", "a4": "", "a5": "Y", "n1": "tidak", "n2": "Nonaktif",
              "n3": "Tidak Aktif", "n4": "0", "n5": "N"}
    rows += [f"{local},Pegawai {local},Staf,,,,{state}" for local, state in states.items()]
    (tmp_path / "staff.csv").write_text("\n".join(rows) + "\n")
    config = write_config(tmp_path, agencies="""\
    agencies:
      - {id: pemkot-contoh, name: Pemerintah Kota Contoh, domain: contohkota.go.id, mailboxes_csv: staff.csv}
    """)
    (agency,) = load_config(config, {}).agencies
    assert {m.local: m.active for m in agency.mailboxes} == {local: local.startswith("a") for local in states}


def test_csv_records_end_where_a_spreadsheet_ends_them(tmp_path: Path) -> None:
    """At \\r\\n, \\n or \\r only. Before, str.splitlines() also broke a row at a form feed, U+2028 or U+2029 in a
    cell (its second half read as a mailbox of its own) and dropped the line breaks of a quoted cell."""
    from mailprov.csvsrc import read_rows

    path = tmp_path / "staff.csv"
    path.write_text('local,name,title\r\nrudi,Rudi\u2028Hartono,Staf\rlina,"Lina\nMarlina",Staf\nagus,Agus,A\x0cB\n'
                    'eko,Eko,"Kasi\r\nUmum"\n\u2029\n', encoding="utf-8", newline="")
    rows = read_rows(path).rows
    assert [(row.line, row.values) for row in rows] == [
        (2, {"local": "rudi", "name": "Rudi\u2028Hartono", "title": "Staf"}),
        (3, {"local": "lina", "name": "Lina\nMarlina", "title": "Staf"}),
        (5, {"local": "agus", "name": "Agus", "title": "A\x0cB"}),
        (6, {"local": "eko", "name": "Eko", "title": "Kasi\nUmum"}),  # read as text: \r\n is \n
    ]  # and a line of U+2029 alone is a blank line


def test_merge_keys_share_values_and_a_key_of_its_own_overrides_them(tmp_path: Path) -> None:
    """'<<: *staf' as YAML's merge rules say. Before, a mailbox that merged an anchor and overrode one of its keys
    was refused with "duplicate key 'local' (first at line N)", N being the anchor's line."""
    from .configs import write_config

    config = write_config(tmp_path, agencies="""\
    agencies:
      - id: pemkot-contoh
        name: Pemerintah Kota Contoh
        domain: contohkota.go.id
        contact: &kominfo {name: Siti, email: siti@contohkota.go.id, title: Kepala Dinas}
        mailboxes:
          - &staf {local: budi, name: Budi, title: Staf Kominfo, quota_mb: 2048}
          - &siti {<<: *staf, local: siti, name: Siti}
          - <<: [{title: Kepala Seksi, quota_mb: 4096}, *staf]
            local: ani
            name: Ani
      - id: kab-contoh
        name: Kabupaten Contoh
        domain: contohkab.go.id
        contact: {<<: *kominfo, email: humas@contohkab.go.id}
        mailboxes: [*siti]  # read again through an alias: still its own keys over the merged ones
    """)
    r = run(["validate", "-c", config])
    assert r.exit_code == 0, r.output
    kota, kab = load_config(config, {}).agencies
    assert [(m.local, m.name, m.title, m.quota_mb) for m in kota.mailboxes] == [
        ("budi", "Budi", "Staf Kominfo", 2048), ("siti", "Siti", "Staf Kominfo", 2048),
        ("ani", "Ani", "Kepala Seksi", 4096)]  # of two merged mappings the first wins
    assert (kab.contact.name, kab.contact.title, kab.contact.email) == ("Siti", "Kepala Dinas", "humas@contohkab.go.id")
    assert [(m.address, m.name, m.title) for m in kab.mailboxes] == [("siti@contohkab.go.id", "Siti", "Staf Kominfo")]



def test_a_number_read_where_text_is_expected_is_kept_as_written(tmp_path: Path) -> None:
    """YAML 1.1 reads 0335421234 as octal and 2.50 as 2.5. Before, a phone number written without quotes reached
    the letters as 58073756, and an employee id with a leading zero lost it."""
    from .configs import write_config

    letters = "letters: {phone: 0335421234, signatory: {name: A, title: B, nip: 01234567}}\n"
    config = write_config(tmp_path, extra=letters, agencies="""\
    agencies:
      - id: pemkot-contoh
        name: Pemerintah Kota Contoh
        domain: contohkota.go.id
        mailboxes: [{local: budi, name: Budi, title: 2.50, employee_id: 0012345}]
    """)
    loaded = load_config(config, {})
    (budi,) = loaded.agencies[0].mailboxes
    assert (loaded.letters.phone, loaded.letters.signatory.nip) == ("0335421234", "01234567")
    assert (budi.title, budi.employee_id) == ("2.50", "0012345")


def test_empty_columns_a_spreadsheet_adds_after_the_data_are_no_problem(tmp_path: Path) -> None:
    """Excel and LibreOffice export a cell once formatted beyond the data as empty fields: in the header (no
    name) and in the rows (past the header's fields). Before, every such sheet was refused."""
    from .configs import write_config

    rows = ["local;name;title;;", "siti;Siti Rahmawati;Pranata Komputer;;", "budi;Budi Santoso;Kepala Seksi;;;;",
            ";;;;"]
    (tmp_path / "staff.csv").write_text("\n".join(rows) + "\n")
    config = write_config(tmp_path, agencies="""\
    agencies:
      - {id: pemkot-contoh, name: Pemerintah Kota Contoh, domain: contohkota.go.id, mailboxes_csv: staff.csv}
    """)
    r = run(["validate", "-c", config])
    assert r.exit_code == 0, r.output
    (agency,) = load_config(config, {}).agencies
    assert [(m.local, m.name, m.title) for m in agency.mailboxes] == [
        ("siti", "Siti Rahmawati", "Pranata Komputer"), ("budi", "Budi Santoso", "Kepala Seksi")]


def test_agencies_notify_cannot_reach_are_pointed_out(tmp_path: Path) -> None:
    """With agency_contacts on, an agency without contact.email is silently never told its DNS fails."""
    from .configs import AGENCIES, write_config

    notify = "notify: {smtp_host: 127.0.0.1, from: mailprov@mail.go.id, to: [noc@mail.go.id], agency_contacts: true}\n"
    # pemkot-contoh's contact at a mailbox (the note on one without is tested on its own below)
    agencies = AGENCIES.replace("email: kominfo@contohkota.go.id", "email: sekda@contohkota.go.id")
    assert agencies != AGENCIES
    config = write_config(tmp_path, agencies, extra=notify)
    r = run(["validate", "-c", config])
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[1:] == ["note: notify.agency_contacts is on, but 1 agency has no contact.email and "
                                         "will not be told when its DNS fails: dinas-lain"]
    quiet = write_config(tmp_path, agencies, extra=notify.replace("true", "false"), name="quiet.yaml")
    assert run(["validate", "-c", quiet]).stdout.count("\n") == 1


@pytest.mark.parametrize(("contact", "mailbox", "profile", "noted"), [
    ("kominfo@contohkota.go.id", "{local: walikota, name: Budi}", "inetorgperson", True),
    ("Kominfo@ContohKota.GO.ID", "{local: walikota, name: Budi}", "iredmail", True),
    ("Kominfo@ContohKota.GO.ID", "{local: kominfo, name: Budi}", "inetorgperson", False),
    ("kominfo@contohkota.go.id", "{local: walikota, name: Budi, aliases: [kominfo]}", "iredmail", False),
    # an alias the profile does not store is no address on the platform
    ("kominfo@contohkota.go.id", "{local: walikota, name: Budi, aliases: [kominfo]}", "inetorgperson", True),
    ("kominfo@pemda.example.id", "{local: walikota, name: Budi}", "inetorgperson", False),  # not the platform's mail
    ("kominfo@xn--mdan-bpa.go.id", "{local: walikota, name: Budi}", "inetorgperson", True),  # domain: médan.go.id
])
def test_a_contact_in_the_agency_s_own_domain_without_a_mailbox_is_pointed_out(
        tmp_path: Path, contact: str, mailbox: str, profile: str, noted: bool) -> None:
    """Once the agency's MX points at the platform, its contact address, if no mailbox or alias has it, bounces:
    the nightly notices about its own DNS among the mail lost. A note, not a problem."""
    from .configs import contoh_agency, write_config

    domain = "médan.go.id" if "xn--" in contact else "contohkota.go.id"
    agencies = contoh_agency(mailbox, domain=domain).replace(
        "    mailboxes:\n", f"    contact: {{name: Rina, email: '{contact}'}}\n    mailboxes:\n")
    config = write_config(tmp_path, agencies, directory_extra=f"profile: {profile}\n")
    r = run(["validate", "-c", config])
    assert r.exit_code == 0, r.output
    line = next(n for n, text in enumerate(config.read_text().splitlines(), 1) if "- id: pemkot-contoh" in text)
    kinds, fix = (("mailbox or alias", "a mailbox or an alias") if profile == "iredmail" else
                  ("mailbox (profile inetorgperson stores no aliases)", "a mailbox"))
    expected = [f"note: agency 'pemkot-contoh' ({config}:{line}): contact.email {contact} is in its own domain, but no "
                f"{kinds} here has it: once the domain's mail comes to the platform, mail to it (the nightly notices "
                f"too) bounces; give the contact {fix} at that address"]
    assert r.stdout.splitlines()[1:] == (expected if noted else []), r.stdout


def test_one_employee_id_under_different_names_is_pointed_out(tmp_path: Path) -> None:
    """A NIP is one civil servant's: under two names it is a slip in the staff list (a row's number copied into
    the next), pointed out with where each is written. One person's two mailboxes, the name written with and
    without titles, are no slip. A note, not a problem: the file stays valid."""
    from mailprov.config import load_config

    from .configs import contoh_agency, write_config

    nip = "197501012000031001"
    staff = tmp_path / "staff.csv"
    staff.write_text("local,name,employee_id\n" + "".join(
        f"staf{i},Staf Nomor {i},198001012005011{i:03d}\nstaf{i}b,Staf Lain {i},198001012005011{i:03d}\n"
        for i in range(6)))
    agencies = contoh_agency(f'{{local: walikota, name: "Drs. H. Budi Santoso, M.Si.", employee_id: "{nip}"}}',
                             f'{{local: budi, name: budi santoso, employee_id: "{nip}"}}',
                             f'{{local: sekda, name: Siti Rahmawati, employee_id: "{nip}"}}')
    config = write_config(tmp_path, agencies.replace("    mailboxes:\n", "    mailboxes_csv: staff.csv\n"
                                                                         "    mailboxes:\n"))
    shared = load_config(config, {}).shared_employee_ids()
    csv_pairs = [(f"198001012005011{i:03d}", [f"staf{i}", f"staf{i}b"]) for i in range(6)]
    assert [(n, [m.local for m in found]) for n, found in shared] == [(nip, ["walikota", "budi", "sekda"]),
                                                                       *csv_pairs]
    r = run(["validate", "-c", config])
    assert r.exit_code == 0, r.output
    notes = r.stdout.splitlines()[1:]
    at = {local: f"{config}:{n}" for n, line in enumerate(config.read_text().splitlines(), 1)
          for local in ("walikota", "budi", "sekda") if f"local: {local}," in line}
    assert notes[0] == (f"note: employee_id {nip} is given to 3 mailboxes with different names: "
                        f"walikota@contohkota.go.id (Drs. H. Budi Santoso, M.Si., {at['walikota']}), "
                        f"budi@contohkota.go.id (budi santoso, {at['budi']}), sekda@contohkota.go.id (Siti Rahmawati, "
                        f"{at['sekda']}); a NIP is one person's: check the staff list")
    assert notes[1] == ("note: employee_id 198001012005011000 is given to 2 mailboxes with different names: "
                        f"staf0@contohkota.go.id (Staf Nomor 0, {staff}:2), staf0b@contohkota.go.id (Staf Lain 0, "
                        f"{staff}:3); a NIP is one person's: check the staff list")
    # five at most, then how many more
    assert len(notes) == 6 and notes[5] == "note: and 2 more employee_id(s) given to different names", notes
    same_person = write_config(tmp_path, contoh_agency(
        f'{{local: walikota, name: "Drs. H. Budi Santoso, M.Si.", employee_id: "{nip}"}}',
        f'{{local: budi, name: BUDI SANTOSO, employee_id: "{nip}"}}'), name="same.yaml")
    assert run(["validate", "-c", same_person]).stdout.count("\n") == 1


def test_employee_ids_that_cannot_be_nips_are_pointed_out(tmp_path: Path) -> None:
    """Each with its mailbox, where it is written and why; five at most, then how many more. A note: the file
    stays valid (an employee id need not be a NIP, and one typed wrong is still the operator's to correct)."""
    from .configs import contoh_agency, write_config

    staff = tmp_path / "staff.csv"
    staff.write_text("local,name,employee_id\n" + "".join(f"staf{i},Staf {i},1980010120050130{i:02d}\n"
                                                          for i in range(6)))
    agencies = contoh_agency('{local: walikota, name: Budi, employee_id: "19751301 200003 1 001"}',
                             '{local: sekda, name: Siti, employee_id: "198602142010012011"}')
    config = write_config(tmp_path, agencies.replace("    mailboxes:\n", "    mailboxes_csv: staff.csv\n"
                                                                         "    mailboxes:\n"))
    r = run(["validate", "-c", config])
    assert r.exit_code == 0, r.output
    line = next(n for n, text in enumerate(config.read_text().splitlines(), 1) if "local: walikota" in text)
    assert r.stdout.splitlines()[1:] == [
        f"note: walikota@contohkota.go.id ({config}:{line}): employee_id 197513012000031001 is not a NIP as BKN "
        "issues them: its first 8 digits, 19751301, are no birth date (YYYYMMDD); a digit typed wrong?",
        *(f"note: staf{i}@contohkota.go.id ({staff}:{i + 2}): employee_id 1980010120050130{i:02d} is not a NIP as "
          "BKN issues them: digit 15, 3, is neither 1 (a man) nor 2 (a woman); a digit typed wrong?" for i in range(4)),
        "note: and 2 more 18-digit employee_id(s) that are not NIPs as BKN issues them"]
