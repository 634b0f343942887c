"""10,000 mailboxes: `mailprov apply` against `ldapadd` of an equivalent LDIF, then a zero-change plan.

Everything runs in one process against lab slapds started here, in a temporary
folder, each measurement on a fresh one: the same configuration (ppolicy with
``ppolicy_hash_cleartext``, which ``password_scheme: server-add`` needs), the
same indexes, the same machine.

Targets (issue 3): apply throughput >= 1.0x ldapadd; the zero-change plan of
10,000 mailboxes under 3 s; its peak memory under 300 MB.

Run: .venv/bin/python benchmarks/directory_bulk.py [--mailboxes N] [--agencies N] [--repeat N] [--disk DIR]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, NamedTuple, TypeVar

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from installed import compile_package  # noqa: E402

from lab.debian import ensure_lab_packages  # noqa: E402
from lab.slapd import Slapd, start_slapd  # noqa: E402

T = TypeVar("T")

PLATFORM = """\
platform:
  name: Layanan Mail Multi Domain
  mx: [mx1.mail.go.id, mx2.mail.go.id]
  sending_ips: [203.0.113.10]
  spf_include: _spf.mail.go.id
  dkim: {selectors: [mmd2026]}
  webmail_url: https://webmail.mail.go.id
  imap_host: imap.mail.go.id
  smtp_host: smtp.mail.go.id
directory:
  urls: ["ldap://127.0.0.1:1"]
  base_dn: "ou=x,dc=mail,dc=go,dc=id"
  bind_dn: "cn=provisioner,dc=mail,dc=go,dc=id"
  password_scheme: SCHEME
"""


SCHEMES = ("server", "server-add", "ssha512")


def write_config(folder: Path, mailboxes: int, agencies: int, scheme: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    per = mailboxes // agencies
    lines = [PLATFORM.replace("SCHEME", scheme), "agencies:"]
    for a in range(agencies):
        csv_path = folder / f"staff{a}.csv"
        rows = ["local,name,title,employee_id,quota_mb,aliases,active"]
        rows += [f"pegawai{i:05d},Pegawai Nomor {i} Dinas {a},Pranata Komputer Ahli Pertama,"
                 f"{199001012015031000 + i},,," for i in range(per)]
        csv_path.write_text("\n".join(rows) + "\n")
        lines += [f"  - id: dinas-{a:03d}", f"    name: Dinas Nomor {a}", f"    domain: dinas{a:03d}.kotabench.go.id",
                  f"    mailboxes_csv: {csv_path.name}"]
    path = folder / "domains.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def ssha(password: str) -> str:
    salt = secrets.token_bytes(8)
    return "{SSHA}" + base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()


def equivalent_entries(base: str, mailboxes: int, agencies: int) -> list[tuple[str, dict[str, list[str]]]]:
    """The entries apply creates (inetorgperson profile), without their passwords."""
    per = mailboxes // agencies
    out: list[tuple[str, dict[str, list[str]]]] = []
    for a in range(agencies):
        domain = f"dinas{a:03d}.kotabench.go.id"
        ddn = f"ou={domain},{base}"
        out.append((ddn, {"objectClass": ["top", "organizationalUnit"], "ou": [domain],
                          "description": [f"Dinas Nomor {a}"]}))
        for i in range(per):
            local = f"pegawai{i:05d}"
            out.append((f"uid={local},{ddn}", {
                "objectClass": ["top", "person", "organizationalPerson", "inetOrgPerson"], "uid": [local],
                "mail": [f"{local}@{domain}"], "cn": [f"Pegawai Nomor {i} Dinas {a}"], "sn": [str(a)],
                "givenName": [f"Pegawai Nomor {i} Dinas"], "displayName": [f"Pegawai Nomor {i} Dinas {a}"],
                "title": ["Pranata Komputer Ahli Pertama"], "employeeNumber": [str(199001012015031000 + i)],
                "o": [f"Dinas Nomor {a}"]}))
    return out


def equivalent_ldif(base: str, mailboxes: int, agencies: int) -> str:
    """The entries apply creates, each mailbox with a hashed password."""
    out = []
    for dn, attrs in equivalent_entries(base, mailboxes, agencies):
        entry = {**attrs, "userPassword": [ssha(secrets.token_urlsafe(12))]} if "uid" in attrs else attrs
        out.append(f"dn: {dn}\n" + "".join(f"{name}: {value}\n" for name, values in entry.items()
                                          for value in values))
    return "\n".join(out)


def server_pace(server: Slapd, mailboxes: int, agencies: int, password_modify: bool) -> float:
    """Wall seconds slapd itself needs for apply's writes: the requests encoded beforehand and sent the way
    apply sends them (pipelined batches of 250 taking two connections in turn, two batches in flight, a
    batch's Password Modify requests after its adds' answers, and their answers read after the next batch has
    gone out), with none of apply's own work."""
    import ldap3

    from mailprov import ldapwire as wire

    base = server.new_base("bench-pace")
    env = server.env()
    connections = [ldap3.Connection(ldap3.Server(env["MAILPROV_LDAP_URL"]), env["MAILPROV_BIND_DN"],
                                    env["MAILPROV_BIND_PASSWORD"], auto_bind=True) for _ in range(2)]
    pipelines = [wire.Pipeline(conn.socket, 60) for conn in connections]
    batches: list[tuple[wire.Pipeline, list[tuple[int, bytes]], list[tuple[int, bytes]]]] = []
    entries = equivalent_entries(base, mailboxes, agencies)
    # parents in a batch of their own, as apply does: slapd works on pipelined requests in parallel
    entries = [e for e in entries if "uid" not in e[1]] + [e for e in entries if "uid" in e[1]]
    for i in [0, agencies, *range(agencies + 250, len(entries), 250)]:
        pipeline = pipelines[len(batches) % 2]
        adds, passwords = [], []
        for dn, attrs in entries[i:agencies if i == 0 else i + 250]:
            mailbox = "uid" in attrs
            hashed = {"userPassword": [ssha(secrets.token_urlsafe(12))]} if mailbox and not password_modify else {}
            mid = pipeline.next_id()
            adds.append((mid, wire.encode_add(mid, dn, attrs | hashed)))
            if mailbox and password_modify:
                mid = pipeline.next_id()
                passwords.append((mid, wire.encode_password_modify(mid, dn, secrets.token_urlsafe(12))))
        batches.append((pipeline, adds, passwords))

    def check(results: dict[int, wire.Result]) -> None:
        refused = [r.describe() for r in results.values() if not r.ok]
        if refused:
            raise SystemExit(f"slapd refused a request of the pace run: {refused[0]}")

    unanswered: tuple[wire.Pipeline, set[int]] | None = None

    def finish(pipeline: wire.Pipeline, sent: set[int], passwords: list[tuple[int, bytes]]) -> None:
        nonlocal unanswered
        check(pipeline.collect(sent))
        sent_passwords = pipeline.send(passwords)
        if unanswered is not None:
            check(unanswered[0].collect(unanswered[1]))
        unanswered = (pipeline, sent_passwords)

    start = time.perf_counter()
    check(batches[0][0].run(batches[0][1]))  # the domains: the parents of everything after
    in_flight: tuple[wire.Pipeline, set[int], list[tuple[int, bytes]]] | None = None
    for pipeline, adds, passwords in batches[1:]:
        sent = pipeline.send(adds)
        if in_flight is not None:
            finish(*in_flight)
        in_flight = (pipeline, sent, passwords)
    if in_flight is not None:
        finish(*in_flight)
    if unanswered is not None:
        check(unanswered[0].collect(unanswered[1]))
    elapsed = time.perf_counter() - start
    for conn in connections:
        conn.unbind()
    return elapsed


#: microseconds to create a small file above which the letters' file system, not a disk, sets the pace (an ext4
#: with a journal: 24-32 us on this VM; the VM's own ext4 without one: 200-700 us after many deletions)
SLOW_FILE_US = 150

def file_creation_us(folder: Path, count: int = 500) -> tuple[float, float]:
    """Microseconds to create one small 0600 file in the letters' file system, and the kernel CPU of that.

    On this VM's disk (ext4 without a journal) the two are nearly equal: such an ext4 skips, for each new
    file, every inode of the group freed in the last minutes, reading the inode table to find out
    (``find_inode_bit``/``recently_deleted`` in perf), so after many deleted files (tests, earlier rounds)
    a creation costs up to a millisecond of CPU, not of waiting for the disk.
    """
    folder.mkdir(parents=True, exist_ok=True)
    start, kernel = time.perf_counter(), os.times().system
    for i in range(count):
        fd = os.open(folder / f"{i}.md", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, b"x" * 1200)
        os.close(fd)
    return (time.perf_counter() - start) / count * 1e6, (os.times().system - kernel) / count * 1e6


def timed_ldapadd(server: Slapd, ldif: str) -> dict[str, float]:
    """OpenLDAP's ldapadd loading ``ldif`` (from a file, as ``ldapadd -f`` would): wall seconds, its own CPU
    seconds and slapd's during it."""
    args = ["/usr/bin/ldapadd", "-x", "-H", server.url, "-D", server.bind_dn, "-y", str(server.root /
                                                                                         "provisioner.secret")]
    with tempfile.TemporaryFile() as source:
        source.write(ldif.encode())
        source.seek(0)
        loaded = _run_with_rusage(args, dict(os.environ), stdin=source, beside=server)
    return {"seconds": loaded.seconds, "cpu": loaded.cpu_s, "slapd_cpu": loaded.slapd_cpu}


#: the command as installed beside this interpreter
_MAILPROV = str(Path(sys.executable).parent / "mailprov")


def _cli_env(server: Slapd, base: str) -> dict[str, str]:
    """The environment a ``mailprov`` command gets: the lab slapd's URL and bind settings, its base DN."""
    return {**os.environ, **server.env(), "MAILPROV_BASE_DN": base, "COLUMNS": "120"}


def apply_and_plan(server: Slapd, folder: Path, mailboxes: int, agencies: int, scheme: str,
                   letters: Path) -> dict[str, float]:
    base = server.new_base(f"bench-{scheme}")
    config = write_config(folder / f"config-{scheme}", mailboxes, agencies, scheme)
    env = _cli_env(server, base)
    applied = _run_with_rusage([_MAILPROV, "apply", "-c", str(config), "--yes", "--letters", str(letters)], env,
                               beside=server)
    created = server.count(base, "(objectClass=inetOrgPerson)")
    if created != mailboxes:
        raise SystemExit(f"apply created {created} mailboxes, expected {mailboxes}")
    plan = _run_with_rusage([_MAILPROV, "plan", "-c", str(config), "--format", "json"], env)
    if '"changes": []' not in plan.out:
        raise SystemExit("the plan after apply is not empty")
    return {"apply_s": applied.seconds, "apply_cpu": applied.cpu_s, "slapd_cpu": applied.slapd_cpu,
            "plan_s": plan.seconds, "plan_mb": plan.peak_mb}


def _slapd_cpu(server: Slapd) -> float:
    """CPU seconds (user and system) slapd has used so far, from /proc."""
    assert server.process is not None
    fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def plan_of_new(server: Slapd, folder: Path, mailboxes: int, agencies: int) -> float:
    """Wall seconds of ``mailprov plan`` (its table) of the mailboxes against an empty subtree: what ``apply``
    does before its first write (start, load, bind, snapshot, plan, the table), which slapd spends idle."""
    config = write_config(folder / "config-plan-new", mailboxes, agencies, "server")
    planned = _run_with_rusage([_MAILPROV, "plan", "-c", str(config)],
                               _cli_env(server, server.new_base("bench-plan-new")))
    if f"summary: {mailboxes + agencies} create," not in planned.out:  # the domains' entries and the mailboxes
        raise SystemExit("the plan against an empty subtree does not create "
                         f"{mailboxes} mailboxes:\n{planned.out[-2000:]}")
    return planned.seconds


class Measured(NamedTuple):
    """One child command: wall seconds, its own peak RSS (MB), its CPU seconds (user and system), its stdout,
    and the CPU seconds of the slapd it ran beside, if one was named."""
    seconds: float
    peak_mb: float
    cpu_s: float
    out: str
    slapd_cpu: float = 0.0


def _run_with_rusage(args: list[str], env: dict[str, str], stdin: IO[bytes] | None = None,
                     beside: Slapd | None = None) -> Measured:
    """Run a command and measure it from wait4's figures for that child alone, and ``beside``'s CPU meanwhile."""
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        slapd_start = _slapd_cpu(beside) if beside else 0.0
        start = time.perf_counter()
        proc = subprocess.Popen(args, env=env, stdin=stdin, stdout=out_file, stderr=err_file)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_file.seek(0)
        err_file.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{Path(args[0]).name} {args[1]} failed ({proc.returncode}):\n"
                             f"{err_file.read().decode()[-2000:]}")
        slapd_cpu = _slapd_cpu(beside) - slapd_start if beside else 0.0
        return Measured(elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, out_file.read().decode(),
                        slapd_cpu)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mailboxes", type=int, default=10_000)
    parser.add_argument("--agencies", type=int, default=10)
    parser.add_argument("--many-agencies", type=int, default=500,
                        help="the platform's shape, hundreds of agencies: a zero-change plan of the same mailboxes "
                             "spread over this many domains is measured too")
    parser.add_argument("--repeat", type=int, default=5,
                        help="rounds; each measures every figure once (this VM's pace moves a round's ratio by "
                             "10%%: the median of 5 is steadier than of 3; about 1.6 minutes a round)")
    parser.add_argument("--disk", type=Path, default=None,
                        help="a folder on the disk for the letters (default: the system's temporary folder)")
    parser.add_argument("--slapd-loglevel", default="none",
                        help="slapd's loglevel (default none, as Debian installs it; 'stats' logs every request "
                             "to a syslog the lab does not have, which costs slapd a socket per line)")
    args = parser.parse_args()
    ensure_lab_packages()
    compile_package()
    n = args.mailboxes
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(prefix="mailprov-bench-") as tmp, \
            tempfile.TemporaryDirectory(prefix="mailprov-bench-ldap-", dir=shm if shm.is_dir() else None) as dbs:
        folder = Path(tmp)
        counter = iter(range(1_000_000))

        def fresh() -> Slapd:
            # every measurement gets an empty directory of its own: a database already holding the
            # same 10,000 names makes every later add slower (the index entries grow)
            # ppolicy_hash_cleartext for server-add; it leaves the hashes ldapadd's LDIF and ssha512 carry alone
            # The databases live in RAM, as a real directory lives on a machine of its own: on the
            # letters' disk, each sync of a batch of letters also wrote back the lab database's pages
            # (10,000 letters on the disk: 3.0-3.6 s that way, 1.8-2.3 s with the database in RAM)
            return start_slapd(Path(dbs) / f"ldap-{next(counter)}", hash_cleartext=True,
                               loglevel=args.slapd_loglevel)

        def once(measure: Callable[[Slapd], T]) -> T:
            server = fresh()
            try:
                return measure(server)
            finally:
                server.destroy()

        disk = Path(tempfile.mkdtemp(prefix="mailprov-bench-letters-", dir=args.disk)) if args.disk else folder
        places = {"disk": disk} | ({"tmpfs": shm} if shm.is_dir() else {})
        plans: list[dict[str, float]] = []

        def apply_run(server: Slapd, scheme: str, place: Path) -> dict[str, float]:
            letters = Path(tempfile.mkdtemp(dir=place))
            try:
                result = apply_and_plan(server, folder, n, args.agencies, scheme, letters / "letters")
            finally:
                shutil.rmtree(letters, ignore_errors=True)
            plans.append(result)
            return result

        def spread_plan(server: Slapd) -> dict[str, float]:
            """The same mailboxes over many domains, made the quickest way (server-add, letters in RAM): only
            the zero-change plan after it is a figure."""
            letters = Path(tempfile.mkdtemp(dir=places.get("tmpfs", disk)))
            try:
                return apply_and_plan(server, folder / "many", n, args.many_agencies, "server-add", letters / "l")
            finally:
                shutil.rmtree(letters, ignore_errors=True)

        # Rounds: every figure once per round, right after that round's ldapadd. This VM's disk and
        # CPU change pace from one minute to the next (ldapadd alone: 1.2 to 1.9 s), so a ratio
        # is only meaningful between runs made close together.
        rounds: list[dict[object, float]] = []
        for _ in range(args.repeat):
            loaded = once(lambda server: timed_ldapadd(
                server, equivalent_ldif(server.new_base("bench-ldapadd"), n, args.agencies)))
            figures: dict[object, float] = {"ldapadd": loaded["seconds"], ("cpu", "ldapadd"): loaded["cpu"],
                                            ("slapd cpu", "ldapadd"): loaded["slapd_cpu"]}
            for scheme in SCHEMES:
                for where, place in places.items():
                    applied = once(lambda server: apply_run(server, scheme, place))  # noqa: B023
                    figures[scheme, where] = applied["apply_s"]
                    figures["cpu", scheme, where] = applied["apply_cpu"]
                    figures["slapd cpu", scheme, where] = applied["slapd_cpu"]
            for pwmod in (False, True):
                figures["pace", pwmod] = once(lambda server: server_pace(server, n, args.agencies, pwmod))  # noqa: B023
            figures["before"] = once(lambda server: plan_of_new(server, folder, n, args.agencies))
            spread = once(spread_plan)
            figures["many_plan_s"], figures["many_plan_mb"] = spread["plan_s"], spread["plan_mb"]
            figures["probe"], figures["probe_kernel"] = file_creation_us(disk / f"probe-{len(rounds)}")
            rounds.append(figures)
        if disk != folder:
            shutil.rmtree(disk, ignore_errors=True)

    def best(key: object) -> float:
        return min(r[key] for r in rounds)

    def ratios(key: object) -> str:
        """ldapadd's time over the figure's, per round (a rate ratio: above 1 is faster than ldapadd), and their
        median: this VM's pace moves from one minute to the next, so one round says little."""
        each = [r["ldapadd"] / r[key] for r in rounds]
        return ", ".join(f"{ratio:.2f}" for ratio in each) + f" (median {statistics.median(each):.2f})"

    def cpu_line(client: str, *key: str) -> None:
        """The CPU seconds of the client and of slapd during it (medians over the rounds): both share the
        machine's cores, so what the client spends is taken from the directory."""
        mine, slapd = (statistics.median(r[(what, *key)] for r in rounds) for what in ("cpu", "slapd cpu"))
        print(f"    CPU (medians): {client} {mine:.2f} s, slapd {slapd:.2f} s during it, together "
              f"{mine + slapd:.2f} s on {os.cpu_count()} cores")

    ldapadd_s = best("ldapadd")
    ldapadd_rate = n / ldapadd_s
    print(f"{n} mailboxes in {args.agencies} domains; each run on a fresh lab slapd (OpenLDAP 2.5, mdb, ppolicy with "
          f"ppolicy_hash_cleartext, loglevel {args.slapd_loglevel}); "
          f"{args.repeat} rounds, times are the best round's, ratios are per round")
    each = ", ".join(f"{r['ldapadd']:.2f}" for r in rounds)
    print(f"ldapadd (one at a time, C client, hashed userPassword in the LDIF): {ldapadd_s:6.2f} s "
          f"{ldapadd_rate:7.0f} mailboxes/s  (rounds: {each} s)")
    cpu_line("ldapadd", "ldapadd")
    labels = {"server": "server hashes via RFC 3062 Password Modify (default), 2 writes/mailbox",
              "server-add": "server hashes the password in the add (ppolicy_hash_cleartext), 1 write/mailbox",
              "ssha512": "client-side {SSHA512} in the add, 1 write/mailbox"}
    for scheme in SCHEMES:
        for where in places:
            seconds = best((scheme, where))
            print(f"mailprov apply, {labels[scheme]}, letters on {where}: {seconds:6.2f} s {n / seconds:7.0f} "
                  f"mailboxes/s; ratio to ldapadd per round {ratios((scheme, where))} (target >= 1.0)")
            cpu_line("apply", scheme, where)
    probes = [r["probe"] for r in rounds]
    kernel = [r["probe_kernel"] for r in rounds]
    print(f"  creating one file in the letters folder's file system costs {min(probes):.0f}-{max(probes):.0f} us "
          f"here, {min(kernel):.0f}-{max(kernel):.0f} us of it kernel CPU ({max(probes) * n / 1e6:.1f} s for {n} "
          "letters at worst, which ldapadd does not write)")
    if min(probes) > SLOW_FILE_US:
        print(f"  (over {SLOW_FILE_US} us a file is not a disk's pace: an ext4 without a journal skips the inodes "
              "freed in the last minutes, reading the inode table to find them; README, 'The disk rows', says how "
              "to measure on one with a journal, --disk DIR)")
    print(f"  slapd's own pace for the same writes (encoded beforehand, pipelined like apply): adds with the "
          f"hash {best(('pace', False)):.2f} s, ratio per round {ratios(('pace', False))}; adds + Password Modify "
          f"{best(('pace', True)):.2f} s, ratio per round {ratios(('pace', True))}")
    ceiling = [r["ldapadd"] / (r["before"] + r["pace", True]) for r in rounds]
    before = [r["before"] for r in rounds]
    print(f"  apply's work before its first write, while slapd waits (start, load, snapshot, plan, table), measured as "
          f"mailprov plan of the same {n} against an empty subtree: {min(before):.2f}-{max(before):.2f} s. With "
          "slapd's pace for adds + Password Modify, the default scheme's ratio could at best be "
          + ", ".join(f"{c:.2f}" for c in ceiling) + f" (median {statistics.median(ceiling):.2f}), if apply cost "
          "nothing during the writes")
    slowest_plan = max(plans, key=lambda r: r["plan_s"])
    print(f"mailprov plan of {n} mailboxes, zero changes (slowest of {len(plans)}): {slowest_plan['plan_s']:.2f} s "
          f"(target < 3 s), peak memory {max(r['plan_mb'] for r in plans):.0f} MB (target < 300 MB)")
    print(f"mailprov plan of {n} mailboxes in {args.many_agencies} domains, zero changes (slowest of {len(rounds)}): "
          f"{max(r['many_plan_s'] for r in rounds):.2f} s (target < 3 s), peak memory "
          f"{max(r['many_plan_mb'] for r in rounds):.0f} MB (target < 300 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
