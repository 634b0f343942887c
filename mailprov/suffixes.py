"""The Public Suffix List (the maintained ``publicsuffixlist`` package): names no single organisation owns,
and a name's organisational domain (RFC 7489 section 3.2).

The list's rules are kept as written (Unicode): asking the package to add each
IDN rule's A-label form too made loading the whole list 27 ms instead of 10.
An A-label name is looked up by its Unicode form instead.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _list_text() -> bytes:
    from publicsuffixlist import PSLFILE

    with open(PSLFILE, "rb") as data:
        return data.read()


@cache
def _suffix_list(tld: str) -> Any:
    """The list with only the rules for names under ``tld``: a rule matches only names that end in its own last
    label. Parsing all of its 10,000 rules took 15-20 ms on every command that loads ``domains.yaml``; picking
    one top-level domain's lines out takes 2."""
    from publicsuffixlist import PublicSuffixList

    label = tld.encode()
    rules = [line for line in _list_text().splitlines() if line == label or line.endswith(b"." + label)]
    return PublicSuffixList(rules, accept_encoded_idn=False)


def _rules_for(name: str) -> Any:
    return _suffix_list(name.rpartition(".")[2])


def _as_listed(name: str) -> str:
    """``name`` in the form the list's rules are written in: lower case, Unicode labels."""
    name = name.lower().rstrip(".")
    if "xn--" not in name:
        return name
    import idna  # only for A-labels, which few agencies have

    try:
        return str(idna.decode(name))
    except idna.IDNAError:  # not a valid A-label: the name as it is
        return name


@cache
def organizational_domain(domain: str) -> str:
    """The registered domain ``domain`` lies in (``domain`` itself when the list finds none)."""
    listed = _as_listed(domain)
    found = _rules_for(listed).privatesuffix(listed)
    if not found:
        return domain
    if found.isascii():
        return str(found)
    import idna

    return str(idna.encode(found).decode("ascii"))  # back to the A-labels the name came in


def not_an_agency_domain(domain: str) -> str | None:
    """Why ``domain`` cannot be an agency's (None: it can): it is itself a public suffix (``go.id``, ``desa.id``,
    ``id``), under which many organisations register their domains and which none owns."""
    listed = _as_listed(domain)
    if not _rules_for(listed).is_public(listed):
        return None
    return ("is a public suffix (Public Suffix List): agencies register their own domains under it, none owns it; "
            f"give the agency's own domain, such as NAME.{domain}")
