"""Questions that need a whole DNS message object: DNSSEC material (RRSIGs) and answers over TCP.

These go through dnspython; the plain UDP questions of a run, thousands of
them, are encoded and decoded by ``wire`` instead (see ``resolver``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .resolver import FAILURE, MAX_CNAME_CHAIN, NODATA, NXDOMAIN, OK, REFUSED, SERVFAIL, Answer, normalise


async def ask(name: str, rdtype: str, server: tuple[str, int], timeout: float, tcp: bool = False) -> Answer:
    """One question to ``server``; a CNAME leaving the answer comes back as status ``cname``, target in message."""
    import dns.asyncquery
    import dns.exception
    import dns.message
    import dns.rcode

    query = dns.message.make_query(name + ".", rdtype, want_dnssec=True, use_edns=0, payload=1232)
    try:
        if tcp:
            response = await dns.asyncquery.tcp(query, server[0], timeout=timeout, port=server[1])
        else:
            response = await dns.asyncquery.udp(query, server[0], timeout=timeout, port=server[1])
            if response.flags & 0x0200:  # truncated
                response = await dns.asyncquery.tcp(query, server[0], timeout=timeout, port=server[1])
    except dns.exception.Timeout:  # not a TimeoutError: it was reported as a bad answer, not as a timeout
        raise TimeoutError(f"{name} {rdtype}") from None
    rcode = response.rcode()
    if rcode == dns.rcode.SERVFAIL:
        return Answer(name, rdtype, SERVFAIL)
    if rcode == dns.rcode.REFUSED:
        return Answer(name, rdtype, REFUSED)
    if rcode == dns.rcode.NXDOMAIN:
        return Answer(name, rdtype, NXDOMAIN)
    if rcode != dns.rcode.NOERROR:
        return Answer(name, rdtype, FAILURE, message=dns.rcode.to_text(rcode))
    return _interpret(name, rdtype, response)


def _interpret(name: str, rdtype: str, response: Any) -> Answer:
    import dns.name
    import dns.rdatatype

    qname = dns.name.from_text(name + ".")
    wanted = dns.rdatatype.from_text(rdtype)
    owner = qname
    for _ in range(MAX_CNAME_CHAIN + 1):
        rrset = response.get_rrset(response.answer, owner, 1, wanted)
        if rrset is not None:
            sig = response.get_rrset(response.answer, owner, 1, dns.rdatatype.RRSIG, wanted)
            return Answer(name, rdtype, OK, _values(rdtype, rrset), signed=(rrset, sig))
        cname = response.get_rrset(response.answer, owner, 1, dns.rdatatype.CNAME)
        if cname is None or wanted == dns.rdatatype.CNAME:
            break
        owner = cname[0].target
    if owner != qname:
        return Answer(name, rdtype, "cname", message=normalise(owner.to_text()))
    return Answer(name, rdtype, NODATA, signed=_zone_soa(response))


def _zone_soa(response: Any) -> tuple[Any, Any] | None:
    """A no-data answer's proof: the SOA of the zone the name is in (its owner is the zone's apex), and its RRSIG."""
    import dns.rdatatype

    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            sig = response.get_rrset(response.authority, rrset.name, 1, dns.rdatatype.RRSIG, dns.rdatatype.SOA)
            return rrset, sig
    return None


def _values(rdtype: str, rrset: Iterable[Any]) -> tuple[Any, ...]:
    if rdtype == "TXT":
        return tuple(b"".join(rr.strings) for rr in rrset)
    if rdtype == "MX":
        return tuple((int(rr.preference), normalise(rr.exchange.to_text())) for rr in rrset)
    if rdtype in ("PTR", "CNAME", "NS"):
        return tuple(normalise(rr.target.to_text()) for rr in rrset)
    return tuple(rr.to_text() for rr in rrset)
