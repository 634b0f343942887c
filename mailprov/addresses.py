"""Domain names and mailbox local parts: normalisation and the rules mailprov enforces.

Domains are converted to A-labels (IDNA 2008 with UTS 46 mapping, the same
conversion mail software applies) before the LDH rules are checked, so
``dinas.médan.go.id`` is accepted as ``dinas.xn--mdan-bpa.go.id``.

Local parts are deliberately narrower than RFC 5321 allows: letters, digits,
``.``, ``_`` and ``-``. Every platform mailbox must also be a safe LDAP value,
a safe file name for its letter and an address every agency's mail client
accepts; ``+`` is left out because Postfix uses it as the sub-address separator.
"""

from __future__ import annotations

import re

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# names that are not host names (``_spf.mail.go.id``, ``_dmarc...``) may use "_"
_DNS_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_LOCAL = re.compile(r"^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$")
MAX_LOCAL = 64
MAX_DOMAIN = 253


class AddressError(ValueError):
    """A domain or local part that mailprov will not provision."""


def to_a_label(domain: str, underscore: bool = False) -> str:
    """Return ``domain`` as lower-case A-labels or raise ``AddressError``.

    ``underscore`` accepts the service labels of DNS names that are not host
    names, such as ``_spf.mail.go.id``.
    """
    pattern = _DNS_LABEL if underscore else _LABEL
    text = domain.strip().rstrip(".")
    if not text:
        raise AddressError("empty domain name")
    if not text.isascii():
        import idna  # only IDNs need it

        try:
            text = idna.encode(text, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise AddressError(f"invalid internationalised domain name '{domain}': {exc}") from None
    text = text.lower()
    if len(text) > MAX_DOMAIN:
        raise AddressError(f"domain name '{domain}' is longer than {MAX_DOMAIN} characters")
    labels = text.split(".")
    for label in labels:  # what is wrong inside a label first: 'bad domain' is one label with a space in it
        if not label:
            raise AddressError(f"domain name '{domain}' has an empty label")
        if len(label) > 63:
            raise AddressError(f"domain name '{domain}' has a label longer than 63 characters")
        if not pattern.match(label):
            raise AddressError(
                f"domain name '{domain}' has an invalid label '{label}' "
                "(letters, digits and inner hyphens only)"
            )
        if label[2:4] == "--" and not label.startswith("xn--"):
            raise AddressError(f"domain name '{domain}' has a reserved label '{label}'")
    if len(labels) < 2:
        raise AddressError(f"domain name '{domain}' needs at least two labels")
    if labels[-1].isdigit():
        raise AddressError(f"domain name '{domain}' has a numeric top-level label")
    return text


def to_unicode(domain: str) -> str:
    """The display form of an A-label domain (unchanged when not an IDN)."""
    if "xn--" not in domain:
        return domain
    import idna

    try:
        return str(idna.decode(domain))
    except idna.IDNAError:
        return domain


def check_local(local: str) -> str:
    """Return the normalised (lower-case) local part or raise ``AddressError``."""
    if not isinstance(local, str) or not local:
        raise AddressError("empty local part")
    value = local.strip()
    if value != local or " " in value:
        raise AddressError(f"invalid local part '{local}': spaces are not allowed")
    value = value.lower()
    if len(value) > MAX_LOCAL:
        raise AddressError(f"invalid local part '{local}': longer than {MAX_LOCAL} characters")
    if value.startswith(".") or value.endswith("."):
        raise AddressError(f"invalid local part '{local}': it may not start or end with a dot")
    if ".." in value:
        raise AddressError(f"invalid local part '{local}': two dots in a row")
    if not _LOCAL.match(value):
        bad = sorted({c for c in value if not (c.isascii() and (c.isalnum() or c in "._-"))})
        shown = " ".join(repr(c) for c in bad)
        raise AddressError(
            f"invalid local part '{local}': character(s) {shown} not allowed "
            "(letters, digits, '.', '_' and '-' only)"
        )
    return value


def split_address(address: str) -> tuple[str, str]:
    """Split and normalise ``local@domain``; raise ``AddressError`` if invalid."""
    local, sep, domain = address.strip().rpartition("@")
    if not sep or not local:
        raise AddressError(f"'{address}' is not an address (local@domain)")
    return check_local(local), to_a_label(domain)
