"""The lab servers themselves: what every integration test stands on."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import pytest

from lab.knot import Knot
from lab.servers import read_faults
from lab.slapd import Slapd
from lab.zones import build_zones
from mailprov.config import load_config

from .conftest import new_knot
from .helpers import REPO, SAMPLE


def _ask(server: Knot, name: str, rtype: str) -> dns.message.Message:
    host, port = server.address.split(":")
    return dns.query.udp(dns.message.make_query(name, rtype), host, port=int(port), timeout=2)


def test_slapd_serves_the_base_and_the_provisioner_can_write(slapd: Slapd) -> None:
    out = slapd.ldap("ldapsearch", "-LLL", "-b", slapd.suffix, "(objectClass=pwdPolicy)", "pwdLockout")
    assert "pwdLockout: TRUE" in out
    assert slapd.can_bind(slapd.bind_dn, slapd.bind_password)
    assert not slapd.can_bind(slapd.bind_dn, "wrong")


def test_slapd_that_cannot_start_fails_the_start_with_its_reason(tmp_path: Path) -> None:
    # the port taken by a listener that accepts and never answers: the readiness probe must not wait on it
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = Slapd(root=tmp_path / "ldap", port=taken.getsockname()[1])
        server.prepare()
        started = time.monotonic()
        with pytest.raises(RuntimeError, match="slapd exited with 1") as failed:
            server.start(timeout=20)
    assert time.monotonic() - started < 10
    assert "Address already in use" in str(failed.value)
    assert server.process is not None and server.process.returncode == 1


def test_knot_serves_sample_zones_with_the_demo_faults(knot_factory: list[Knot], tmp_path: Path) -> None:
    config = load_config(SAMPLE, {})
    zones = build_zones(config, read_faults(REPO / "lab" / "scenarios" / "demo.yaml"))
    texts = zones.texts()
    texts["rusak.go.id"] = "$ORIGIN rusak.go.id.\nthis is ( not a zone file\n"
    server = new_knot(knot_factory, tmp_path / "dns", texts)
    mx = _ask(server, "probolinggokota.go.id", "MX")
    assert sorted(str(r) for rrset in mx.answer for r in rrset) == ["10 mx1.mail.go.id.", "20 mx2.mail.go.id."]
    assert _ask(server, "sukamaju-tumpang.desa.id", "MX").rcode() == dns.rcode.NXDOMAIN
    assert _ask(server, "rusak.go.id", "MX").rcode() == dns.rcode.SERVFAIL
    assert _ask(server, "example.org", "MX").rcode() == dns.rcode.REFUSED
    sidoarjo = _ask(server, "sidoarjokab.go.id", "MX")
    assert "50 mail.sidoarjokab.go.id." in [str(r) for rrset in sidoarjo.answer for r in rrset]


def _gone(pid: int, within: float) -> bool:
    import time

    deadline = time.monotonic() + within
    while True:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split(") ", 1)[1].startswith("Z"):
                    return True  # a zombie waiting for init: it has exited
        except FileNotFoundError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


@pytest.mark.parametrize("server", ["knot", "slapd"])
def test_lab_servers_die_with_the_process_that_started_them(tmp_path: Path, server: str) -> None:
    """A test run killed outright (a CI timeout) must not leave servers holding their ports."""
    import os
    import signal
    import subprocess
    import sys

    start = {"knot": "from lab.knot import start_knot; s = start_knot(root, {})",
             "slapd": "from lab.slapd import start_slapd; s = start_slapd(root)"}[server]
    code = (f"import sys, time; from pathlib import Path; root = Path(sys.argv[1]); {start}; "
            "print(s.process.pid, flush=True); time.sleep(120)")
    parent = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / server)], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    try:
        assert not _gone(pid, 0.2)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        assert _gone(pid, 10), f"{server} (pid {pid}) outlived the process that started it"
    finally:
        if not _gone(pid, 0):
            os.kill(pid, signal.SIGKILL)


def test_lab_start_leaves_the_servers_running_until_lab_stop(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    root = tmp_path / "mplab"
    for _ in range(2):  # and again in the folder the stopped lab left (slapadd stopped at its entries)
        started = subprocess.run([sys.executable, "-m", "lab", "start", str(root), "--config", str(SAMPLE)],
                                 cwd=REPO, capture_output=True, text=True, check=False)
        assert started.returncode == 0, started.stderr
        assert "export MAILPROV_LDAP_URL=" in started.stdout
        state = json.loads((root / "lab.json").read_text())
        pids = [state["slapd"]["pid"], state["knot"]["pid"]]
        try:
            assert not any(_gone(pid, 0.5) for pid in pids)  # the command has ended; its servers have not
            answer = dns.query.udp(dns.message.make_query("probolinggokota.go.id", "MX"), "127.0.0.1",
                                   port=int(state["knot"]["port"]), timeout=2)
            assert answer.rcode() == dns.rcode.NOERROR and answer.answer
            env = state["env"]
            secret = tmp_path / "bind.secret"  # from a file, as everywhere: a password in argv is visible in ps
            secret.touch(mode=0o600)
            secret.write_text(env["MAILPROV_BIND_PASSWORD"])
            whoami = subprocess.run(["/usr/bin/ldapwhoami", "-x", "-H", env["MAILPROV_LDAP_URL"], "-D",
                                     env["MAILPROV_BIND_DN"], "-y", str(secret)],
                                    capture_output=True, text=True, check=False)
            assert whoami.returncode == 0, whoami.stderr
        finally:
            stopped = subprocess.run([sys.executable, "-m", "lab", "stop", str(root)], cwd=REPO,
                                     capture_output=True, text=True, check=False)
        assert stopped.returncode == 0, stopped.stderr
        assert all(_gone(pid, 5) for pid in pids)
