"""dns check against the lab Knot: pass, warn, fail and error for every rule of DESIGN.md."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from lab.dnsproxy import DroppingRelay
from lab.knot import Knot
from lab.zones import Zone, build_zones
from mailprov.checks.runner import Target, run_checks
from mailprov.config import load_config

from .conftest import new_knot
from .dnslab import DOMAINS, FAULTS, SUBDOMAIN_AGENCY, extra_zones, write_dns_config
from .helpers import on_a_terminal, report_quoting, run


@pytest.fixture(scope="module")
def dns_lab(tmp_path_factory: pytest.TempPathFactory, knot_factory: list[Knot]) -> Iterator[tuple[Path, str]]:
    """The test configuration and the address of a resolver for its zones (timeouts for lambat.go.id)."""
    folder = tmp_path_factory.mktemp("dns")
    config_path = write_dns_config(folder)
    config = load_config(config_path, {})
    zones = build_zones(config, FAULTS)
    for name, records in extra_zones().items():
        zone = zones.zones[name] = Zone(name)
        for record in records:
            zone.add(*record)
    texts = zones.texts()
    server = new_knot(knot_factory, folder / "knot", texts)
    host, port = server.address.split(":")
    relay = DroppingRelay((host, int(port)), drop=("lambat.go.id",)).start()
    yield config_path, relay.address
    relay.stop()


def checked(dns_lab: tuple[Path, str], *args: str) -> dict[str, Any]:
    config, resolver = dns_lab
    r = run(["dns", "check", "-c", config, "--nameserver", resolver, "--timeout", "1", "--format", "json",
             "--lang", "en", *args])
    assert r.exit_code in (0, 1, 3), r.output
    return json.loads(r.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def everything(dns_lab: tuple[Path, str]) -> dict[str, dict[str, Any]]:
    data = checked(dns_lab)
    return {d["agency"]: d for d in data["domains"]}


def verdict(domains: dict[str, dict[str, Any]], agency: str, check: str, selector: str | None = None
            ) -> tuple[str, str]:
    for item in domains[agency]["checks"]:
        if item["check"] == check and item.get("selector", selector) == selector:
            return item["status"], item["reason"]
    raise AssertionError(f"no {check} for {agency}")


EXPECTED = [
    # agency, check, selector, status, words of the reason
    ("lulus", "mx", None, "pass", "points at the platform"),
    ("lulus", "spf", None, "pass", "allows the platform's servers and rejects other addresses (1 DNS lookup)"),
    ("lulus", "dkim", "mmd2026", "pass", "RSA 2048 bit"),
    ("lulus", "dmarc", None, "pass", "p=reject"),
    ("mx-luar", "mx", None, "fail", "mail.mx-luar.go.id is not a platform host"),
    ("mx-titik", "mx", None, "fail", "MX mx1.mail.go.id.mx-titik.go.id is not a platform host: remove it and keep "
                                     "only 10 mx1.mail.go.id., 20 mx2.mail.go.id.; mx1.mail.go.id.mx-titik.go.id is "
                                     "mx1.mail.go.id with the domain appended: in the zone file, end that name with a "
                                     "dot (mx1.mail.go.id.)"),
    ("mx-null", "mx", None, "fail", "null MX (RFC 7505)"),
    ("mx-kosong", "mx", None, "fail", "no MX record: publish 10 mx1.mail.go.id., 20 mx2.mail.go.id."),
    ("mx-sebagian", "mx", None, "warn", "add mx2.mail.go.id"),
    ("tidak-ada", "mx", None, "fail", "domain tidak-ada.go.id does not exist"),
    ("tidak-ada", "spf", None, "fail", "does not exist"),
    ("rusak", "mx", None, "error", "SERVFAIL"),
    ("rusak", "spf", None, "error", "SERVFAIL"),
    ("rusak", "dkim", "mmd2026", "error", "SERVFAIL"),
    ("rusak", "dmarc", None, "error", "SERVFAIL"),
    ("lambat", "mx", None, "error", "timeout"),
    ("lambat", "spf", None, "error", "timeout"),
    ("lambat", "dkim", "mmd2026", "error", "timeout"),
    ("lambat", "dmarc", None, "error", "timeout"),
    ("spf-kosong", "spf", None, "fail", 'no SPF record (TXT v=spf1): publish "v=spf1 include:_spf.mail.go.id -all"'),
    ("spf-soft", "spf", None, "warn", "~all (softfail)"),
    ("spf-netral", "spf", None, "fail", "gives neutral for an address outside the platform (192.0.2.1)"),
    ("spf-tanpa-include", "spf", None, "fail", "gives fail for the platform's server 203.0.113.10"),
    ("spf-dua", "spf", None, "fail", "2 SPF records"),
    ("spf-limit", "spf", None, "fail", "more than 10 DNS-querying terms"),
    ("spf-sintaks", "spf", None, "fail", "unknown mechanism 'mxx'"),
    # error is never fail: the outside address could not be judged, though the platform's pass
    ("spf-include-lambat", "spf", None, "error", "could not be decided: SPF evaluation hit a temporary error"),
    ("spf-include-hilang", "spf", None, "fail", "the SPF record is invalid (permerror: include:tidak-ada.go.id has no "
                                                "SPF record)"),
    ("dmarc-rua-sendiri", "dmarc", None, "pass", "DMARC p=reject"),
    ("spf-kutip", "spf", None, "fail", "the TXT record shown mentions v=spf1, but an SPF record must begin with "
                                       "exactly \"v=spf1\" and a space"),
    ("dkim-kosong", "dkim", "mmd2026", "fail", "no DKIM key at mmd2026._domainkey.dkim-kosong.go.id"),
    ("dkim-cabut", "dkim", "mmd2026", "fail", "revoked (empty p=)"),
    ("dkim-lain", "dkim", "mmd2026", "fail", "key mismatch"),
    ("dkim-cname", "dkim", "mmd2026", "pass", "RSA 2048 bit"),
    ("dkim-uji", "dkim", "mmd2026", "warn", "testing mode (t=y)"),
    ("dkim-lemah", "dkim", "cadangan", "fail", "only 768 bits"),
    ("dkim-pendek", "dkim", "cadangan", "warn", "1024 bits, fewer than the platform's 2048"),
    ("dkim-ed25519", "dkim", "cadangan", "pass", "ed25519"),
    ("dkim-v-salah", "dkim", "cadangan", "fail", "v=DKIM1 must be the first tag"),
    ("dmarc-none", "dmarc", None, "fail", "p=none is weaker than the platform's minimum p=quarantine"),
    ("dmarc-pct", "dmarc", None, "warn", "pct=50"),
    ("dmarc-tanpa-rua", "dmarc", None, "warn", "rua does not include mailto:dmarc@mail.go.id"),
    ("dmarc-dua", "dmarc", None, "fail", "2 DMARC records"),
    ("dmarc-luar", "dmarc", None, "warn", "dmarc-collector.example.net has not authorised reports"),
    ("dmarc-kosong", "dmarc", None, "fail", "no DMARC record at _dmarc.dmarc-kosong.go.id"),
    ("dmarc-p-salah", "dmarc", None, "fail", "p=tolak is not none, quarantine or reject"),
    ("dmarc-sp", "dmarc", None, "warn", "sp=none for subdomains"),
    ("dinas-turunan", "dmarc", None, "pass", "(inherited from induk.go.id)"),
    ("dinas-kecil", "dmarc", None, "warn", "DMARC p=reject (inherited from induk.go.id); the TXT record shown at "
                                           "_dmarc.kecil.induk.go.id mentions DMARC1 but receivers ignore it, so the "
                                           "organization's policy applies"),
    ("dkim-sintaks", "dkim", "cadangan", "fail", "is invalid: 't' is not tag=value"),
    ("dkim-ed-pendek", "dkim", "cadangan", "fail", "an ed25519 key is 32 bytes, not 16"),
    ("dkim-bukan-rsa", "dkim", "cadangan", "fail", "p= does not hold an RSA public key"),
    ("dkim-dua", "dkim", "cadangan", "fail", "2 TXT records at cadangan._domainkey.dkim-dua.go.id"),
    ("dkim-hash", "dkim", "cadangan", "fail", "is invalid: h=sha1 leaves out sha256, which the platform signs with"),
    ("dkim-layanan", "dkim", "cadangan", "fail", "is invalid: s=tlsrpt does not include email"),
    ("dkim-hash-ok", "dkim", "cadangan", "pass", "RSA 2048 bit"),
    ("dkim-ganda", "dkim", "mmd2026", "fail", "the record is at mmd2026._domainkey.dkim-ganda.go.id.dkim-ganda.go.id: "
                                              "a name written in full in the zone file without its final dot gets the "
                                              "domain appended; write mmd2026._domainkey.dkim-ganda.go.id. (with the "
                                              "dot) or only the part before the domain"),
    ("spf-ganda", "spf", None, "fail", 'no SPF record (TXT v=spf1): publish "v=spf1 include:_spf.mail.go.id -all"; '
                                       "the record is at spf-ganda.go.id.spf-ganda.go.id"),
    ("dmarc-ganda", "dmarc", None, "fail", "the record is at _dmarc.dmarc-ganda.go.id.dmarc-ganda.go.id: a name "
                                           "written in full"),
    ("dkim-potong", "dkim", "mmd2026", "fail", "is invalid: p= is cut short: only 237 of the key's 392 base64 "
                                               "characters; a DNS panel that keeps at most 255 characters"),
    ("dkim-pem", "dkim", "mmd2026", "fail", "is invalid: p= holds the PEM lines (-----BEGIN PUBLIC KEY-----); publish "
                                            "only the base64 text between them"),
    ("dkim-kutip", "dkim", "mmd2026", "fail", "is invalid: the record holds quote characters (\"): its text was "
                                              "entered with a zone file's quotes; enter it without them"),
    ("dkim-titik", "dkim", "cadangan", "fail",
     "no DKIM key at cadangan._domainkey.dkim-titik.go.id: publish the platform's key there as a TXT record, as the "
     "platform's list of DNS records gives it; cadangan._domainkey.dkim-titik.go.id is an alias (CNAME) of "
     "cadangan._domainkey.mail.go.id.dkim-titik.go.id, which holds no TXT record; "
     "cadangan._domainkey.mail.go.id.dkim-titik.go.id is cadangan._domainkey.mail.go.id with the domain appended: in "
     "the zone file, end that name with a dot (cadangan._domainkey.mail.go.id.)"),
    ("dmarc-sintaks", "dmarc", None, "fail", "is invalid: 'fo' is not tag=value"),
    ("dmarc-pct-salah", "dmarc", None, "fail", "pct=150 is not a number from 0 to 100"),
    ("dmarc-sp-salah", "dmarc", None, "fail", "sp=tolak is not none, quarantine or reject"),
    ("dmarc-tanpa-mailto", "dmarc", None, "warn", 'rua lists dmarc@mail.go.id without "mailto:", so receivers '
                                                  "ignore it: write rua=mailto:dmarc@mail.go.id"),
    ("dmarc-kecil", "dmarc", None, "fail", "the TXT record shown mentions DMARC1, but a DMARC record must begin "
                                           "with exactly \"v=DMARC1;\" (in capitals"),
    # the policy is fine, but whether the second report address may receive reports could not be asked
    ("dmarc-rua-lambat", "dmarc", None, "error", "dmarc-rua-lambat.go.id._report._dmarc.lambat.go.id TXT failed "
                                                 "(timeout)"),
]


@pytest.mark.parametrize(("agency", "check", "selector", "status", "words"), EXPECTED,
                         ids=[f"{a}-{c}" for a, c, *_ in EXPECTED])
def test_rule(everything: dict[str, dict[str, Any]], agency: str, check: str, selector: str | None, status: str,
              words: str) -> None:
    got_status, reason = verdict(everything, agency, check, selector)
    assert got_status == status, reason
    assert words in reason


#: reasons whose detail comes from the parsers and the SPF evaluator: in Indonesian to the end
INDONESIAN = [
    ("dkim-v-salah", "dkim", "cadangan", "v=DKIM1 harus menjadi tag pertama"),
    ("dkim-sintaks", "dkim", "cadangan", "tidak valid: 't' bukan tag=nilai"),
    ("dkim-hash", "dkim", "cadangan", "h=sha1 tidak memuat sha256, yang dipakai platform untuk menandatangani"),
    ("dkim-layanan", "dkim", "cadangan", "s=tlsrpt tidak memuat email"),
    ("dkim-ed-pendek", "dkim", "cadangan", "kunci ed25519 berukuran 32 byte, bukan 16"),
    ("dkim-bukan-rsa", "dkim", "cadangan", "p= tidak berisi kunci publik RSA"),
    ("dmarc-p-salah", "dmarc", None, "p=tolak bukan none, quarantine, atau reject"),
    ("dmarc-pct-salah", "dmarc", None, "pct=150 bukan angka 0 sampai 100"),
    ("dmarc-sp-salah", "dmarc", None, "sp=tolak bukan none, quarantine, atau reject"),
    ("dmarc-sintaks", "dmarc", None, "tidak valid: 'fo' bukan tag=nilai"),
    ("spf-limit", "spf", None, "lebih dari 10 term yang memerlukan kueri DNS (pada "),
    ("spf-sintaks", "spf", None, "mekanisme 'mxx' tidak dikenal"),
    ("dkim-potong", "dkim", "mmd2026", "p= terpotong: hanya 237 dari 392 karakter base64 kunci"),
    ("dkim-kutip", "dkim", "mmd2026", "record memuat tanda kutip"),
    ("dkim-ganda", "dkim", "mmd2026", "record itu ada di mmd2026._domainkey.dkim-ganda.go.id.dkim-ganda.go.id"),
    ("dinas-kecil", "dmarc", None, "memuat DMARC1 tetapi diabaikan penerima, sehingga kebijakan organisasi yang "
                                   "berlaku"),
    ("mx-titik", "mx", None, "adalah mx1.mail.go.id dengan nama domain tertambah di belakangnya"),
    ("dkim-titik", "dkim", "cadangan", "adalah alias (CNAME) dari cadangan._domainkey.mail.go.id.dkim-titik.go.id, "
                                       "yang tidak memuat record TXT"),
    ("spf-kutip", "spf", None, "record SPF harus diawali tepat dengan \"v=spf1\" dan spasi"),
    ("dmarc-kecil", "dmarc", None, "record DMARC harus diawali tepat dengan \"v=DMARC1;\" (huruf kapital"),
]


def test_a_record_receivers_ignore_is_shown_beside_the_reason(everything: dict[str, dict[str, Any]]) -> None:
    """"No record" beside the record the agency did publish would contradict it: the near miss is shown."""
    shown = {(a, c["check"]): c["records"] for a in ("spf-kutip", "dmarc-kecil", "spf-kosong", "dmarc-kosong")
             for c in everything[a]["checks"]}
    assert shown[("spf-kutip", "spf")] == ['"v=spf1 include:_spf.mail.go.id -all"']
    assert shown[("dmarc-kecil", "dmarc")] == ["v=dmarc1; p=reject; rua=mailto:dmarc@mail.go.id"]
    assert shown[("spf-kosong", "spf")] == [] and shown[("dmarc-kosong", "dmarc")] == []
    # a record under the doubled name is shown; where there is none, nothing is said of it
    (doubled,) = [c for c in everything["dkim-ganda"]["checks"] if c["check"] == "dkim" and c["selector"] == "mmd2026"]
    assert len(doubled["records"]) == 1 and doubled["records"][0].startswith("v=DKIM1; k=rsa; p=")
    missing = [c["reason"] for a in ("dkim-kosong", "dmarc-kosong") for c in everything[a]["checks"]]
    assert not [r for r in missing if "the record is at" in r], missing
    (inherited,) = [c["records"] for c in everything["dinas-kecil"]["checks"] if c["check"] == "dmarc"]
    assert inherited == ["v=dmarc1; p=reject; rua=mailto:dmarc@mail.go.id",
                         "v=DMARC1; p=reject; rua=mailto:dmarc@mail.go.id"]  # its own, then induk.go.id's


def test_reasons_are_indonesian_down_to_the_detail(dns_lab: tuple[Path, str]) -> None:
    """An agency reads the reason in its mail and letter: the part that says what exactly is wrong too."""
    config, resolver = dns_lab
    r = run(["dns", "check", "-c", config, "--nameserver", resolver, "--timeout", "1", "--format", "json",
             *[DOMAINS.get(agency, f"{agency}.go.id") for agency in dict.fromkeys(a for a, *_ in INDONESIAN)]])
    assert r.exit_code == 1, r.output
    domains = {d["agency"]: d for d in json.loads(r.stdout)["domains"]}
    for agency, check, selector, words in INDONESIAN:
        _, reason = verdict(domains, agency, check, selector)
        assert words in reason, (agency, reason)
        english = ("must be", " is not ", "appears", "leaves out", "does not", "invalid", "more than", "unknown")
        assert not [w for w in english if w in reason], (agency, reason)


def test_a_nameserver_given_by_name_is_refused_before_any_query(dns_lab: tuple[Path, str]) -> None:
    config, _ = dns_lab
    r = run(["dns", "check", "-c", config, "--nameserver", "ns1.mail.go.id", "--format", "json"])
    assert (r.exit_code, r.stderr, r.stdout) == (2, "error: --nameserver ns1.mail.go.id: 'ns1.mail.go.id' is not an "
                                                 "IP address (a nameserver is given by its address: looking up its "
                                                 "name would need another nameserver); expected IP, IP:PORT or "
                                                 "[IPv6]:PORT\n", ""), r.output


def test_a_nameserver_from_the_environment_is_named_as_such(dns_lab: tuple[Path, str]) -> None:
    """A port out of range in $MAILPROV_NAMESERVER: the message points at the variable, not an option never given."""
    config, resolver = dns_lab
    r = run(["dns", "check", "-c", config, "--format", "json"], env={"MAILPROV_NAMESERVER": f"{resolver} [::1]:70000"})
    assert (r.exit_code, r.stderr, r.stdout) == (2, "error: MAILPROV_NAMESERVER [::1]:70000: port 70000 is out of "
                                                 "range (1-65535); expected IP, IP:PORT or [IPv6]:PORT\n", ""), r.output


def test_no_nameserver_answering_is_said_once(dns_lab: tuple[Path, str]) -> None:
    """A nightly run whose resolver is unreachable says so in one line, not only as 'error' per check."""
    import socket

    config, resolver = dns_lab
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # open, never answers
        host, port = silent.getsockname()
        r = run(["dns", "check", "-c", config, "--agency", "lulus", "--nameserver", f"{host}:{port}",
                 "--timeout", "0.3", "--format", "json"])
    assert r.exit_code == 3, r.output
    assert r.stderr.startswith(f"warning: no nameserver answered (127.0.0.1:{port}): none of "), r.stderr
    data = json.loads(r.stdout)
    assert data["stats"]["answers"] == 0 and data["stats"]["queries"] > 0
    answered = run(["dns", "check", "-c", config, "--agency", "lulus", "--nameserver", resolver, "--format", "json"])
    assert answered.exit_code == 0, answered.output
    assert "warning" not in answered.stderr
    assert json.loads(answered.stdout)["stats"]["answers"] >= 5


def test_a_nameserver_port_nobody_listens_on_is_said_at_once(dns_lab: tuple[Path, str]) -> None:
    """A mistyped port: refused at once (not after every timeout), and the one warning line says so."""
    import socket

    config, _ = dns_lab
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    r = run(["dns", "check", "-c", config, "--agency", "lulus", "--nameserver", f"127.0.0.1:{port}",
             "--timeout", "30", "--format", "json", "--lang", "en"])
    assert r.exit_code == 3, r.output
    queries = json.loads(r.stdout)["stats"]["queries"]
    assert r.stderr == (f"warning: no nameserver answered (127.0.0.1:{port}): none of {queries} queries got a "
                        "reply (refused at once: nothing listens on that port); check --nameserver and the network\n")
    checks = json.loads(r.stdout)["domains"][0]["checks"]
    assert {c["status"] for c in checks} == {"error"} and all("(Connection refused)" in c["reason"] for c in checks)


def test_a_nameserver_that_is_not_a_resolver_is_named_in_the_reason(dns_lab: tuple[Path, str],
                                                                      tmp_path: Path) -> None:
    """--nameserver pointed at an authoritative server: its Extended DNS Error (RFC 8914) is in every reason,
    one warning says why every verdict is 'error', and a nightly run that decided nothing is not kept (it
    would mail every agency 'pass -> error' tonight and back tomorrow)."""
    config, resolver = dns_lab
    history = tmp_path / "state.db"
    r = run(["dns", "check", "-c", config, "contoh.example", "--nameserver", resolver, "--format", "json",
             "--lang", "en", "--history", history])
    assert r.exit_code == 3, r.output
    data = json.loads(r.stdout)
    (domain,) = data["domains"]
    assert {c["status"] for c in domain["checks"]} == {"error"}
    assert domain["checks"][0]["reason"] == ("could not be decided: the DNS query contoh.example MX failed (REFUSED: "
                                             "Not Authoritative); it will be retried on the next run")
    assert r.stderr == (f"warning: every answer of the nameserver ({resolver}) was REFUSED ({data['stats']['answers']} "
                        "of them): it does not resolve for this host (recursion not allowed from here, or an "
                        "authoritative-only server); give --nameserver a resolver that does; the run is not kept in "
                        "the history and nothing is mailed\n")
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)


def test_a_refusing_nameserver_beside_one_that_answers_is_passed_over(dns_lab: tuple[Path, str], tmp_path: Path,
                                                                       knot_factory: list[Knot]) -> None:
    """resolv.conf with a resolver that does not serve this host first: its REFUSED sent every check to
    'error', where libc's and dnspython's stub resolvers ask the next one."""
    config, resolver = dns_lab
    other = new_knot(knot_factory, tmp_path / "knot", {"lain.example": Zone("lain.example").text()})
    r = run(["dns", "check", "-c", config, "--agency", "lulus", "--nameserver", other.address, "--nameserver",
             resolver, "--format", "json", "--lang", "en"])
    assert r.exit_code == 0, r.output
    (domain,) = json.loads(r.stdout)["domains"]
    assert domain["status"] == "pass", domain
    assert r.stderr == ""


def test_every_check_has_pass_warn_fail_and_error() -> None:
    seen = {(check, status) for _, check, _, status, _ in EXPECTED}
    for check in ("mx", "spf", "dkim", "dmarc"):
        for status in ("pass", "warn", "fail", "error"):
            assert (check, status) in seen, (check, status)


def test_reasons_send_no_agency_to_a_tool_it_does_not_have() -> None:
    """Reasons reach agencies in their mail and letter; "see mailprov dns records" meant nothing there."""
    from mailprov.checks.messages import MESSAGES

    for key, texts in MESSAGES.items():
        for lang, text in texts.items():
            assert "mailprov" not in text, (key, lang)


def test_domain_status_is_the_worst_check_and_json_shape(dns_lab: tuple[Path, str],
                                                         everything: dict[str, dict[str, Any]]) -> None:
    assert everything["lulus"]["status"] == "pass"
    assert everything["spf-soft"]["status"] == "warn"
    assert everything["rusak"]["status"] == "error"
    assert everything["mx-luar"]["status"] == "fail"
    lulus = everything["lulus"]
    assert lulus["domain"] == "lulus.go.id"
    mx = lulus["checks"][0]
    assert set(mx) == {"check", "status", "reason", "records"}
    assert mx["records"] == ["10 mx1.mail.go.id.", "20 mx2.mail.go.id."]
    dkim = next(c for c in lulus["checks"] if c["check"] == "dkim")
    assert dkim["selector"] == "mmd2026" and dkim["records"][0].startswith("v=DKIM1; k=rsa; p=MII")
    data = checked(dns_lab, "--agency", "lulus", "--agency", "spf-soft")
    assert set(data) == {"generated_at", "version", "lang", "summary", "domains", "stats"}
    assert data["lang"] == "en"  # the language of the reasons (checked() asks for English)
    assert data["summary"] == {"domains": 2, "pass": 1, "warn": 1, "fail": 0, "error": 0}
    assert data["generated_at"].endswith("Z")


def test_reasons_in_bahasa_indonesia_by_default(dns_lab: tuple[Path, str]) -> None:
    config, resolver = dns_lab
    r = run(["dns", "check", "-c", config, "--nameserver", resolver, "mx-luar.go.id", "--format", "json"])
    reason = json.loads(r.stdout)["domains"][0]["checks"][0]["reason"]
    assert reason.startswith("MX mail.mx-luar.go.id bukan server platform: hapus, sisakan hanya 10 mx1.mail.go.id.")


def test_exit_codes(dns_lab: tuple[Path, str]) -> None:
    config, resolver = dns_lab
    base: list[str | Path] = ["dns", "check", "-c", config, "--nameserver", resolver, "--timeout", "1"]
    assert run([*base, "lulus.go.id"]).exit_code == 0
    assert run([*base, "spf-soft.go.id"]).exit_code == 0  # warn is not failure
    assert run([*base, "lulus.go.id", "rusak.go.id"]).exit_code == 3  # undecided, nothing failed
    assert run([*base, "rusak.go.id", "mx-luar.go.id"]).exit_code == 1  # a fail wins
    refused = run([*base, "--format", "json", "tidak-dilayani.example.org"])
    assert refused.exit_code == 3
    checks = json.loads(refused.stdout)["domains"][0]["checks"]
    assert {c["status"] for c in checks} == {"error"} and "REFUSED" in checks[0]["reason"]
    assert json.loads(refused.stdout)["domains"][0]["agency"] is None


def test_csv_and_junit(dns_lab: tuple[Path, str], tmp_path: Path) -> None:
    config, resolver = dns_lab
    base: list[str | Path] = ["dns", "check", "-c", config, "--nameserver", resolver, "--timeout", "1", "--lang", "en",
            "lulus.go.id", "mx-luar.go.id", "rusak.go.id"]
    out = tmp_path / "r.csv"
    assert run([*base, "--format", "csv", "--output", out]).exit_code == 1
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 3 * 5  # mx, spf, dkim for two selectors, dmarc
    mx = next(r for r in rows if r["domain"] == "mx-luar.go.id" and r["check"] == "mx")
    assert mx["status"] == "fail" and mx["domain_status"] == "fail" and "10 mx1.mail.go.id." in mx["records"]
    r = run([*base, "--format", "junit"])
    root = ET.fromstring(r.stdout)
    assert root.tag == "testsuites" and root.get("tests") == "15"
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    assert len(cases) == 15
    assert cases[("mx-luar.go.id", "mx")].find("failure") is not None
    assert cases[("rusak.go.id", "dkim[mmd2026]")].find("error") is not None
    assert cases[("lulus.go.id", "spf")].find("failure") is None


def test_table_output(dns_lab: tuple[Path, str]) -> None:
    config, resolver = dns_lab
    r = run(["dns", "check", "-c", config, "--nameserver", resolver, "--lang", "en", "lulus.go.id", "mx-luar.go.id"])
    assert r.exit_code == 1
    # one row per domain: its status, and each check that is not a pass with its verdict and reason
    assert re.search(r"┃ domain +┃ agency +┃ status ┃ to fix +┃", r.stdout), r.stdout
    rows = [line for line in r.stdout.splitlines() if line.startswith("│ ")]
    lulus = next(line for line in rows if "│ lulus.go.id" in line)
    assert re.fullmatch(r"│ lulus\.go\.id +│ lulus +│ pass +│ +│", lulus), lulus
    assert "points at the platform" not in r.stdout  # a pass needs no reason here; JSON keeps it
    assert "│ mx-luar.go.id" in r.stdout
    assert "mx fail: MX mail.mx-luar.go.id is not a platform host" in r.stdout
    assert "spf" not in r.stdout.split("mx-luar.go.id", 1)[1]  # its checks that pass are not listed
    assert "2 domains: 1 pass, 0 warn, 1 fail, 0 error" in r.stdout
    # at 80 columns the agency column goes: the reasons keep half the width
    narrow = run(["dns", "check", "-c", config, "--nameserver", resolver, "--lang", "en", "mx-luar.go.id"],
                 env={"COLUMNS": "80"})
    assert re.search(r"┃ domain +┃ status ┃ to fix +┃", narrow.stdout), narrow.stdout
    assert re.search(r"│ mx-luar\.go\.id │ fail +│ mx fail: MX mail\.mx-luar\.go\.id is not a platform +│",
                     narrow.stdout), narrow.stdout


def test_a_domain_that_does_not_exist_is_one_thing_to_fix(dns_lab: tuple[Path, str]) -> None:
    """Not four reasons (two saying NXDOMAIN, two asking for records under a name nobody can publish yet)."""
    config, resolver = dns_lab
    r = run(["dns", "check", "-c", config, "--nameserver", resolver, "--lang", "en", "tidak-ada.go.id"],
            env={"COLUMNS": "200"})
    assert r.exit_code == 1, r.output
    cells = " ".join(line.split("│")[4].strip() for line in r.stdout.splitlines() if line.startswith("│ "))
    assert cells == ("domain fail: domain tidak-ada.go.id does not exist (NXDOMAIN): register it, delegate it to the "
                     "agency's DNS servers, then publish every record the platform asks for"), r.stdout
    data = json.loads(run(["dns", "check", "-c", config, "--nameserver", resolver, "--format", "json",
                           "tidak-ada.go.id"]).stdout)
    assert "\n1 domain: 0 pass, 0 warn, 1 fail, 0 error\n" in r.stdout
    checks = data["domains"][0]["checks"]  # JSON keeps every check
    assert {c["check"] for c in checks} == {"mx", "spf", "dkim", "dmarc"} and {c["status"] for c in checks} == {"fail"}


def test_the_extended_checks_say_error_when_the_answers_never_come(dns_lab: tuple[Path, str],
                                                                    tmp_path: Path) -> None:
    _, resolver = dns_lab
    config = write_dns_config(tmp_path, checks="  checks: [mx, mta-sts, tls-rpt, dnssec]")
    r = run(["dns", "check", "-c", config, "--nameserver", resolver, "--timeout", "1", "--format", "json",
             "--lang", "en", "lambat.go.id"])
    assert r.exit_code == 3, r.output
    (domain,) = json.loads(r.stdout)["domains"]
    assert {c["check"]: (c["status"], "timeout" in c["reason"]) for c in domain["checks"]} == {
        "mx": ("error", True), "mta-sts": ("error", True), "tls-rpt": ("error", True), "dnssec": ("error", True)}


def test_progress_is_told_of_each_domain_once_its_checks_are_done(dns_lab: tuple[Path, str]) -> None:
    config_path, resolver = dns_lab
    config = load_config(config_path, {})
    host, port = resolver.split(":")
    targets = [Target(f"{a}.go.id", a) for a in ("lulus", "mx-luar", "rusak", "dkim-dua")]
    told: list[int] = []
    report = run_checks(targets, config.platform, [(host, int(port))], timeout=2, progress=told.append)
    assert told == [1, 1, 1, 1] and len(report.domains) == 4


def test_on_a_terminal_a_progress_bar_counts_the_domains(dns_lab: tuple[Path, str]) -> None:
    """On stderr, and only on a terminal: off one (every other test, cron) nothing of it is printed."""
    config, resolver = dns_lab
    code, seen = on_a_terminal(["dns", "check", "-c", str(config), "--nameserver", resolver, "--format", "json",
                                "lulus.go.id", "mx-luar.go.id", "spf-soft.go.id"], {}, {})
    assert code == 1, seen
    assert "checking" in seen and "3/3" in seen, seen
    quiet = run(["dns", "check", "-c", config, "--nameserver", resolver, "--format", "json", "lulus.go.id"])
    assert quiet.stderr == "" and quiet.exit_code == 0, quiet.output


def test_the_table_goes_to_a_file_as_plain_text(dns_lab: tuple[Path, str], tmp_path: Path) -> None:
    """--output without --format: the table as the terminal shows it (it was JSON, unasked)."""
    config, resolver = dns_lab
    out = tmp_path / "dns.txt"
    r = run(["dns", "check", "-c", config, "--nameserver", resolver, "--lang", "en", "--output", out,
             "lulus.go.id", "mx-luar.go.id"], env={"TERM": "xterm-256color", "NO_COLOR": ""})
    assert r.exit_code == 1 and r.stdout == "", r.output
    text = out.read_text()
    assert "│ mx-luar.go.id" in text and "mx fail: MX mail.mx-luar.go.id is not a platform host" in text
    assert text.endswith("2 domains: 1 pass, 0 warn, 1 fail, 0 error\n") and "\x1b[" not in text
    # the time in the platform's zone (Asia/Jakarta unless letters.timezone says otherwise), as the report shows it
    title = re.search(r"DNS compliance \((\d{4}-\d\d-\d\d \d\d:\d\d) (\w+)\)", text)
    assert title and title.group(2) == "WIB", text
    shown = dt.datetime.strptime(title.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert abs(dt.datetime.now(dt.UTC) - shown) < dt.timedelta(minutes=2)


def test_shared_records_are_fetched_once(dns_lab: tuple[Path, str]) -> None:
    config_path, resolver = dns_lab
    config = load_config(config_path, {})
    host, port = resolver.split(":")
    healthy = [Target(f"{a}.go.id", a) for a in ("lulus", "dkim-cname", "spf-soft", "dmarc-pct", "mx-luar")]
    report = run_checks(healthy, config.platform, [(host, int(port))], timeout=2)
    # per domain: MX, TXT, 2 DKIM selectors, _dmarc, the rua authorization; the platform's
    # _spf include, its DKIM key (the CNAME target) and the rua lookups are shared
    assert report.queries <= len(healthy) * 6 + 3
    assert all(d.status in ("pass", "warn", "fail") for d in report.domains)


def test_subdomain_agency_from_the_sample_table(everything: dict[str, dict[str, Any]]) -> None:
    agency, domain = SUBDOMAIN_AGENCY
    assert everything[agency]["domain"] == domain


def _many_domains(config_path: Path) -> Path:
    """300 agencies under lulus.go.id (names that do not exist: fail), for outputs larger than a pipe holds."""
    many = config_path.parent / "many-domains.yaml"  # next to the key file it names
    extra = [f"  - id: sub{i:03d}\n    name: Instansi {i}\n    domain: sub{i:03d}.lulus.go.id\n" for i in range(300)]
    platform = config_path.read_text().split("agencies:")[0]
    many.write_text(platform + "agencies:\n" + "".join(extra))
    return many


def test_large_output_arrives_whole_through_a_pipe_under_pythonunbuffered(dns_lab: tuple[Path, str],
                                                                         tmp_path: Path) -> None:
    """A nightly job's unit often sets PYTHONUNBUFFERED=1; its JSON must not lose its tail in a pipe."""
    import os
    import subprocess
    import sys

    config_path, resolver = dns_lab
    many = _many_domains(config_path)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    out = subprocess.run([sys.executable, "-m", "mailprov", "dns", "check", "-c", str(many), "--nameserver",
                          resolver, "--timeout", "1", "--format", "json"], capture_output=True, env=env, check=False)
    assert out.returncode == 1, out.stderr  # names under lulus.go.id that do not exist: fail
    assert len(out.stdout) > 4 * 65536
    data = json.loads(out.stdout)
    assert data["summary"]["domains"] == data["summary"]["fail"] == len(data["domains"]) == 300


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_a_reader_that_stops_early_ends_the_command_quietly(dns_lab: tuple[Path, str], fmt: str) -> None:
    """`mailprov dns check | head`: no 'internal error BrokenPipeError' line and no exit 1 (which means
    non-compliant), but the status a shell shows for a command stopped by SIGPIPE."""
    import os
    import subprocess
    import sys

    config_path, resolver = dns_lab
    proc = subprocess.Popen([sys.executable, "-m", "mailprov", "dns", "check", "-c", str(_many_domains(config_path)),
                             "--nameserver", resolver, "--timeout", "1", "--format", fmt],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "100"})
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100)
    proc.stdout.close()  # as head does after its lines
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert err == ""


def test_unbuffered_standard_streams_get_a_buffer_that_retries_short_writes() -> None:
    """The loss itself is a race (about 1 run in 10 at 1,000 domains straight to Knot), so the
    mechanism that prevents it is checked directly."""
    import os
    import subprocess
    import sys

    probe = ("import sys; from mailprov.cli import _whole_writes; before = type(sys.stdout.buffer).__name__; "
             "_whole_writes(); print(before, type(sys.stdout.buffer).__name__, type(sys.stderr.buffer).__name__)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert out.stdout.split() == ["FileIO", "BufferedWriter", "BufferedWriter"]


def test_the_command_exits_with_its_objects_frozen_out_of_the_last_collection() -> None:
    """The interpreter's final collection walked every object of a run (45-55 ms per command)."""
    import subprocess
    import sys

    probe = ("import atexit, gc, sys; from mailprov.cli import main; sys.argv = ['mailprov', '--help']; "
             "atexit.register(lambda: print('frozen', gc.get_freeze_count())); main()")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    frozen = out.stdout.split()[-2:]
    assert frozen[0] == "frozen" and int(frozen[1]) > 10_000, out.stdout[-200:]


def test_table_shows_record_text_that_looks_like_markup() -> None:
    """Reasons quote what agencies published; rich must print it, not read it as markup (or choke on it)."""
    from rich.console import Console

    from mailprov.report import render_table

    published = "[/x] [bold]p=tolak"
    report = report_quoting(published)
    out = io.StringIO()
    render_table(Console(file=out, width=200, no_color=True), report, "en")
    assert "[/x] [bold]p=tolak" in out.getvalue()


def test_narrow_table_keeps_each_domain_whole() -> None:
    """At 80 columns the reasons wrap and the domain stays on one line (it is what an operator copies)."""

    from rich.console import Console

    from mailprov.checks.messages import Reason
    from mailprov.checks.result import CheckReport, CheckResult, DomainResult
    from mailprov.report import render_table

    domain = "dinaskomunikasidaninformatika.probolinggokota.go.id"
    outside = Reason("mx.outside", {"hosts": "mail.example.net, backup.example.net", "expected": "mx1.mail.go.id"})
    check = CheckResult("mx", "fail", [outside], [])
    report = CheckReport(dt.datetime(2026, 11, 28, tzinfo=dt.UTC), "test", [DomainResult(domain, "pemkot", [check])])
    out = io.StringIO()
    render_table(Console(file=out, width=80, no_color=True), report, "en")
    assert domain in out.getvalue(), out.getvalue()


@pytest.mark.parametrize(("domain", "org"), [
    ("dinas.probolinggokota.go.id", "probolinggokota.go.id"),
    ("Kominfo.ProbolinggoKota.GO.ID.", "probolinggokota.go.id"),
    ("dinas.xn--mdan-bpa.go.id", "xn--mdan-bpa.go.id"),
    # under a public suffix that is itself IDN (公司.香港): found only through the Unicode form
    ("mail.a.xn--55qx5d.xn--j6w193g", "a.xn--55qx5d.xn--j6w193g"),
    ("x.xn--broken--.go.id", "xn--broken--.go.id"),
])
def test_organizational_domains_of_ascii_and_idn_names(domain: str, org: str) -> None:
    from mailprov.suffixes import organizational_domain

    assert organizational_domain(domain) == org


def _official_psl_cases() -> list[tuple[str, str | None]]:
    """The Public Suffix List's own test data (``checkPublicSuffix(input, expected)``), shipped in the package."""
    import publicsuffixlist

    text = Path(publicsuffixlist.__file__).with_name("test_psl.txt").read_text(encoding="utf-8")
    cases = [(a, None if b == "null" else b.strip("'"))
             for a, b in re.findall(r"^checkPublicSuffix\('([^']*)', ('[^']*'|null)\);", text, re.M)]
    assert len(cases) > 60, "the package's test data is missing or changed its form"
    return cases


@pytest.mark.parametrize(("name", "expected"), _official_psl_cases())
def test_public_suffix_list_conformance(name: str, expected: str | None) -> None:
    """Each name's registered domain, and whether it is a suffix no agency may take, as the list's own test
    data says: the lookups read only the rules of the name's top-level domain, and must answer as the whole
    list does."""
    import idna

    from mailprov.suffixes import not_an_agency_domain, organizational_domain

    whole = _whole_list()
    if expected is None:
        assert organizational_domain(name) == name  # nothing registered in it: the name as given
        if not name.startswith("."):
            assert not_an_agency_domain(name) is not None and whole.is_public(name.lower())
        return
    # returned in A-labels, as names travel in DNS
    assert organizational_domain(name) == (expected if expected.isascii() else idna.encode(expected).decode())
    assert not_an_agency_domain(name) is None  # a registered domain, or a name in one


@pytest.mark.parametrize("tld", ["id", "jp", "uk", "com", "xn--j6w193g", "example"])
def test_public_suffix_lookups_by_top_level_domain_answer_as_the_whole_list(tld: str) -> None:
    """Every rule of a top-level domain (wildcards and exceptions in ``jp``, the private section's in ``com``,
    an IDN one, a name the list does not know): the suffix and registered domain of a name under each rule are
    those the whole list gives."""
    from publicsuffixlist import PSLFILE

    from mailprov.suffixes import not_an_agency_domain, organizational_domain

    whole = _whole_list()
    listed = _decoded(tld)
    rules = [line for line in Path(PSLFILE).read_text(encoding="utf-8").splitlines()
             if line == listed or line.endswith("." + listed)] or [listed]
    for rule in rules:
        name = rule.lstrip("!").removeprefix("*.")
        for below in (name, f"x.{name}", f"a.x.{name}"):
            assert organizational_domain(below) == (_encoded(whole.privatesuffix(below)) or below), below
            assert (not_an_agency_domain(below) is None) != whole.is_public(below), below
    assert len(rules) > 1 or tld == "example"


@functools.cache
def _whole_list() -> Any:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def _decoded(label: str) -> str:
    import idna

    return str(idna.decode(label)) if label.startswith("xn--") else label


def _encoded(name: str | None) -> str | None:
    import idna

    return name if name is None or name.isascii() else str(idna.encode(name).decode())


def test_junit_stays_readable_whatever_an_agency_publishes() -> None:
    """A TXT record may hold any byte; XML 1.0 cannot carry control characters even escaped."""
    import xml.etree.ElementTree as ET

    from mailprov.report import render

    published = "v=DMARC1;\x01 p=\x0bnone"
    report = report_quoting(published)
    failure = ET.fromstring(render(report, "junit", "en")).find("testsuite/testcase/failure")
    assert failure is not None and failure.text == "v=DMARC1;\\x01 p=\\x0bnone"
    assert "\\x01" in failure.get("message", "")


def test_the_table_does_not_pass_escape_sequences_to_the_terminal() -> None:
    """A published record is anyone's to write: ESC ] 0 sets the window title, ESC [ 2 J clears the screen."""
    from rich.console import Console

    from mailprov.report import render_table

    published = "v=DMARC1; p=\x1b]0;PWNED\x07\x1b[2Jnone\x9b"
    report = report_quoting(published)
    out = io.StringIO()
    render_table(Console(file=out, width=200, force_terminal=True, no_color=True), report, "en")
    shown = out.getvalue()
    assert "]0;PWNED" in shown and "\x1b]" not in shown and "\x1b[2J" not in shown and "\x9b" not in shown
    assert "\\x1b]0;PWNED\\x07\\x1b[2Jnone\\x9b" in shown


def test_only_checks_that_fail_through_the_platforms_record_are_excused() -> None:
    """Pure logic: which agency verdicts a broken platform record turns into 'error'."""
    from mailprov.checks.messages import Reason
    from mailprov.checks.platform import PlatformProblem, excuse_agencies
    from mailprov.checks.result import CheckResult, DomainResult

    spf = PlatformProblem("spf", None, "_spf.mail.go.id", Reason("platform.spf_allows", {"include": "x", "ip": "y"}))
    key = "v=DKIM1; k=rsa; p=AAAA"
    dkim = PlatformProblem("dkim", "mmd2026", "mmd2026._domainkey.mail.go.id",
                           Reason("platform.dkim_count", {"count": 2}), (key,))
    denied = Reason("spf.outside_allowed", {"result": "pass", "ip": "192.0.2.1"})

    def spf_result(record: str, status: str = "fail") -> CheckResult:
        return CheckResult("spf", status, [denied], [record])

    domain = DomainResult("a.go.id", "a", [
        spf_result("v=spf1 ~include:_SPF.mail.go.id. -all"),  # a qualifier, another case, the final dot
        spf_result("v=spf1 include:_spf.mail.go.id.evil.example -all"),  # another name that starts alike
        spf_result("v=spf1 redirect=_spf.mail.go.id"),  # the include's record as the agency's own
        spf_result("v=spf1 ip4:203.0.113.10 -all"),  # no include: the agency's own record decides
        spf_result("v=spf1 include:_spf.mail.go.id -all", "warn"),  # only failures are excused
        CheckResult("spf", "fail", [Reason("spf.multiple", {"count": 2, "expected": "x"})],
                    ["v=spf1 include:_spf.mail.go.id -all", "v=spf1 mx -all"]),  # two records: the agency's doing
        CheckResult("dkim", "fail", [Reason("dkim.weak", {"bits": 768})], [key], "mmd2026"),  # the platform's text
        CheckResult("dkim", "fail", [Reason("dkim.weak", {"bits": 768})], ["v=DKIM1; p=BBBB"], "mmd2026"),
    ])
    excuse_agencies([domain], [spf, dkim])
    assert [c.status for c in domain.checks] == ["error", "fail", "error", "fail", "warn", "fail", "error", "fail"]
    assert [r.key for r in domain.checks[0].reasons] == ["platform.excused"]  # not "add include:", which it has


def test_agency_letters_show_what_this_json_says(dns_lab: tuple[Path, str], tmp_path: Path) -> None:
    """The JSON dns check writes is what ``letters render --results`` reads: each domain's status and every one of
    its checks reach that agency's letter, whatever the verdict (this lab has all four)."""
    config, resolver = dns_lab
    results = tmp_path / "dns.json"
    r = run(["dns", "check", "-c", config, "--nameserver", resolver, "--timeout", "1", "--format", "json",
             "--output", results])
    assert r.exit_code == 1, r.output
    data = json.loads(results.read_text(encoding="utf-8"))
    assert {d["status"] for d in data["domains"]} == {"pass", "warn", "error", "fail"}
    out = tmp_path / "letters"
    r = run(["letters", "render", "-c", config, "--kind", "agency", "--lang", "id", "--results", results,
             "--out", out, "--date", "2026-11-28"])
    assert r.exit_code == 0, r.output
    words = {"pass": "lulus", "warn": "catatan", "error": "tak terputuskan", "fail": "gagal"}
    overall = {"pass": "lulus", "warn": "lulus dengan catatan", "error": "belum dapat diputuskan",
               "fail": "belum sesuai"}
    for domain in data["domains"]:
        letter = (out / domain["agency"] / "agency.md").read_text(encoding="utf-8")
        assert re.search(rf"^Pemeriksaan .+: \*\*{overall[domain['status']]}\*\*$", letter, re.M), letter
        table = letter.split("| Pemeriksaan | Hasil | Keterangan |\n| --- | --- | --- |\n", 1)[1].split("\n\n")[0]
        rows = [row[2:].split(" | ", 2)[:2] for row in table.splitlines()]
        assert rows == [[c["check"] + (f" ({c['selector']})" if c.get("selector") else ""), words[c["status"]]]
                        for c in domain["checks"]], domain["domain"]


def test_agencies_and_domains_given_together_are_all_checked_once(dns_lab: tuple[Path, str]) -> None:
    data = checked(dns_lab, "--agency", "lulus", "mx-luar.go.id", "LULUS.go.id", "mx-luar.go.id")
    assert [(d["domain"], d["agency"]) for d in data["domains"]] == [("lulus.go.id", "lulus"), ("mx-luar.go.id",
                                                                                                "mx-luar")]


def test_a_platform_include_that_passes_anyone_and_an_invalid_platform_key_are_platform_problems(
        tmp_path_factory: pytest.TempPathFactory, knot_factory: list[Knot]) -> None:
    """Through the library, against Knot: ``+all`` in the platform's include (every agency's SPF would pass
    spoofed mail) and a key record that is no valid key (every agency's DKIM alias would lead there)."""
    import asyncio

    from lab.zones import txt
    from mailprov.checks.platform import platform_problems
    from mailprov.checks.resolver import DnsResolver

    folder = tmp_path_factory.mktemp("platform")
    config = load_config(write_dns_config(folder), {})
    zones = build_zones(config)
    own = zones.zones["mail.go.id"]
    # cadangan has no configured key: agencies alias their record to the platform's
    own.records = [r for r in own.records if r[0] not in ("_spf", "cadangan._domainkey")]
    own.add("_spf", "TXT", txt("v=spf1 ip4:203.0.113.10 ip6:2001:db8::10 +all"))
    own.add("cadangan._domainkey", "TXT", txt("v=DKIM1; k=rsa; p=bm90IGEga2V5"))
    server = new_knot(knot_factory, folder / "knot", zones.texts())
    host, port = server.address.split(":")

    async def found() -> list[str]:
        resolver = DnsResolver([(host, int(port))], timeout=2)
        try:
            return [f"{p.check} {p.selector} {p.name}: {p.reason.text('en')}"
                    for p in await platform_problems(resolver, config.platform)]
        finally:
            resolver.close()

    problems = asyncio.run(found())
    assert len(problems) == 2, problems
    assert problems[0] == ("spf None _spf.mail.go.id: the platform's own SPF record _spf.mail.go.id allows an "
                           "address outside the platform (192.0.2.1)"), problems
    assert problems[1].startswith("dkim cadangan cadangan._domainkey.mail.go.id: the platform's own DKIM key record "
                                  "at cadangan._domainkey.mail.go.id (selector cadangan) is not valid: "), problems
