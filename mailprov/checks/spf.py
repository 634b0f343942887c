"""spf: one SPF record whose RFC 7208 evaluation passes the platform and fails everyone else."""

from __future__ import annotations

from ..model import Platform
from ..records import spf_value
from .messages import Reason
from .resolver import NXDOMAIN, Resolver, display
from .result import ERROR, FAIL, PASS, WARN, CheckResult, dns_error, doubled_record
from .spf_eval import FAIL as SPF_FAIL
from .spf_eval import PASS as SPF_PASS
from .spf_eval import PERMERROR, SOFTFAIL, TEMPERROR, IncludeMemo, check_host, select_record


async def check_spf(resolver: Resolver, domain: str, platform: Platform,
                    memo: IncludeMemo | None = None) -> CheckResult:
    answer = await resolver.query(domain, "TXT")
    expected = spf_value(platform)
    if answer.error:
        return dns_error("spf", answer)
    if answer.status == NXDOMAIN:
        return CheckResult("spf", FAIL, [Reason("domain.nxdomain", {"domain": domain})])
    found = select_record(list(answer.values))
    records = [display(r.encode("latin-1")) for r in found]
    if not found:
        # a record meant as SPF that receivers ignore ("v=spf1" in quotes, after a space): shown, so that
        # "no record" does not contradict what the agency published
        near = [display(raw) for raw in answer.values if b"v=spf1" in raw.lower()]
        doubled, where = ([], []) if near else await doubled_record(resolver, domain, domain, "v=spf1")
        return CheckResult("spf", FAIL, [Reason("spf.near_miss" if near else "spf.missing", {"expected": expected}),
                                         *where], near or doubled)
    if len(found) > 1:
        return CheckResult("spf", FAIL, [Reason("spf.multiple", {"count": len(found), "expected": expected})],
                           records)
    sender = f"postmaster@{domain}"
    lookups = 0
    for ip in platform.sending_ips:
        outcome = await check_host(resolver, ip, domain, sender, helo=platform.smtp_host, memo=memo)
        lookups = max(lookups, outcome.lookups)
        if outcome.result == TEMPERROR:
            return CheckResult("spf", ERROR, [Reason("spf.temperror", {"detail": outcome.reason})], records)
        if outcome.result == PERMERROR:
            return CheckResult("spf", FAIL, [Reason("spf.permerror", {"detail": outcome.reason,
                                                                     "expected": expected})], records)
        if outcome.result != SPF_PASS:
            return CheckResult("spf", FAIL, [Reason("spf.platform_denied", {
                "result": outcome.result, "ip": ip, "include": platform.spf_include})], records)
    outside = await check_host(resolver, platform.outside_ip, domain, sender, helo=platform.smtp_host,
                               memo=memo)
    if outside.result == TEMPERROR:
        return CheckResult("spf", ERROR, [Reason("spf.temperror", {"detail": outside.reason})], records)
    if outside.result == PERMERROR:
        return CheckResult("spf", FAIL, [Reason("spf.permerror", {"detail": outside.reason,
                                                                 "expected": expected})], records)
    if outside.result == SOFTFAIL:
        return CheckResult("spf", WARN, [Reason("spf.softfail")], records)
    if outside.result != SPF_FAIL:
        return CheckResult("spf", FAIL, [Reason("spf.outside_allowed", {"result": outside.result,
                                                                       "ip": platform.outside_ip})], records)
    count = max(lookups, outside.lookups)
    return CheckResult("spf", PASS, [Reason("spf.ok", {"lookups": count, "s": "" if count == 1 else "s"})], records)
