"""mx: every MX of the domain must be one of the platform's hosts."""

from __future__ import annotations

from ..model import Platform
from ..records import mx_records
from .messages import Reason
from .resolver import NXDOMAIN, Resolver
from .result import FAIL, PASS, WARN, CheckResult, dns_error


async def check_mx(resolver: Resolver, domain: str, platform: Platform) -> CheckResult:
    answer = await resolver.query(domain, "MX")
    records = [f"{pref} {host}." if host else f"{pref} ." for pref, host in sorted(answer.values)]
    expected = ", ".join(mx_records(platform))
    if answer.error:
        return dns_error("mx", answer)
    if answer.status == NXDOMAIN:
        return CheckResult("mx", FAIL, [Reason("domain.nxdomain", {"domain": domain})])
    hosts = [host for _, host in answer.values]
    if not hosts:
        return CheckResult("mx", FAIL, [Reason("mx.none", {"expected": expected})])
    if any(host == "" for host in hosts):
        return CheckResult("mx", FAIL, [Reason("mx.null", {"expected": expected})], records)
    outside = sorted({h for h in hosts if h not in platform.mx})
    if outside:
        # a zone-file line without the final dot: the platform's host with the agency's domain appended
        appended = [Reason("domain.appended", {"name": h, "meant": meant}) for h in outside for meant in platform.mx
                    if h == f"{meant}.{domain}"]
        return CheckResult("mx", FAIL, [Reason("mx.outside", {"hosts": ", ".join(outside), "expected": expected}),
                                        *appended], records)
    missing = [h for h in platform.mx if h not in hosts]
    if missing:
        return CheckResult("mx", WARN, [Reason("mx.partial", {"missing": ", ".join(missing)})], records)
    return CheckResult("mx", PASS, [Reason("mx.ok", {"hosts": ", ".join(sorted(set(hosts)))})], records)
