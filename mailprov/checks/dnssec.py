"""dnssec: the zone is signed, its answers validate against its DNSKEY, the parent holds a matching DS.

Warn at most: DNSSEC is recommended to agencies, not required by the platform.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..model import Platform
from .messages import Reason
from .resolver import OK, Resolver
from .result import PASS, WARN, CheckResult, dns_error


def _validate(signed: Any, keys: Any) -> str | None:
    """None when ``signed`` (rrset, rrsig) validates with ``keys``, else why not."""
    import dns.dnssec
    import dns.exception

    rrset, rrsig = signed or (None, None)
    if rrset is None or rrsig is None:
        return "no RRSIG"
    try:
        dns.dnssec.validate(rrset, rrsig, {keys.name: keys})
    except dns.exception.ValidationFailure as exc:
        return str(exc)
    return None


async def check_dnssec(resolver: Resolver, domain: str, platform: Platform,
                       org_domain: Callable[[str], str] | None = None) -> CheckResult:
    import dns.dnssec
    import dns.exception

    keys_answer = await resolver.query(domain, "DNSKEY", dnssec=True)
    if keys_answer.error:
        return dns_error("dnssec", keys_answer)
    if keys_answer.status != OK or keys_answer.signed is None:
        return CheckResult("dnssec", WARN, [Reason("dnssec.unsigned", {"zone": domain})])
    keys = keys_answer.signed[0]
    records = [rr.to_text() for rr in keys]
    problem = _validate(keys_answer.signed, keys)
    if problem:
        return CheckResult("dnssec", WARN, [Reason("dnssec.bogus", {"detail": f"DNSKEY: {problem}"})], records)
    soa = await resolver.query(domain, "SOA", dnssec=True)
    if soa.error:
        return dns_error("dnssec", soa, records=records)
    problem = _validate(soa.signed, keys)
    if problem:
        return CheckResult("dnssec", WARN, [Reason("dnssec.bogus", {"detail": f"SOA: {problem}"})], records)
    ds = await resolver.query(domain, "DS", dnssec=True)
    if ds.error:
        return dns_error("dnssec", ds, records=records)
    matched = []
    for ds_rr in (ds.signed[0] if ds.signed else []):
        for key in keys:
            try:
                candidate = dns.dnssec.make_ds(keys.name, key, ds_rr.digest_type)
            except (dns.exception.UnsupportedAlgorithm, ValueError):
                continue
            if candidate == ds_rr:
                matched.append(f"key tag {ds_rr.key_tag}")
    if not matched:
        return CheckResult("dnssec", WARN, [Reason("dnssec.no_ds")], records)
    return CheckResult("dnssec", PASS, [Reason("dnssec.ok", {"detail": "DS " + ", ".join(matched)})], records)
