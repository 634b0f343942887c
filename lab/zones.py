"""Zone files for the lab's Knot server, generated from a mailprov configuration.

Every agency gets a zone that does what the platform asks (MX at the
platform, SPF including the platform, the DKIM selectors, a DMARC policy),
unless a *fault* is named for it; faults are the ways agencies get it wrong
in real life, so the demo and the tests have something to find.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mailprov.model import Agency, Config, DkimKey
from mailprov.records import include_value, platform_domain

#: fault name -> what it does to the agency's zone
FAULTS = {
    "nxdomain": "the zone does not exist (parent answers NXDOMAIN)",
    "servfail": "the zone file is broken, Knot answers SERVFAIL",
    "no-mx": "no MX record",
    "null-mx": "a null MX (RFC 7505)",
    "mx-outside": "an extra MX outside the platform",
    "mx-partial": "only the first of the platform's MX hosts",
    "spf-missing": "no SPF record",
    "spf-softfail": "SPF ends in ~all",
    "spf-neutral": "SPF ends in ?all",
    "spf-no-include": "SPF does not include the platform",
    "spf-two-records": "two v=spf1 records",
    "spf-too-many-lookups": "SPF needs more than 10 DNS lookups",
    "spf-syntax": "SPF with an unknown mechanism",
    "dkim-missing": "no DKIM key for the platform selector",
    "dkim-revoked": "DKIM record with an empty p=",
    "dkim-weak": "a 1024-bit DKIM key",
    "dkim-mismatch": "a DKIM key that is not the platform's",
    "dkim-cname": "the DKIM selector is a CNAME to the platform's key",
    "dkim-testing": "the DKIM key is flagged t=y (testing)",
    "dmarc-missing": "no DMARC record at the domain itself",
    "dmarc-none": "DMARC p=none",
    "dmarc-pct": "DMARC pct=50",
    "dmarc-no-rua": "DMARC without the platform's rua",
    "dmarc-two-records": "two DMARC records",
    "dmarc-external-rua": "rua at an outside domain that has not authorised it",
}

DEFAULT_TTL = 300
EXTERNAL_RUA_DOMAIN = "dmarc-collector.example.net"


@dataclass
class Zone:
    origin: str
    records: list[tuple[str, str, str]] = field(default_factory=list)
    broken: bool = False

    def add(self, name: str, rtype: str, rdata: str) -> None:
        """``name`` relative to the origin (``@`` for the apex) or absolute with a dot."""
        self.records.append((name, rtype, rdata))

    def text(self) -> str:
        if self.broken:
            return f"$ORIGIN {self.origin}.\nthis is ( not a zone file\n"
        lines = [
            f"$ORIGIN {self.origin}.",
            f"$TTL {DEFAULT_TTL}",
            "@ SOA ns1.lab.invalid. hostmaster.lab.invalid. 1 3600 600 86400 300",
            "@ NS ns1.lab.invalid.",
        ]
        lines += [f"{name} {rtype} {rdata}" for name, rtype, rdata in self.records]
        return "\n".join(lines) + "\n"


def txt(value: str) -> str:
    """TXT rdata with the value split into strings of at most 255 bytes."""
    raw = value.encode()
    parts = [raw[i:i + 255].decode() for i in range(0, len(raw), 255)] or [""]
    return " ".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in parts)


def relative(name: str, origin: str) -> str:
    name = name.rstrip(".")
    if name == origin:
        return "@"
    if name.endswith("." + origin):
        return name[: -len(origin) - 1]
    return name + "."


def rsa_public_key_b64(bits: int) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


class ZoneSet:
    """All zones the lab serves, keyed by origin."""

    def __init__(self) -> None:
        self.zones: dict[str, Zone] = {}

    def zone(self, origin: str) -> Zone:
        if origin not in self.zones:
            self.zones[origin] = Zone(origin)
        return self.zones[origin]

    def owner_zone(self, name: str) -> Zone | None:
        """The most specific served zone containing ``name``."""
        name = name.rstrip(".")
        best = None
        for origin, zone in self.zones.items():
            if (name == origin or name.endswith("." + origin)) and (best is None or len(origin) > len(best.origin)):
                best = zone
        return best

    def add(self, name: str, rtype: str, rdata: str) -> None:
        zone = self.owner_zone(name)
        if zone is not None:
            zone.add(relative(name, zone.origin), rtype, rdata)

    def texts(self) -> dict[str, str]:
        return {origin: zone.text() for origin, zone in sorted(self.zones.items())}


def _keys(config: Config) -> dict[str, DkimKey]:
    dkim = config.platform.dkim
    return {sel: dkim.public_keys.get(sel) or DkimKey("rsa", rsa_public_key_b64(2048), 2048) for sel in dkim.selectors}


def build_zones(config: Config, faults: Mapping[str, Iterable[str]] | None = None,
                extra: Mapping[str, list[tuple[str, str, str]]] | None = None) -> ZoneSet:
    """Zones for every agency of ``config`` (with ``faults`` per agency id)."""
    wanted: dict[str, set[str]] = {k: set(v) for k, v in (faults or {}).items()}
    for agency_id, names in wanted.items():
        unknown = names - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown fault(s) for {agency_id}: {', '.join(sorted(unknown))}")
    zones = ZoneSet()
    keys = _keys(config)
    pdomain = platform_domain(config.platform)
    from publicsuffixlist import PublicSuffixList

    psl = PublicSuffixList()
    # parents: the public suffixes, so a missing agency zone is NXDOMAIN, not REFUSED
    for agency in config.agencies:
        zones.zone(psl.publicsuffix(agency.domain) or agency.domain.split(".", 1)[1])
    zones.zone(psl.publicsuffix(pdomain) or pdomain.split(".", 1)[1])
    zones.zone(pdomain)
    _platform_records(zones, config, pdomain, keys)
    for agency in config.agencies:
        wrong = wanted.get(agency.id, set())
        org = psl.privatesuffix(agency.domain) or agency.domain
        if org != agency.domain and config.agency_for_domain(org) is None and org not in zones.zones:
            # the organizational domain publishes the DMARC policy subdomains inherit
            rua = config.platform.dmarc.rua
            org_policy = "v=DMARC1; p=reject" + (f"; rua={rua}" if rua else "")
            zones.zone(org).add("_dmarc", "TXT", txt(org_policy))
        if "dmarc-external-rua" in wrong:
            # the report domain exists but has not authorised reports for the agency
            zones.zone(EXTERNAL_RUA_DOMAIN).add("@", "A", "198.51.100.99")
        if "nxdomain" in wrong:
            continue
        zone = zones.zone(agency.domain)
        zone.broken = "servfail" in wrong
        _agency_records(zone, agency, config, keys, pdomain, wrong)
    for name, records in (extra or {}).items():
        zone = zones.zone(name)
        for rname, rtype, rdata in records:
            zone.add(rname, rtype, rdata)
    return zones


def _platform_records(zones: ZoneSet, config: Config, pdomain: str, keys: dict[str, DkimKey]) -> None:
    platform = config.platform
    zones.add(platform.spf_include, "TXT", txt(include_value(platform)))
    for index, host in enumerate(platform.mx):
        zones.add(host, "A", f"203.0.113.{25 + index}")
    for selector, key in keys.items():
        zones.add(f"{selector}._domainkey.{pdomain}", "TXT", txt(key.record))
    zones.add(f"_dmarc.{pdomain}", "TXT", txt("v=DMARC1; p=reject"))
    # the platform's report mailbox accepts reports for every domain it hosts
    zones.add(f"*._report._dmarc.{pdomain}", "TXT", txt("v=DMARC1"))


def _agency_records(zone: Zone, agency: Agency, config: Config, keys: dict[str, DkimKey], pdomain: str,
                    wrong: set[str]) -> None:
    platform = config.platform
    if "null-mx" in wrong:
        zone.add("@", "MX", "0 .")
    elif "no-mx" not in wrong:
        hosts = platform.mx[:1] if "mx-partial" in wrong else platform.mx
        for index, host in enumerate(hosts):
            zone.add("@", "MX", f"{10 * (index + 1)} {host}.")
        if "mx-outside" in wrong:
            zone.add("@", "MX", f"50 mail.{agency.domain}.")
            zone.add("mail", "A", "198.51.100.7")
    zone.add("@", "A", "198.51.100.80")
    if "spf-missing" not in wrong:
        zone.add("@", "TXT", txt(_spf(agency, platform.spf_include, wrong, zone)))
    if "spf-two-records" in wrong:
        zone.add("@", "TXT", txt("v=spf1 mx -all"))
    zone.add("@", "TXT", txt(f"google-site-verification={agency.id}"))
    for selector, key in keys.items():
        owner = f"{selector}._domainkey"
        if "dkim-missing" in wrong:
            continue
        if "dkim-cname" in wrong:
            zone.add(owner, "CNAME", f"{selector}._domainkey.{pdomain}.")
            continue
        kind, value = key.kind, key.p
        if "dkim-revoked" in wrong:
            value = ""
        elif "dkim-weak" in wrong:
            kind, value = "rsa", rsa_public_key_b64(1024)
        elif "dkim-mismatch" in wrong:
            kind, value = "rsa", rsa_public_key_b64(2048)
        flags = "; t=y" if "dkim-testing" in wrong else ""
        zone.add(owner, "TXT", txt(f"v=DKIM1; k={kind}{flags}; p={value}"))
    if "dmarc-missing" not in wrong:
        zone.add("_dmarc", "TXT", txt(_dmarc(config, wrong)))
    if "dmarc-two-records" in wrong:
        zone.add("_dmarc", "TXT", txt("v=DMARC1; p=none"))


def _spf(agency: Agency, include: str, wrong: set[str], zone: Zone) -> str:
    if "spf-syntax" in wrong:
        return f"v=spf1 include:{include} mxx -all"
    if "spf-too-many-lookups" in wrong:
        for i in range(11):
            zone.add(f"_s{i}", "TXT", txt(f"v=spf1 ip4:198.51.100.{i + 1} -all"))
        return "v=spf1 " + " ".join(f"include:_s{i}.{agency.domain}" for i in range(11)) + f" include:{include} -all"
    if "spf-no-include" in wrong:
        return "v=spf1 mx -all"
    ending = "~all" if "spf-softfail" in wrong else "?all" if "spf-neutral" in wrong else "-all"
    return f"v=spf1 include:{include} {ending}"


def _dmarc(config: Config, wrong: set[str]) -> str:
    policy = "none" if "dmarc-none" in wrong else "reject"
    tags = [f"v=DMARC1; p={policy}"]
    if "dmarc-pct" in wrong:
        tags.append("pct=50")
    rua = config.platform.dmarc.rua
    if "dmarc-external-rua" in wrong:
        tags.append(f"rua=mailto:reports@{EXTERNAL_RUA_DOMAIN}")
    elif rua and "dmarc-no-rua" not in wrong:
        tags.append(f"rua={rua}")
    return "; ".join(tags)
