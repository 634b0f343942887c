"""The lab servers themselves: what every integration test stands on."""

from __future__ import annotations

from pathlib import Path

import dns.message
import dns.query
import dns.rcode

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
