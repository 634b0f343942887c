"""The platform's own records that every agency's pass depends on, checked once per run.

An agency's SPF names the platform's include, and for a selector without a
configured key its DKIM record is a CNAME to the platform's key. When the
platform's own record breaks (an IPv6 dropped from ``_spf.mail.go.id``, the
key record removed), every such agency would fail overnight and be mailed to
fix DNS that is right. Those verdicts are ``error`` instead, "could not be
decided" because of the platform, which the history does not count as newly
failing and which mails no agency; the operator is told once what to fix.
The platform's report domain not authorising an agency's DMARC reports is
the platform's too: the agency is not warned for it (``checks/dmarc.py``),
and the run counts those agencies as one problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..model import Platform
from ..records import dkim_name, platform_domain
from .dkim import evaluate
from .dmarc import PLATFORM_RUA
from .messages import Reason
from .resolver import Resolver
from .result import ERROR, FAIL, CheckResult, DomainResult
from .spf_eval import PASS as SPF_PASS
from .spf_eval import TEMPERROR, IncludeMemo, check_host


@dataclass(frozen=True)
class PlatformProblem:
    """What is wrong with one of the platform's own records, and which agency check it decides."""

    check: str
    #: the DKIM selector whose key record it is (None for SPF)
    selector: str | None
    #: the record's name in the platform's zone
    name: str
    reason: Reason
    #: what that name holds (an agency's alias to it shows the same)
    records: tuple[str, ...] = ()


async def platform_problems(resolver: Resolver, platform: Platform,
                            memo: IncludeMemo | None = None) -> list[PlatformProblem]:
    """The platform's SPF include must pass every sending address and not the outside one; the key record
    behind each agency CNAME (a selector without a configured key) must be a valid key. Undecided answers
    (timeouts) are no problem here: the agencies' own lookups meet them too."""
    problems: list[PlatformProblem] = []
    include = platform.spf_include
    if "spf" in platform.checks:
        for ip in platform.sending_ips:
            outcome = await check_host(resolver, ip, include, f"postmaster@{include}", helo=platform.smtp_host,
                                       memo=memo)
            if outcome.result not in (SPF_PASS, TEMPERROR):
                problems.append(PlatformProblem("spf", None, include, Reason("platform.spf_denied", {
                    "include": include, "ip": ip, "result": outcome.result, "detail": outcome.reason})))
        outside = await check_host(resolver, platform.outside_ip, include, f"postmaster@{include}",
                                   helo=platform.smtp_host, memo=memo)
        if outside.result == SPF_PASS:
            problems.append(PlatformProblem("spf", None, include, Reason("platform.spf_allows", {
                "include": include, "ip": platform.outside_ip})))
    if "dkim" in platform.checks:
        for selector in platform.dkim.selectors:
            if selector in platform.dkim.public_keys:
                continue  # agencies publish that key themselves, as a TXT record of their own
            name = dkim_name(selector, platform_domain(platform))
            answer = await resolver.query(name, "TXT")
            if answer.error:
                continue
            texts = list(answer.texts)
            if len(texts) != 1:
                detail = Reason("platform.dkim_count", {"count": len(texts)})
            else:
                verdict = evaluate(texts[0], name, selector, platform)
                if verdict.status != FAIL:
                    continue
                detail = verdict.reasons[0]
            problems.append(PlatformProblem("dkim", selector, name, Reason("platform.dkim", {
                "name": name, "selector": selector, "detail": detail}), tuple(texts)))
    return problems


#: the SPF verdicts the platform's include decides (two records, or none, are the agency's own doing)
_SPF_THROUGH_INCLUDE = ("spf.platform_denied", "spf.outside_allowed", "spf.permerror")


def unauthorized_reports(domains: list[DomainResult]) -> list[PlatformProblem]:
    """The platform's report domain, when agencies' DMARC checks found it does not authorise their reports:
    read from their results, with no query of its own."""
    counts: dict[str, int] = {}
    for domain in domains:
        for result in domain.checks:
            for reason in result.reasons:
                if reason.key == PLATFORM_RUA:
                    counts[reason.params["target"]] = counts.get(reason.params["target"], 0) + 1
    return [PlatformProblem("dmarc", None, f"*._report._dmarc.{target}",
                            Reason("platform.rua", {"target": target, "count": count}))
            for target, count in sorted(counts.items())]


def _names_include(record: str, include: str) -> bool:
    """Whether an SPF record depends on the platform's include: ``include:`` it, or ``redirect=`` to it."""
    pattern = rf"(?:^|\s)(?:[+?~-]?include:|redirect=){re.escape(include)}\.?(?:\s|$)"
    return re.search(pattern, record, re.IGNORECASE) is not None


def excuse_agencies(domains: list[DomainResult], problems: list[PlatformProblem]) -> None:
    """Each agency check that failed only through the platform's broken record becomes ``error``, with the
    one reason that says so: its own ("add include:...") would tell the agency to change what is right."""
    spf = next((p for p in problems if p.check == "spf"), None)  # one include, however many of its faults
    dkim = {p.selector: p for p in problems if p.check == "dkim"}
    for domain in domains:
        for index, result in enumerate(domain.checks):
            if result.status != FAIL:
                continue
            if result.check == "spf" and spf and result.reasons[0].key in _SPF_THROUGH_INCLUDE and any(
                    _names_include(r, spf.name) for r in result.records):
                blamed = spf
            elif result.check == "dkim" and result.selector in dkim and _reaches(result, dkim[result.selector]):
                blamed = dkim[result.selector]
            else:
                continue
            excuse = Reason("platform.excused", {"name": blamed.name})
            domain.checks[index] = CheckResult(result.check, ERROR, [excuse], result.records, result.selector)


def _reaches(result: CheckResult, problem: PlatformProblem) -> bool:
    """Whether the agency's DKIM verdict came through its alias to the platform's key record: the alias
    ended there, or the agency shows exactly what the platform's name holds."""
    if any(r.params.get("target") == problem.name for r in result.reasons):
        return True
    return bool(problem.records) and tuple(result.records) == problem.records
