"""The iredmail profile, profiles written in YAML, and escaping, against the real lab slapd."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import ldap3
import pytest

from lab.slapd import Slapd
from mailprov.config import load_config
from mailprov.directory import Directory, open_directory
from mailprov.ldapnames import same_dn
from mailprov.profiles import INETORGPERSON, IREDMAIL, Profile

from .configs import AGENCIES, contoh_agency, write_config
from .helpers import run
from .test_directory import ldif_values, letter_password, plan_json


def test_iredmail_profile(slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path) -> None:
    agencies = AGENCIES.replace("aliases: [setda]}", "aliases: [setda, sekretariat], quota_mb: 10240}")
    config = write_config(tmp_path, agencies, directory_extra="profile: iredmail\n")
    base = ldap_env["MAILPROV_BASE_DN"]
    r = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l"], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert "does not store" not in r.stdout
    dn = f"mail=sekda@contohkota.go.id,ou=Users,domainName=contohkota.go.id,{base}"
    assert slapd.count(dn, "(objectClass=mailUser)") == 1
    assert ldif_values(slapd, dn, "(objectClass=*)", "mailQuota") == [str(10240 * 1024 * 1024)]
    assert sorted(ldif_values(slapd, dn, "(objectClass=*)", "shadowAddress")) == [
        "sekretariat@contohkota.go.id", "setda@contohkota.go.id"]
    assert ldif_values(slapd, dn, "(objectClass=*)", "accountStatus") == ["active"]
    # what a stock iRedMail's Dovecot asks of a user: a home, and the services it looks the user up by
    # (an alias finds the user only with shadowaddress)
    services = ldif_values(slapd, dn, "(objectClass=*)", "enabledService")
    assert {"imapsecured", "lmtp", "shadowaddress", "doveadm", "indexer-worker"} <= set(services)
    assert ldif_values(slapd, dn, "(objectClass=*)", "homeDirectory") == [
        "/var/vmail/vmail1/contohkota.go.id/sekda/"]
    assert ldif_values(slapd, dn, "(objectClass=*)", "storageBaseDirectory") == ["/var/vmail"]
    assert ldif_values(slapd, dn, "(objectClass=*)", "mailMessageStore") == ["vmail1/contohkota.go.id/sekda/"]
    assert ldif_values(slapd, base, "(mail=arsip@contohkota.go.id)", "accountStatus") == ["disabled"]
    assert ldif_values(slapd, base, "(domainName=contohkota.go.id)", "accountStatus") == ["active"]
    assert slapd.can_bind(dn, letter_password(tmp_path / "l" / "pemkot-contoh" / "mailboxes" / "sekda.md"))
    # the mailbox is found through an alias too, and quota is changed in bytes
    shown = run(["mailbox", "show", "setda@contohkota.go.id", "-c", config, "--format", "json"], env=ldap_env)
    assert json.loads(shown.stdout)["quota_mb"] == 10240
    # and an alias is not a free address: adding it as a mailbox names whose alias it is
    r = run(["mailbox", "add", "setda@contohkota.go.id", "--name", "Setda", "-c", config, "--letters",
             tmp_path / "l"], env=ldap_env)
    assert (r.exit_code, r.stderr) == (
        2, "error: setda@contohkota.go.id already exists, as an alias of sekda@contohkota.go.id\n"), r.output
    # --name finds it by an alias as well, which this profile stores
    listed = run(["mailbox", "list", "-c", config, "--name", "sekretariat", "--format", "json"], env=ldap_env)
    assert [m["address"] for m in json.loads(listed.stdout)["mailboxes"]] == ["sekda@contohkota.go.id"]
    # the table shows quota and aliases, as this profile stores them
    table = run(["mailbox", "list", "-c", config, "--agency", "pemkot-contoh"], env=ldap_env)
    assert table.exit_code == 0, table.output
    assert re.search(r"┃ address +┃ name +┃ title +┃ active ┃ quota MB ┃ aliases +┃", table.stdout), table.stdout
    assert re.search(r"│ sekda@contohkota\.go\.id .*│ yes +│ +10240 │ sekretariat@contohkota\.go\.id", table.stdout)
    r = run(["mailbox", "set-quota", "sekda@contohkota.go.id", "20480", "-c", config], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert f"note: {config} gives sekda@contohkota.go.id 10240 MB: the next apply sets that again unless you " \
           "change its quota_mb there" in " ".join(r.stdout.split())
    assert ldif_values(slapd, dn, "(objectClass=*)", "mailQuota") == [str(20480 * 1024 * 1024)]
    # the file says 10240: plan puts it back
    (change,) = plan_json(config, ldap_env)["changes"]
    assert change["attributes"] == {"mailQuota": {"old": [str(20480 * 2 ** 20)], "new": [str(10240 * 2 ** 20)]}}
    table = run(["plan", "-c", config], env={**ldap_env, "COLUMNS": "120"})
    assert "mailQuota: 20480 MiB -> 10240 MiB" in table.stdout, table.stdout  # as domains.yaml gives quotas
    r = run(["mailbox", "disable", "sekda@contohkota.go.id", "-c", config], env=ldap_env)
    assert ldif_values(slapd, dn, "(objectClass=*)", "accountStatus") == ["disabled"]


NASTY_NAME = 'Budi, "Jr" + <Tim>; a=b \\ *(x)* Ñoño'
CN_PROFILE = """\
profile:
  domain: {rdn: ou, object_classes: [top, organizationalUnit], attributes: {name: description}}
  mailbox:
    rdn: cn
    object_classes: [top, person, organizationalPerson, inetOrgPerson]
    attributes: {address: mail, local: uid, name: cn, surname: sn, title: title}
"""


def test_names_with_special_characters_round_trip(slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path) -> None:
    base = f"ou=Dinas \\2C Kota \\22Contoh\\22 \\2B Ñ,{ldap_env['MAILPROV_BASE_DN']}"
    # LDIF carries non-ASCII values in base64
    dn64 = base64.b64encode(base.encode()).decode()
    ou64 = base64.b64encode('Dinas , Kota "Contoh" + Ñ'.encode()).decode()
    slapd.ldap("ldapadd", input_text=f"dn:: {dn64}\nobjectClass: organizationalUnit\nou:: {ou64}\n", admin=True)
    env = {**ldap_env, "MAILPROV_BASE_DN": base}
    agencies = f"""\
agencies:
  - id: pemkot-contoh
    name: 'Pemkot (Contoh) *; <b>'
    domain: contohkota.go.id
    mailboxes:
      - {{local: budi, name: '{NASTY_NAME.replace("'", "''")}', title: 'Kepala \\ Bagian (Umum)'}}
      - {{local: other, name: Budi Lain}}
"""
    config = write_config(tmp_path, agencies, directory_extra=CN_PROFILE)
    r = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l"], env=env)
    assert r.exit_code == 0, r.output
    # the DN slapd stores holds the name, escaped
    out = slapd.ldap("ldapsearch", "-LLL", "-b", base, "(uid=budi)", "1.1")
    dn_line = next(line for line in out.splitlines() if line.startswith("dn"))
    assert dn_line.startswith("dn:: ")  # non-ASCII: ldapsearch prints it base64
    assert ldif_values(slapd, base, "(uid=budi)", "cn") == [NASTY_NAME]
    assert ldif_values(slapd, base, "(uid=budi)", "sn") == ["Budi"]  # what follows a comma is titles, not the name
    # read back through mailprov: same name, found by a filter full of special characters
    shown = run(["mailbox", "show", "budi@contohkota.go.id", "-c", config, "--format", "json"], env=env)
    assert shown.exit_code == 0, shown.output
    info = json.loads(shown.stdout)
    assert info["name"] == NASTY_NAME and info["title"] == "Kepala \\ Bagian (Umum)"
    listed = run(["mailbox", "list", "-c", config, "--name", '*(x)* Ñ', "--format", "json"], env=env)
    assert [m["address"] for m in json.loads(listed.stdout)["mailboxes"]] == ["budi@contohkota.go.id"]
    password = letter_password(tmp_path / "l" / "pemkot-contoh" / "mailboxes" / "budi.md")
    assert slapd.can_bind(info["dn"], password)
    # DNs compare equal however the server escapes them: nothing to do on a re-run
    assert plan_json(config, env)["changes"] == []
    r = run(["mailbox", "reset-password", "budi@contohkota.go.id", "-c", config, "--letters", tmp_path / "l"], env=env)
    assert r.exit_code == 0, r.output
    password = letter_password(tmp_path / "l" / "pemkot-contoh" / "mailboxes" / "budi.md")
    assert slapd.can_bind(info["dn"], password)
    # a new name renames the entry its name names (a replace of cn alone is refused: namingViolation, each run)
    renamed = "Budi; \"Sr\", + <Tim> Ñ"
    config = write_config(tmp_path, agencies.replace(NASTY_NAME.replace("'", "''"), renamed),
                          directory_extra=CN_PROFILE)
    plan = plan_json(config, env)["changes"]
    assert [(c["action"], c["attributes"]["cn"], c["new_dn"].split(",ou=contohkota")[0]) for c in plan] == [
        ("modify", {"old": [NASTY_NAME], "new": [renamed]}, "cn=Budi\\; \\\"Sr\\\"\\, \\+ \\<Tim\\> Ñ")]
    table = run(["plan", "-c", config], env={**env, "COLUMNS": "200"})
    assert 'renamed to cn=Budi\\; \\"Sr\\"\\, \\+ \\<Tim\\> Ñ' in table.stdout, table.stdout
    r = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l"], env=env)
    assert r.exit_code == 0, r.output
    assert ldif_values(slapd, base, "(uid=budi)", "cn") == [renamed]  # the old name is gone with the old RDN
    moved = json.loads(run(["mailbox", "show", "budi@contohkota.go.id", "-c", config, "--format", "json"],
                           env=env).stdout)["dn"]
    # the same entry (the server escapes the DN its own way), the same password
    assert same_dn(moved, plan[0]["new_dn"]) and slapd.can_bind(moved, password)
    assert plan_json(config, env)["changes"] == []


POSIX_PROFILE = """\
profile:
  domain: {rdn: ou, object_classes: [top, organizationalUnit], attributes: {name: description}}
  mailbox:
    rdn: uid
    object_classes: [top, inetOrgPerson, posixAccount]
    attributes: {address: mail, local: uid, name: cn, surname: sn, employee_id: uidNumber}
    static: {gidNumber: ["5000"], homeDirectory: ["/var/vmail/{domain}/{local}/"]}
  status: {}
"""


def test_schema_violation_on_one_entry_does_not_stop_the_others(slapd: Slapd, ldap_env: dict[str, str],
                                                               tmp_path: Path) -> None:
    agencies = contoh_agency('{local: satu, name: Satu Orang, employee_id: "10001"}',
                             '{local: dua, name: Dua Orang, employee_id: "bukan-angka"}',
                             '{local: tiga, name: Tiga Orang, employee_id: "10003"}')
    config = write_config(tmp_path, agencies, directory_extra=POSIX_PROFILE)
    base = ldap_env["MAILPROV_BASE_DN"]
    r = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l", "--format", "json"], env=ldap_env)
    assert r.exit_code == 1, r.output
    report = json.loads(r.stdout)
    assert report["summary"]["create"] == 3 and report["summary"]["failed"] == 1
    (failed,) = [c for c in report["changes"] if c["status"] == "failed"]
    assert failed["address"] == "dua@contohkota.go.id"
    assert failed["message"].startswith("invalidAttributeSyntax")
    assert "dua@contohkota.go.id" in r.stderr and "invalidAttributeSyntax" in r.stderr
    assert sorted(ldif_values(slapd, base, "(objectClass=posixAccount)", "uid")) == ["satu", "tiga"]
    # a static value may name the mailbox: a path of its own
    assert sorted(ldif_values(slapd, base, "(objectClass=posixAccount)", "homeDirectory")) == [
        "/var/vmail/contohkota.go.id/satu/", "/var/vmail/contohkota.go.id/tiga/"]
    assert not (tmp_path / "l" / "pemkot-contoh" / "mailboxes" / "dua.md").exists()
    for local in ("satu", "tiga"):
        path = tmp_path / "l" / "pemkot-contoh" / "mailboxes" / f"{local}.md"
        assert slapd.can_bind(f"uid={local},ou=contohkota.go.id,{base}", letter_password(path))
    # the operator fixes the file; the re-run creates only the missing one
    write_config(tmp_path, agencies.replace("bukan-angka", "10002"), directory_extra=POSIX_PROFILE)
    plan = plan_json(config, ldap_env)
    assert [(c["action"], c.get("address")) for c in plan["changes"]] == [("create", "dua@contohkota.go.id")]


@pytest.mark.parametrize("profile", [INETORGPERSON, IREDMAIL], ids=lambda p: p.name)
def test_a_whole_plan_reads_every_domain_in_one_search(slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, profile: Profile) -> None:
    """One paged subtree search of the base sorted into domains finds what one search per domain finds: the
    domain entry, the container, each mailbox, one in a folder of its own below the domain, and a domain the
    file does not list. With an entry under the base that is not a domain (a folder of people, a mailbox beside
    the domains), every domain is read on its own again, so that entry's subtree is never read."""
    base = ldap_env["MAILPROV_BASE_DN"]
    config = write_config(tmp_path, directory_extra=f"profile: {profile.name}\n")
    assert run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l"], env=ldap_env).exit_code == 0
    cfg = load_config(config, ldap_env)
    folder = f"ou=bagian,{profile.mailbox_parent_dn(base, 'contohkota.go.id')}"
    unlisted = replace(cfg.agencies[0], id="lain", domain="tidak-terdaftar.go.id", mailboxes=())
    _add(slapd, [(folder, {"objectClass": ["organizationalUnit"], "ou": ["bagian"]}),
                 (profile.domain_dn(base, unlisted.domain), profile.domain_entry(unlisted)),
                 _mailbox(profile, folder, "terselip@contohkota.go.id")])
    searches: list[tuple[str, str]] = []
    original = Directory._search_raw

    def counted(self: Directory, base: str, flt: str, scope: str, attributes: list[str]) -> Any:
        searches.append((base, scope))
        return original(self, base, flt, scope, attributes)

    monkeypatch.setattr(Directory, "_search_raw", counted)
    with open_directory(cfg.directory, profile, ldap_env) as directory:
        whole = directory.snapshot(list(cfg.agencies), whole=True)
        subtree_searches = [b for b, scope in searches if scope == ldap3.SUBTREE]
        per_domain = directory.snapshot(list(cfg.agencies), whole=False)
    assert subtree_searches == [base]
    assert sorted(whole.domains) == ["contohkota.go.id", "lain.jatimprov.go.id", "tidak-terdaftar.go.id"]
    for domain, state in per_domain.domains.items():
        assert whole.domains[domain] == state, domain
    contoh = whole.domains["contohkota.go.id"]
    assert contoh.entry is not None and contoh.container == bool(profile.mailbox_container)
    assert sorted(contoh.mailboxes) == ["arsip@contohkota.go.id", "sekda@contohkota.go.id",
                                        "terselip@contohkota.go.id", "walikota@contohkota.go.id"]
    assert whole.domains["tidak-terdaftar.go.id"].entry is not None
    # beside the domains: an ou=orang with a person in it, and a mailbox
    _add(slapd, [(f"ou=orang,{base}", {"objectClass": ["organizationalUnit"], "ou": ["orang"]}),
                 _mailbox(profile, f"ou=orang,{base}", "orang@contohkota.go.id"),
                 _mailbox(profile, base, "di-luar@contohkota.go.id")])
    searches.clear()
    with open_directory(cfg.directory, profile, ldap_env) as directory:
        beside = directory.snapshot(list(cfg.agencies), whole=True)
    assert sorted(b for b, scope in searches if scope == ldap3.SUBTREE) == sorted(
        profile.domain_dn(base, d) for d in whole.domains)
    assert beside.domains == whole.domains


@pytest.mark.parametrize("profile", [INETORGPERSON, IREDMAIL], ids=lambda p: p.name)
def test_an_address_an_entry_outside_its_domain_carries_is_not_created_again(
        slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path, profile: Profile) -> None:
    """Accounts from before mailprov in a folder beside the domains. Before, apply created a second entry for each
    address they carry, and the mail system's lookups found two. A mailbox whose address is taken is not created;
    one whose alias is taken is created without that alias (iRedMail's profile stores aliases)."""
    base = ldap_env["MAILPROV_BASE_DN"]
    config = write_config(tmp_path, directory_extra=f"profile: {profile.name}\n")
    people = f"ou=orang,{base}"
    walikota = _mailbox(profile, people, "walikota@contohkota.go.id")
    lama = _mailbox(profile, people, "sekda-lama@contohkota.go.id")  # carries sekda's alias, where aliases are stored
    _add(slapd, [(people, {"objectClass": ["organizationalUnit"], "ou": ["orang"]}), walikota,
                 (lama[0], {**lama[1], **({"shadowAddress": ["setda@contohkota.go.id"]} if profile.stores_aliases
                                          else {})})])
    two = "outside the domain's entries, and two entries with one address break the mail system's lookups"
    not_created = (f"walikota@contohkota.go.id is not created: {walikota[0]} already carries its address, {two}; "
                   "move or delete that entry, or change the address in the configuration")
    no_alias = (f"sekda@contohkota.go.id does not get its alias setda@contohkota.go.id: {lama[0]} already carries "
                f"it, {two}; move or delete that entry, or drop the alias from the configuration")
    plan = run(["plan", "-c", config, "--format", "json"], env=ldap_env)
    assert plan.exit_code == 0, plan.output
    notes = [n for n in json.loads(plan.stdout)["notes"] if two in n]
    assert notes == [not_created] + ([no_alias] if profile.stores_aliases else [])
    # mailbox add: an address an entry carries is refused, and writes nothing; a taken alias is left out, and said
    r = run(["mailbox", "add", "walikota@contohkota.go.id", "-c", config, "--letters", tmp_path / "l"], env=ldap_env)
    assert (r.exit_code, r.stderr) == (2, f"error: walikota@contohkota.go.id already exists: {walikota[0]}\n"), \
        r.output
    assert not (tmp_path / "l").exists()
    r = run(["mailbox", "add", "sekda@contohkota.go.id", "-c", config, "--letters", tmp_path / "l"], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert r.stderr == (f"warning: {no_alias}\n" if profile.stores_aliases else ""), r.stderr
    sekda = f"{profile.mailbox_rdn}={'sekda@contohkota.go.id' if profile.mailbox_rdn == 'mail' else 'sekda'}," \
            f"{profile.mailbox_parent_dn(base, 'contohkota.go.id')}"
    assert slapd.count(sekda, "(shadowAddress=*)") == 0 and slapd.count(sekda) == 1
    # apply does the rest, and fails (exit 1) while anything is held back: a nightly apply --yes must not pass with
    # a mailbox the file lists missing
    r = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l", "--format", "json"], env=ldap_env)
    assert r.exit_code == 1, r.output
    held = "1 mailbox and 1 alias" if profile.stores_aliases else "1 mailbox"
    assert f"\nheld back: {held}, until the entries named in the notes above are moved or deleted\n" in r.stderr
    assert r.stderr.endswith(f"\nnot done: {held} held back, as other entries carry their addresses (see the notes "
                             "above); the first apply after those are moved or deleted adds them\n"), r.stderr
    done = json.loads(r.stdout)
    assert done["held_back"] == [{"address": "walikota@contohkota.go.id", "alias": None, "reason": not_created}] + (
        [{"address": "sekda@contohkota.go.id", "alias": "setda@contohkota.go.id", "reason": no_alias}]
        if profile.stores_aliases else [])
    assert done["summary"]["failed"] == 0 and {c["status"] for c in done["changes"]} == {"done"}
    # nothing left to change, still not done: the next nightly run says so too
    again = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l", "--format", "json"], env=ldap_env)
    assert again.exit_code == 1, again.output
    assert (json.loads(again.stdout)["changes"], json.loads(again.stdout)["held_back"]) == ([], done["held_back"])
    assert slapd.count(base, "(mail=walikota@contohkota.go.id)") == 1
    assert slapd.count(base, "(shadowAddress=setda@contohkota.go.id)") == (1 if profile.stores_aliases else 0)
    letters = sorted(p.name for p in (tmp_path / "l" / "pemkot-contoh" / "mailboxes").iterdir())
    assert letters == ["arsip.md", "sekda.md"]
    # the operator removes the old accounts: the next apply creates the mailbox, with its letter, and the alias
    slapd.ldap("ldapdelete", walikota[0], lama[0])
    r = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l"], env=ldap_env)
    assert r.exit_code == 0, r.output
    assert two not in r.stderr + r.stdout
    assert (tmp_path / "l" / "pemkot-contoh" / "mailboxes" / "walikota.md").is_file()
    assert slapd.count(base, "(mail=walikota@contohkota.go.id)") == 1
    assert slapd.count(sekda, "(shadowAddress=setda@contohkota.go.id)") == (1 if profile.stores_aliases else 0)
    assert run(["plan", "-c", config, "--format", "json"], env=ldap_env).stdout.count('"changes": []') == 1


def _mailbox(profile: Profile, parent: str, address: str) -> tuple[str, dict[str, list[str]]]:
    """A mailbox entry as another tool might have made it, under ``parent``."""
    local = address.split("@", maxsplit=1)[0]
    attributes = {"objectClass": list(profile.mailbox_object_classes), "mail": [address], "cn": [local],
                  "sn": [local], "uid": [local]}
    return f"{profile.mailbox_rdn}={address if profile.mailbox_rdn == 'mail' else local},{parent}", attributes


def _add(slapd: Slapd, entries: list[tuple[str, dict[str, list[str]]]]) -> None:
    slapd.ldap("ldapadd", input_text="\n".join(f"dn: {dn}\n" + "".join(
        f"{name}: {value}\n" for name, values in attributes.items() for value in values) for dn, attributes in entries))
