"""A real OpenLDAP slapd for the demo, the tests and the benchmarks.

It runs unprivileged from a temporary folder on free loopback ports, with
the stock schemas (core, cosine, inetorgperson, nis), the ppolicy overlay
with a default policy that locks accounts (``pwdLockout: TRUE``), the lab
schema for the ``iredmail`` profile, and LDAPS/StartTLS with a CA made for
the run. A ``cn=provisioner`` account with write access and no size limit is
what mailprov binds as; ``cn=admin`` (the rootdn) is only used by the lab.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .procs import die_with_parent, free_port, terminate
from .tls import make_ca_and_server_cert

SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
LAB_SCHEMA = Path(__file__).parent / "schema" / "mailplatform.schema"
SUFFIX = "dc=mail,dc=go,dc=id"


def slappasswd(secret: str) -> str:
    out = subprocess.run(
        ["/usr/sbin/slappasswd", "-n", "-T", "/dev/stdin"], input=secret, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@dataclass
class Slapd:
    root: Path
    port: int = field(default_factory=free_port)
    tls_port: int = field(default_factory=free_port)
    suffix: str = SUFFIX
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    bind_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    process: subprocess.Popen[bytes] | None = None
    #: keep running when the starting process dies (``python -m lab start``); else die with it
    outlive_parent: bool = False
    #: more slapd.conf lines for the database (a test's own server: ``security update_ssf=128``)
    database_extra: str = ""
    #: ppolicy hashes a cleartext userPassword in an add or modify (``password_scheme: server-add``)
    hash_cleartext: bool = False
    #: slapd's ``loglevel``: ``none`` as Debian's package configures it. ``stats`` sends a line per request
    #: and result to syslog, and the lab has no syslog daemon: glibc then opens a socket, fails to connect and
    #: closes it for every line, under one lock all of slapd's threads share (measured: 7 lines and 84 us of slapd
    #: CPU per mailbox added and given a password, 47% more CPU than with ``none``)
    loglevel: str = "none"
    #: False: no certificate and no LDAPS port, so StartTLS is refused (a directory nobody set TLS up on)
    tls: bool = True

    # -- addresses ---------------------------------------------------------
    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://localhost:{self.tls_port}"

    @property
    def ldapi_url(self) -> str | None:
        """The Unix socket in the lab's folder, as an ldapi:// URL; None where the folder's path is too long
        for a socket's name (108 bytes on Linux), which slapd would refuse to start with."""
        from urllib.parse import quote

        path = str(self.root.resolve() / "ldapi")
        return f"ldapi://{quote(path, safe='')}" if len(path.encode()) < 100 else None

    @property
    def base_dn(self) -> str:
        return f"ou=domains,{self.suffix}"

    @property
    def admin_dn(self) -> str:
        return f"cn=admin,{self.suffix}"

    @property
    def bind_dn(self) -> str:
        return f"cn=provisioner,{self.suffix}"

    @property
    def ca_file(self) -> Path:
        return self.root / "tls" / "ca.pem"

    @property
    def conf(self) -> Path:
        return self.root / "slapd.conf"

    @property
    def log(self) -> Path:
        return self.root / "slapd.log"

    def env(self) -> dict[str, str]:
        """The MAILPROV_* variables that point mailprov at this server."""
        return {
            "MAILPROV_LDAP_URL": self.url,
            "MAILPROV_BASE_DN": self.base_dn,
            "MAILPROV_BIND_DN": self.bind_dn,
            "MAILPROV_BIND_PASSWORD": self.bind_password,
            "MAILPROV_CA_FILE": str(self.ca_file),
            "MAILPROV_START_TLS": "false",
        }

    # -- set-up --------------------------------------------------------------
    def prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        # a folder a stopped lab left behind: its entries and passwords are of no use to this one (slapadd
        # would stop at the first entry that exists, and the start would wait on the old password)
        shutil.rmtree(self.root / "db", ignore_errors=True)
        (self.root / "db").mkdir()
        for secret in ("provisioner.secret", "admin.secret"):  # a stopped lab's passwords; written anew when asked
            (self.root / secret).unlink(missing_ok=True)
        make_ca_and_server_cert(self.root / "tls", hosts=["localhost", "127.0.0.1"])
        self.conf.write_text(self._config())
        (self.root / "base.ldif").write_text(self._base_ldif())
        subprocess.run(
            ["/usr/sbin/slapadd", "-q", "-f", str(self.conf), "-l", str(self.root / "base.ldif")],
            check=True, capture_output=True,
        )

    def _config(self) -> str:
        schemas = "\n".join(f"include {SCHEMA_DIR / s}.schema" for s in ("core", "cosine", "inetorgperson", "nis"))
        tls = self.root / "tls"
        tls_lines = (f"TLSCACertificateFile {tls / 'ca.pem'}\nTLSCertificateFile {tls / 'server.pem'}\n"
                     f"TLSCertificateKeyFile {tls / 'server.key'}\n") if self.tls else ""
        prov = self.bind_dn
        return f"""# generated by mailprov's lab
{schemas}
include {LAB_SCHEMA}
modulepath {MODULE_DIR}
moduleload back_mdb
moduleload ppolicy
moduleload pw-sha2
moduleload argon2
pidfile {self.root / "slapd.pid"}
argsfile {self.root / "slapd.args"}
{tls_lines}sizelimit 500
threads 8
loglevel {self.loglevel}

database mdb
suffix "{self.suffix}"
rootdn "{self.admin_dn}"
rootpw {slappasswd(self.admin_password)}
directory {self.root / "db"}
maxsize 4294967296
# a lab directory in a temporary folder: durability of each write is not the point (writemap: no
# write() per page either, which costs a system call each on a virtual machine)
envflags writemap nosync
index objectClass eq
index mail,uid,domainName,ou,shadowAddress eq
index cn,employeeNumber eq,sub

{self.database_extra}
overlay ppolicy
ppolicy_default "cn=default,ou=policies,{self.suffix}"
ppolicy_use_lockout
{"ppolicy_hash_cleartext" if self.hash_cleartext else ""}

limits dn.exact="{prov}" size=unlimited time=unlimited
access to attrs=userPassword
    by dn.exact="{prov}" write
    by self write
    by anonymous auth
    by * none
# a test's reader named uid=tanpa-ppolicy sees no trace of ppolicy: it stands for a directory without it
access to attrs=pwdChangedTime
    by dn.regex="^uid=tanpa-ppolicy,.*" none
    by * break
access to dn.subtree="{self.base_dn}"
    by dn.exact="{prov}" write
    by users read
    by * none
access to dn.subtree="ou=tests,{self.suffix}"
    by dn.exact="{prov}" write
    by users read
    by * none
access to *
    by dn.exact="{prov}" read
    by users read
    by * none
"""

    def _base_ldif(self) -> str:
        s = self.suffix
        return f"""dn: {s}
objectClass: top
objectClass: dcObject
objectClass: organization
dc: mail
o: Layanan Mail Multi Domain

dn: {self.base_dn}
objectClass: top
objectClass: organizationalUnit
ou: domains

dn: ou=tests,{s}
objectClass: top
objectClass: organizationalUnit
ou: tests

dn: ou=policies,{s}
objectClass: top
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,{s}
objectClass: top
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 5
pwdLockoutDuration: 300
pwdFailureCountInterval: 300

dn: {self.bind_dn}
objectClass: top
objectClass: person
cn: provisioner
sn: provisioner
userPassword: {slappasswd(self.bind_password)}
"""

    # -- life cycle ----------------------------------------------------------
    def start(self, timeout: float = 20.0) -> None:
        # LDAPS also on 127.0.0.2, a name the certificate does not carry (hostname checks)
        urls = f"ldap://127.0.0.1:{self.port}/"
        if self.tls:
            urls += f" ldaps://127.0.0.1:{self.tls_port}/ ldaps://127.0.0.2:{self.tls_port}/"
        if self.ldapi_url:  # a directory on the same machine: the Unix socket instead of TCP
            urls += f" {self.ldapi_url}"
        logf = self.log.open("ab")
        # -d: stay in the foreground so the lab owns the process. 'none' writes to the log what slapd says
        # whatever its loglevel: why it stopped (a port in use, a bad database), and a line for each request
        # it defers (one connection past threads/2 executing: apply's pipelined batches; 2 MB per 10,000)
        self.process = subprocess.Popen(
            ["/usr/sbin/slapd", "-d", "none", "-f", str(self.conf), "-h", urls],
            stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=None if self.outlive_parent else die_with_parent,  # noqa: PLW1509 - one prctl call
        )
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited with {self.process.returncode}; see {self.log}:\n"
                                   + self.log.read_text(errors="replace")[-2000:])
            if self._answers():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"slapd did not answer on port {self.port} within {timeout}s; see {self.log}")

    def _answers(self) -> bool:
        # a bounded wait: something else that took the port and accepts without answering (free_port's
        # race) would otherwise hang the start, and with it the test session, instead of failing it
        try:
            result = subprocess.run(
                ["/usr/bin/ldapwhoami", "-x", "-H", self.url, "-D", self.bind_dn, "-y", str(self._secret_file())],
                capture_output=True, check=False, timeout=2,
            )
        except subprocess.TimeoutExpired:
            return False
        return result.returncode == 0

    def _secret_file(self) -> Path:
        path = self.root / "provisioner.secret"
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(self.bind_password)
        return path

    def admin_secret_file(self) -> Path:
        path = self.root / "admin.secret"
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(self.admin_password)
        return path

    def stop(self) -> None:
        terminate(self.process)
        self.process = None

    def kill(self) -> None:
        """Stop without a clean shutdown, as a crash or a pulled cable would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- helpers for tests and benchmarks --------------------------------------
    def ldap(self, tool: str, *args: str, input_text: str | None = None, admin: bool = False) -> str:
        """Run an OpenLDAP client tool (ldapsearch, ldapadd, ...) against the lab."""
        dn, secret = (self.admin_dn, self.admin_secret_file()) if admin else (self.bind_dn, self._secret_file())
        wrap = ["-o", "ldif-wrap=no"] if tool == "ldapsearch" else []
        cmd = [f"/usr/bin/{tool}", "-x", "-H", self.url, "-D", dn, "-y", str(secret), *wrap, *args]
        out = subprocess.run(cmd, input=input_text, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"{tool} failed ({out.returncode}): {out.stderr.strip()}")
        return out.stdout

    def new_base(self, name: str) -> str:
        """A fresh, empty base DN for one test (``ou=NAME,ou=tests,...``), writable by the provisioner."""
        dn = f"ou={name},ou=tests,{self.suffix}"
        self.ldap("ldapadd", input_text=f"dn: {dn}\nobjectClass: organizationalUnit\nou: {name}\n", admin=True)
        return dn

    def count(self, base: str, flt: str = "(objectClass=*)") -> int:
        out = self.ldap("ldapsearch", "-LLL", "-b", base, flt, "1.1")
        return sum(1 for line in out.splitlines() if line.startswith("dn:"))

    def can_bind(self, dn: str, password: str) -> bool:
        path = self.root / f"try-{os.getpid()}.secret"
        path.touch(mode=0o600)
        path.write_text(password)
        try:
            result = subprocess.run(
                ["/usr/bin/ldapwhoami", "-x", "-H", self.url, "-D", dn, "-y", str(path)],
                capture_output=True, check=False,
            )
        finally:
            path.unlink()
        return result.returncode == 0


def start_slapd(root: Path, outlive_parent: bool = False, database_extra: str = "",
                hash_cleartext: bool = False, loglevel: str = "none") -> Slapd:
    server = Slapd(root=root, outlive_parent=outlive_parent, database_extra=database_extra,
                   hash_cleartext=hash_cleartext, loglevel=loglevel)
    server.prepare()
    server.start()
    return server
