"""Directory profiles: how the model maps onto LDAP object classes and attributes.

A profile turns an agency into the attributes of its domain entry and a
mailbox into the attributes of its mailbox entry, and knows how the
directory says "this account is disabled". It is pure data and pure
functions, so the plan diff can be tested without a server.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from .ldapnames import rdn
from .model import Agency, Mailbox, ProfileSpec

#: fields of a mailbox a profile can map onto attributes
MAILBOX_FIELDS = (
    "address", "local", "name", "surname", "given_name", "title",
    "employee_id", "agency", "quota", "aliases", "display_name",
)
#: fields of an agency a profile can map onto its domain entry's attributes
DOMAIN_FIELDS = ("domain", "name", "agency_id")
QUOTA_UNITS = ("bytes", "kb", "mb")
#: how many of each unit make one MiB
_QUOTA_FACTORS = {"bytes": 1024 * 1024, "kb": 1024, "mb": 1}

#: RFC 4517 GeneralizedTime that ppolicy treats as "locked until unlocked by
#: an administrator" (the value OpenLDAP's own tools write)
PPOLICY_PERMANENT_LOCK = "000001010000Z"
PPOLICY_LOCK_ATTR = "pwdAccountLockedTime"
#: set by the ppolicy overlay whenever a password is set; readable where userPassword may not be
PASSWORD_CHANGED = "pwdChangedTime"


@dataclass(frozen=True)
class Profile:
    """How domains and mailboxes are written as LDAP entries: classes, names and attributes."""
    name: str
    domain_rdn: str
    domain_object_classes: tuple[str, ...]
    domain_attributes: Mapping[str, str]
    mailbox_rdn: str
    mailbox_object_classes: tuple[str, ...]
    mailbox_attributes: Mapping[str, str]
    domain_static: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    mailbox_static: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: an intermediate entry between domain and mailboxes, e.g. ``ou=Users``
    mailbox_container: str | None = None
    #: attribute holding the account status, with its two values; None means
    #: the ppolicy lock (``pwdAccountLockedTime``) is the status
    status_attribute: str | None = None
    status_active: str = "active"
    status_disabled: str = "disabled"
    quota_unit: str = "bytes"

    # -- what the profile stores ------------------------------------------
    @property
    def stores_quota(self) -> bool:
        return "quota" in self.mailbox_attributes

    @property
    def stores_aliases(self) -> bool:
        return "aliases" in self.mailbox_attributes

    @property
    def status_attr(self) -> str:
        return self.status_attribute or PPOLICY_LOCK_ATTR

    def mailbox_read_attributes(self) -> list[str]:
        """Every attribute plan must read to compare a mailbox entry."""
        # pwdChangedTime (ppolicy's, when the server runs it): a password set that the bind DN may not read
        names = {"objectClass", self.mailbox_rdn, self.status_attr, "userPassword", PASSWORD_CHANGED}
        names.update(self.mailbox_attributes.values())
        names.update(self.mailbox_static)
        return sorted(names, key=str.lower)

    def domain_read_attributes(self) -> list[str]:
        names = {"objectClass", self.domain_rdn, *self.domain_attributes.values(), *self.domain_static}
        return sorted(names, key=str.lower)

    @property
    def mailbox_class(self) -> str:
        """The object class that marks an entry as a mailbox (searched for by plan)."""
        return self.mailbox_object_classes[-1]

    @property
    def domain_class(self) -> str:
        return self.domain_object_classes[-1]

    # -- names -----------------------------------------------------------------
    def domain_dn(self, base_dn: str, domain: str) -> str:
        # asked once per mailbox by a plan (its parent): escaped once per domain
        key = (base_dn, domain)
        dn = self._domain_dns.get(key)
        if dn is None:
            dn = self._domain_dns[key] = f"{rdn(self.domain_rdn, domain)},{base_dn}"
        return dn

    @cached_property
    def _domain_dns(self) -> dict[tuple[str, str], str]:
        return {}

    def mailbox_parent_dn(self, base_dn: str, domain: str) -> str:
        parent = self.domain_dn(base_dn, domain)
        return f"{self.mailbox_container},{parent}" if self.mailbox_container else parent

    def mailbox_dn(self, base_dn: str, mailbox: Mailbox, agency_name: str,
                   fields: Mapping[str, list[str]] | None = None) -> str:
        """``fields``: the mailbox's ``mailbox_fields``, when the caller has them already."""
        values = fields if fields is not None else self.mailbox_fields(mailbox, agency_name)
        fld = self.naming_field
        value = values[fld][0] if fld and values[fld] else mailbox.address
        return f"{rdn(self.mailbox_rdn, value)},{self.mailbox_parent_dn(base_dn, mailbox.domain)}"

    @cached_property
    def naming_field(self) -> str | None:
        """The field whose value names a mailbox entry (None: its address)."""
        return {attr.lower(): fld for fld, attr in self.mailbox_attributes.items()}.get(self.mailbox_rdn.lower())

    def container_entry(self) -> dict[str, list[str]]:
        """The entry between a domain and its mailboxes (``ou=Users``)."""
        assert self.mailbox_container
        attr, _, value = self.mailbox_container.partition("=")
        return {"objectClass": ["organizationalUnit"], attr: [value]}

    # -- quota ---------------------------------------------------------------
    def quota_value(self, quota_mb: int) -> str:
        return str(quota_mb * _QUOTA_FACTORS[self.quota_unit])

    def quota_mb(self, value: str) -> int | None:
        factor = _QUOTA_FACTORS[self.quota_unit]
        try:
            return int(value) // factor
        except ValueError:
            return None

    # -- entries -------------------------------------------------------------
    def domain_entry(self, agency: Agency) -> dict[str, list[str]]:
        values = {"domain": agency.domain, "name": agency.name, "agency_id": agency.id}
        attrs: dict[str, list[str]] = {"objectClass": list(self.domain_object_classes)}
        for fld, attr in self.domain_attributes.items():
            if values.get(fld):
                attrs[attr] = [values[fld]]
        attrs[self.domain_rdn] = [agency.domain]
        for attr, static in self.domain_static.items():
            attrs[attr] = list(static)
        return attrs

    def mailbox_fields(self, mailbox: Mailbox, agency_name: str) -> dict[str, list[str]]:
        given, surname = mailbox.names
        return {
            "address": [mailbox.address],
            "local": [mailbox.local],
            "name": [mailbox.name],
            "display_name": [mailbox.name],
            "surname": [surname],
            "given_name": [given] if given else [],
            "title": [mailbox.title] if mailbox.title else [],
            "employee_id": [mailbox.employee_id] if mailbox.employee_id else [],
            "agency": [agency_name] if agency_name else [],
            "quota": [self.quota_value(mailbox.quota_mb)],
            "aliases": list(mailbox.aliases),
        }

    def mailbox_entry(self, mailbox: Mailbox, agency_name: str,
                      fields: Mapping[str, list[str]] | None = None) -> dict[str, list[str]]:
        """The attributes a mailbox entry must have (without status and password)."""
        values = fields if fields is not None else self.mailbox_fields(mailbox, agency_name)
        attrs: dict[str, list[str]] = {"objectClass": list(self.mailbox_object_classes)}
        for fld, attr in self.mailbox_attributes.items():
            attrs[attr] = values[fld]
        for attr, static in self.mailbox_static.items():
            attrs[attr] = [_filled(value, mailbox) for value in static]
        if self.status_attribute:
            status = self.status_active if mailbox.active else self.status_disabled
            attrs[self.status_attribute] = [status]
        elif not mailbox.active:
            attrs[PPOLICY_LOCK_ATTR] = [PPOLICY_PERMANENT_LOCK]
        return attrs

    def is_active(self, entry: Mapping[str, list[str]]) -> bool:
        values = values_of(entry, self.status_attr)
        if self.status_attribute:
            return not values or values[0].lower() != self.status_disabled.lower()
        return PPOLICY_PERMANENT_LOCK not in values

    def lockout_since(self, entry: Mapping[str, list[str]]) -> str | None:
        """When ppolicy locked the account after failed logins (not a disable): ``YYYY-MM-DD HH:MM:SS UTC``."""
        if self.status_attribute:
            return None
        values = [v for v in values_of(entry, PPOLICY_LOCK_ATTR) if v != PPOLICY_PERMANENT_LOCK]
        if not values:
            return None
        t = values[0]
        if len(t) < 14 or not t[:14].isdigit():
            return t  # an odd value is shown as the server has it
        return f"{t[0:4]}-{t[4:6]}-{t[6:8]} {t[8:10]}:{t[10:12]}:{t[12:14]} UTC"

    def status_modification(self, active: bool) -> dict[str, list[str]]:
        """The attribute values that express ``active`` (empty list = delete)."""
        if self.status_attribute:
            return {self.status_attribute: [self.status_active if active else self.status_disabled]}
        return {PPOLICY_LOCK_ATTR: [] if active else [PPOLICY_PERMANENT_LOCK]}


#: what a mailbox's static value may name, for paths of its own (homeDirectory: /var/vmail/{domain}/{local}/)
STATIC_PLACEHOLDERS = ("local", "domain", "address")


def static_template_problem(value: str) -> str | None:
    """What is wrong with the placeholders of a mailbox's static value, if anything."""
    known = ", ".join(f"{{{name}}}" for name in STATIC_PLACEHOLDERS)
    try:
        fields = [(name, spec, conv) for _text, name, spec, conv in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:  # a lone brace
        return f"{exc} in '{value}' (write a brace itself as {{{{ or }}}})"
    for name, spec, conv in fields:
        if name not in STATIC_PLACEHOLDERS or spec or conv:
            return f"unknown placeholder in '{value}' (known: {known}; a brace itself is written {{{{ or }}}})"
    return None


def _filled(value: str, mailbox: Mailbox) -> str:
    if "{" not in value and "}" not in value:
        return value
    return value.format(local=mailbox.local, domain=mailbox.domain, address=mailbox.address)


def values_of(entry: Mapping[str, list[str]], attr: str | None) -> list[str]:
    """The values of ``attr`` in ``entry`` (attribute names are case-insensitive in LDAP)."""
    if not attr:
        return []
    lower = attr.lower()
    for key, values in entry.items():
        if key.lower() == lower:
            return values
    return []


#: how both built-in profiles map a mailbox onto the inetOrgPerson attributes
PERSON_ATTRIBUTES = {
    "address": "mail",
    "local": "uid",
    "name": "cn",
    "surname": "sn",
    "given_name": "givenName",
    "display_name": "displayName",
    "title": "title",
    "employee_id": "employeeNumber",
    "agency": "o",
}

INETORGPERSON = Profile(
    name="inetorgperson",
    domain_rdn="ou",
    domain_object_classes=("top", "organizationalUnit"),
    domain_attributes={"name": "description"},
    mailbox_rdn="uid",
    mailbox_object_classes=("top", "person", "organizationalPerson", "inetOrgPerson"),
    mailbox_attributes=PERSON_ATTRIBUTES,
)

# The object classes and attribute names of iRedMail's LDAP backend: domains
# as ``domainName=...`` (mailDomain), users as ``mail=...`` under ``ou=Users``
# (mailUser), ``accountStatus``, ``mailQuota`` in bytes, aliases in
# ``shadowAddress``, the services a user may use in ``enabledService``.
#
# What a stock iRedMail server needs of a new user beyond that, as iRedAdmin
# writes it: Dovecot's user query takes the mailbox's home from
# ``homeDirectory`` (no home, no delivery and no login), and finds a user by an
# alias only with the ``shadowaddress`` service; every Dovecot service asks for
# its own name in ``enabledService`` (``doveadm``, ``indexer-worker``, ``dsync``
# and so on). The storage path is ``/var/vmail/vmail1/DOMAIN/LOCAL/``
# (iRedAdmin's default storage, without its hashed folders and creation time:
# the path follows from the address alone, so the operator can say where a
# mailbox's mail is without asking the directory).
IREDMAIL_STORAGE = "/var/vmail"
#: a mailbox's store under IREDMAIL_STORAGE; its home is the two together, as iRedAdmin writes them
IREDMAIL_STORE = "vmail1/{domain}/{local}/"
IREDMAIL_SERVICES = (
    "mail", "deliver", "lda", "lmtp", "smtp", "smtpsecured", "submission",
    "pop3", "pop3secured", "imap", "imapsecured", "managesieve", "managesievesecured", "sieve", "sievesecured",
    "sogo", "forward", "senderbcc", "recipientbcc", "internal", "lib-storage", "indexer-worker", "doveadm",
    "dsync", "shadowaddress", "displayedInGlobalAddressBook",
)
IREDMAIL = Profile(
    name="iredmail",
    domain_rdn="domainName",
    domain_object_classes=("mailDomain",),
    domain_attributes={"name": "cn"},
    domain_static={"accountStatus": ("active",), "enabledService": ("mail",), "mtaTransport": ("dovecot",)},
    mailbox_container="ou=Users",
    mailbox_rdn="mail",
    mailbox_object_classes=("inetOrgPerson", "mailUser"),
    mailbox_attributes={
        **PERSON_ATTRIBUTES,
        "quota": "mailQuota",
        "aliases": "shadowAddress",
    },
    mailbox_static={
        "enabledService": IREDMAIL_SERVICES,
        "storageBaseDirectory": (IREDMAIL_STORAGE,),
        "mailMessageStore": (IREDMAIL_STORE,),
        "homeDirectory": (f"{IREDMAIL_STORAGE}/{IREDMAIL_STORE}",),
    },
    status_attribute="accountStatus",
    status_active="active",
    status_disabled="disabled",
    quota_unit="bytes",
)

BUILTIN: dict[str, Profile] = {p.name: p for p in (INETORGPERSON, IREDMAIL)}


def profile_from_spec(spec: ProfileSpec) -> Profile:
    status = spec.status
    return Profile(
        name="custom",
        domain_rdn=spec.domain_rdn,
        domain_object_classes=spec.domain_object_classes,
        domain_attributes=dict(spec.domain_attributes),
        domain_static=dict(spec.domain_static),
        mailbox_rdn=spec.mailbox_rdn,
        mailbox_object_classes=spec.mailbox_object_classes,
        mailbox_attributes=dict(spec.mailbox_attributes),
        mailbox_static=dict(spec.mailbox_static),
        mailbox_container=spec.mailbox_container,
        status_attribute=status.get("attribute"),
        status_active=status.get("active", "active"),
        status_disabled=status.get("disabled", "disabled"),
        quota_unit=spec.quota_unit,
    )


def resolve(profile: str | ProfileSpec) -> Profile:
    if isinstance(profile, ProfileSpec):
        return profile_from_spec(profile)
    return BUILTIN[profile]
