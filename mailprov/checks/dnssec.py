"""dnssec: the zone the domain is in is signed, its answers validate against its DNSKEY, the parent holds a DS.

Warn at most: DNSSEC is recommended to agencies, not required by the platform.
"""

from __future__ import annotations

from typing import Any

from ..model import Platform
from .messages import Reason
from .resolver import NODATA, OK, Answer, Resolver, normalise
from .result import PASS, WARN, CheckResult, dns_error


def _validate(signed: Any, keys: Any) -> Reason | str | None:
    """None when ``signed`` (rrset, rrsig) validates with ``keys``, else why not."""
    import dns.dnssec
    import dns.exception

    rrset, rrsig = signed or (None, None)
    if rrset is None or rrsig is None:
        return Reason("dnssec.why.no_rrsig")
    try:
        dns.dnssec.validate(rrset, rrsig, {keys.name: keys})
    except dns.exception.ValidationFailure as exc:
        return str(exc)
    return None


async def _zone_apex(resolver: Resolver, domain: str) -> tuple[str, Answer]:
    """The apex of the zone ``domain`` is in, and the signed SOA answer that names it.

    An agency's mail domain is often a name inside its parent's zone
    (``dinkes.jatimprov.go.id`` in ``jatimprov.go.id``), not a zone of its own:
    its answers are signed, or not, by the zone it is in. A SOA question at such
    a name has no data, and the SOA in the answer's authority section is the
    enclosing zone's.
    """
    soa = await resolver.query(domain, "SOA", dnssec=True)
    if soa.status == NODATA and soa.signed is not None:
        return normalise(soa.signed[0].name.to_text()), soa
    return domain, soa


async def check_dnssec(resolver: Resolver, domain: str, platform: Platform) -> CheckResult:
    import dns.dnssec
    import dns.exception

    zone, soa = await _zone_apex(resolver, domain)
    if soa.error:
        return dns_error("dnssec", soa)
    keys_answer = await resolver.query(zone, "DNSKEY", dnssec=True)
    if keys_answer.error:
        return dns_error("dnssec", keys_answer)
    if keys_answer.status != OK or keys_answer.signed is None:
        return CheckResult("dnssec", WARN, [Reason("dnssec.unsigned", {"zone": zone})])
    keys = keys_answer.signed[0]
    records = [rr.to_text() for rr in keys]
    problem = _validate(keys_answer.signed, keys)
    if problem:
        return CheckResult("dnssec", WARN, [Reason("dnssec.bogus", {"what": "DNSKEY", "detail": problem})], records)
    problem = _validate(soa.signed, keys)
    if problem:
        return CheckResult("dnssec", WARN, [Reason("dnssec.bogus", {"what": "SOA", "detail": problem})], records)
    ds = await resolver.query(zone, "DS", dnssec=True)
    if ds.error:
        return dns_error("dnssec", ds, records=records)
    matched = []
    for ds_rr in (ds.signed[0] if ds.signed and ds.status == OK else []):
        for key in keys:
            try:
                candidate = dns.dnssec.make_ds(keys.name, key, ds_rr.digest_type)
            except (dns.exception.UnsupportedAlgorithm, ValueError):
                continue
            if candidate == ds_rr:
                matched.append(str(ds_rr.key_tag))
    if not matched:
        return CheckResult("dnssec", WARN, [Reason("dnssec.no_ds", {"zone": zone})], records)
    return CheckResult("dnssec", PASS, [Reason("dnssec.ok", {"zone": zone, "tags": ", ".join(matched)})], records)
