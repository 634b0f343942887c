"""Run the configured checks for many domains at once through one resolver."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from .. import __version__
from ..model import Platform
from .dkim import check_dkim
from .dmarc import check_dmarc
from .dnssec import check_dnssec
from .mta_sts import Fetch, check_mta_sts
from .mx import check_mx
from .resolver import DnsResolver, Resolver
from .result import CheckReport, CheckResult, DomainResult
from .spf import check_spf
from .spf_eval import IncludeMemo
from .tls_rpt import check_tls_rpt

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class Target:
    domain: str
    agency: str | None = None


def organizational_domain_finder() -> Callable[[str], str]:
    """RFC 7489 organizational domains from the Public Suffix List (the maintained ``publicsuffixlist`` package)."""
    from publicsuffixlist import PublicSuffixList

    psl = PublicSuffixList()

    @cache
    def org(domain: str) -> str:
        return str(psl.privatesuffix(domain.lower().rstrip(".")) or domain)

    return org


async def check_domain(resolver: Resolver, target: Target, platform: Platform,
                       org_domain: Callable[[str], str], fetch: Fetch | None = None,
                       spf_memo: IncludeMemo | None = None) -> DomainResult:
    domain = target.domain
    jobs: dict[str, Callable[[], Awaitable[CheckResult | list[CheckResult]]]] = {
        "mx": lambda: check_mx(resolver, domain, platform),
        "spf": lambda: check_spf(resolver, domain, platform, spf_memo),
        "dkim": lambda: check_dkim(resolver, domain, platform),
        "dmarc": lambda: check_dmarc(resolver, domain, platform, org_domain),
        "mta-sts": lambda: check_mta_sts(resolver, domain, platform, fetch),
        "tls-rpt": lambda: check_tls_rpt(resolver, domain, platform),
        "dnssec": lambda: check_dnssec(resolver, domain, platform, org_domain),
    }
    # the checks run side by side: for a domain whose answers never come, the run waits one
    # timeout, not one per check (in sequence they were 5x slower to give up, for 3% less CPU)
    outcomes = await asyncio.gather(*(jobs[name]() for name in platform.checks))
    checks: list[CheckResult] = []
    for outcome in outcomes:
        checks.extend(outcome if isinstance(outcome, list) else [outcome])
    return DomainResult(domain, target.agency, checks)


async def check_all(resolver: Resolver, targets: Sequence[Target], platform: Platform,
                    org_domain: Callable[[str], str] | None = None, fetch: Fetch | None = None) -> list[DomainResult]:
    finder = org_domain or organizational_domain_finder()
    memo: IncludeMemo = {}
    return list(await asyncio.gather(*(check_domain(resolver, t, platform, finder, fetch, memo) for t in targets)))


def _event_loop_run(coroutine: Coroutine[Any, Any, list[DomainResult]]) -> list[DomainResult]:
    """uvloop when installed (about a third less CPU per query, measured), else asyncio's own loop.

    The garbage collector is tuned for the run: it creates hundreds of
    thousands of short-lived objects while the results it keeps grow, and
    with the default thresholds the repeated full collections over that
    growing heap made 5,000 domains 2.7 times slower than 1,000 times five.
    """
    import gc

    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 1_000)
    try:
        try:
            import uvloop
        except ImportError:
            return asyncio.run(coroutine)
        return uvloop.run(coroutine)
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def run_checks(targets: Sequence[Target], platform: Platform, nameservers: Sequence[tuple[str, int]],
               timeout: float = 5.0, concurrency: int = 200, clock: Clock | None = None,
               fetch: Fetch | None = None) -> CheckReport:
    """Check ``targets`` with one resolver for the whole run; the report in the order given."""
    now = (clock or (lambda: dt.datetime.now(dt.UTC)))()
    resolver = DnsResolver(list(nameservers), timeout=timeout, concurrency=concurrency)
    start = time.perf_counter()

    async def go() -> list[DomainResult]:
        try:
            return await check_all(resolver, targets, platform, fetch=fetch)
        finally:
            resolver.close()

    domains = _event_loop_run(go())
    return CheckReport(generated_at=now, version=__version__, domains=domains, queries=resolver.queries,
                       seconds=time.perf_counter() - start)
