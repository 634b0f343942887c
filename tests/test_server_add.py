"""``password_scheme: server-add``: the add carries the password and the directory hashes it.

Against two real slapds: the session one, which stores a cleartext ``userPassword`` as given (OpenLDAP's
default), and one whose ppolicy overlay has ``ppolicy_hash_cleartext``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.slapd import Slapd, start_slapd
from mailprov import ldapwire
from mailprov.apply import apply_plan
from mailprov.config import load_config
from mailprov.directory import Directory, open_directory
from mailprov.errors import DirectoryError, ServerHashError
from mailprov.letters import MailboxLetterWriter
from mailprov.plan import Plan, build_plan
from mailprov.profiles import INETORGPERSON
from mailprov.serverhash import check_server_hashes

from .configs import write_config
from .helpers import REPO, run
from .test_directory import ldif_values, letter_password, plan_json

SERVER_ADD = "password_scheme: server-add\n"
KEPT_AS_GIVEN = ("error: password_scheme server-add: the directory stored a password given in an add as it is, not "
                 "hashed; set ppolicy_hash_cleartext in its ppolicy overlay (olcPPolicyHashCleartext), or use "
                 "password_scheme: server\n")


def _count_password_modify(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sent: list[str] = []
    real = ldapwire.encode_password_modify

    def counted(mid: int, dn: str, password: str) -> bytes:
        sent.append(dn)
        return real(mid, dn, password)

    monkeypatch.setattr(ldapwire, "encode_password_modify", counted)
    return sent


def _checks_left(server: Slapd, base: str) -> int:
    return server.count(base, "(cn=mailprov-hash-check-*)")


def test_apply_creates_each_mailbox_in_one_write_and_the_server_hashes_its_password(
        hashing_slapd: Slapd, hashing_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    password_modify = _count_password_modify(monkeypatch)
    config = write_config(tmp_path, directory_extra=SERVER_ADD)
    base = hashing_env["MAILPROV_BASE_DN"]
    letters = tmp_path / "letters" / "pemkot-contoh" / "mailboxes"
    r = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "letters"], env=hashing_env)
    assert r.exit_code == 0, r.output
    assert "applied: 6 create" in r.stdout, r.stdout
    assert password_modify == []  # every password went in its add
    stored = ldif_values(hashing_slapd, base, "(uid=walikota)", "userPassword")
    assert len(stored) == 1 and stored[0].startswith("{SSHA}")
    walikota = f"uid=walikota,ou=contohkota.go.id,{base}"
    password = letter_password(letters / "walikota.md")
    assert stored[0] != password and hashing_slapd.can_bind(walikota, password)
    # the disabled mailbox got its password in the add, and stays locked
    assert not hashing_slapd.can_bind(f"uid=arsip,ou=contohkota.go.id,{base}", letter_password(letters / "arsip.md"))
    assert _checks_left(hashing_slapd, base) == 0
    assert plan_json(config, hashing_env)["changes"] == []
    # a reset goes by Password Modify (ldap3's, single writes): an existing entry's password is not replaced
    # by a cleartext modify
    reset_by: list[str] = []
    real_set = Directory.set_password

    def set_password(self: Directory, dn: str, password: str) -> None:
        reset_by.append(dn)
        real_set(self, dn, password)

    monkeypatch.setattr(Directory, "set_password", set_password)
    r = run(["mailbox", "reset-password", "walikota@contohkota.go.id", "-c", config, "--letters",
             tmp_path / "letters"], env=hashing_env)
    assert r.exit_code == 0, r.output
    assert reset_by == [walikota]
    new = letter_password(letters / "walikota.md")
    assert hashing_slapd.can_bind(walikota, new) and not hashing_slapd.can_bind(walikota, password)
    assert ldif_values(hashing_slapd, base, "(uid=walikota)", "userPassword")[0].startswith("{SSHA}")


def test_an_entry_found_without_a_password_gets_one_by_password_modify(
        hashing_slapd: Slapd, hashing_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that died between an add and its password leaves an entry without one: with server-add the next
    apply sets it by Password Modify, never by a modify carrying the password itself."""
    config = write_config(tmp_path, directory_extra=SERVER_ADD)
    base = hashing_env["MAILPROV_BASE_DN"]
    letters = tmp_path / "letters"
    assert run(["apply", "-c", config, "--yes", "--letters", letters], env=hashing_env).exit_code == 0
    sekda = f"uid=sekda,ou=contohkota.go.id,{base}"
    hashing_slapd.ldap("ldapmodify", input_text=f"dn: {sekda}\nchangetype: modify\ndelete: userPassword\n",
                       admin=True)
    password_modify = _count_password_modify(monkeypatch)
    modifies: list[str] = []
    real_modify = ldapwire.encode_modify

    def modify(mid: int, dn: str, changes: list[tuple[int, str, list[str]]]) -> bytes:
        if any(attr == "userPassword" for _, attr, _ in changes):
            modifies.append(dn)
        return real_modify(mid, dn, changes)

    monkeypatch.setattr(ldapwire, "encode_modify", modify)
    r = run(["apply", "-c", config, "--yes", "--letters", letters], env=hashing_env)
    assert r.exit_code == 0, r.output
    assert (password_modify, modifies) == ([sekda], [])
    assert hashing_slapd.can_bind(sekda, letter_password(letters / "pemkot-contoh" / "mailboxes" / "sekda.md"))
    assert ldif_values(hashing_slapd, base, "(uid=sekda)", "userPassword")[0].startswith("{SSHA}")


def test_mailbox_add_puts_the_password_in_the_add(hashing_slapd: Slapd, hashing_env: dict[str, str],
                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    password_modify = _count_password_modify(monkeypatch)
    config = write_config(tmp_path, directory_extra=SERVER_ADD)
    letters = tmp_path / "letters"
    base = f"ou=contohkota.go.id,{hashing_env['MAILPROV_BASE_DN']}"
    r = run(["mailbox", "add", "walikota@contohkota.go.id", "-c", config, "--letters", letters], env=hashing_env)
    assert r.exit_code == 0, r.output
    assert password_modify == []
    assert ldif_values(hashing_slapd, base, "(uid=walikota)", "userPassword")[0].startswith("{SSHA}")
    assert hashing_slapd.can_bind(f"uid=walikota,{base}",
                                  letter_password(letters / "pemkot-contoh" / "mailboxes" / "walikota.md"))
    assert _checks_left(hashing_slapd, hashing_env["MAILPROV_BASE_DN"]) == 0


def test_a_directory_that_keeps_the_password_as_given_gets_none(slapd: Slapd, ldap_env: dict[str, str],
                                                                tmp_path: Path) -> None:
    """OpenLDAP without ppolicy_hash_cleartext stores what the add carries: the run stops before any change."""
    config = write_config(tmp_path, directory_extra=SERVER_ADD)
    base = ldap_env["MAILPROV_BASE_DN"]
    letters = tmp_path / "letters"
    r = run(["apply", "-c", config, "--yes", "--letters", letters], env=ldap_env)
    assert (r.exit_code, r.stderr) == (2, KEPT_AS_GIVEN), r.output
    assert slapd.count(base) == 1  # only the empty base: not even the throwaway entry
    assert list(letters.rglob("*.md")) == []
    assert plan_json(config, ldap_env)["summary"]["create"] == 6
    r = run(["mailbox", "add", "walikota@contohkota.go.id", "-c", config, "--letters", letters], env=ldap_env)
    assert (r.exit_code, r.stderr) == (2, KEPT_AS_GIVEN), r.output
    assert slapd.count(base) == 1 and list(letters.rglob("*.md")) == []


@pytest.fixture(scope="module")
def no_compare_slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """The bind DN may write userPassword but not compare or read it (OpenLDAP ``=w``)."""
    server = start_slapd(tmp_path_factory.mktemp("write-only") / "ldap", hash_cleartext=True, database_extra=(
        f'access to attrs=userPassword\n    by dn.exact="{Slapd(Path()).bind_dn}" =w\n    by anonymous auth\n'
        "    by * none\n"))
    yield server
    server.stop()


def test_a_directory_that_will_not_say_gets_none_either(no_compare_slapd: Slapd, tmp_path: Path) -> None:
    env = no_compare_slapd.env()
    env["MAILPROV_BASE_DN"] = no_compare_slapd.new_base("write-only")
    config = write_config(tmp_path, directory_extra=SERVER_ADD)
    r = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "letters"], env=env)
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("error: password_scheme server-add: the throwaway entry cn=mailprov-hash-check-")
    assert r.stderr.endswith(" that checks whether the directory hashes passwords could not be compared "
                             "(insufficientAccessRights): give the bind DN compare access to userPassword, or use "
                             "password_scheme: server\n")
    assert no_compare_slapd.count(env["MAILPROV_BASE_DN"]) == 1


def test_library_check_and_apply(slapd: Slapd, ldap_env: dict[str, str], hashing_env: dict[str, str],
                                 tmp_path: Path) -> None:
    for env, hashes in ((ldap_env, False), (hashing_env, True)):
        config = load_config(write_config(tmp_path / str(hashes), directory_extra=SERVER_ADD), env)
        with open_directory(config.directory, INETORGPERSON, env) as directory:
            pipeline = directory.pipeline()
            if hashes:
                check_server_hashes(pipeline, config.directory.base_dn, "Sekali#Pakai2026xy")
            else:
                with pytest.raises(ServerHashError, match="stored a password given in an add as it is"):
                    check_server_hashes(pipeline, config.directory.base_dn, "Sekali#Pakai2026xy")
            assert directory.mailboxes() == []
            plan = Plan(changes=[])
            writer = MailboxLetterWriter(config, tmp_path / "lib")
            report = apply_plan(plan, [pipeline], writer, list(config.agencies), INETORGPERSON, scheme="server-add")
            assert report.ok and report.outcomes == []  # nothing to create: nothing to check, no base DN needed
    assert slapd.count(ldap_env["MAILPROV_BASE_DN"]) == 1


def test_library_apply_needs_the_base_dn_to_check_under(hashing_slapd: Slapd, hashing_env: dict[str, str],
                                                        tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, directory_extra=SERVER_ADD), hashing_env)
    with open_directory(config.directory, INETORGPERSON, hashing_env) as directory:
        snapshot = directory.snapshot(list(config.agencies), whole=True)
        plan = build_plan(list(config.agencies), snapshot, INETORGPERSON, config.directory.base_dn)
        writer = MailboxLetterWriter(config, tmp_path / "lib")
        with pytest.raises(ValueError, match="needs the base_dn"):
            apply_plan(plan, [directory.pipeline()], writer, list(config.agencies), INETORGPERSON, scheme="server-add")
        report = apply_plan(plan, [directory.pipeline()], writer, list(config.agencies), INETORGPERSON,
                            scheme="server-add", base_dn=config.directory.base_dn)
    assert report.ok and report.summary["create"] == 6
    assert len(list((tmp_path / "lib").rglob("*.md"))) == 4
    base = config.directory.base_dn
    assert hashing_slapd.can_bind(f"uid=kadis,ou=lain.jatimprov.go.id,{base}",
                                  letter_password(tmp_path / "lib" / "dinas-lain" / "mailboxes" / "kadis.md"))
    assert _checks_left(hashing_slapd, base) == 0


@pytest.mark.parametrize("scheme", ["server", "server-add", "ssha512"])
def test_debug_output_shows_no_password(request: pytest.FixtureRequest, tmp_path: Path, scheme: str) -> None:
    """What --debug prints (tracebacks, debug logging) holds none of the passwords the letters hold."""
    env = request.getfixturevalue("hashing_env")
    config = write_config(tmp_path, directory_extra=f"password_scheme: {scheme}\n")
    letters = tmp_path / "letters"
    mailboxes = letters / "pemkot-contoh" / "mailboxes"
    printed = ""
    for args in (["apply", "-c", config, "--yes"],
                 ["mailbox", "reset-password", "sekda@contohkota.go.id", "-c", config],
                 ["mailbox", "add", "humas@contohkota.go.id", "--name", "Tim Humas", "-c", config]):
        # a process of its own: pytest's log capture would keep the root logger from printing
        done = subprocess.run([sys.executable, "-m", "mailprov", "--debug", *map(str, args), "--letters", str(letters)],
                              env={**os.environ, **env}, cwd=REPO, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        printed += done.stdout + done.stderr
    passwords = {letter_password(path) for path in mailboxes.glob("*.md")}
    assert len(passwords) == 4  # walikota, sekda (reset), arsip, humas
    assert [p for p in passwords if p in printed] == []


class _Scripted:
    """A pipeline whose answers are scripted by operation (the wire itself is tested against slapd above)."""

    def __init__(self, **codes: int) -> None:
        self.codes = codes
        self.sent: list[str] = []
        self._id = 0

    def next_id(self) -> int:
        self._id += 1
        return self._id

    def run(self, requests: list[tuple[int, bytes]]) -> dict[int, ldapwire.Result]:
        (mid, data), = requests
        _, message, _ = ldapwire._read_tlv(data, 0)
        _, _, after_id = ldapwire._read_tlv(message, 0)
        operation = {0x68: "add", 0x6E: "compare", 0x4A: "delete"}[message[after_id]]
        self.sent.append(operation)
        return {mid: ldapwire.Result(mid, operation, self.codes.get(operation, 0), "", "")}


@pytest.mark.parametrize(("codes", "said", "sent"), [
    ({"add": ldapwire.CONSTRAINT_VIOLATION}, "could not be added: constraintViolation (if the server's password "
     "policy asks for longer passwords, raise directory.password_length)", ["add"]),
    ({"compare": ldapwire.COMPARE_FALSE, "delete": 50}, "could not be deleted (insufficientAccessRights); delete it "
     "by hand", ["add", "compare", "delete"]),
    ({"compare": 16}, "could not be compared (noSuchAttribute)", ["add", "compare", "delete"]),
])
def test_every_other_answer_stops_the_run_with_its_reason(codes: dict[str, int], said: str, sent: list[str]) -> None:
    pipeline = _Scripted(**codes)
    with pytest.raises(DirectoryError) as raised:
        check_server_hashes(pipeline, "ou=domains,dc=mail,dc=go,dc=id", "Sekali#Pakai2026xy")  # type: ignore[arg-type]
    assert said in str(raised.value)
    assert pipeline.sent == sent  # the throwaway entry is deleted whenever it was added
