"""Configuration and zones for the DNS tests: one agency per rule, zones served by the lab Knot."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from .configs import DIRECTORY

# agency id -> lab faults (lab/zones.py); the domain is ID.go.id
FAULTS: dict[str, list[str]] = {
    "lulus": [],
    "mx-luar": ["mx-outside"], "mx-null": ["null-mx"], "mx-kosong": ["no-mx"], "mx-sebagian": ["mx-partial"],
    "tidak-ada": ["nxdomain"], "rusak": ["servfail"],
    "spf-kosong": ["spf-missing"], "spf-soft": ["spf-softfail"], "spf-netral": ["spf-neutral"],
    "spf-tanpa-include": ["spf-no-include"], "spf-dua": ["spf-two-records"], "spf-limit": ["spf-too-many-lookups"],
    "spf-sintaks": ["spf-syntax"],
    "dkim-kosong": ["dkim-missing"], "dkim-cabut": ["dkim-revoked"], "dkim-lain": ["dkim-mismatch"],
    "dkim-cname": ["dkim-cname"], "dkim-uji": ["dkim-testing"],
    "dmarc-none": ["dmarc-none"], "dmarc-pct": ["dmarc-pct"], "dmarc-tanpa-rua": ["dmarc-no-rua"],
    "dmarc-dua": ["dmarc-two-records"], "dmarc-luar": ["dmarc-external-rua"], "dmarc-kosong": ["dmarc-missing"],
    "lambat": [],  # every query for it is swallowed by the relay: timeouts
    # records written by hand in extra_records()
    "dkim-lemah": [], "dkim-pendek": [], "dkim-ed25519": [], "dkim-v-salah": [], "dmarc-p-salah": [],
    "dmarc-sp": [], "dkim-sintaks": [], "dkim-ed-pendek": [], "dkim-bukan-rsa": [], "dkim-dua": [],
    "dmarc-sintaks": [], "dmarc-pct-salah": [], "dmarc-sp-salah": [], "dmarc-rua-lambat": [],
    "dkim-hash": [], "dkim-layanan": [], "dkim-hash-ok": [], "spf-kutip": [], "dmarc-kecil": [],
    "mx-titik": [], "dkim-titik": [], "dkim-potong": [], "dkim-pem": [], "dkim-kutip": [],
    "dmarc-tanpa-mailto": [], "spf-include-lambat": [], "spf-include-hilang": [], "dmarc-rua-sendiri": [],
    "dinas-turunan": ["dmarc-missing"],
    "dinas-kecil": [],  # its own record in lower case, ignored: induk.go.id's policy applies
    "dkim-ganda": [], "dmarc-ganda": [], "spf-ganda": [],
}
#: an agency on a subdomain; the lab gives its organizational domain (induk.go.id) the DMARC policy
SUBDOMAIN_AGENCY = ("dinas-turunan", "dinas.induk.go.id")
#: agencies whose domain is not ID.go.id
DOMAINS = dict([SUBDOMAIN_AGENCY, ("dinas-kecil", "kecil.induk.go.id")])


def rsa_key(bits: int) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def tiny_rsa_key(bits: int = 768) -> str:
    """An RSA public key shorter than anything cryptography will generate (DER written by hand)."""

    def der_int(n: int) -> bytes:
        body = n.to_bytes(n.bit_length() // 8 + 1, "big")
        return b"\x02" + length(len(body)) + body

    def length(n: int) -> bytes:
        return bytes((n,)) if n < 0x80 else bytes((0x81, n)) if n < 0x100 else b"\x82" + n.to_bytes(2, "big")

    modulus = (1 << (bits - 1)) | 0xC3A5 | 1
    pkcs1 = der_int(modulus) + der_int(65537)
    pkcs1 = b"\x30" + length(len(pkcs1)) + pkcs1
    algorithm = bytes.fromhex("300d06092a864886f70d0101010500")
    bitstring = b"\x03" + length(len(pkcs1) + 1) + b"\x00" + pkcs1
    spki = b"\x30" + length(len(algorithm) + len(bitstring)) + algorithm + bitstring
    return base64.b64encode(spki).decode()


def ed25519_key() -> str:
    raw = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(serialization.Encoding.Raw,
                                                                        serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def write_dns_config(folder: Path, checks: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mmd2026.pub").write_text(f"v=DKIM1; k=rsa; p={PLATFORM_KEY}\n")
    agencies = [(aid, DOMAINS.get(aid, f"{aid}.go.id")) for aid in FAULTS]
    lines = [
        "platform:",
        "  name: Layanan Mail Multi Domain",
        "  mx: [mx1.mail.go.id, mx2.mail.go.id]",
        '  sending_ips: [203.0.113.10, "2001:db8::10"]',
        "  spf_include: _spf.mail.go.id",
        # cadangan has no configured key: key sizes are judged there, the key itself at mmd2026
        "  dkim: {selectors: [mmd2026, cadangan], public_keys: {mmd2026: mmd2026.pub}, min_key_bits: 2048}",
        '  dmarc: {min_policy: quarantine, rua: "mailto:dmarc@mail.go.id"}',
        "  webmail_url: https://webmail.mail.go.id",
        "  imap_host: imap.mail.go.id",
        "  smtp_host: smtp.mail.go.id",
        checks,
        DIRECTORY,
        "agencies:",
    ]
    for aid, domain in agencies:
        lines += [f"  - id: {aid}", f"    name: Instansi {aid}", f"    domain: {domain}"]
    path = folder / "domains.yaml"
    path.write_text("\n".join(line for line in lines if line) + "\n")
    return path


def extra_zones() -> dict[str, list[tuple[str, str, str]]]:
    """Whole zones for the rules the lab's faults do not cover (they replace the generated ones)."""
    from lab.zones import txt

    def zone(cadangan: str, dmarc: str = "v=DMARC1; p=reject; rua=mailto:dmarc@mail.go.id",
             spf: str = "v=spf1 include:_spf.mail.go.id -all") -> list[tuple[str, str, str]]:
        return [("@", "MX", "10 mx1.mail.go.id."), ("@", "MX", "20 mx2.mail.go.id."), ("@", "TXT", txt(spf)),
                ("mmd2026._domainkey", "TXT", txt(f"v=DKIM1; k=rsa; p={PLATFORM_KEY}")),
                ("cadangan._domainkey", "TXT", txt(cadangan)), ("_dmarc", "TXT", txt(dmarc))]

    good = f"v=DKIM1; k=rsa; p={BACKUP_KEY}"
    platform = f"v=DKIM1; k=rsa; p={PLATFORM_KEY}"

    def platform_key_as(records: list[tuple[str, str, str]], text: str) -> list[tuple[str, str, str]]:
        return [r for r in records if r[0] != "mmd2026._domainkey"] + [("mmd2026._domainkey", "TXT", txt(text))]
    return {
        "dkim-lemah.go.id": zone(f"v=DKIM1; p={tiny_rsa_key()}"),
        "dkim-pendek.go.id": zone(f"v=DKIM1; k=rsa; p={rsa_key(1024)}"),
        "dkim-ed25519.go.id": zone(f"v=DKIM1; k=ed25519; p={ed25519_key()}"),
        "dkim-v-salah.go.id": zone(f"k=rsa; v=DKIM1; p={BACKUP_KEY}"),
        "dmarc-p-salah.go.id": zone(good, "v=DMARC1; p=tolak"),
        "dmarc-sp.go.id": zone(good, "v=DMARC1; p=reject; sp=none; rua=mailto:dmarc@mail.go.id"),
        "dkim-sintaks.go.id": zone(f"v=DKIM1; k=rsa; p={BACKUP_KEY}; t"),
        "dkim-ed-pendek.go.id": zone(f"v=DKIM1; k=ed25519; p={base64.b64encode(bytes(16)).decode()}"),
        "dkim-bukan-rsa.go.id": zone(f"v=DKIM1; k=rsa; p={base64.b64encode(b'not a key, just bytes').decode()}"),
        "dkim-dua.go.id": [*zone(good), ("cadangan._domainkey", "TXT", txt(f"v=DKIM1; k=rsa; p={PLATFORM_KEY}"))],
        "dkim-hash.go.id": zone(f"v=DKIM1; k=rsa; h=sha1; p={BACKUP_KEY}"),
        "dkim-layanan.go.id": zone(f"v=DKIM1; k=rsa; s=tlsrpt; p={BACKUP_KEY}"),
        "dkim-hash-ok.go.id": zone(f"v=DKIM1; k=rsa; h=sha1:SHA256; s=email:tlsrpt; p={BACKUP_KEY}"),
        "dmarc-sintaks.go.id": zone(good, "v=DMARC1; p=reject; rua=mailto:dmarc@mail.go.id; fo"),
        "dmarc-pct-salah.go.id": zone(good, "v=DMARC1; p=reject; pct=150; rua=mailto:dmarc@mail.go.id"),
        "dmarc-sp-salah.go.id": zone(good, "v=DMARC1; p=reject; sp=tolak; rua=mailto:dmarc@mail.go.id"),
        # the authorization of the second report address is asked of a name whose answers never come
        "dmarc-rua-lambat.go.id": zone(good, "v=DMARC1; p=reject; rua=mailto:dmarc@mail.go.id,mailto:r@lambat.go.id"),
        # records meant right that receivers ignore: a zone editor that kept the quotes, a policy in lower case
        "spf-kutip.go.id": zone(good, spf='"v=spf1 include:_spf.mail.go.id -all"'),
        "dmarc-kecil.go.id": zone(good, "v=dmarc1; p=reject; rua=mailto:dmarc@mail.go.id"),
        "kecil.induk.go.id": zone(good, "v=dmarc1; p=reject; rua=mailto:dmarc@mail.go.id"),
        # names written in full without their final dot: the zone's name is appended to them
        "dkim-ganda.go.id": [(f"{n}.dkim-ganda.go.id" if n == "mmd2026._domainkey" else n, t, v)
                             for n, t, v in zone(good)],
        "dmarc-ganda.go.id": [("_dmarc.dmarc-ganda.go.id" if n == "_dmarc" else n, t, v) for n, t, v in zone(good)],
        "spf-ganda.go.id": [("spf-ganda.go.id" if t == "TXT" and n == "@" else n, t, v) for n, t, v in zone(good)],
        "dmarc-tanpa-mailto.go.id": zone(good, "v=DMARC1; p=reject; rua=dmarc@mail.go.id"),
        # the platform's addresses pass at the first include; only the outside address goes on to a second
        # provider's, which never answers or no longer exists
        "spf-include-lambat.go.id": zone(good, spf="v=spf1 include:_spf.mail.go.id include:lambat.go.id -all"),
        "spf-include-hilang.go.id": zone(good, spf="v=spf1 include:_spf.mail.go.id include:tidak-ada.go.id -all"),
        # reports also to the agency's own address: its own domain needs no authorization record
        "dmarc-rua-sendiri.go.id": zone(good, "v=DMARC1; p=reject; rua=mailto:dmarc@mail.go.id,"
                                              "mailto:postmaster@dmarc-rua-sendiri.go.id"),
        # the zone file's first MX line lacks its final dot: Knot appends the origin, as BIND would
        "mx-titik.go.id": [("@", "MX", "10 mx1.mail.go.id"), *zone(good)[1:]],
        # and the alias of a selector kept by the platform, written the same way
        "dkim-titik.go.id": [*(r for r in zone(good) if r[0] != "cadangan._domainkey"),
                             ("cadangan._domainkey", "CNAME", "cadangan._domainkey.mail.go.id")],
        # the platform's key record as DNS panels mangle it: cut at 255 characters, given with its PEM lines,
        # given as the zone file's quoted strings
        "dkim-potong.go.id": platform_key_as(zone(good), platform[:255]),
        "dkim-pem.go.id": platform_key_as(zone(good), f"v=DKIM1; k=rsa; p=-----BEGIN PUBLIC KEY-----{PLATFORM_KEY}"
                                                      "-----END PUBLIC KEY-----"),
        "dkim-kutip.go.id": platform_key_as(zone(good), f'"{platform[:200]}" "{platform[200:]}"'),
    }


PLATFORM_KEY = rsa_key(2048)
BACKUP_KEY = rsa_key(2048)


def bad_soa_signature(origin: str) -> list[tuple[str, str, str]]:
    """DNSKEY and RRSIG records for a zone that is signed but does not validate: the DNSKEY set is signed
    correctly, the SOA's signature was made over another serial than the one lab.zones serves (1).

    Knot serves a zone file's RRSIGs as they are written (a pre-signed zone), so the resolver gets them."""
    import dns.dnssec
    import dns.dnssectypes
    import dns.name
    import dns.rrset

    key = ed25519.Ed25519PrivateKey.generate()
    name = dns.name.from_text(origin)
    dnskey = dns.dnssec.make_dnskey(key.public_key(), dns.dnssectypes.Algorithm.ED25519, flags=257)
    keys = dns.rrset.from_rdata(name, 300, dnskey)
    other_soa = dns.rrset.from_text(name, 300, "IN", "SOA",
                                    "ns1.lab.invalid. hostmaster.lab.invalid. 2 3600 600 86400 300")
    return [("@", "DNSKEY", dnskey.to_text()),
            ("@", "RRSIG", dns.dnssec.sign(keys, key, name, dnskey, lifetime=86400).to_text()),
            ("@", "RRSIG", dns.dnssec.sign(other_soa, key, name, dnskey, lifetime=86400).to_text())]
