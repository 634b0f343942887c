"""Connecting and binding: the failover pool, what answers in slapd's place, TLS and CA files, the bind
password, and the password policy's answers to the bind."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lab.slapd import Slapd
from mailprov.config import load_config
from mailprov.directory import open_directory
from mailprov.errors import DirectoryUnavailable
from mailprov.profiles import INETORGPERSON

from .configs import write_config
from .helpers import NOT_THE_PROTOCOL, answering, run
from .test_directory import letter_password


@pytest.fixture
def dead() -> Iterator[str]:
    """An LDAP URL where nothing answers: the port is held (bound, not listening) for the whole test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"ldap://127.0.0.1:{sock.getsockname()[1]}"


def test_server_down_is_one_line_and_exit_3(ldap_env: dict[str, str], tmp_path: Path, dead: str) -> None:
    config = write_config(tmp_path)
    r = run(["plan", "-c", config], env={**ldap_env, "MAILPROV_LDAP_URL": dead})
    assert r.exit_code == 3, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: directory unreachable: {dead}: cannot connect")
    # a pool where no server answers: still one line, naming each
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind(("127.0.0.1", 0))
        second = f"ldap://127.0.0.1:{other.getsockname()[1]}"
        r = run(["plan", "-c", config], env={**ldap_env, "MAILPROV_LDAP_URL": f"{dead}, {second}"})
    assert r.exit_code == 3, r.output
    (line,) = r.stderr.splitlines()
    assert line.startswith(f"error: no directory server reachable: {dead}: cannot connect"), line
    assert f"; {second}: cannot connect" in line, line


@pytest.fixture(params=sorted(NOT_THE_PROTOCOL))
def not_ldap(request: pytest.FixtureRequest) -> Iterator[str]:
    """An ldap:// URL whose listener answers the first request with bytes that are not LDAP, then hangs up."""
    with answering(NOT_THE_PROTOCOL[request.param]) as port:
        yield f"ldap://127.0.0.1:{port}"


def test_a_listener_that_does_not_speak_ldap_is_unreachable_not_a_crash(
        slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path, not_ldap: str) -> None:
    """ldap3's decoder fails on such bytes with a bare KeyError or IndexError, which was "internal error", exit 1
    (a nightly job's "failed"). It is a server of the pool that cannot be used: exit 3, or the next one."""
    config = write_config(tmp_path)
    r = run(["plan", "-c", config], env={**ldap_env, "MAILPROV_LDAP_URL": not_ldap})
    assert r.exit_code == 3, r.output
    assert r.stderr == (f"error: directory unreachable: {not_ldap}: the answer is not LDAP (another service on this "
                        "port, or one that speaks TLS from the start)\n")
    pool = f"{not_ldap}, {slapd.url}"
    r = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l"], env={**ldap_env, "MAILPROV_LDAP_URL": pool})
    assert r.exit_code == 0, r.output
    assert slapd.count(ldap_env["MAILPROV_BASE_DN"], "(objectClass=inetOrgPerson)") == 4
    cfg = load_config(config, env={**ldap_env, "MAILPROV_LDAP_URL": not_ldap})
    with pytest.raises(DirectoryUnavailable, match="the answer is not LDAP"):
        open_directory(cfg.directory, INETORGPERSON, ldap_env)


def test_a_scheme_on_the_other_one_s_port_is_pointed_out(ldap_env: dict[str, str], tmp_path: Path) -> None:
    config = write_config(tmp_path)
    for url, hint in (("ldap://127.0.0.1:636", "; 636 is the LDAPS port: ldaps:// there?"),
                      ("ldaps://127.0.0.1:389", "; 389 is the plain LDAP port: ldap:// there, with start_tls: true?")):
        r = run(["plan", "-c", config], env={**ldap_env, "MAILPROV_LDAP_URL": url})
        assert r.exit_code == 3, r.output
        assert r.stderr.startswith(f"error: directory unreachable: {url}: cannot connect"), r.stderr
        assert r.stderr.endswith(f"{hint}\n"), r.stderr


def _ldap_answers(bind: int, search: int = 0) -> Callable[[bytes], bytes]:
    """A server that answers a bind with the result code ``bind`` and a search with ``search`` (no slapd answers
    busy on demand), each under the request's message id; an unbind ends it."""
    def answer(asked: bytes) -> bytes:
        start = 2 if asked[1] < 0x80 else 2 + (asked[1] & 0x7F)  # past the SEQUENCE's tag and length
        # the message id's INTEGER as the client wrote it: ldap3 counts ids across connections, so it grows
        message_id = asked[start: start + 2 + asked[start + 1]]
        operation = asked[start + len(message_id)]
        if operation not in (0x60, 0x63):  # an unbind
            return b""
        tag, code = (0x61, bind) if operation == 0x60 else (0x65, search)
        result = bytes([tag, 0x07, 0x0A, 0x01, code, 0x04, 0x00, 0x04, 0x00])
        return bytes([0x30, len(message_id) + len(result)]) + message_id + result
    return answer


@pytest.mark.parametrize(("code", "status", "said"), [
    (51, 3, "error: directory unreachable: {url}: bind failed: busy"),
    (52, 3, "error: directory unreachable: {url}: bind failed: unavailable"),
    (80, 3, "error: directory unreachable: {url}: bind failed: other"),
    (13, 2, "error: {url}: the directory takes the bind as {dn} only over TLS (confidentialityRequired): use an "
            "ldaps:// URL or start_tls: true"),
    (53, 2, "error: {url}: the directory does not take a simple bind as {dn} (unwillingToPerform)"),
])
def test_a_refused_bind_is_a_setting_to_change_or_a_server_to_try_later(
        slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path, code: int, status: int, said: str) -> None:
    """Every refusal but invalid credentials was "bind failed: ...", exit 1 (a failed change, to a nightly job),
    and the next server of the pool was not tried. A server that is busy or unavailable (slapd starting or stopping)
    is one to try later: exit 3, or the next one; what the settings must change is exit 2."""
    config = write_config(tmp_path)
    with answering(_ldap_answers(code)) as port:
        url = f"ldap://127.0.0.1:{port}"
        r = run(["plan", "-c", config], env={**ldap_env, "MAILPROV_LDAP_URL": url})
        assert (r.exit_code, r.stderr) == (status, said.format(url=url, dn=ldap_env["MAILPROV_BIND_DN"]) + "\n")
        pool = run(["plan", "-c", config], env={**ldap_env, "MAILPROV_LDAP_URL": f"{url}, {slapd.url}"})
    assert pool.exit_code == (0 if status == 3 else 2), pool.output


def test_a_search_answered_busy_is_a_server_to_try_later(ldap_env: dict[str, str], tmp_path: Path) -> None:
    """After a good bind, a search answered busy or unavailable was "search under B: busy", exit 1."""
    config = write_config(tmp_path)
    for code, name in ((51, "busy"), (52, "unavailable")):
        with answering(_ldap_answers(0, code)) as port:
            url = f"ldap://127.0.0.1:{port}"
            r = run(["plan", "-c", config], env={**ldap_env, "MAILPROV_LDAP_URL": url})
        assert (r.exit_code, r.stderr) == (3, f"error: {url}: search under {ldap_env['MAILPROV_BASE_DN']}: {name}\n")


def test_failover_to_the_next_server_of_the_pool(slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path,
                                                 dead: str) -> None:
    config = write_config(tmp_path)
    pool = f"{dead}, {slapd.url}"
    r = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l"], env={**ldap_env, "MAILPROV_LDAP_URL": pool})
    assert r.exit_code == 0, r.output
    assert slapd.count(ldap_env["MAILPROV_BASE_DN"], "(objectClass=inetOrgPerson)") == 4


def test_a_directory_on_this_machine_through_its_unix_socket(slapd: Slapd, ldap_env: dict[str, str],
                                                            tmp_path: Path) -> None:
    """``ldapi://`` (the socket path percent-encoded), which directory.urls accepts: the bind, the paged search
    and apply's pipelined writes go over the Unix socket."""
    assert slapd.ldapi_url is not None, f"the lab's folder {slapd.root} is too long a path for a socket"
    config = write_config(tmp_path)
    env = {**ldap_env, "MAILPROV_LDAP_URL": slapd.ldapi_url}
    r = run(["apply", "-c", config, "--yes", "--letters", tmp_path / "l"], env=env)
    assert r.exit_code == 0, r.output
    assert slapd.count(ldap_env["MAILPROV_BASE_DN"], "(objectClass=inetOrgPerson)") == 4
    assert run(["plan", "-c", config, "--format", "json"], env=env).stdout.count('"action"') == 0
    r = run(["mailbox", "reset-password", "walikota@contohkota.go.id", "-c", config, "--letters", tmp_path / "l"],
            env=env)
    assert r.exit_code == 0, r.output
    letter = tmp_path / "l" / "pemkot-contoh" / "mailboxes" / "walikota.md"
    dn = f"uid=walikota,ou=contohkota.go.id,{ldap_env['MAILPROV_BASE_DN']}"
    assert slapd.can_bind(dn, letter_password(letter))


def test_wrong_credentials_exit_2_without_the_password(ldap_env: dict[str, str], tmp_path: Path) -> None:
    config = write_config(tmp_path)
    secret = "Salah-Sandi-1234"
    r = run(["--debug", "plan", "-c", config], env={**ldap_env, "MAILPROV_BIND_PASSWORD": secret})
    assert r.exit_code == 2
    assert "refused the bind as cn=provisioner,dc=mail,dc=go,dc=id (invalid credentials" in r.stderr
    assert "Traceback" in r.stderr  # --debug shows where ...
    assert secret not in r.output  # ... but never a password


def test_missing_bind_password(ldap_env: dict[str, str], tmp_path: Path) -> None:
    config = write_config(tmp_path)
    env = {k: v for k, v in ldap_env.items() if k != "MAILPROV_BIND_PASSWORD"}
    r = run(["plan", "-c", config], env=env)
    assert r.exit_code == 2
    assert r.stderr.strip() == ("error: no bind password: set $MAILPROV_BIND_PASSWORD or bind_password_file "
                                "(or run on a terminal to be asked)")


def test_set_quota_where_the_profile_keeps_none_is_refused_before_any_bind(tmp_path: Path) -> None:
    """inetorgperson stores no quota: said at once (exit 2), without a bind password asked for or a server
    tried (none listens here, which would have been exit 3; without a password, exit 2 for that)."""
    config = write_config(tmp_path)
    for env in ({"MAILPROV_LDAP_URL": "ldap://127.0.0.1:1", "MAILPROV_BIND_PASSWORD": "x"},
                {"MAILPROV_LDAP_URL": "ldap://127.0.0.1:1"}):
        r = run(["mailbox", "set-quota", "sekda@contohkota.go.id", "100", "-c", config], env=env)
        assert (r.exit_code, r.stderr) == (2, "error: profile inetorgperson does not store quotas\n"), r.output


def test_bind_password_from_a_file(slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path) -> None:
    secret = tmp_path / "bind.secret"
    secret.write_text(slapd.bind_password + "\n")
    secret.chmod(0o600)
    config = write_config(tmp_path, directory_extra=f"bind_password_file: {secret}\n")
    env = {k: v for k, v in ldap_env.items() if k != "MAILPROV_BIND_PASSWORD"}
    r = run(["plan", "-c", config], env=env)
    assert r.exit_code == 0, r.output
    assert "warning" not in r.stderr
    secret.chmod(0o644)
    assert "readable by other users" in run(["plan", "-c", config], env=env).stderr
    secret.chmod(0o600)
    # as Notepad saves it: the byte-order mark and CRLF are not part of the password
    secret.write_bytes(b"\xef\xbb\xbf" + slapd.bind_password.encode() + b"\r\n")
    assert run(["plan", "-c", config], env=env).exit_code == 0
    # Latin-1: before, exit 1 with "internal error UnicodeDecodeError: ... byte 0xe9 in position 8", a byte of the
    # secret and its place
    secret.write_bytes(b"rahasia-\xe9\n")
    r = run(["plan", "-c", config], env=env)
    assert (r.exit_code, r.stderr) == (2, f"error: bind_password_file {secret} is not UTF-8 text: save it as UTF-8\n")
    secret.write_text("\n")
    r = run(["plan", "-c", config], env=env)
    assert (r.exit_code, r.stderr) == (2, f"error: bind_password_file {secret} is empty\n"), r.output
    secret.unlink()
    r = run(["plan", "-c", config], env=env)
    assert (r.exit_code, r.stderr) == (2, f"error: cannot read bind_password_file {secret}: No such file or "
                                          "directory\n"), r.output


@pytest.mark.parametrize("secret", ["pass\tword-7Q", "pass\u00a0word-7Q", "kata\u00adsandi-7Q"],
                         ids=["tab", "no-break-space", "soft-hyphen"])
def test_a_bind_password_is_sent_as_written(slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path,
                                            secret: str) -> None:
    """As OpenLDAP's tools send it. Before, ldap3's SASLprep refused the tab ("directory unreachable: ... SASLprep
    error", exit 3, which a nightly job reads as the server being down) and turned the other two into a space and
    nothing, so a right password was refused."""
    from lab.slapd import slappasswd

    name = f"reader-{tmp_path.name[-12:]}"
    account = f"cn={name},ou=tests,{slapd.suffix}"
    slapd.ldap("ldapadd", admin=True, input_text=(f"dn: {account}\nobjectClass: person\ncn: {name}\nsn: reader\n"
                                                   f"userPassword: {slappasswd(secret)}\n"))
    config = write_config(tmp_path)
    env = {**ldap_env, "MAILPROV_BIND_DN": account}
    r = run(["plan", "-c", config], env={**env, "MAILPROV_BIND_PASSWORD": secret})
    assert r.exit_code == 0, r.output
    r = run(["plan", "-c", config], env={**env, "MAILPROV_BIND_PASSWORD": "x" + secret})
    assert r.exit_code == 2 and "the directory refused the bind" in r.stderr, r.output


def test_ldaps_and_starttls_verify_the_certificate(slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path) -> None:
    config = write_config(tmp_path)
    ldaps = {**ldap_env, "MAILPROV_LDAP_URL": slapd.ldaps_url}
    assert run(["plan", "-c", config], env=ldaps).exit_code == 0
    starttls = {**ldap_env, "MAILPROV_LDAP_URL": f"ldap://localhost:{slapd.port}", "MAILPROV_START_TLS": "true"}
    assert run(["plan", "-c", config], env=starttls).exit_code == 0
    wrong_ca = str(slapd.root / "tls" / "other-ca.pem")
    for env in (ldaps, starttls):
        r = run(["plan", "-c", config], env={**env, "MAILPROV_CA_FILE": wrong_ca})
        assert r.exit_code == 2, r.output
        assert "TLS certificate verification failed" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    # the name must match too: the certificate is for localhost and 127.0.0.1, not for another name
    r = run(["plan", "-c", config], env={**ldaps, "MAILPROV_LDAP_URL": f"ldaps://127.0.0.2:{slapd.tls_port}"})
    assert r.exit_code == 2 and "TLS certificate verification failed" in r.stderr
    # only an explicit setting turns verification off, and it says so
    r = run(["plan", "-c", config], env={**ldaps, "MAILPROV_CA_FILE": wrong_ca, "MAILPROV_TLS_VERIFY": "false"})
    assert r.exit_code == 0, r.output
    assert "warning: TLS certificate verification is OFF" in r.stderr
    # a ca_file that cannot be used is said so, exit 2: it was "cannot connect", exit 3, for one the job's user
    # may not read (as root, a path through a file stands for that: open() fails there too)
    (tmp_path / "a-file").write_text("")
    # one that TLS cannot load was "cannot connect", exit 3, for a damaged PEM block, and the server's
    # certificate failing for an empty file or a key: both are said as what they are, before any connection
    (tmp_path / "damaged.pem").write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    (tmp_path / "server.key").write_text((slapd.root / "tls" / "server.key").read_text())
    fix = "give the PEM file of the CA that signed the server's certificate"
    for ca_file, why in ((tmp_path / "nope.pem", "does not exist"), (tmp_path, "is a folder, not a file"),
                         (tmp_path / "a-file" / "ca.pem", "cannot be read (Not a directory)"),
                         (tmp_path / "a-file", f"holds no certificate in PEM form: {fix}"),
                         (tmp_path / "server.key", f"holds no certificate in PEM form: {fix}"),
                         (tmp_path / "damaged.pem", f"holds a damaged PEM block: {fix}")):
        for env in (ldaps, starttls):
            r = run(["plan", "-c", config], env={**env, "MAILPROV_CA_FILE": str(ca_file)})
            assert (r.exit_code, r.stderr) == (2, f"error: ca_file {ca_file} {why}\n"), r.output


def test_starttls_to_a_server_without_tls_is_a_setting_to_change(tmp_path_factory: pytest.TempPathFactory,
                                                                  tmp_path: Path) -> None:
    """A directory nobody set TLS up on answers StartTLS with protocolError, which ldap3 raises as it raises a
    failed handshake: it was "directory unreachable: ... cannot connect (startTLS failed - protocolError)", exit
    3, which a nightly job takes for a server to try again later. Nothing was sent before it: no bind."""
    server = Slapd(root=tmp_path_factory.mktemp("plain") / "ldap", tls=False)
    server.prepare()
    server.start()
    try:
        env = {**server.env(), "MAILPROV_START_TLS": "true"}
        r = run(["plan", "-c", write_config(tmp_path)], env=env)
        assert (r.exit_code, r.stderr) == (2, f"error: {server.url}: the server refused StartTLS (protocolError: "
                                              "unsupported extended operation): it offers no TLS on this port: use "
                                              "its ldaps:// URL if it has one, or have TLS set up on it\n"), r.output
        assert run(["plan", "-c", write_config(tmp_path)], env=server.env()).exit_code == 0  # without StartTLS
    finally:
        server.destroy()


def test_a_bind_dn_the_password_policy_locked_or_expired_is_told_apart_from_a_wrong_password(
        slapd: Slapd, ldap_env: dict[str, str], tmp_path: Path) -> None:
    """slapd answers the bind of a locked account or an expired password, right password or not, with
    invalidCredentials, and mailprov said "check the DN and the bind password". The password policy control's
    answer names the lock or the expiry, and warns while the password is about to expire."""
    from lab.slapd import slappasswd

    base = slapd.new_base("locked-bind-dn")
    dn, expired = f"uid=terkunci,{base}", f"uid=kedaluwarsa,{base}"
    soon, reset, grace = f"uid=segera,{base}", f"uid=diganti,{base}", f"uid=tenggang,{base}"
    # a policy whose passwords last one second, for the second account; one whose passwords last 30 days and
    # warn from the start (slapd warns while the time left is below pwdExpireWarning, and none has passed yet)
    slapd.ldap("ldapadd", admin=True, input_text=(
        f"dn: cn=sedetik,{base}\nobjectClass: device\nobjectClass: pwdPolicy\ncn: sedetik\n"
        "pwdAttribute: userPassword\npwdMaxAge: 1\n\n"
        f"dn: cn=sebulan,{base}\nobjectClass: device\nobjectClass: pwdPolicy\ncn: sebulan\n"
        "pwdAttribute: userPassword\npwdMaxAge: 2592000\npwdExpireWarning: 2678400\n\n"
        f"dn: {dn}\nobjectClass: inetOrgPerson\nuid: terkunci\ncn: Terkunci\nsn: T\n"
        f"userPassword: {slappasswd('sandi-2026')}\n\n"
        f"dn: {expired}\nobjectClass: inetOrgPerson\nuid: kedaluwarsa\ncn: Kedaluwarsa\nsn: K\n"
        f"pwdPolicySubentry: cn=sedetik,{base}\nuserPassword: {slappasswd('sandi-2026')}\n\n"
        f"dn: {soon}\nobjectClass: inetOrgPerson\nuid: segera\ncn: Segera\nsn: S\n"
        f"pwdPolicySubentry: cn=sebulan,{base}\nuserPassword: {slappasswd('sandi-2026')}\n\n"
        f"dn: cn=ganti,{base}\nobjectClass: device\nobjectClass: pwdPolicy\ncn: ganti\n"
        "pwdAttribute: userPassword\npwdMustChange: TRUE\n\n"
        f"dn: {reset}\nobjectClass: inetOrgPerson\nuid: diganti\ncn: Diganti\nsn: D\n"
        f"pwdPolicySubentry: cn=ganti,{base}\nuserPassword: {slappasswd('sandi-2026')}\n\n"
        # expired after one second too, but with three binds of grace
        f"dn: cn=tenggang,{base}\nobjectClass: device\nobjectClass: pwdPolicy\ncn: tenggang\n"
        "pwdAttribute: userPassword\npwdMaxAge: 1\npwdGraceAuthNLimit: 3\n\n"
        f"dn: {grace}\nobjectClass: inetOrgPerson\nuid: tenggang\ncn: Tenggang\nsn: T\n"
        f"pwdPolicySubentry: cn=tenggang,{base}\nuserPassword: {slappasswd('sandi-2026')}\n"))
    # an administrator reset its password: it must change it before anything else
    slapd.ldap("ldapmodify", admin=True, input_text=f"dn: {reset}\nchangetype: modify\nreplace: pwdReset\n"
                                                    "pwdReset: TRUE\n")
    reader = {**ldap_env, "MAILPROV_BIND_DN": dn, "MAILPROV_BIND_PASSWORD": "sandi-2026"}
    config = write_config(tmp_path)
    assert run(["mailbox", "list", "-c", config], env=reader).exit_code == 0  # the password is right
    slapd.ldap("ldapmodify", admin=True, input_text=f"dn: {dn}\nchangetype: modify\nreplace: pwdAccountLockedTime\n"
                                                    "pwdAccountLockedTime: 000001010000Z\n")
    r = run(["mailbox", "list", "-c", config], env=reader)
    assert (r.exit_code, r.stderr) == (2, f"error: {slapd.url}: the directory refused the bind as {dn}: the password "
                                          "policy has locked it (too many failed binds, or disabled): unlock it "
                                          "(pwdAccountLockedTime)\n"), r.output
    # within the warning's window the bind works, and the run says how long the password has left, once
    r = run(["plan", "-c", config], env={**reader, "MAILPROV_BIND_DN": soon})
    assert r.exit_code == 0, r.output
    assert re.fullmatch(f"warning: the password of {soon} expires in (29|30) day\\(s\\): set a new one, and give "
                        "mailprov that one", r.stderr.splitlines()[0]), r.stderr
    assert r.stderr.count("expires in") == 1
    # bound, but refused every search after: it was "search under B: insufficientAccessRights", exit 1
    r = run(["plan", "-c", config], env={**reader, "MAILPROV_BIND_DN": reset})
    assert (r.exit_code, r.stderr) == (2, f"error: {slapd.url}: the directory took the bind as {reset} but allows it "
                                          "nothing: its password was reset and must be changed before it may do "
                                          "anything: set a new one\n"), r.output
    time.sleep(2.1)
    r = run(["mailbox", "list", "-c", config], env={**reader, "MAILPROV_BIND_DN": expired})
    assert (r.exit_code, r.stderr) == (2, f"error: {slapd.url}: the directory refused the bind as {expired}: its "
                                          "password has expired: set a new one, and give mailprov that one\n"), r.output
    # expired, binding on grace: the run works, and says how many binds are left
    r = run(["plan", "-c", config], env={**reader, "MAILPROV_BIND_DN": grace})
    assert r.exit_code == 0, r.output
    assert r.stderr.splitlines()[0] == (f"warning: the password of {grace} has expired; the directory allows 2 more "
                                        "bind(s) with it: set a new one, and give mailprov that one"), r.stderr
