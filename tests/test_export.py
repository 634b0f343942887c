"""``directory export`` as LDIF and CSV, and what plan/apply print, against the lab slapd."""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path

from lab.slapd import Slapd
from mailprov.directory import Stored
from mailprov.export import ldif

from .configs import AGENCIES, write_config
from .helpers import run
from .test_directory import ldif_values, letter_password


def test_ldif_folds_and_base64_encodes() -> None:
    photo = bytes(range(256))  # not text: kept byte for byte
    entry = Stored("uid=a,ou=x", {"objectClass": [b"inetOrgPerson"], "cn": ["Ñoño".encode()],
                                  "description": [b"x" * 100], "title": [b" lead"], "userPassword": [b"{SSHA}abc"],
                                  "jpegPhoto": [photo]})
    text = "".join(ldif([entry]))
    assert text.startswith("version: 1\n\ndn: uid=a,ou=x\nobjectClass: inetOrgPerson\n")
    assert f"cn:: {base64.b64encode('Ñoño'.encode()).decode()}" in text
    assert f"jpegPhoto:: {base64.b64encode(photo).decode()}" in text.replace("\n ", "")
    assert "title:: " in text
    assert "description: " + "x" * 63 + "\n " + "x" * 37 in text
    assert "userPassword" not in text
    assert "userPassword: {SSHA}abc" in "".join(ldif([entry], include_password_hashes=True))
    assert "dn:: " in "".join(ldif([Stored("cn=Ñ,ou=x", {})]))  # a DN that is not ASCII: base64 too


def test_depth_of_a_dn_counts_only_the_commas_between_rdns() -> None:
    from mailprov.ldapnames import dn_depth

    names = ("ou=x", "cn=a\\,b,ou=x", "cn=a\\2Cb,ou=x", "cn=a\\\\,ou=x", "a=1+b=2,ou=x,dc=y")
    assert [dn_depth(dn) for dn in names] == [0, 1, 1, 1, 2]


def test_export_ldif_and_csv_through_the_cli(slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l"], env=ldap_env).exit_code == 0
    r = run(["directory", "export", "-c", config, "--format", "ldif"], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert r.stdout.count("\ndn: ") == 1 + 2 + 4  # the base, two domains, four mailboxes
    assert "mail: walikota@contohkota.go.id" in r.stdout and "userPassword" not in r.stdout
    # the LDIF loads back into an empty subtree with OpenLDAP's own ldapadd
    target = slapd.new_base("reimport")
    unfolded = r.stdout.replace("\n ", "")  # RFC 2849 continuation lines
    assert all(len(line) <= 76 for line in r.stdout.splitlines())
    reimport = unfolded.replace(ldap_env["MAILPROV_BASE_DN"], target).split("\n\n", 2)[2]  # minus version, base
    slapd.ldap("ldapadd", input_text=reimport, admin=True)
    assert slapd.count(target, "(objectClass=inetOrgPerson)") == 4
    # exports go into the operator's folder (a backup folder another account reads, say): the files are 0600,
    # they hold every owner's name and NIP, and the folder keeps its mode (it was once made 0700, as the letters'
    # folders are: with --output /tmp/x.ldif, root's export would have closed /tmp to everyone else)
    backups = tmp_path / "backups"
    backups.mkdir()
    backups.chmod(0o755)
    out = backups / "mailboxes.csv"
    r = run(["directory", "export", "-c", config, "--format", "csv", "--output", out], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert (out.stat().st_mode & 0o777, backups.stat().st_mode & 0o777) == (0o600, 0o755)
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 4
    arsip = next(row for row in rows if row["local"] == "arsip")
    assert arsip["active"] == "false" and arsip["domain"] == "contohkota.go.id" and arsip["quota_mb"] == ""
    # the CSV is a staff list: asking it for the hashes is a mistake to say, not to ignore
    r = run(["directory", "export", "-c", config, "--format", "csv", "--include-password-hashes"], env=ldap_env)
    assert (r.exit_code, r.stderr) == (2, "error: --include-password-hashes is for --format ldif: the CSV is a staff "
                                          "list, with no passwords\n"), r.output
    # with the hashes, the file is the secret an attacker would crack offline: 0600 from its first byte
    hashed = backups / "with-hashes.ldif"
    r = run(["directory", "export", "-c", config, "--include-password-hashes", "--output", hashed], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert (hashed.stat().st_mode & 0o777, backups.stat().st_mode & 0o777) == (0o600, 0o755)
    assert sorted(p.name for p in backups.iterdir()) == ["mailboxes.csv", "with-hashes.ldif"]  # no temporary left
    walikota = hashed.read_text().split("dn: uid=walikota,")[1].split("\n\n")[0]
    assert "\nuserPassword: {SSHA}" in walikota  # the server's hash (RFC 3062 default), never the password
    letters = tmp_path / "l" / "pemkot-contoh" / "mailboxes"
    assert letter_password(letters / "walikota.md") not in hashed.read_text()
    # a photo another tool stored is binary: the backup gives it back byte for byte
    photo = base64.b64encode(bytes(range(256)) * 4).decode()
    walikota_dn = f"uid=walikota,ou=contohkota.go.id,{ldap_env['MAILPROV_BASE_DN']}"
    slapd.ldap("ldapmodify", input_text=f"dn: {walikota_dn}\nchangetype: modify\nadd: jpegPhoto\n"
               f"jpegPhoto:: {photo}\n", admin=True)
    r = run(["directory", "export", "-c", config, "--include-password-hashes", "--output", hashed], env=ldap_env)
    assert r.exit_code == 0, r.output
    # a backup restored by the provisioner: passwords bind as before, and a disabled mailbox stays disabled
    # (its ppolicy lock is operational, which "*" does not return: it was lost once)
    restored = slapd.new_base("restore")
    text = hashed.read_text().replace("\n ", "").replace(ldap_env["MAILPROV_BASE_DN"], restored)
    slapd.ldap("ldapadd", input_text=text.split("\n\n", 2)[2])
    disabled = f"uid=arsip,ou=contohkota.go.id,{restored}"
    assert ldif_values(slapd, disabled, "(objectClass=*)", "pwdAccountLockedTime") == ["000001010000Z"]
    assert not slapd.can_bind(disabled, letter_password(letters / "arsip.md"))
    assert slapd.can_bind(f"uid=walikota,ou=contohkota.go.id,{restored}", letter_password(letters / "walikota.md"))
    back = slapd.ldap("ldapsearch", "-LLL", "-b", f"uid=walikota,ou=contohkota.go.id,{restored}", "(objectClass=*)",
                      "jpegPhoto")
    assert f"jpegPhoto:: {photo}\n" in back


def test_an_export_that_cannot_be_written_is_refused_before_the_directory_is_read(tmp_path: Path) -> None:
    """A folder given as --output: said at once (exit 2), not after reading every entry; the directory here is
    unreachable, which would have been exit 3."""
    config = write_config(tmp_path)
    env = {"MAILPROV_LDAP_URL": "ldap://127.0.0.1:1", "MAILPROV_BIND_PASSWORD": "x"}
    r = run(["directory", "export", "-c", config, "--output", tmp_path], env=env)
    assert (r.exit_code, r.stderr) == (2, f"error: {tmp_path}: cannot write here (is a folder: give a file name)\n"), \
        r.output
    blocked = tmp_path / "domains.yaml" / "export.ldif"  # a file where a folder must be
    r = run(["directory", "export", "-c", config, "--output", blocked], env=env)
    said = f"error: {blocked}: cannot write here ({config} is a file, not a folder)\n"
    assert (r.exit_code, r.stderr) == (2, said), r.output


def test_plan_table_and_apply_output_never_show_passwords(slapd: Slapd, ldap_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    config = write_config(tmp_path)
    r = run(["plan", "-c", config], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert "│ create │ mailbox │ walikota@contohkota.go.id" in r.stdout
    assert "summary: 6 create, 0 modify, 0 disable, 0 enable, 0 delete, 0 unchanged, 0 unmanaged" in r.stdout
    assert "note: profile inetorgperson does not store quota_mb or aliases" in r.stdout
    r = run(["--debug", "apply", "-c", config, "--yes", "--letters", tmp_path / "l", "--format", "json"],
            env=ldap_env)
    assert r.exit_code == 0, r.output
    folder = tmp_path / "l" / "pemkot-contoh" / "mailboxes"
    for path in folder.glob("*.md"):
        assert letter_password(path) not in r.output
    assert ldap_env["MAILPROV_BIND_PASSWORD"] not in r.output
    assert '"password": "generated"' in r.stdout


def test_a_csv_export_reads_back_as_the_agencys_staff_list(slapd: Slapd, ldap_env: dict[str, str],
                                                            tmp_path: Path) -> None:
    """Taking existing mailboxes under management: export them, name the file as mailboxes_csv, plan nothing."""
    import json

    config = write_config(tmp_path / "before")
    assert run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l"], env=ldap_env).exit_code == 0
    # what a spreadsheet would read as formulas (a name another tool stored, the "-" many sheets put for no title,
    # a local part that starts with a hyphen) is marked as text with an apostrophe, which reading takes off again
    formula = '=HYPERLINK("http://x.example","Tim Humas")'
    added = run(["mailbox", "add", "--name", formula, "--title", "-", "-c", config, "--letters", tmp_path / "l", "--",
                 "-humas@contohkota.go.id"], env=ldap_env)
    assert added.exit_code == 0, added.output
    exported = run(["directory", "export", "-c", config, "--agency", "pemkot-contoh", "--format", "csv",
                    "--output", tmp_path / "after" / "staff.csv"], env=ldap_env)
    assert exported.exit_code == 0, exported.output
    rows = {row["local"]: row for row in csv.DictReader(io.StringIO((tmp_path / "after" / "staff.csv").read_text()))}
    assert {k: rows["'-humas"][k] for k in ("address", "name", "title")} == {
        "address": "'-humas@contohkota.go.id", "name": "'" + formula, "title": "'-"}
    assert rows["walikota"]["name"] == "Budi Santoso"  # nothing else is touched
    # the same agencies, pemkot-contoh's mailboxes now read from the export
    listed = AGENCIES[AGENCIES.index("    mailboxes:\n"):AGENCIES.index("  - id: dinas-lain")]
    adopted = write_config(tmp_path / "after", AGENCIES.replace(listed, "    mailboxes_csv: staff.csv\n"))
    r = run(["plan", "-c", adopted, "--format", "json"], env=ldap_env)
    assert r.exit_code == 0, r.output
    plan = json.loads(r.stdout)
    assert plan["changes"] == [] and plan["unmanaged"] == []
    assert plan["summary"]["unchanged"] == 7  # both domains, their five mailboxes, humas included
    # --agency: only that agency's mailboxes (an export of both would name kadis@lain..., refused as a row
    # of another domain)
    assert "kadis@" not in (tmp_path / "after" / "staff.csv").read_text()
    one_domain = run(["directory", "export", "-c", config, "--agency", "pemkot-contoh"], env=ldap_env)
    assert one_domain.exit_code == 0, one_domain.output
    dns = [line for line in one_domain.stdout.splitlines() if line.startswith("dn: ")]
    assert dns[0].startswith("dn: ou=contohkota.go.id,") and len(dns) == 5  # the domain and its four mailboxes
    assert "lain.jatimprov" not in one_domain.stdout


def test_an_export_lists_parents_first_after_another_tool_moved_an_entry(slapd: Slapd, ldap_env: dict[str, str],
                                                                          tmp_path: Path) -> None:
    """slapd lists a subtree by entry id; an entry moved under a parent made after it would come first,
    and ldapadd stops at a child whose parent is not there yet."""
    config = write_config(tmp_path)
    assert run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l"], env=ldap_env).exit_code == 0
    domain = f"ou=contohkota.go.id,{ldap_env['MAILPROV_BASE_DN']}"
    slapd.ldap("ldapadd", input_text=f"dn: ou=pensiun\\, arsip,{domain}\nobjectClass: organizationalUnit\n"
               "ou: pensiun, arsip\n", admin=True)
    slapd.ldap("ldapmodrdn", "-s", f"ou=pensiun\\, arsip,{domain}", f"uid=arsip,{domain}", "uid=arsip",
               admin=True)
    r = run(["directory", "export", "-c", config, "--agency", "contohkota.go.id"], env=ldap_env)
    assert r.exit_code == 0, r.output
    dns = [line for line in r.stdout.replace("\n ", "").splitlines() if line.startswith("dn: ")]
    parent = next(i for i, dn in enumerate(dns) if dn.startswith("dn: ou=pensiun"))  # slapd writes '\2C'
    child = next(i for i, dn in enumerate(dns) if dn.startswith("dn: uid=arsip,ou=pensiun"))
    assert parent < child, dns
    restored = slapd.new_base("moved")
    slapd.ldap("ldapadd", input_text=r.stdout.replace("\n ", "").replace(ldap_env["MAILPROV_BASE_DN"], restored)
               .split("\n\n", 1)[1], admin=True)
    assert slapd.count(restored, "(objectClass=inetOrgPerson)") == 3
