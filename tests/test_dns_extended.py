"""dns records, the extended checks (mta-sts, tls-rpt, dnssec), and tag-list parsing."""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab.knot import Knot
from lab.tls import make_ca_and_server_cert
from lab.zones import Zone, build_zones, txt
from mailprov.checks.dkim import evaluate
from mailprov.checks.taglist import TagListError, parse
from mailprov.config import load_config

from .conftest import new_knot
from .dnslab import BACKUP_KEY, PLATFORM_KEY, bad_soa_signature, write_dns_config
from .helpers import SAMPLE, run

POLICIES = {
    "mta-sts.sts-baik.go.id": "version: STSv1\nmode: enforce\nmx: mx1.mail.go.id\nmx: *.mail.go.id\nmax_age: 604800\n",
    "mta-sts.sts-uji.go.id": "version: STSv1\nmode: testing\nmx: *.mail.go.id\nmax_age: 86400\n",
    "mta-sts.sts-mx-lain.go.id": "version: STSv1\nmode: enforce\nmx: mail.sts-mx-lain.go.id\nmax_age: 86400\n",
    "mta-sts.sts-tanpa-umur.go.id": "version: STSv1\nmode: enforce\nmx: *.mail.go.id\n",
    # served the way real servers can: the policy a moment after the headers, or chunked to HTTP/1.1
    "mta-sts.sts-lambat.go.id": "version: STSv1\nmode: enforce\nmx: *.mail.go.id\nmax_age: 604800\n",
    "mta-sts.sts-potong.go.id": "version: STSv1\nmode: enforce\nmx: *.mail.go.id\nmax_age: 604800\n",
    # a good policy with another media type (RFC 8461 3.2: senders SHOULD check it is text/plain), or a parameter
    "mta-sts.sts-html.go.id": "version: STSv1\nmode: enforce\nmx: *.mail.go.id\nmax_age: 604800\n",
    "mta-sts.sts-tanpa-tipe.go.id": "version: STSv1\nmode: enforce\nmx: *.mail.go.id\nmax_age: 604800\n",
    "mta-sts.sts-charset.go.id": "version: STSv1\nmode: enforce\nmx: *.mail.go.id\nmax_age: 604800\n",
    # its policy host has an IPv6 address only (AAAA ::1, served there)
    "mta-sts.sts-v6.go.id": "version: STSv1\nmode: enforce\nmx: *.mail.go.id\nmax_age: 604800\n",
    # a policy of another version, and one whose mode RFC 8461 does not have
    "mta-sts.sts-versi.go.id": "version: STSv2\nmode: enforce\nmx: *.mail.go.id\nmax_age: 604800\n",
    "mta-sts.sts-mode.go.id": "version: STSv1\nmode: strict\nmx: *.mail.go.id\nmax_age: 604800\n",
    # a good policy announced with an id that is not 1-32 letters and digits
    "mta-sts.sts-id.go.id": "version: STSv1\nmode: enforce\nmx: *.mail.go.id\nmax_age: 604800\n",
}
#: the Content-Type each policy is served with (text/plain unless named here; None: no Content-Type at all)
MEDIA_TYPES = {"mta-sts.sts-html.go.id": "text/html; charset=UTF-8", "mta-sts.sts-tanpa-tipe.go.id": None,
               "mta-sts.sts-charset.go.id": "Text/Plain; charset=utf-8"}


def test_records_command_prints_zone_file_lines() -> None:
    r = run(["dns", "records", "-c", SAMPLE, "Probolinggokota.go.id"])
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.stdout.splitlines() if not ln.startswith(";")]
    assert lines[:3] == [
        "probolinggokota.go.id. 3600 IN MX 10 mx1.mail.go.id.",
        "probolinggokota.go.id. 3600 IN MX 20 mx2.mail.go.id.",
        'probolinggokota.go.id. 3600 IN TXT "v=spf1 include:_spf.mail.go.id -all"',
    ]
    dkim = next(ln for ln in lines if ln.startswith("mmd2026._domainkey.probolinggokota.go.id. 3600 IN TXT "))
    strings = dkim.split(" IN TXT ", 1)[1].split('" "')
    assert len(strings) == 2 and len(strings[0].strip('"').encode()) == 255  # split into 255-byte strings
    assert lines[-1] == ('_dmarc.probolinggokota.go.id. 3600 IN TXT '
                         '"v=DMARC1; p=quarantine; rua=mailto:dmarc@mail.go.id"')
    bad = run(["dns", "records", "-c", SAMPLE, "bad_domain"])
    assert bad.exit_code == 2 and "has an invalid label 'bad_domain'" in bad.stderr, bad.output
    single = run(["dns", "records", "-c", SAMPLE, "localhost"])
    assert single.exit_code == 2 and "needs at least two labels" in single.stderr, single.output


def test_records_comments_speak_the_agencys_language(tmp_path: Path) -> None:
    """The letter quotes this text: an Indonesian letter must not carry English comments in its records."""
    by_default = run(["dns", "records", "-c", SAMPLE, "probolinggokota.go.id"])
    assert by_default.exit_code == 0, by_default.output
    comments = [ln for ln in by_default.stdout.splitlines() if ln.startswith(";")]
    assert comments[:3] == ["; Record DNS untuk probolinggokota.go.id pada Layanan Mail Multi Domain",
                            "; email untuk domain ini diterima oleh platform",
                            "; email untuk domain ini diterima oleh platform"]
    assert "; kebijakan DMARC" in comments
    english = run(["dns", "records", "-c", SAMPLE, "probolinggokota.go.id", "--lang", "en"])
    assert english.stdout.splitlines()[0] == "; DNS records for probolinggokota.go.id on Layanan Mail Multi Domain"
    records = [ln for ln in english.stdout.splitlines() if not ln.startswith(";")]
    assert records == [ln for ln in by_default.stdout.splitlines() if not ln.startswith(";")]
    # an agency that writes in English gets English comments without --lang, as its letter has them
    config = tmp_path / "domains.yaml"
    config.write_text(SAMPLE.read_text().replace("    domain: probolinggokota.go.id\n",
                                                 "    domain: probolinggokota.go.id\n    language: en\n"))
    for folder in ("keys", "staff"):  # what the sample names by relative path
        (tmp_path / folder).symlink_to(SAMPLE.parent / folder)
    own = run(["dns", "records", "-c", config, "probolinggokota.go.id"])
    assert own.exit_code == 0, own.output
    assert own.stdout.splitlines()[1] == "; mail for the domain goes to the platform"
    bad = run(["dns", "records", "-c", SAMPLE, "probolinggokota.go.id", "--lang", "jv"])
    assert bad.exit_code == 2 and "--lang" in bad.stderr, bad.output



def test_dns_check_refuses_a_timeout_that_is_not_a_number() -> None:
    """Before, click's range check let 'nan' through and the run waited forever on a server that did not answer
    (killed after 40 s, measured)."""
    r = run(["dns", "check", "-c", SAMPLE, "--timeout", "nan", "--nameserver", "127.0.0.1:1"])
    assert r.exit_code == 2 and "Invalid value for '--timeout': nan is not a number of seconds" in r.stderr, r.output


def test_publishing_exactly_the_printed_records_passes(tmp_path: Path, knot_factory: list[Knot]) -> None:
    config_path = write_dns_config(tmp_path / "cfg")
    config = load_config(config_path, {})
    printed = run(["dns", "records", "-c", config_path, "baru.go.id"])
    zones = build_zones(config)
    zone = zones.zones["baru.go.id"] = Zone("baru.go.id")
    for line in printed.stdout.splitlines():
        if line and not line.startswith(";"):
            name, _ttl, _cls, rtype, data = line.split(" ", 4)
            zone.add(name, rtype, data)
    # no key is configured for 'cadangan': the printed CNAME points at the key the platform's zone publishes
    assert "cadangan._domainkey.baru.go.id. 3600 IN CNAME cadangan._domainkey.mail.go.id." in printed.stdout
    server = new_knot(knot_factory, tmp_path / "knot", zones.texts())
    r = run(["dns", "check", "-c", config_path, "--nameserver", server.address, "--format", "json", "baru.go.id"])
    assert r.exit_code == 0, r.output
    domain = json.loads(r.stdout)["domains"][0]
    assert domain["status"] == "pass", domain


def test_platform_records_are_what_the_platform_zone_needs(tmp_path: Path, knot_factory: list[Knot]) -> None:
    """The platform's zone holding exactly what `dns records --platform` prints (plus the key of a selector the
    configuration has no key for, which only the signer knows), and an agency its own printed records: every
    check passes, the DMARC report authorization included."""
    config_path = write_dns_config(tmp_path / "cfg")
    config = load_config(config_path, {})
    printed = run(["dns", "records", "-c", config_path, "--platform", "--lang", "en"])
    assert printed.exit_code == 0, printed.output
    assert '_spf.mail.go.id. 3600 IN TXT "v=spf1 ip4:203.0.113.10 ip6:2001:db8::10 -all"' in printed.stdout
    assert '*._report._dmarc.mail.go.id. 3600 IN TXT "v=DMARC1"' in printed.stdout
    assert ("; cadangan._domainkey.mail.go.id: publish here the public key of selector cadangan from the platform's "
            "DKIM signer (not in domains.yaml)") in printed.stdout
    zones = build_zones(config)
    platform = zones.zones["mail.go.id"] = Zone("mail.go.id")
    platform.add("cadangan._domainkey", "TXT", txt(f"v=DKIM1; k=rsa; p={BACKUP_KEY}"))
    agency = zones.zones["baru.go.id"] = Zone("baru.go.id")
    agency_records = run(["dns", "records", "-c", config_path, "baru.go.id"]).stdout
    for zone, text in ((platform, printed.stdout), (agency, agency_records)):
        for line in text.splitlines():
            if line and not line.startswith(";"):
                name, _ttl, _cls, rtype, data = line.split(" ", 4)
                zone.add(name, rtype, data)
    server = new_knot(knot_factory, tmp_path / "knot", zones.texts())
    r = run(["dns", "check", "-c", config_path, "--nameserver", server.address, "--format", "json", "--lang", "en",
             "baru.go.id"])
    assert r.exit_code == 0, r.output
    checks = json.loads(r.stdout)["domains"][0]["checks"]
    assert {c["status"] for c in checks} == {"pass"}, checks
    # without the authorization, the agency's reports go nowhere: the platform's to fix, said as such (a note
    # beside the agency's pass, one platform problem, one warning), not a warning to every agency
    platform.records = [rec for rec in platform.records if not rec[0].startswith("*._report")]
    server.reload(zones.texts())
    r = run(["dns", "check", "-c", config_path, "--nameserver", server.address, "--format", "json", "--lang", "en",
             "baru.go.id"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    dmarc = next(c for c in data["domains"][0]["checks"] if c["check"] == "dmarc")
    assert dmarc["status"] == "pass" and "a note for the platform: mail.go.id does not authorise reports for this " \
                                         "domain yet (no baru.go.id._report._dmarc.mail.go.id)" in dmarc["reason"]
    assert data["platform_problems"] == ["the platform's own DMARC report domain mail.go.id does not authorise "
                                         'reports for 1 agency domain(s) (publish *._report._dmarc.mail.go.id TXT '
                                         '"v=DMARC1")']
    assert r.stderr.startswith("warning: the platform's own DMARC report domain mail.go.id"), r.stderr


def test_records_needs_a_domain_or_platform() -> None:
    for args in ([], ["--platform", "probolinggokota.go.id"]):
        r = run(["dns", "records", "-c", SAMPLE, *args])
        assert r.exit_code == 2 and "give an agency's DOMAIN, or --platform" in r.stderr, r.output
    sample = run(["dns", "records", "-c", SAMPLE, "--platform"])
    assert sample.stdout.splitlines()[0].startswith("; Record DNS zona platform")  # defaults.language: id
    assert "_domainkey" not in sample.stdout  # every selector's key is configured: agencies publish it themselves


def test_records_of_a_public_suffix_are_refused() -> None:
    """No agency owns go.id; a domain below one, even one the file does not list, gets its records."""
    r = run(["dns", "records", "-c", SAMPLE, "GO.ID."])
    assert (r.exit_code, r.stdout) == (2, ""), r.output
    assert r.stderr == ("error: go.id is a public suffix (Public Suffix List): agencies register their own domains "
                        "under it, none owns it; give the agency's own domain, such as NAME.go.id\n")
    r = run(["dns", "records", "-c", SAMPLE, "baru.go.id"])
    assert r.exit_code == 0 and "baru.go.id. 3600 IN MX 10 mx1.mail.go.id." in r.stdout, r.output


class _PolicyHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        policy = POLICIES.get(self.headers.get("Host", ""))
        if self.path != "/.well-known/mta-sts.txt" or policy is None:
            self.send_error(404)
            return
        body = policy.encode()
        host = self.headers["Host"]
        if host == "mta-sts.sts-potong.go.id" and self.request_version == "HTTP/1.1":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
                             b"Connection: close\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
            return
        self.send_response(200)
        media_type = MEDIA_TYPES.get(host, "text/plain")
        if media_type is not None:
            self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if host == "mta-sts.sts-lambat.go.id":
            self.wfile.flush()
            time.sleep(0.2)
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def policy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """An HTTPS server for the MTA-STS policies, its certificate from a CA made for the test."""
    folder = tmp_path_factory.mktemp("sts")
    # sts-hilang: a valid certificate, and no policy behind it (404)
    make_ca_and_server_cert(folder, hosts=[*POLICIES, "mta-sts.sts-hilang.go.id", "127.0.0.1"])
    servers = _on_both_loopbacks()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "server.pem", folder / "server.key")
    for server in servers:
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield servers[0].server_address[1], folder / "ca.pem"
    for server in servers:
        server.shutdown()


class _Ipv6PolicyServer(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _on_both_loopbacks() -> list[http.server.ThreadingHTTPServer]:
    """The policy server on 127.0.0.1 and on ::1 with the same port: mailprov asks one port of every host."""
    for _ in range(20):
        v4 = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PolicyHandler)
        try:
            return [v4, _Ipv6PolicyServer(("::1", v4.server_address[1]), _PolicyHandler)]
        except OSError:  # that port is taken on ::1: another one
            v4.server_close()
    raise AssertionError("no port free on both 127.0.0.1 and ::1")


EXTENDED = "  checks: [mx, spf, dkim, dmarc, mta-sts, tls-rpt, dnssec]"


@pytest.fixture(scope="module")
def extended_server(tmp_path_factory: pytest.TempPathFactory, knot_factory: list[Knot],
                    policy_server: tuple[int, Path]) -> tuple[Path, str, dict[str, str], list[str]]:
    """The config, the nameserver, the environment (policy server) and the domains of the extended checks."""
    folder = tmp_path_factory.mktemp("ext")
    config_path = write_dns_config(folder, checks=EXTENDED)
    config = load_config(config_path, {})
    names = ["sts-baik", "sts-uji", "sts-mx-lain", "sts-sertifikat", "sts-kosong", "sts-tanpa-umur", "sts-lambat",
             "sts-potong", "sts-hilang", "sts-html", "sts-tanpa-tipe", "sts-charset", "sts-v6", "sts-versi", "sts-mode",
             "sts-id", "aman", "tanpa-ds", "polos", "palsu"]
    zones = build_zones(config)
    for name in names:
        zone = zones.zone(f"{name}.go.id")
        zone.add("@", "MX", "10 mx1.mail.go.id.")
        zone.add("@", "MX", "20 mx2.mail.go.id.")
        if name != "sts-kosong":
            zone.add("_mta-sts", "TXT", txt("v=STSv1; id=" + ("2026-11-28" if name == "sts-id" else "20261128T0200")))
            zone.add("mta-sts", *(("AAAA", "::1") if name == "sts-v6" else ("A", "127.0.0.1")))
    zones.zone("sts-baik.go.id").add("_smtp._tls", "TXT", txt("v=TLSRPTv1; rua=mailto:tlsrpt@mail.go.id"))
    zones.zone("sts-uji.go.id").add("_smtp._tls", "TXT", txt("v=TLSRPTv1; rua=tlsrpt@mail.go.id"))
    for rua in ("mailto:a@mail.go.id", "mailto:b@mail.go.id"):
        zones.zone("tanpa-ds.go.id").add("_smtp._tls", "TXT", txt(f"v=TLSRPTv1; rua={rua}"))
    zones.zone("polos.go.id").add("_smtp._tls", "TXT", txt("v=TLSRPTv1; rua"))
    for parent in ("aman", "polos"):
        for value in ("10 mx1.mail.go.id.", "20 mx2.mail.go.id."):
            zones.zone(f"{parent}.go.id").add("dinas", "MX", value)
    for record in bad_soa_signature("palsu.go.id."):
        zones.zone("palsu.go.id").add(*record)
    signed = {"aman.go.id", "tanpa-ds.go.id"}
    server = new_knot(knot_factory, folder / "knot", zones.texts(), signed)
    # the parent publishes the DS of one signed zone only: the other's chain of trust is broken
    for ds in server.ds_records("aman.go.id"):
        zones.zone("go.id").add("aman", "DS", ds)
    zones.zone("go.id").add("aman", "NS", "ns1.lab.invalid.")
    server.reload(zones.texts(), signed)
    port, ca = policy_server
    env = {"MAILPROV_MTA_STS_PORT": str(port), "MAILPROV_MTA_STS_CA": str(ca)}
    return config_path, server.address, env, [*[f"{n}.go.id" for n in names], "dinas.aman.go.id",
                                               "dinas.polos.go.id"]


@pytest.fixture(scope="module")
def extended_lab(extended_server: tuple[Path, str, dict[str, str], list[str]]) -> dict[str, Any]:
    config_path, nameserver, env, domains = extended_server
    r = run(["dns", "check", "-c", config_path, "--nameserver", nameserver, "--format", "json", "--lang", "en",
             *domains], env=env)
    assert r.exit_code in (0, 1) and "internal error" not in r.stderr, r.output  # exit 1 is also a crash's
    return {d["domain"]: {(c["check"]): c for c in d["checks"]} for d in json.loads(r.stdout)["domains"]}


@pytest.mark.parametrize(("domain", "check", "status", "words"), [
    ("sts-baik.go.id", "mta-sts", "pass", "MTA-STS mode=enforce, id=20261128T0200"),
    ("sts-uji.go.id", "mta-sts", "warn", "mode is testing, not enforce"),
    ("sts-mx-lain.go.id", "mta-sts", "warn", "mx: lines do not cover mx1.mail.go.id, mx2.mail.go.id"),
    ("sts-sertifikat.go.id", "mta-sts", "warn", "CERTIFICATE_VERIFY_FAILED"),
    ("sts-kosong.go.id", "mta-sts", "warn", "no MTA-STS"),
    ("sts-tanpa-umur.go.id", "mta-sts", "warn", "max_age: missing"),
    ("sts-lambat.go.id", "mta-sts", "pass", "MTA-STS mode=enforce"),
    ("sts-potong.go.id", "mta-sts", "pass", "MTA-STS mode=enforce"),
    ("sts-hilang.go.id", "mta-sts", "warn", "has a problem: HTTP answer 'HTTP/1.0 404 "),
    ("sts-html.go.id", "mta-sts", "warn", "has a problem: served as 'text/html; charset=UTF-8', not text/plain "
                                          "(senders may ignore it)"),
    ("sts-tanpa-tipe.go.id", "mta-sts", "warn", "served without a Content-Type of text/plain"),
    ("sts-charset.go.id", "mta-sts", "pass", "MTA-STS mode=enforce"),
    ("sts-v6.go.id", "mta-sts", "pass", "MTA-STS mode=enforce"),
    ("sts-versi.go.id", "mta-sts", "warn", "has a problem: version: STSv1 missing"),
    ("sts-mode.go.id", "mta-sts", "warn", "has a problem: mode 'strict' is not enforce, testing or none"),
    ("sts-id.go.id", "mta-sts", "warn", "id= must be 1-32 letters/digits"),
    ("sts-baik.go.id", "tls-rpt", "pass", "TLS-RPT sends reports to mailto:tlsrpt@mail.go.id"),
    ("sts-uji.go.id", "tls-rpt", "warn", "rua= needs mailto: or https: URIs"),
    ("sts-kosong.go.id", "tls-rpt", "warn", "no TLS-RPT"),
    ("tanpa-ds.go.id", "tls-rpt", "warn", "2 records"),
    ("polos.go.id", "tls-rpt", "warn", "'rua' is not tag=value"),
    ("aman.go.id", "dnssec", "pass", "zone aman.go.id is signed and its answers validate (DS with key tag "),
    ("tanpa-ds.go.id", "dnssec", "warn", "zone tanpa-ds.go.id is signed but no matching DS is in its parent zone"),
    # names inside a zone, not zones of their own: the zone they are in is what is signed, or not
    ("dinas.aman.go.id", "dnssec", "pass", "zone aman.go.id is signed and its answers validate (DS with key tag "),
    ("dinas.polos.go.id", "dnssec", "warn", "zone polos.go.id is not signed"),
    ("polos.go.id", "dnssec", "warn", "zone polos.go.id is not signed"),
    ("palsu.go.id", "dnssec", "warn", "DNSSEC signatures do not validate: SOA: "),
])
def test_extended_check(extended_lab: dict[str, Any], domain: str, check: str, status: str, words: str) -> None:
    result = extended_lab[domain][check]
    assert result["status"] == status, result
    assert words in result["reason"]


def test_a_refusing_first_nameserver_is_passed_over_for_dnssec_too(
        extended_server: tuple[Path, str, dict[str, str], list[str]], tmp_path: Path,
        knot_factory: list[Knot]) -> None:
    """The DNSSEC check asks its own signed questions: a REFUSED from the first nameserver goes on to the next
    there as well."""
    config_path, nameserver, env, _ = extended_server
    other = new_knot(knot_factory, tmp_path / "knot", {"lain.example": Zone("lain.example").text()})
    r = run(["dns", "check", "-c", config_path, "--nameserver", other.address, "--nameserver", nameserver,
             "--format", "json", "--lang", "en", "aman.go.id"], env=env)
    assert r.exit_code == 1, r.output  # the lab's aman.go.id publishes no SPF, DKIM or DMARC
    (domain,) = json.loads(r.stdout)["domains"]
    (dnssec,) = [c for c in domain["checks"] if c["check"] == "dnssec"]
    assert dnssec["status"] == "pass", dnssec


def test_extended_reasons_in_indonesian(extended_server: tuple[Path, str, dict[str, str], list[str]]) -> None:
    config_path, nameserver, env, _ = extended_server
    r = run(["dns", "check", "-c", config_path, "--nameserver", nameserver, "--format", "json", "sts-uji.go.id",
             "sts-tanpa-umur.go.id", "sts-mx-lain.go.id", "sts-hilang.go.id", "polos.go.id"], env=env)
    reasons = {(d["domain"], c["check"]): c["reason"] for d in json.loads(r.stdout)["domains"] for c in d["checks"]}
    assert reasons[("sts-uji.go.id", "mta-sts")].endswith("bermasalah: mode testing, bukan enforce")
    assert reasons[("sts-tanpa-umur.go.id", "mta-sts")].endswith("bermasalah: max_age: tidak ada")
    assert "bermasalah: jawaban HTTP 'HTTP/1.0 404 " in reasons[("sts-hilang.go.id", "mta-sts")]
    assert reasons[("sts-mx-lain.go.id", "mta-sts")].endswith(
        "baris mx: tidak mencakup mx1.mail.go.id, mx2.mail.go.id")
    assert reasons[("sts-uji.go.id", "tls-rpt")] == ("record TLS-RPT tidak valid: rua= memerlukan URI mailto: atau "
                                                     "https:")
    assert reasons[("polos.go.id", "tls-rpt")] == "record TLS-RPT tidak valid: 'rua' bukan tag=nilai"


def test_extended_checks_are_off_unless_listed(extended_lab: dict[str, Any]) -> None:
    assert "dnssec" in extended_lab["polos.go.id"]
    r = run(["dns", "records", "-c", SAMPLE, "x.go.id"])
    assert "_smtp._tls" not in r.stdout


def test_tag_lists() -> None:
    assert parse(" v = DKIM1 ;k=rsa;\tp=AB CD ;") == {"v": "DKIM1", "k": "rsa", "p": "AB CD"}
    for bad in ("v=DKIM1; v=DKIM1", "v=DKIM1; nonsense", "1x=2"):
        with pytest.raises(TagListError):
            parse(bad)


def test_dkim_record_rules_without_dns(tmp_path: Path) -> None:
    platform = load_config(write_dns_config(tmp_path), {}).platform
    good = evaluate(f"v=DKIM1; k=rsa; p={PLATFORM_KEY}", "n", "mmd2026", platform)
    assert good.status == "pass"
    # folding whitespace inside p= is allowed (RFC 6376 3.2)
    folded = PLATFORM_KEY[:40] + " \t" + PLATFORM_KEY[40:]
    assert evaluate(f"v=DKIM1; p={folded}", "n", "mmd2026", platform).status == "pass"
    assert evaluate("v=DKIM1; k=dsa; p=AAAA", "n", "cadangan", platform).reason("en").endswith("unknown key type k=dsa")
    assert "not valid base64" in evaluate("v=DKIM1; p=!!!", "n", "cadangan", platform).reason("en")
    assert "v=DKIM1 must be the first tag" in evaluate("v=DKIM2; p=AAAA", "n", "cadangan", platform).reason("en")
    assert "no p= tag" in evaluate("v=DKIM1; k=rsa", "n", "cadangan", platform).reason("en")


def test_a_policy_answer_is_read_to_its_end_and_no_further() -> None:
    import asyncio

    from mailprov.checks.mta_sts import MAX_POLICY_BYTES, PolicyError, _read_to_end, parse_policy

    async def read(parts: list[bytes]) -> bytes:
        reader = asyncio.StreamReader()
        for part in parts:
            reader.feed_data(part)
        reader.feed_eof()
        return await _read_to_end(reader)

    assert asyncio.run(read([b"HTTP/1.0 200 OK\r\n\r\n", b"version: STSv1\n"])).endswith(b"version: STSv1\n")
    with pytest.raises(PolicyError, match="longer than 64 KiB") as caught:
        asyncio.run(read([b"x" * MAX_POLICY_BYTES, b"y"]))
    assert caught.value.reason.text("id") == "jawaban lebih dari 64 KiB"
    with pytest.raises(PolicyError, match="line 'version STSv1' is not key: value") as caught:
        parse_policy("version STSv1\nmode: enforce\n")
    assert caught.value.reason.text("id") == "baris 'version STSv1' bukan kunci: nilai"
