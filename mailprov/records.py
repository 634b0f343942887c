"""The exact DNS records an agency must publish, in zone-file syntax.

``mailprov dns records DOMAIN`` prints this and the agency letter quotes the
same text, so what the agency is told and what ``dns check`` expects never
drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Platform

TTL = 3600

#: the zone text's comments, in the language of the letter (or mail) that quotes it
COMMENTS = {
    "id": {
        "header": "Record DNS untuk {domain} pada {platform}",
        "mx": "email untuk domain ini diterima oleh platform",
        "spf": "SPF: hanya platform yang mengirim email atas nama domain ini",
        "dkim": "kunci DKIM selector {selector}",
        "dkim-cname": "kunci DKIM selector {selector}, dikelola oleh platform",
        "dmarc": "kebijakan DMARC",
        "tls-rpt": "TLS-RPT: laporan kegagalan TLS",
        "platform-header": "Record DNS zona platform {platform}: yang dirujuk record setiap instansi",
        "platform-spf": "include SPF yang disebut record SPF setiap instansi: alamat pengirim platform",
        "platform-dkim-unknown": "{name}: terbitkan di sini kunci publik selector {selector} dari penanda tangan "
                                 "DKIM platform (tidak ada di domains.yaml)",
        "platform-rua": "{domain} menerima laporan DMARC untuk setiap domain instansi (RFC 7489 bagian 7.1)",
    },
    "en": {
        "header": "DNS records for {domain} on {platform}",
        "mx": "mail for the domain goes to the platform",
        "spf": "SPF: only the platform sends for the domain",
        "dkim": "DKIM key of selector {selector}",
        "dkim-cname": "DKIM key of selector {selector}, kept by the platform",
        "dmarc": "DMARC policy",
        "tls-rpt": "TLS-RPT: reports of TLS failures",
        "platform-header": "DNS records of the zone of {platform}: what every agency's records point at",
        "platform-spf": "the SPF include every agency's SPF record names: the platform's sending addresses",
        "platform-dkim-unknown": "{name}: publish here the public key of selector {selector} from the "
                                 "platform's DKIM signer (not in domains.yaml)",
        "platform-rua": "{domain} takes DMARC reports for every agency's domain (RFC 7489 section 7.1)",
    },
}


@dataclass(frozen=True)
class Record:
    """One DNS record an agency must publish, with the comment that says why."""
    name: str
    rtype: str
    value: str
    comment: str = ""

    def zone_line(self, ttl: int = TTL) -> str:
        data = txt_rdata(self.value) if self.rtype == "TXT" else self.value
        return f"{self.name}. {ttl} IN {self.rtype} {data}"


def txt_rdata(value: str) -> str:
    """TXT rdata: the value as quoted strings of at most 255 bytes each."""
    raw = value.encode("utf-8")
    parts = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
    quoted = []
    for part in parts:
        text = part.decode("utf-8", "replace").replace("\\", "\\\\").replace('"', '\\"')
        quoted.append(f'"{text}"')
    return " ".join(quoted)


def platform_domain(platform: Platform) -> str:
    """The platform's own zone, the parent of its SPF include (``_spf.mail.go.id`` -> ``mail.go.id``)."""
    return platform.spf_include.split(".", 1)[1]


def dkim_name(selector: str, domain: str) -> str:
    """Where a selector's DKIM key is published under ``domain`` (RFC 6376 section 3.6.2.1)."""
    return f"{selector}._domainkey.{domain}"


def dmarc_name(domain: str) -> str:
    """Where ``domain``'s DMARC policy is published (RFC 7489 section 6.1)."""
    return f"_dmarc.{domain}"


def tls_rpt_name(domain: str) -> str:
    """Where ``domain``'s TLS-RPT record is published (RFC 8460 section 3)."""
    return f"_smtp._tls.{domain}"


def mta_sts_name(domain: str) -> str:
    """Where ``domain``'s MTA-STS record is published (RFC 8461 section 3.1)."""
    return f"_mta-sts.{domain}"


def mx_records(platform: Platform) -> list[str]:
    return [f"{10 * (i + 1)} {host}." for i, host in enumerate(platform.mx)]


def spf_value(platform: Platform) -> str:
    return f"v=spf1 include:{platform.spf_include} -all"


def include_value(platform: Platform) -> str:
    """The record at the SPF include every agency names: the platform's sending addresses, nothing else."""
    mechanisms = [("ip6:" if ":" in ip else "ip4:") + ip for ip in platform.sending_ips]
    return " ".join(["v=spf1", *mechanisms, "-all"])


def dmarc_value(platform: Platform) -> str:
    policy = platform.dmarc.min_policy
    value = f"v=DMARC1; p={policy}"
    if platform.dmarc.rua:
        value += f"; rua={platform.dmarc.rua}"
    return value


def rua_domains(rua: str) -> list[str]:
    """The domains of the mailto: URIs of a rua tag (a '!size' suffix is dropped)."""
    domains = []
    for part in rua.split(","):
        uri = part.strip()
        if uri.lower().startswith("mailto:"):
            address = uri[7:].split("!", 1)[0]
            domains.append(address.rpartition("@")[2].lower().rstrip("."))
    return domains


def required_records(platform: Platform, domain: str, lang: str = "id") -> list[Record]:
    say = COMMENTS[lang]
    records = [Record(domain, "MX", mx, say["mx"]) for mx in mx_records(platform)]
    records.append(Record(domain, "TXT", spf_value(platform), say["spf"]))
    for selector in platform.dkim.selectors:
        name = dkim_name(selector, domain)
        key = platform.dkim.public_keys.get(selector)
        if key:
            records.append(Record(name, "TXT", key.record, say["dkim"].format(selector=selector)))
        else:
            target = dkim_name(selector, platform_domain(platform)) + "."
            records.append(Record(name, "CNAME", target, say["dkim-cname"].format(selector=selector)))
    records.append(Record(dmarc_name(domain), "TXT", dmarc_value(platform), say["dmarc"]))
    if "tls-rpt" in platform.checks and platform.dmarc.rua:
        records.append(Record(tls_rpt_name(domain), "TXT", f"v=TLSRPTv1; rua={platform.dmarc.rua}",
                              say["tls-rpt"]))
    return records


def zone_text(platform: Platform, domain: str, lang: str = "id") -> str:
    """The records with comments in ``lang``: what ``dns records`` prints and the letters and mails quote."""
    lines = ["; " + COMMENTS[lang]["header"].format(domain=domain, platform=platform.name)]
    for record in required_records(platform, domain, lang):
        if record.comment:
            lines.append(f"; {record.comment}")
        lines.append(record.zone_line())
    return "\n".join(lines) + "\n"


def platform_zone_text(platform: Platform, lang: str = "id") -> str:
    """What the platform's own zones must hold for the agencies' records to work, in zone-file syntax.

    The SPF include every agency names, the DKIM keys behind the agencies'
    CNAMEs (selectors without a configured key), and the RFC 7489 authorization
    that lets the platform's report address receive every agency's DMARC
    reports; without it every agency's DMARC check warns.
    """
    say = COMMENTS[lang]
    lines = ["; " + say["platform-header"].format(platform=platform.name), "; " + say["platform-spf"]]
    lines.append(Record(platform.spf_include, "TXT", include_value(platform)).zone_line())
    for selector in platform.dkim.selectors:
        if platform.dkim.public_keys.get(selector):
            continue  # agencies publish that key themselves (their TXT record)
        name = dkim_name(selector, platform_domain(platform))
        lines.append("; " + say["platform-dkim-unknown"].format(name=name, selector=selector))
    for domain in dict.fromkeys(rua_domains(platform.dmarc.rua or "")):
        lines.append("; " + say["platform-rua"].format(domain=domain))
        lines.append(Record(f"*._report._dmarc.{domain}", "TXT", "v=DMARC1").zone_line())
    return "\n".join(lines) + "\n"
