"""plan/apply and the mailbox life cycle against the real lab slapd, through the CLI and the library."""

from __future__ import annotations

import base64
import json
import re
import stat
from pathlib import Path

import pytest

from lab.slapd import Slapd
from mailprov.config import load_config
from mailprov.directory import open_directory
from mailprov.plan import build_plan
from mailprov.profiles import INETORGPERSON

from .configs import AGENCIES, contoh_agency, write_config
from .helpers import run


def letter_password(path: Path) -> str:
    # a new account's first password, or the new one of a reset
    match = re.search(r"(?:Kata sandi (?:awal|baru)|(?:First|New) password) \| `([^`]+)`",
                      path.read_text(encoding="utf-8"))
    assert match, f"no password in {path}"
    return match.group(1)


def ldif_values(slapd: Slapd, base: str, flt: str, attr: str) -> list[str]:
    """Values of ``attr`` as OpenLDAP's ldapsearch prints them (base64 ones decoded)."""
    out = slapd.ldap("ldapsearch", "-LLL", "-b", base, flt, attr)
    values = []
    for line in out.splitlines():
        if line.startswith(f"{attr}:: "):
            values.append(base64.b64decode(line.split(":: ", 1)[1]).decode("utf-8"))
        elif line.startswith(f"{attr}: "):
            values.append(line.split(": ", 1)[1])
    return values


def plan_json(config: Path, env: dict[str, str], *extra: str) -> dict:  # type: ignore[type-arg]
    r = run(["plan", "-c", config, "--format", "json", *extra], env=env)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    # one change per line: greppable, and printed by json's C encoder (a plan of 10,000 changes)
    assert sum(line.startswith('    {"action": ') for line in r.stdout.splitlines()) == len(data["changes"])
    return data  # type: ignore[no-any-return]


def test_apply_creates_everything_and_a_rerun_plans_nothing(slapd: Slapd, ldap_env: dict[str, str],
                                                            tmp_path: Path) -> None:
    config = write_config(tmp_path)
    base = ldap_env["MAILPROV_BASE_DN"]
    before = plan_json(config, ldap_env)
    assert before["summary"]["create"] == 6 and before["summary"]["unchanged"] == 0
    letters = tmp_path / "letters"
    r = run(["apply", "-c", config, "--yes", "--letters", letters], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert "applied: 6 create" in r.stdout
    # what landed in the directory, read with OpenLDAP's own client
    assert sorted(ldif_values(slapd, base, "(objectClass=inetOrgPerson)", "mail")) == [
        "arsip@contohkota.go.id", "kadis@lain.jatimprov.go.id", "sekda@contohkota.go.id", "walikota@contohkota.go.id"]
    assert ldif_values(slapd, base, "(uid=walikota)", "employeeNumber") == ["197501012000031001"]
    assert ldif_values(slapd, base, "(uid=walikota)", "sn") == ["Santoso"]
    assert ldif_values(slapd, base, "(ou=contohkota.go.id)", "description") == ["Pemerintah Kota Contoh"]
    # one letter per mailbox, private, whose password binds
    folder = letters / "pemkot-contoh" / "mailboxes"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for local in ("walikota", "sekda"):
        path = folder / f"{local}.md"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        dn = f"uid={local},ou=contohkota.go.id,{base}"
        password = letter_password(path)
        assert slapd.can_bind(dn, password)
        assert password not in r.output
    # the disabled mailbox got a password and a letter, and the directory refuses it
    arsip = folder / "arsip.md"
    assert not slapd.can_bind(f"uid=arsip,ou=contohkota.go.id,{base}", letter_password(arsip))
    assert ldif_values(slapd, base, "(uid=arsip)", "pwdAccountLockedTime") == ["000001010000Z"]
    # idempotent
    after = plan_json(config, ldap_env)
    assert after["changes"] == [] and after["summary"]["unchanged"] == 6
    again = run(["apply", "-c", config, "--yes", "--letters", letters], env=ldap_env)
    assert again.exit_code == 0 and "no changes" in again.stdout
    as_json = run(["apply", "-c", config, "--yes", "--letters", letters, "--format", "json"], env=ldap_env)
    assert as_json.exit_code == 0, as_json.output
    # the same shape as the JSON of an apply that did something (its summary counts what was done)
    done = json.loads(run(["apply", "-c", write_config(tmp_path / "more"), "--yes", "--letters", letters, "--format",
                           "json"], env={**ldap_env, "MAILPROV_BASE_DN": slapd.new_base("more")}).stdout)
    assert json.loads(as_json.stdout) == {"summary": dict.fromkeys(done["summary"], 0), "changes": [], "stopped": None,
                                          "held_back": []}
    assert list(done["summary"]) == ["create", "modify", "disable", "enable", "delete", "failed", "unknown", "skipped"]


def test_modify_title_name_and_status_through_the_file(slapd: Slapd, ldap_env: dict[str, str],
                                                       tmp_path: Path) -> None:
    config = write_config(tmp_path)
    base = ldap_env["MAILPROV_BASE_DN"]
    assert run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l"], env=ldap_env).exit_code == 0
    walikota_pw = letter_password(tmp_path / "l" / "pemkot-contoh" / "mailboxes" / "walikota.md")
    changed = AGENCIES.replace("title: Walikota Contoh", "title: Walikota Contoh Periode 2025-2030") \
        .replace("name: Siti Rahmawati", "name: Siti Rahmawati Putri") \
        .replace("{local: walikota, name: Budi Santoso,", "{local: walikota, name: Budi Santoso, active: false,") \
        .replace("title: Arsiparis, active: false}", "title: Arsiparis}")
    write_config(tmp_path, changed)
    plan = plan_json(config, ldap_env)
    by_address = {c["address"]: c for c in plan["changes"]}
    assert by_address["sekda@contohkota.go.id"]["action"] == "modify"
    assert by_address["sekda@contohkota.go.id"]["attributes"]["cn"] == {
        "old": ["Siti Rahmawati"], "new": ["Siti Rahmawati Putri"]}
    walikota = by_address["walikota@contohkota.go.id"]
    assert walikota["action"] == "disable"
    assert walikota["attributes"]["title"]["new"] == ["Walikota Contoh Periode 2025-2030"]
    assert by_address["arsip@contohkota.go.id"]["action"] == "enable"
    assert plan["summary"] == {"create": 0, "modify": 1, "disable": 1, "enable": 1, "delete": 0, "unchanged": 3,
                               "unmanaged": 0}
    r = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l"], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert ldif_values(slapd, base, "(uid=walikota)", "title") == ["Walikota Contoh Periode 2025-2030"]
    assert ldif_values(slapd, base, "(uid=sekda)", "cn") == ["Siti Rahmawati Putri"]
    assert not slapd.can_bind(f"uid=walikota,ou=contohkota.go.id,{base}", walikota_pw)
    arsip_pw = letter_password(tmp_path / "l" / "pemkot-contoh" / "mailboxes" / "arsip.md")
    assert slapd.can_bind(f"uid=arsip,ou=contohkota.go.id,{base}", arsip_pw)
    assert plan_json(config, ldap_env)["changes"] == []


def test_an_entry_named_otherwise_is_renamed_to_the_profiles_name(slapd: Slapd, ldap_env: dict[str, str],
                                                                   tmp_path: Path) -> None:
    """A mailbox another tool made as uid=wk-lama for walikota@: uid is the profile's name for it, and a
    replace of the naming attribute alone is refused (namingViolation), which failed every apply."""
    config = write_config(tmp_path)
    letters = tmp_path / "letters"
    assert run(["apply", "-c", config, "--yes", "--letters", letters], env=ldap_env).exit_code == 0
    base = f"ou=contohkota.go.id,{ldap_env['MAILPROV_BASE_DN']}"
    slapd.ldap("ldapmodrdn", "-r", f"uid=walikota,{base}", "uid=wk-lama", admin=True)
    changes = plan_json(config, ldap_env)["changes"]
    assert [(c["attributes"]["uid"], c["new_dn"]) for c in changes] == [
        ({"old": ["wk-lama"], "new": ["walikota"]}, f"uid=walikota,{base}")]
    r = run(["apply", "-c", config, "--yes", "--letters", letters], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert slapd.can_bind(f"uid=walikota,{base}", letter_password(letters / "pemkot-contoh" / "mailboxes" /
                                                                   "walikota.md"))
    assert slapd.count(base, "(uid=wk-lama)") == 0 and plan_json(config, ldap_env)["changes"] == []


def test_what_mailbox_add_creates(tmp_path: Path) -> None:
    """The library's part of `mailbox add`: the file's mailbox with what was given in its place."""
    from mailprov.config import load_config
    from mailprov.errors import UsageError
    from mailprov.mailboxes import requested

    config = load_config(write_config(tmp_path), {})
    mailbox, listed = requested(config, "Walikota@ContohKota.go.id", title="Plt. Walikota")
    assert listed is not None and listed.title == "Walikota Contoh"
    assert (mailbox.name, mailbox.title, mailbox.employee_id, mailbox.quota_mb) == (
        "Budi Santoso", "Plt. Walikota", "197501012000031001", 4096)
    fresh, none = requested(config, "humas@contohkota.go.id", name="Tim Humas")
    assert none is None and (fresh.address, fresh.title, fresh.quota_mb) == ("humas@contohkota.go.id", "", 4096)
    with pytest.raises(UsageError, match="--name is needed"):
        requested(config, "humas@contohkota.go.id")


def test_mailbox_add_of_a_listed_address_creates_it_as_the_file_says(slapd: Slapd, ldap_env: dict[str, str],
                                                                      tmp_path: Path) -> None:
    """One mailbox now, before a whole apply of its agency: the file's values, not a note that it is missing."""
    config = write_config(tmp_path)
    letters = tmp_path / "letters"
    base = f"ou=contohkota.go.id,{ldap_env['MAILPROV_BASE_DN']}"
    r = run(["mailbox", "add", "walikota@contohkota.go.id", "-c", config, "--letters", letters], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert "note:" not in r.stdout  # as the file says: nothing to warn about
    assert ldif_values(slapd, base, "(uid=walikota)", "employeeNumber") == ["197501012000031001"]
    assert slapd.can_bind(f"uid=walikota,{base}", letter_password(letters / "pemkot-contoh" / "mailboxes" /
                                                                   "walikota.md"))
    # listed as inactive: created locked (ppolicy lifts the lock when the password is set; it is set again)
    r = run(["mailbox", "add", "arsip@contohkota.go.id", "-c", config, "--letters", letters], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert not slapd.can_bind(f"uid=arsip,{base}", letter_password(letters / "pemkot-contoh" / "mailboxes" /
                                                                    "arsip.md"))
    # a value given here wins now, and the operator is told the next apply puts the file's back
    r = run(["mailbox", "add", "sekda@contohkota.go.id", "--title", "Plt. Sekretaris Daerah", "-c", config,
             "--letters", letters], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert f"note: {config} lists sekda@contohkota.go.id otherwise (title given here): the next apply sets the " \
           "file's values" in " ".join(r.stdout.split())
    changes = plan_json(config, ldap_env, "--agency", "pemkot-contoh")["changes"]
    assert [(c["address"], list(c["attributes"])) for c in changes if c["kind"] == "mailbox"] == [
        ("sekda@contohkota.go.id", ["title"])]
    # an address the file does not list still needs a name
    r = run(["mailbox", "add", "humas@contohkota.go.id", "-c", config, "--letters", letters], env=ldap_env)
    assert (r.exit_code, r.stderr) == (2, f"error: --name is needed: {config} does not list humas@contohkota.go.id\n")
    # a NIP copied as printed on a decree reaches the directory as its 18 digits, as the files' NIPs do
    r = run(["mailbox", "add", "humas@contohkota.go.id", "--name", "Tim Humas", "--employee-id",
             "19730921 199703 1 009", "-c", config, "--letters", letters], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert ldif_values(slapd, base, "(uid=humas)", "employeeNumber") == ["197309211997031009"]


def test_mailbox_lifecycle_commands(slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path) -> None:
    config = write_config(tmp_path)
    base = ldap_env["MAILPROV_BASE_DN"]
    letters = tmp_path / "letters"
    assert run(["apply", "-c", config, "--yes", "--letters", letters], env=ldap_env).exit_code == 0
    dn = f"uid=sekda,ou=contohkota.go.id,{base}"
    old = letter_password(letters / "pemkot-contoh" / "mailboxes" / "sekda.md")
    shown = run(["mailbox", "show", "SEKDA@contohkota.go.id", "-c", config, "--format", "json"], env=ldap_env)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == {
        "address": "sekda@contohkota.go.id", "dn": dn, "name": "Siti Rahmawati", "title": "Sekretaris Daerah",
        "active": True, "quota_mb": None, "aliases": [], "employee_id": ""}
    # disable: the directory itself refuses the bind; enable: it accepts it again
    r = run(["mailbox", "disable", "sekda@contohkota.go.id", "-c", config], env=ldap_env)
    assert r.exit_code == 0 and "disabled" in r.stdout
    # the file still lists sekda as active: the operator is told the next apply undoes this
    assert f"note: {config} lists sekda@contohkota.go.id as active: the next apply enables it again unless you " \
           "set active: false there" in " ".join(r.stdout.split())
    assert not slapd.can_bind(dn, old)
    shown = run(["mailbox", "show", "sekda@contohkota.go.id", "-c", config], env=ldap_env)
    assert shown.exit_code == 0, shown.output
    assert "active       no\n" in shown.stdout and "quota_mb     (not stored by this profile)" in shown.stdout
    again = run(["mailbox", "disable", "sekda@contohkota.go.id", "-c", config], env=ldap_env)
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("sekda@contohkota.go.id: already disabled, nothing changed\n")
    r = run(["mailbox", "enable", "sekda@contohkota.go.id", "-c", config], env=ldap_env)
    assert r.exit_code == 0 and "enabled" in r.stdout and "note:" not in r.stdout  # as the file says
    assert slapd.can_bind(dn, old)
    # enabling what is enabled writes nothing (it once failed: ppolicy's lock attribute was not there to delete)
    again = run(["mailbox", "enable", "sekda@contohkota.go.id", "-c", config], env=ldap_env)
    assert (again.exit_code, again.stdout) == (0, "sekda@contohkota.go.id: already enabled, nothing changed\n"), \
        again.output
    # reset-password: the new password binds, the old one no longer does
    r = run(["mailbox", "reset-password", "sekda@contohkota.go.id", "-c", config, "--letters", letters],
            env=ldap_env)
    assert r.exit_code == 0, r.output
    new = letter_password(letters / "pemkot-contoh" / "mailboxes" / "sekda.md")
    assert new != old and new not in r.output and "disabled" not in r.output
    # the letter tells its owner, who has had the account for years, that the password was reset, not that an
    # account was made
    reset_letter = (letters / "pemkot-contoh" / "mailboxes" / "sekda.md").read_text(encoding="utf-8")
    assert "telah diatur ulang atas permintaan" in reset_letter and f"| Kata sandi baru | `{new}` |" in reset_letter
    assert "telah dibuat" not in reset_letter and "Kata sandi awal" not in reset_letter
    assert slapd.can_bind(dn, new) and not slapd.can_bind(dn, old)
    # a disabled mailbox stays disabled through a password reset (ppolicy would unlock it)
    run(["mailbox", "disable", "sekda@contohkota.go.id", "-c", config], env=ldap_env)
    r = run(["mailbox", "reset-password", "sekda@contohkota.go.id", "-c", config, "--letters", letters], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert not slapd.can_bind(dn, letter_password(letters / "pemkot-contoh" / "mailboxes" / "sekda.md"))
    # the operator is told before the letter goes out with a password that logs no one in yet
    assert "note: sekda@contohkota.go.id is disabled, and stays so" in r.stdout, r.output
    assert "mailprov mailbox enable sekda@contohkota.go.id" in r.stdout
    # add outside the file: created with a letter, then reported as unmanaged by plan
    r = run(["mailbox", "add", "humas@contohkota.go.id", "--name", "Tim Humas", "--title", "Humas", "-c", config,
             "--letters", letters], env=ldap_env)
    assert r.exit_code == 0, r.output
    humas = letters / "pemkot-contoh" / "mailboxes" / "humas.md"
    assert slapd.can_bind(f"uid=humas,ou=contohkota.go.id,{base}", letter_password(humas))
    assert "humas@contohkota.go.id" in plan_json(config, ldap_env)["unmanaged"]
    # an address that exists, or whose domain is no agency's: refused, the letter left as it was
    before = humas.read_text()
    again = run(["mailbox", "add", "humas@contohkota.go.id", "--name", "Lain", "-c", config, "--letters", letters],
                env=ldap_env)
    assert (again.exit_code, again.stderr) == (
        2, f"error: humas@contohkota.go.id already exists: uid=humas,ou=contohkota.go.id,{base}\n"), again.output
    assert humas.read_text() == before
    stranger = run(["mailbox", "add", "a@lain.go.id", "--name", "A", "-c", config, "--letters", letters], env=ldap_env)
    assert (stranger.exit_code, stranger.stderr) == (
        2, f"error: lain.go.id is not the domain of any agency in {config}\n"), stranger.output
    for agency in ("pemkot-contoh", "contohkota.go.id"):  # by id or by domain
        listed = run(["mailbox", "list", "-c", config, "--agency", agency, "--format", "json"], env=ldap_env)
        assert [m["address"] for m in json.loads(listed.stdout)["mailboxes"]] == [
            "arsip@contohkota.go.id", "humas@contohkota.go.id", "sekda@contohkota.go.id", "walikota@contohkota.go.id"]
    # --name finds by name or by address, as a help desk asks ("wali...", "Pak Hadi")
    for text, found in (("wali", ["walikota@contohkota.go.id"]), ("HUMAS", ["humas@contohkota.go.id"])):
        listed = run(["mailbox", "list", "-c", config, "--name", text, "--format", "json"], env=ldap_env)
        assert [m["address"] for m in json.loads(listed.stdout)["mailboxes"]] == found, (text, listed.output)
    none = run(["mailbox", "list", "-c", config, "--agency", "pemkot-contoh", "--name", "tidak ada"], env=ldap_env)
    assert (none.exit_code, none.stdout) == (
        0, "no mailbox in contohkota.go.id whose name, address or alias contains 'tidak ada'\n"), none.output
    listed = run(["mailbox", "list", "-c", config, "--agency", "contohkota"], env=ldap_env)
    assert (listed.exit_code, listed.stderr) == (
        2, "error: unknown agency: contohkota (did you mean pemkot-contoh (contohkota.go.id)?)\n"), listed.output
    # errors: unknown mailbox (1), quota on a profile that has none (2), bad address (2)
    missing = run(["mailbox", "show", "tidakada@contohkota.go.id", "-c", config], env=ldap_env)
    assert missing.exit_code == 1 and "no mailbox tidakada@contohkota.go.id" in missing.stderr
    quota = run(["mailbox", "set-quota", "sekda@contohkota.go.id", "100", "-c", config], env=ldap_env)
    assert quota.exit_code == 2 and "profile inetorgperson does not store quotas" in quota.stderr
    bad = run(["mailbox", "show", "x)(uid=*@contohkota.go.id", "-c", config], env=ldap_env)
    assert bad.exit_code == 2 and "invalid local part" in bad.stderr
    # an address two entries carry (someone copied an entry by hand): which one is meant cannot be guessed
    locked = ldif_values(slapd, base, "(uid=sekda)", "pwdAccountLockedTime")
    slapd.ldap("ldapadd", input_text=f"dn: uid=salinan,ou=contohkota.go.id,{base}\nobjectClass: inetOrgPerson\n"
                                     "uid: salinan\ncn: Salinan\nsn: Salinan\nmail: sekda@contohkota.go.id\n")
    twice = run(["mailbox", "enable" if locked else "disable", "sekda@contohkota.go.id", "-c", config], env=ldap_env)
    assert (twice.exit_code, twice.stderr) == (1, f"error: sekda@contohkota.go.id: 2 entries carry this address: "
                                                  f"uid=salinan,ou=contohkota.go.id,{base}; "
                                                  f"uid=sekda,ou=contohkota.go.id,{base}\n"), twice.output
    assert ldif_values(slapd, base, "(uid=sekda)", "pwdAccountLockedTime") == locked  # nothing was changed
    # refused as it is typed: no password asked for, no server contacted
    no_secret = {k: v for k, v in ldap_env.items() if k != "MAILPROV_BIND_PASSWORD"}
    for command in ("show", "disable", "reset-password"):
        bad = run(["mailbox", command, "tidak-ada-at", "-c", config], env=no_secret)
        assert bad.exit_code == 2 and "'tidak-ada-at' is not an address (local@domain)" in bad.stderr, bad.output


def test_enable_lifts_a_lockout_after_failed_logins(slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path) -> None:
    """An owner who mistyped the password five times (the lab's pwdMaxFailure) is locked out for a while;
    the help desk's `mailbox enable` opens the mailbox again at once, and `show` calls it active throughout."""
    config = write_config(tmp_path)
    letters = tmp_path / "letters"
    assert run(["apply", "-c", config, "--yes", "--letters", letters], env=ldap_env).exit_code == 0
    dn = f"uid=sekda,ou=contohkota.go.id,{ldap_env['MAILPROV_BASE_DN']}"
    password = letter_password(letters / "pemkot-contoh" / "mailboxes" / "sekda.md")
    for _ in range(5):
        assert not slapd.can_bind(dn, "salah-ketik")
    lock = ldif_values(slapd, ldap_env["MAILPROV_BASE_DN"], "(uid=sekda)", "pwdAccountLockedTime")
    assert lock and lock != ["000001010000Z"]  # a lock for a while, not the permanent one disable sets
    shown = run(["mailbox", "show", "sekda@contohkota.go.id", "-c", config], env=ldap_env)
    since = f"{lock[0][:4]}-{lock[0][4:6]}-{lock[0][6:8]} {lock[0][8:10]}:{lock[0][10:12]}:{lock[0][12:14]} UTC"
    assert "active       yes\n" in shown.stdout, shown.output  # not disabled: the lock ends by itself
    assert (f"locked       after failed logins at {since}, until the password policy's lockout time has passed "
            "(`mailbox enable` lifts it now)\n") in shown.stdout
    shown = run(["mailbox", "show", "sekda@contohkota.go.id", "-c", config, "--format", "json"], env=ldap_env)
    assert json.loads(shown.stdout)["locked_since"] == since
    assert not slapd.can_bind(dn, password)  # locked: even the right password is refused
    r = run(["mailbox", "enable", "sekda@contohkota.go.id", "-c", config], env=ldap_env)
    assert (r.exit_code, r.stdout) == (0, "sekda@contohkota.go.id: enabled\n"), r.output
    assert slapd.can_bind(dn, password)
    shown = run(["mailbox", "show", "sekda@contohkota.go.id", "-c", config, "--format", "json"], env=ldap_env)
    assert "locked_since" not in json.loads(shown.stdout)


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--name", "Tim\x1b]0;pwned\x07Humas", "Invalid value for '--name': contains the control character \\x1b"),
    ("--title", "Humas\x9b2J", "Invalid value for '--title': contains the control character \\x9b"),
    ("--title", "Kepala\nBidang", "Invalid value for '--title': contains a line break (\\n)"),
    ("--employee-id", "1980\x00", "Invalid value for '--employee-id': contains the control character \\x00"),
    ("--employee-id", "1,97309E+17", "Invalid value for '--employee-id': '1,97309E+17' is a number a spreadsheet"),
    ("--name", "  ", "Invalid value for '--name': must not be empty"),
])
def test_mailbox_add_refuses_what_the_file_refuses(slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path,
                                                   option: str, value: str, message: str) -> None:
    config = write_config(tmp_path)
    args: list[str | Path] = ["mailbox", "add", "humas@contohkota.go.id", "--name", "Tim Humas", "-c", config,
                              "--letters", tmp_path / "l"]
    r = run([*args, option, value], env=ldap_env)
    assert r.exit_code == 2, r.output
    assert message in r.stderr
    assert slapd.count(ldap_env["MAILPROV_BASE_DN"]) == 1 and not (tmp_path / "l").exists()


def test_mailbox_add_takes_values_as_the_file_does(slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l"], env=ldap_env).exit_code == 0
    r = run(["mailbox", "add", "humas@contohkota.go.id", "--name", " Tim Humas\t", "--title", "Humas\tKota ",
             "-c", config, "--letters", tmp_path / "l"], env=ldap_env)
    assert r.exit_code == 0, r.output
    base = ldap_env["MAILPROV_BASE_DN"]
    assert ldif_values(slapd, base, "(uid=humas)", "cn") == ["Tim Humas"]  # trimmed, as YAML's values are
    assert ldif_values(slapd, base, "(uid=humas)", "title") == ["Humas\tKota"]  # a tab inside is a character


def test_mailboxes_removed_from_the_file_need_prune(slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path) -> None:
    config = write_config(tmp_path)
    base = ldap_env["MAILPROV_BASE_DN"]
    assert run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l"], env=ldap_env).exit_code == 0
    write_config(tmp_path, AGENCIES.split("  - id: dinas-lain")[0].replace(
        "      - {local: arsip, name: Agus Wibowo, title: Arsiparis, active: false}\n", ""))
    plan = plan_json(config, ldap_env)
    assert plan["changes"] == []
    assert sorted(plan["unmanaged"]) == ["arsip@contohkota.go.id", "lain.jatimprov.go.id"]
    r = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l"], env=ldap_env)
    assert r.exit_code == 0 and slapd.count(base, "(uid=arsip)") == 1
    r = run(["apply", "-c", config, "--yes", "--prune", "--letters", tmp_path / "l"], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert slapd.count(base, "(uid=arsip)") == 0
    assert slapd.count(base, "(ou=lain.jatimprov.go.id)") == 0
    assert slapd.count(base, "(uid=walikota)") == 1


def test_entries_under_the_base_that_are_not_domains_are_never_pruned(slapd: Slapd, ldap_env: dict[str, str],
                                                                      tmp_path: Path) -> None:
    """An ou=kelompok beside the domains, and the base DN set one level too high: with the inetorgperson profile
    every organizationalUnit under the base looked like a domain no one lists, and --prune deleted it (with
    the mailboxes below it: under --force when they were many, without asking when they were few)."""
    base = ldap_env["MAILPROV_BASE_DN"]
    config = write_config(tmp_path)
    letters = tmp_path / "letters"
    assert run(["apply", "-c", config, "--yes", "--letters", letters], env=ldap_env).exit_code == 0
    slapd.ldap("ldapadd", input_text=f"dn: ou=kelompok,{base}\nobjectClass: organizationalUnit\nou: kelompok\n")
    plan = plan_json(config, ldap_env, "--prune")
    assert plan["changes"] == [] and plan["unmanaged"] == []
    assert plan["notes"][-1] == (f"left alone under the base DN, as their names are not domain names: ou=kelompok,"
                                 f"{base} (if the domains are below one of them, directory.base_dn is set too high)")
    r = run(["apply", "-c", config, "--yes", "--prune", "--force", "--letters", letters], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert slapd.count(base, "(ou=kelompok)") == 1
    # one level too high: the test's base itself (a non-domain ou holding every mailbox) is left alone
    above = base.split(",", 1)[1]
    high = run(["plan", "-c", config, "--prune", "--format", "json"], env={**ldap_env, "MAILPROV_BASE_DN": above})
    assert high.exit_code == 0, high.output
    planned = json.loads(high.stdout)
    assert [c for c in planned["changes"] if c["action"] == "delete"] == []
    assert planned["notes"][-1].startswith("left alone under the base DN, as their names are not domain names: ")


def test_a_second_entry_with_a_listed_address_is_named_and_left_alone(slapd: Slapd, ldap_env: dict[str, str],
                                                                       tmp_path: Path) -> None:
    """Another tool's uid=walikota-lama carrying walikota@: before, plan took it for the mailbox, planned renaming
    it onto uid=walikota (refused: entryAlreadyExists) and a new password whose letter replaced the one holding
    the password the real account still has."""
    base = ldap_env["MAILPROV_BASE_DN"]
    config = write_config(tmp_path)
    letters = tmp_path / "letters"
    assert run(["apply", "-c", config, "--yes", "--letters", letters], env=ldap_env).exit_code == 0
    letter = letters / "pemkot-contoh" / "mailboxes" / "walikota.md"
    before = letter.read_text()
    lama = f"uid=walikota-lama,ou=contohkota.go.id,{base}"
    slapd.ldap("ldapadd", input_text=f"dn: {lama}\nobjectClass: inetOrgPerson\nuid: walikota-lama\ncn: Lama\n"
                                     "sn: Lama\nmail: walikota@contohkota.go.id\n")
    plan = plan_json(config, ldap_env, "--prune")
    assert plan["changes"] == []
    assert plan["notes"][-1] == (f"walikota@contohkota.go.id is also carried by {lama}: mailprov manages "
                                 f"uid=walikota,ou=contohkota.go.id,{base} and leaves the other alone; remove it or "
                                 "change its mail, as two entries with one address break the mail system's lookups")
    r = run(["apply", "-c", config, "--yes", "--prune", "--force", "--letters", letters], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert "note: walikota@contohkota.go.id is also carried by" in r.stdout
    assert letter.read_text() == before
    assert slapd.can_bind(f"uid=walikota,ou=contohkota.go.id,{base}", letter_password(letter))
    assert slapd.count(base, "(mail=walikota@contohkota.go.id)") == 2


def test_pruning_most_mailboxes_needs_force(slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path) -> None:
    """A staff CSV cut short (or the wrong -c file) under --prune would delete most mailboxes: apply refuses,
    plan warns, --force carries it out."""
    (tmp_path / "staff.csv").write_text("local,name\n" + "".join(f"pegawai{i:02d},Pegawai {i}\n" for i in range(20)))
    agencies = "agencies:\n  - {id: pemkot-contoh, name: Kota, domain: contohkota.go.id, mailboxes_csv: staff.csv}\n"
    config = write_config(tmp_path, agencies)
    letters = tmp_path / "letters"
    assert run(["apply", "-c", config, "--yes", "--letters", letters], env=ldap_env).exit_code == 0
    base = ldap_env["MAILPROV_BASE_DN"]
    (tmp_path / "staff.csv").write_text("local,name\n" + "".join(f"pegawai{i:02d},Pegawai {i}\n" for i in range(8)))
    planned = run(["plan", "-c", config, "--prune"], env=ldap_env)
    assert planned.exit_code == 0, planned.output
    warning = ("12 of the 20 mailboxes in the directory would be deleted (more than 30%): a truncated CSV or the "
               "wrong configuration file looks like this")
    assert planned.stderr == f"warning: {warning}; apply refuses it without --force\n"
    refused = run(["apply", "-c", config, "--yes", "--prune", "--letters", letters], env=ldap_env)
    assert (refused.exit_code, refused.stderr) == (
        2, f"error: refusing to apply: {warning}; check the plan, then run again with --force\n"), refused.output
    assert slapd.count(base, "(objectClass=inetOrgPerson)") == 20
    forced = run(["apply", "-c", config, "--yes", "--prune", "--force", "--letters", letters], env=ldap_env)
    assert forced.exit_code == 0, forced.output
    assert slapd.count(base, "(objectClass=inetOrgPerson)") == 8


@pytest.mark.parametrize("durability", ["syncfs", "fsync"])
@pytest.mark.parametrize("scheme", ["server", "ssha512", "server-add"])
def test_each_letter_is_on_the_disk_before_its_password_is_set(request: pytest.FixtureRequest,
                                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               scheme: str, durability: str) -> None:
    """A power cut must not leave a password set whose letter never reached the disk (then empty or gone, and
    a re-run finds the password and sets no new one): a syncfs of the letters' file system after the letter
    was written, or where there is no syncfs, an fsync of the letter and of its folders, comes first."""
    import os

    from mailprov import files, ldapwire

    ldap_env = request.getfixturevalue("hashing_env" if scheme == "server-add" else "ldap_env")
    letters = tmp_path / "letters"
    events: list[tuple[str, object]] = []
    real_fsync, real_modify, real_add = os.fsync, ldapwire.encode_password_modify, ldapwire.encode_add
    real_syncfs = files._syncfs()
    assert real_syncfs is not None  # Linux: the syncfs variant below runs the real call

    def fsync(fd: int) -> None:
        real_fsync(fd)
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))

    def syncfs(fd: int) -> int:
        assert real_syncfs is not None
        done = real_syncfs(fd)
        events.append(("syncfs", {str(p) for p in letters.rglob("*.md") if p.stat().st_size}))
        return done

    # requests are encoded ahead of time: a password is set when its request is sent
    setting: dict[bytes, str] = {}
    real_send = ldapwire.Pipeline.send

    def password_modify(mid: int, dn: str, password: str) -> bytes:
        encoded = real_modify(mid, dn, password)
        setting[encoded] = dn
        return encoded

    def add(mid: int, dn: str, attributes: dict[str, list[str]]) -> bytes:
        encoded = real_add(mid, dn, attributes)
        if "userPassword" in attributes:  # the hash travels in the add (server-add: the password itself)
            setting[encoded] = dn
        return encoded

    def send(self: ldapwire.Pipeline, requests: list[tuple[int, bytes]]) -> set[int]:
        events.extend(("set", setting[data]) for _, data in requests if data in setting)
        return real_send(self, requests)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(files, "_syncfs", (lambda: syncfs) if durability == "syncfs" else (lambda: None))
    monkeypatch.setattr(ldapwire, "encode_password_modify", password_modify)
    monkeypatch.setattr(ldapwire, "encode_add", add)
    monkeypatch.setattr(ldapwire.Pipeline, "send", send)
    config = write_config(tmp_path, directory_extra=f"password_scheme: {scheme}\n")
    r = run(["apply", "-c", config, "--yes", "--letters", letters], env=ldap_env)
    assert r.exit_code == 0, r.output
    base = ldap_env["MAILPROV_BASE_DN"]
    # (server-add's check adds a throwaway cn=mailprov-hash-check-* entry with a throwaway password first)
    sets = [i for i, (kind, dn) in enumerate(events) if kind == "set" and str(dn).startswith("uid=")]
    assert len(sets) == 4  # every mailbox of the test's agencies got a password
    for agency, local, domain in [("pemkot-contoh", "walikota", "contohkota.go.id"),
                                  ("pemkot-contoh", "sekda", "contohkota.go.id"),
                                  ("pemkot-contoh", "arsip", "contohkota.go.id"),
                                  ("dinas-lain", "kadis", "lain.jatimprov.go.id")]:
        folder = letters / agency / "mailboxes"
        (set_at,) = [i for i in sets if events[i][1] == f"uid={local},ou={domain},{base}"]
        before = events[:set_at]
        if durability == "syncfs":
            assert any(kind == "syncfs" and str(folder / f"{local}.md") in synced  # type: ignore[operator]
                       for kind, synced in before)
        else:
            assert ("fsync", str(folder / f"{local}.md")) in before
            assert ("fsync", str(folder)) in before
            assert ("fsync", str(folder.parent)) in before  # a new folder's own entry too


def test_apply_refuses_without_yes_off_a_terminal(slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path) -> None:
    config = write_config(tmp_path)
    r = run(["apply", "-c", config, "--letters", tmp_path / "l"], env=ldap_env, input="y\n")
    assert r.exit_code == 2
    assert "refusing to apply without --yes" in r.stderr
    assert slapd.count(ldap_env["MAILPROV_BASE_DN"]) == 1  # only the empty base
    assert not (tmp_path / "l").exists()


@pytest.mark.parametrize(("option", "said"), [
    (["--lang", "jv"], "--lang must be one of id, en, not 'jv'"),
    (["--format", "yaml"], "--format must be one of table, json, not 'yaml'")])
def test_apply_refuses_an_unknown_language_or_format_before_writing(
        slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path, option: list[str], said: str) -> None:
    """Refused as the command line is read: nothing is written, not even the letters' folder."""
    config = write_config(tmp_path)
    r = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l", *option], env=ldap_env)
    assert (r.exit_code, r.stderr) == (2, f"error: {said}\n"), r.output
    assert slapd.count(ldap_env["MAILPROV_BASE_DN"]) == 1  # only the empty base
    assert not (tmp_path / "l").exists()


def test_invalid_configuration_writes_nothing(slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path) -> None:
    config = write_config(tmp_path, AGENCIES.replace("local: sekda", "local: 'se kda'"))
    r = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l"], env=ldap_env)
    assert r.exit_code == 2
    assert re.search(r"domains\.yaml:\d+: .*invalid local part 'se kda'", r.stderr)
    assert slapd.count(ldap_env["MAILPROV_BASE_DN"]) == 1
    assert not (tmp_path / "l").exists()


def test_titles_stay_in_cn_and_out_of_sn_and_given_name(slapd: Slapd, ldap_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    config = write_config(tmp_path, contoh_agency('{local: walikota, name: "Drs. H. Aminuddin, M.Si."}',
                                                  '{local: kadinkes, name: "dr. Siti Nurhaliza, Sp.A., M.Kes."}'))
    base = ldap_env["MAILPROV_BASE_DN"]
    r = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "letters"], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert ldif_values(slapd, base, "(uid=walikota)", "cn") == ["Drs. H. Aminuddin, M.Si."]
    assert ldif_values(slapd, base, "(uid=walikota)", "sn") == ["Aminuddin"]
    assert ldif_values(slapd, base, "(uid=walikota)", "givenName") == []
    assert ldif_values(slapd, base, "(uid=kadinkes)", "sn") == ["Nurhaliza"]
    assert ldif_values(slapd, base, "(uid=kadinkes)", "givenName") == ["Siti"]
    assert ldif_values(slapd, base, "(uid=kadinkes)", "displayName") == ["dr. Siti Nurhaliza, Sp.A., M.Kes."]
    assert plan_json(config, ldap_env)["summary"]["unchanged"] == 3


def test_library_plan_against_the_directory(slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path), ldap_env)
    with open_directory(config.directory, INETORGPERSON, ldap_env) as directory:
        snapshot = directory.snapshot(list(config.agencies), whole=True)
        plan = build_plan(list(config.agencies), snapshot, INETORGPERSON, config.directory.base_dn)
    assert plan.summary["create"] == 6
    assert [c.kind for c in plan.changes] == ["domain", "domain", "mailbox", "mailbox", "mailbox", "mailbox"]


@pytest.mark.parametrize("scheme", ["ssha512", "argon2"])
def test_client_side_hashing_for_servers_without_password_modify(
        slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path, scheme: str) -> None:
    config = write_config(tmp_path, directory_extra=f"password_scheme: {scheme}\n")
    base = ldap_env["MAILPROV_BASE_DN"]
    r = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l"], env=ldap_env)
    assert r.exit_code == 0, r.output
    stored = ldif_values(slapd, base, "(uid=walikota)", "userPassword")
    # ldapsearch prints non-ASCII-safe values base64-encoded; hashes are plain ASCII
    assert stored and stored[0].startswith("{" + scheme.upper() + "}")
    password = letter_password(tmp_path / "l" / "pemkot-contoh" / "mailboxes" / "walikota.md")
    assert slapd.can_bind(f"uid=walikota,ou=contohkota.go.id,{base}", password)
    assert not slapd.can_bind(f"uid=arsip,ou=contohkota.go.id,{base}",
                              letter_password(tmp_path / "l" / "pemkot-contoh" / "mailboxes" / "arsip.md"))
    # the lifecycle commands hash the same way: reset-password and add
    dn = f"uid=walikota,ou=contohkota.go.id,{base}"
    r = run(["mailbox", "reset-password", "walikota@contohkota.go.id", "-c", config, "--letters", tmp_path / "l"],
            env=ldap_env)
    assert r.exit_code == 0, r.output
    new = letter_password(tmp_path / "l" / "pemkot-contoh" / "mailboxes" / "walikota.md")
    assert new != password and slapd.can_bind(dn, new) and not slapd.can_bind(dn, password)
    assert ldif_values(slapd, base, "(uid=walikota)", "userPassword")[0].startswith("{" + scheme.upper() + "}")
    r = run(["mailbox", "add", "humas@contohkota.go.id", "--name", "Tim Humas", "-c", config, "--letters",
             tmp_path / "l"], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert ldif_values(slapd, base, "(uid=humas)", "userPassword")[0].startswith("{" + scheme.upper() + "}")
    assert slapd.can_bind(f"uid=humas,ou=contohkota.go.id,{base}",
                          letter_password(tmp_path / "l" / "pemkot-contoh" / "mailboxes" / "humas.md"))


def test_names_that_look_like_markup_are_shown_as_written(slapd: Slapd, ldap_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    """The plan an operator confirms must show names as they are: rich read '[bold]' as a style (the text
    vanished) and '[/x]' as a broken tag (MarkupError)."""
    agencies = """\
    agencies:
      - id: pemkot-contoh
        name: "Pemerintah Kota [Contoh]"
        domain: contohkota.go.id
        mailboxes:
          - {local: plt, name: "Siti [bold]Rahma [/x]", title: "[Plt] Kepala Dinas"}
    """
    config = write_config(tmp_path, agencies)
    r = run(["plan", "-c", config], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert "Pemerintah Kota [Contoh]" in r.stdout and "Siti [bold]Rahma [/x]" in r.stdout
    r = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "letters"], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert "Siti [bold]Rahma [/x]" in r.stdout
    listed = run(["mailbox", "list", "-c", config], env=ldap_env)
    assert listed.exit_code == 0, listed.output
    assert "Siti [bold]Rahma [/x]" in listed.stdout and "[Plt] Kepala Dinas" in listed.stdout
    # a value someone else wrote into the directory, carrying an escape sequence: shown, not executed
    dn = f"uid=plt,ou=contohkota.go.id,{ldap_env['MAILPROV_BASE_DN']}"
    title = base64.b64encode(b"Kepala \x1b]0;PWNED\x07Dinas").decode()
    slapd.ldap("ldapmodify", admin=True, input_text=f"dn: {dn}\nchangetype: modify\nreplace: title\ntitle:: {title}\n")
    for command in (["mailbox", "list"], ["mailbox", "show", "plt@contohkota.go.id"], ["plan"]):
        shown = run([*command, "-c", config], env=ldap_env)
        assert shown.exit_code == 0, shown.output
        assert "\x1b" not in shown.stdout and "\\x1b]0;PWNED\\x07" in shown.stdout, shown.stdout


def test_plan_table_names_a_domain_by_its_name(slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path) -> None:
    """A domain's DN (60 characters) was folded mid-RDN at any width; the table names the domain, as the
    unmanaged list does, and the JSON keeps the DN."""
    config = write_config(tmp_path)
    r = run(["plan", "-c", config], env={**ldap_env, "COLUMNS": "100"})
    assert r.exit_code == 0, r.output
    assert re.search(r"│ create │ domain  │ contohkota\.go\.id +│ Pemerintah Kota Contoh", r.stdout), r.stdout
    assert "ou=contohkota.go.id" not in r.stdout
    assert plan_json(config, ldap_env)["changes"][0]["dn"] == f"ou=contohkota.go.id,{ldap_env['MAILPROV_BASE_DN']}"


def test_narrow_mailbox_list_keeps_each_address_whole(slapd: Slapd, ldap_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    """At 80 columns names and titles wrap; the address, which operators copy, stays on one line."""
    agencies = contoh_agency(
        '{local: kepala.bidang.aplikasi, name: "Raden Mas Bambang Sulistyo Wibowo", title: "Kepala Bidang Aplikasi"}',
        domain="dinaskominfo.contohkota.go.id")
    config = write_config(tmp_path, agencies)
    assert run(["apply", "-c", config, "--yes", "--letters", tmp_path / "letters"], env=ldap_env).exit_code == 0
    listed = run(["mailbox", "list", "-c", config], env={**ldap_env, "COLUMNS": "80"})
    assert listed.exit_code == 0, listed.output
    assert "kepala.bidang.aplikasi@dinaskominfo.contohkota.go.id" in listed.stdout, listed.stdout
    # no quota or aliases columns: this profile stores neither, and they squeezed names into fragments
    assert re.search(r"┃ address +┃ name +┃ title +┃ active ┃\n", listed.stdout), listed.stdout
    assert "Raden Mas Bambang Sulistyo Wibowo" not in listed.stdout  # folded at 80 columns, as asked
    # piped without COLUMNS (into grep, a file): one line per mailbox, whatever its width
    piped = run(["mailbox", "list", "-c", config], env={**ldap_env, "COLUMNS": ""})
    assert piped.exit_code == 0, piped.output
    assert re.search(r"\n│ kepala\.bidang\.aplikasi@dinaskominfo\.contohkota\.go\.id +│ Raden Mas Bambang Sulistyo "
                     r"Wibowo +│ Kepala Bidang Aplikasi +│ yes +│\n", piped.stdout), piped.stdout
    assert len(piped.stdout.splitlines()) == 6  # title, three border lines, the header, the one row
    # the plan's table keeps it whole too while the details keep 20 columns; past that the address folds
    # (rich would give the details no column at all)
    write_config(tmp_path, agencies.replace("Kepala Bidang Aplikasi", "Kepala Bidang Aplikasi Informatika"))
    wide = run(["plan", "-c", config], env={**ldap_env, "COLUMNS": "100"})
    assert wide.exit_code == 0, wide.output
    assert "│ modify │ mailbox │ kepala.bidang.aplikasi@dinaskominfo.contohkota.go.id │ title: Kepala" in wide.stdout
    narrow = run(["plan", "-c", config], env={**ldap_env, "COLUMNS": "80"})
    assert re.search(r"│ modify │ mailbox │ kepala\.bidang\.aplikasi@dina +│ title: Kepala Bidang +│", narrow.stdout), \
        narrow.stdout
