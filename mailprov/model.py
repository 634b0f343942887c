"""Typed model of a validated configuration.

Everything here is plain, immutable data: the loader in ``config`` builds it
only after every check passed, so code that receives a ``Config`` never has to
re-validate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CHECKS = ("mx", "spf", "dkim", "dmarc")
EXTENDED_CHECKS = ("mta-sts", "tls-rpt", "dnssec")
DMARC_POLICIES = ("none", "quarantine", "reject")
#: the languages of letters, reasons and reports: Bahasa Indonesia first
LANGUAGES = ("id", "en")
#: how an operator's message names each language
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}


@dataclass(frozen=True)
class Source:
    """Where a piece of configuration was written (for messages)."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class DkimKey:
    """A platform public key as agencies publish it: its type (``k=``) and its base64 (``p=``)."""

    kind: str  # rsa | ed25519
    p: str
    #: an RSA key's size, read with the key (None for Ed25519)
    rsa_bits: int | None = None

    @property
    def record(self) -> str:
        return f"v=DKIM1; k={self.kind}; p={self.p}"


@dataclass(frozen=True)
class DkimPolicy:
    """The platform's DKIM selectors, their public keys and the smallest key agencies may publish."""
    selectors: tuple[str, ...]
    #: selector -> the key read from its key file
    public_keys: dict[str, DkimKey] = field(default_factory=dict)
    min_key_bits: int = 2048


@dataclass(frozen=True)
class DmarcPolicy:
    """The weakest DMARC policy agencies may publish, and where aggregate reports go."""
    min_policy: str = "quarantine"
    rua: str | None = None


@dataclass(frozen=True)
class Platform:
    """The central mail service every agency's DNS must point at."""
    name: str
    mx: tuple[str, ...]
    sending_ips: tuple[str, ...]
    spf_include: str
    dkim: DkimPolicy
    dmarc: DmarcPolicy
    webmail_url: str
    imap_host: str
    smtp_host: str
    checks: tuple[str, ...] = DEFAULT_CHECKS
    imap_port: int = 993
    smtp_port: int = 587
    #: the address outside the platform that SPF must reject (DESIGN.md)
    outside_ip: str = "192.0.2.1"


@dataclass(frozen=True)
class ProfileSpec:
    """A directory profile written in YAML (object classes + attribute map)."""

    domain_rdn: str
    domain_object_classes: tuple[str, ...]
    domain_attributes: dict[str, str]
    domain_static: dict[str, tuple[str, ...]]
    mailbox_rdn: str
    mailbox_object_classes: tuple[str, ...]
    mailbox_attributes: dict[str, str]
    mailbox_static: dict[str, tuple[str, ...]]
    mailbox_container: str | None
    status: dict[str, str]
    quota_unit: str


@dataclass(frozen=True)
class DirectorySettings:
    """Where the LDAP directory is, how to bind to it, and the profile of its entries."""
    urls: tuple[str, ...]
    base_dn: str
    bind_dn: str
    bind_password_env: str | None = "MAILPROV_BIND_PASSWORD"
    bind_password_file: str | None = None
    start_tls: bool = False
    ca_file: str | None = None
    #: an explicit ``false`` turns certificate checks off (with a warning)
    tls_verify: bool = True
    profile: str | ProfileSpec = "inetorgperson"
    #: "server" = RFC 3062 Password Modify; "server-add" = the server hashes the password an add carries;
    #: "ssha512"/"argon2" hash client-side
    password_scheme: str = "server"
    password_length: int = 16
    page_size: int = 1000
    timeout: float = 10.0


@dataclass(frozen=True)
class Defaults:
    """Values a mailbox or agency takes when the file does not give its own."""
    quota_mb: int = 2048
    language: str = "id"


@dataclass(frozen=True)
class Contact:
    """The person at an agency its letters and notifications go to."""
    name: str
    title: str = ""
    email: str = ""


@dataclass(frozen=True)
class Mailbox:
    """One mailbox of an agency, as the file lists it."""
    local: str
    domain: str
    name: str
    title: str = ""
    employee_id: str = ""
    quota_mb: int = 2048
    aliases: tuple[str, ...] = ()
    active: bool = True
    source: Source | None = None

    @property
    def address(self) -> str:
        return f"{self.local}@{self.domain}"

    @property
    def names(self) -> tuple[str, str]:
        """``(given_name, surname)`` from one reading of the name."""
        parts = name_parts(self.name)
        # Many Indonesians have a single name; the sn attribute is required,
        # so a single name is used whole.
        return (" ".join(parts[:-1]) if len(parts) > 1 else ""), (parts[-1] if parts else self.local)

    @property
    def given_name(self) -> str:
        return self.names[0]

    @property
    def surname(self) -> str:
        return self.names[1]


#: titles written before a name in Indonesian government staff lists (Haji, doctor, engineer, professor...);
#: an abbreviation not listed (``M.`` for Muhammad) is part of the name
NAME_PREFIXES = frozenset({"dr.", "drs.", "dra.", "drg.", "ir.", "h.", "hj.", "prof.", "kh.", "ust.", "apt.", "ns."})


def name_parts(name: str) -> list[str]:
    """The words of a person's name without the titles around it, for ``sn`` and ``givenName``.

    Staff lists write degrees after a comma (``Drs. H. Aminuddin, M.Si.``) and
    honorifics before the name; an address book sorted by ``sn`` should not
    file half the staff under ``M.Si.``. The full name (``cn``) keeps them.
    """
    words = name.split(",", 1)[0].split()
    while len(words) > 1 and words[0].lower() in NAME_PREFIXES:
        words = words[1:]
    return words or name.split()


@dataclass(frozen=True)
class Agency:
    """A government agency, its domain and its mailboxes."""
    id: str
    name: str
    domain: str
    #: the domain as the agency writes it (Unicode for an IDN)
    domain_display: str
    contact: Contact
    quota_mb: int
    language: str
    mailboxes: tuple[Mailbox, ...]
    city: str = ""
    address: str = ""
    source: Source | None = None


@dataclass(frozen=True)
class Notify:
    """How the nightly run mails what changed: the SMTP server, the sender and who is told."""
    smtp_host: str
    smtp_port: int = 25
    starttls: bool = False
    sender: str = ""
    to: tuple[str, ...] = ()
    agency_contacts: bool = False
    username: str | None = None
    password_env: str | None = None
    #: TLS from the first byte (SMTPS, port 465), where ``starttls`` upgrades a plain session (587, 25)
    implicit_tls: bool = False
    #: the CA that signed the relay's certificate (None: the system's CAs), as ``directory.ca_file`` for LDAP
    ca_file: str | None = None


@dataclass(frozen=True)
class Signatory:
    """The official who signs the letters."""
    name: str
    title: str
    nip: str = ""


@dataclass(frozen=True)
class LetterSettings:
    """Letterhead and numbering of the letters the platform sends."""

    organization: str = "Layanan Mail Multi Domain"
    unit: str = ""
    address: str = ""
    phone: str = ""
    website: str = ""
    place: str = "Jakarta"
    #: the IANA time zone of ``place``: a letter carries the local day it is signed on (a letter
    #: written at 06:00 WIB is still the previous day in UTC), and times are shown in it
    timezone: str = "Asia/Jakarta"
    number_code: str = "MMD"
    signatory: Signatory = Signatory(name="", title="")


@dataclass(frozen=True)
class Config:
    """The whole validated domains.yaml."""
    path: Path
    platform: Platform
    directory: DirectorySettings
    defaults: Defaults
    agencies: tuple[Agency, ...]
    notify: Notify | None = None
    letters: LetterSettings = LetterSettings()

    def agency(self, agency_id: str) -> Agency | None:
        for agency in self.agencies:
            if agency.id == agency_id:
                return agency
        return None

    def agency_for_domain(self, domain: str) -> Agency | None:
        domain = domain.rstrip(".").lower()
        for agency in self.agencies:
            if agency.domain == domain:
                return agency
        return None

    @property
    def mailbox_count(self) -> int:
        return sum(len(a.mailboxes) for a in self.agencies)

    def short_platform_keys(self) -> list[tuple[str, int]]:
        """Configured RSA keys below ``min_key_bits`` (selector, bits): every agency that publishes one is warned."""
        dkim = self.platform.dkim
        sizes = [(selector, key.rsa_bits) for selector, key in sorted(dkim.public_keys.items())]
        return [(selector, bits) for selector, bits in sizes if bits is not None and bits < dkim.min_key_bits]

    def shared_employee_ids(self) -> list[tuple[str, list[Mailbox]]]:
        """Employee numbers (NIP) given to mailboxes of different people, in file order: a NIP is one civil
        servant's, so two names under one is a copy-and-paste slip in a staff list (one person's two mailboxes,
        under one name, are fine). Names are compared without titles and case."""
        holders: dict[str, list[Mailbox]] = {}
        for agency in self.agencies:
            for mailbox in agency.mailboxes:
                if mailbox.employee_id:
                    holders.setdefault(mailbox.employee_id, []).append(mailbox)
        return [(number, found) for number, found in holders.items()
                if len(found) > 1 and len({" ".join(name_parts(m.name)).casefold() for m in found}) > 1]

    def doubtful_nips(self) -> list[tuple[Mailbox, str]]:
        """Mailboxes whose 18-digit ``employee_id`` cannot be a NIP, with why (``reader.nip_doubt``)."""
        from .reader import nip_doubt

        return [(mailbox, why) for agency in self.agencies for mailbox in agency.mailboxes
                if mailbox.employee_id and (why := nip_doubt(mailbox.employee_id))]

    def unprovisioned_contacts(self, aliases: bool) -> list[Agency]:
        """Agencies whose ``contact.email`` is in their own domain but no mailbox (or alias, where the profile
        stores ``aliases``) of theirs here: once the domain's mail comes to the platform, mail to the contact
        (the nightly notices too) bounces."""
        from .addresses import AddressError, to_a_label

        found = []
        for agency in self.agencies:
            local, _, domain = agency.contact.email.rpartition("@")
            try:
                if not local or to_a_label(domain) != agency.domain:
                    continue
            except AddressError:
                continue
            address = f"{local.lower()}@{agency.domain}"
            if not any(address == m.address or (aliases and address in m.aliases) for m in agency.mailboxes):
                found.append(agency)
        return found

    @property
    def agencies_without_contact(self) -> list[str]:
        """Agencies ``--notify`` is to write to (``notify.agency_contacts``) that have no ``contact.email``."""
        if self.notify is None or not self.notify.agency_contacts:
            return []
        return [agency.id for agency in self.agencies if not agency.contact.email]
