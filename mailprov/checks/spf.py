"""spf: one SPF record whose RFC 7208 evaluation passes the platform and fails everyone else."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import Platform
from ..records import spf_value
from .messages import Reason
from .resolver import NXDOMAIN, Resolver, display
from .result import ERROR, FAIL, PASS, WARN, CheckResult, dns_error, doubled_record
from .spf_eval import FAIL as SPF_FAIL
from .spf_eval import PASS as SPF_PASS
from .spf_eval import PERMERROR, SOFTFAIL, TEMPERROR, IncludeMemo, check_host, select_record


@dataclass
class SpfMemo:
    """What the SPF checks of one run share (against the same DNS data and the same platform)."""

    #: the includes' results, per address (``check_host``'s memo)
    includes: IncludeMemo = field(default_factory=dict)
    #: record text -> the lookups of a pass that depended on nothing but the record: most agencies publish
    #: the same record, and its evaluation for each address is then done once, not once per agency
    passes: dict[str, int] = field(default_factory=dict)


async def check_spf(resolver: Resolver, domain: str, platform: Platform,
                    memo: SpfMemo | None = None) -> CheckResult:
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
    known = memo.passes.get(found[0]) if memo is not None else None
    if known is not None:
        return _passed(known, records)
    includes = memo.includes if memo is not None else None
    sender = f"postmaster@{domain}"
    lookups = 0
    bound = False
    for ip in platform.sending_ips:
        outcome = await check_host(resolver, ip, domain, sender, helo=platform.smtp_host, memo=includes)
        lookups = max(lookups, outcome.lookups)
        bound = bound or outcome.domain_bound
        if outcome.result == TEMPERROR:
            return CheckResult("spf", ERROR, [Reason("spf.temperror", {"detail": outcome.reason})], records)
        if outcome.result == PERMERROR:
            return CheckResult("spf", FAIL, [Reason("spf.permerror", {"detail": outcome.reason,
                                                                     "expected": expected})], records)
        if outcome.result != SPF_PASS:
            return CheckResult("spf", FAIL, [Reason("spf.platform_denied", {
                "result": outcome.result, "ip": ip, "include": platform.spf_include})], records)
    outside = await check_host(resolver, platform.outside_ip, domain, sender, helo=platform.smtp_host,
                               memo=includes)
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
    if memo is not None and not (bound or outside.domain_bound):
        memo.passes[found[0]] = count
    return _passed(count, records)


def _passed(lookups: int, records: list[str]) -> CheckResult:
    return CheckResult("spf", PASS, [Reason("spf.ok", {"lookups": lookups, "s": "" if lookups == 1 else "s"})],
                       records)
