"""dmarc: the policy at ``_dmarc.DOMAIN``, or the organizational domain's (RFC 7489 section 6.6.3)."""

from __future__ import annotations

from collections.abc import Callable

from ..model import DMARC_POLICIES, Platform
from ..records import dmarc_name, dmarc_value, rua_domains
from .messages import Reason
from .resolver import OK, Answer, Resolver
from .result import ERROR, FAIL, PASS, WARN, CheckResult, dns_error, doubled_record, worst
from .taglist import TagListError, parse

OrgDomain = Callable[[str], str]
#: the reason beside an agency's verdict when the platform's report domain does not authorize its reports
PLATFORM_RUA = "dmarc.platform_rua"


def _is_dmarc(text: str) -> bool:
    name, _, value = text.split(";", 1)[0].partition("=")
    return name.strip() == "v" and value.strip() == "DMARC1"


def dmarc_records(answer: Answer) -> list[str]:
    """The TXT records that are DMARC records: ``v=DMARC1`` as the first tag."""
    return [text for text in answer.texts if _is_dmarc(text)]


def _near_misses(answer: Answer) -> list[str]:
    """TXT records meant as DMARC records that receivers ignore (``v=dmarc1``, a comma for the semicolon,
    quotes inside the text): shown, so that "no record" does not contradict what the agency published."""
    return [text for text in answer.texts if "dmarc1" in text.lower() and not _is_dmarc(text)]


async def check_dmarc(resolver: Resolver, domain: str, platform: Platform, org_domain: OrgDomain) -> CheckResult:
    name = dmarc_name(domain)
    answer = await resolver.query(name, "TXT")
    if answer.error:
        return dns_error("dmarc", answer)
    found = dmarc_records(answer)
    near = _near_misses(answer)
    org = org_domain(domain)
    inherited = False
    if not found and org != domain:
        name = dmarc_name(org)
        answer = await resolver.query(name, "TXT")
        if answer.error:
            return dns_error("dmarc", answer)
        found = dmarc_records(answer)
        inherited = True
    expected = dmarc_value(platform)
    if not found:
        note = Reason("dmarc.org_note", {"org": org}) if org != domain else ""
        near += _near_misses(answer) if inherited else []  # the organization's, where it has one
        doubled, where = ([], []) if near else await doubled_record(resolver, dmarc_name(domain), domain, "dmarc1")
        return CheckResult("dmarc", FAIL, [Reason("dmarc.near_miss" if near else "dmarc.missing", {
            "domain": domain, "org_note": note, "expected": expected}), *where], near or doubled)
    if len(found) > 1:
        return CheckResult("dmarc", FAIL, [Reason("dmarc.multiple", {"count": len(found), "name": name})], found)
    record = found[0]
    try:
        tags = {k.lower(): v for k, v in parse(record).items()}
    except TagListError as exc:
        return CheckResult("dmarc", FAIL, [Reason("dmarc.invalid", {"name": name, "detail": exc.reason})], found)
    result = await _verdict(resolver, domain, platform, tags, name, found, org if inherited else None, org_domain)
    if inherited and near:  # the organization's policy applies: the record the agency meant is ignored
        ignored = Reason("dmarc.own_ignored", {"domain": domain})
        return CheckResult("dmarc", worst([result.status, WARN]), [*result.reasons, ignored], [*near, *result.records])
    return result


async def _verdict(resolver: Resolver, domain: str, platform: Platform, tags: dict[str, str], name: str,
                   records: list[str], inherited_from: str | None, org_domain: OrgDomain) -> CheckResult:
    def invalid(detail: Reason) -> CheckResult:
        return CheckResult("dmarc", FAIL, [Reason("dmarc.invalid", {"name": name, "detail": detail})], records)

    policy = tags.get("p", "").lower()
    if policy not in DMARC_POLICIES:
        return invalid(Reason("dmarc.why.policy", {"tag": "p", "value": tags["p"]}) if "p" in tags
                       else Reason("tags.missing", {"tag": "p"}))
    sub_policy = tags.get("sp", "").lower() or None
    if sub_policy is not None and sub_policy not in DMARC_POLICIES:
        return invalid(Reason("dmarc.why.policy", {"tag": "sp", "value": tags["sp"]}))
    pct_text = tags.get("pct", "100")
    if not pct_text.isdigit() or not 0 <= int(pct_text) <= 100:
        return invalid(Reason("dmarc.why.pct", {"pct": pct_text}))
    effective = (sub_policy or policy) if inherited_from else policy
    minimum = platform.dmarc.min_policy
    inherited = Reason("dmarc.inherited", {"org": inherited_from}) if inherited_from else ""
    if DMARC_POLICIES.index(effective) < DMARC_POLICIES.index(minimum):
        return CheckResult("dmarc", FAIL, [Reason("dmarc.weak_policy", {
            "policy": effective, "minimum": minimum, "inherited": inherited})], records)
    warnings: list[tuple[str, Reason]] = []
    if int(pct_text) < 100:
        warnings.append((WARN, Reason("dmarc.pct", {"pct": int(pct_text)})))
    if not inherited_from and sub_policy and DMARC_POLICIES.index(sub_policy) < DMARC_POLICIES.index(minimum):
        warnings.append((WARN, Reason("dmarc.weak_sp", {"sp": sub_policy, "minimum": minimum})))
    rua = tags.get("rua", "")
    expected_rua = platform.dmarc.rua
    listed = [u.strip().split("!", 1)[0].lower() for u in rua.split(",")]
    if expected_rua and expected_rua.lower() not in listed:
        bare = expected_rua.lower().removeprefix("mailto:")
        if bare in listed:  # the address without its scheme: not a URI, so no report goes there
            warnings.append((WARN, Reason("dmarc.rua_no_scheme", {"address": bare, "rua": expected_rua})))
        else:
            warnings.append((WARN, Reason("dmarc.rua_missing", {"rua": expected_rua})))
    policy_domain = name.removeprefix("_dmarc.")
    # the platform's own report domain authorizes reports in the platform's zone: when it does not, that is
    # the platform's to fix, said beside the agency's verdict instead of warning it (checks/platform.py)
    platform_targets = set(rua_domains(platform.dmarc.rua or ""))
    notes: list[Reason] = []
    for target in rua_domains(rua):
        if org_domain(target) == org_domain(policy_domain):
            continue
        auth_name = f"{policy_domain}._report._dmarc.{target}"
        answer = await resolver.query(auth_name, "TXT")
        if answer.error:
            warnings.append((ERROR, dns_error("dmarc", answer).reasons[0]))
        elif answer.status == OK and dmarc_records(answer):
            continue
        elif target in platform_targets:
            notes.append(Reason(PLATFORM_RUA, {"target": target, "name": auth_name}))
        else:
            warnings.append((WARN, Reason("dmarc.rua_unauthorized", {"target": target, "domain": policy_domain,
                                                                     "name": auth_name})))
    if warnings:
        return CheckResult("dmarc", worst([s for s, _ in warnings]), [r for _, r in warnings] + notes, records)
    return CheckResult("dmarc", PASS, [Reason("dmarc.ok", {"policy": effective, "inherited": inherited}), *notes],
                       records)
