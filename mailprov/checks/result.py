"""Verdicts: what every check returns and how a domain's status is derived."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..stamps import stamp
from .messages import Reason, join

if TYPE_CHECKING:
    from .resolver import Resolver

PASS, WARN, ERROR, FAIL = "pass", "warn", "error", "fail"
#: a domain's status is the worst of its checks, in this order
ORDER = (PASS, WARN, ERROR, FAIL)


def worst(statuses: list[str] | tuple[str, ...]) -> str:
    return max(statuses, key=ORDER.index) if statuses else PASS


@dataclass
class CheckResult:
    """The verdict of one check (of one DKIM selector) with its reasons and the records found."""
    check: str
    status: str
    reasons: list[Reason]
    records: list[str] = field(default_factory=list)
    selector: str | None = None

    @property
    def label(self) -> str:
        """``dkim/mmd2026``: the check, and the selector where there is one (the table and the mails)."""
        return self.check + (f"/{self.selector}" if self.selector else "")

    def reason(self, lang: str = "id") -> str:
        return join(self.reasons, lang)

    def to_dict(self, lang: str) -> dict[str, Any]:
        data: dict[str, Any] = {"check": self.check, "status": self.status}
        if self.selector is not None:
            data["selector"] = self.selector
        data["reason"] = self.reason(lang)
        data["records"] = list(self.records)
        return data


@dataclass
class DomainResult:
    """One domain's checks; its status is the worst of theirs."""
    domain: str
    agency: str | None
    checks: list[CheckResult]
    #: filled in from the history (nightly runs)
    previous_status: str | None = None
    failing_since: str | None = None

    @property
    def status(self) -> str:
        return worst([c.status for c in self.checks])

    def to_dict(self, lang: str, history: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"domain": self.domain, "agency": self.agency, "status": self.status}
        if history:
            data["previous_status"] = self.previous_status
            data["failing_since"] = self.failing_since
        data["checks"] = [c.to_dict(lang) for c in self.checks]
        return data

    def to_fix(self) -> list[CheckResult]:
        """The checks that are not a pass, as a person acts on them.

        A domain that does not exist fails every check; that is one thing to
        do (register it, then publish the records), not four reasons of which
        two say the same and two ask for records under a name nobody can
        publish yet. JSON, CSV and the report keep every check.
        """
        if any(c.reasons and c.reasons[0].key == "domain.nxdomain" for c in self.checks):
            return [CheckResult("domain", FAIL, [Reason("domain.missing", {"domain": self.domain})])]
        return [c for c in self.checks if c.status != PASS]


@dataclass
class CheckReport:
    """A whole run: every domain's result, the resolver's counts and the platform's problems."""
    generated_at: dt.datetime
    version: str
    domains: list[DomainResult]
    queries: int = 0
    #: replies the resolver received; 0 with queries sent means no nameserver answered at all
    answers: int = 0
    #: tries the nameserver's host refused (ICMP port unreachable: nothing listens on that port)
    refused: int = 0
    #: answers whose rcode was REFUSED
    refusals: int = 0
    seconds: float = 0.0
    #: set when the run kept history: the domains whose status got worse / recovered
    newly_failing: list[str] | None = None
    fixed: list[str] | None = None
    #: what is wrong with the platform's own records (the agency checks that depend on them are not failed for it)
    platform_problems: list[Reason] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, Any]:
        counts: dict[str, Any] = {"domains": len(self.domains)} | dict.fromkeys(ORDER, 0)
        for domain in self.domains:
            counts[domain.status] += 1
        if self.newly_failing is not None:
            counts["newly_failing"] = list(self.newly_failing)
            counts["fixed"] = list(self.fixed or [])
        return counts

    @property
    def status(self) -> str:
        return worst([d.status for d in self.domains])

    @property
    def decided_nothing(self) -> bool:
        """No nameserver answered, or every answer was REFUSED: every verdict is 'error' and says nothing about
        the agencies (the resolver down or unreachable, or one that does not resolve for this host)."""
        return bool(self.queries) and (not self.answers or self.refusals == self.answers)

    def to_dict(self, lang: str) -> dict[str, Any]:
        history = self.newly_failing is not None
        summary = self.summary
        return {
            "generated_at": stamp(self.generated_at),
            "version": self.version,
            "lang": lang,  # of the reasons: letters rendered from this file quote them as they are
            "summary": {k: summary[k] for k in ("domains", PASS, WARN, FAIL, ERROR)}
            | ({"newly_failing": summary["newly_failing"], "fixed": summary["fixed"]} if history else {}),
            "domains": [d.to_dict(lang, history) for d in self.domains],
            **({"platform_problems": [r.text(lang) for r in self.platform_problems]} if self.platform_problems
               else {}),
            "stats": {"queries": self.queries, "answers": self.answers, "seconds": round(self.seconds, 3)},
        }


def dns_error(check: str, answer: Any, selector: str | None = None, records: list[str] | None = None) -> CheckResult:
    """A lookup that did not answer (timeout, SERVFAIL, REFUSED): ``error``, never ``fail``."""
    reason = Reason("dns.error", {"name": answer.name, "rdtype": answer.rdtype, "what": answer.describe()})
    return CheckResult(check, ERROR, [reason], records or [], selector)


async def doubled_record(resolver: Resolver, name: str, domain: str,
                         marker: str = "") -> tuple[list[str], list[Reason]]:
    """The TXT records at ``NAME.DOMAIN`` that mention ``marker``, where a zone file puts a fully written name
    that lacks its final dot (``_dmarc.kota.go.id`` in kota.go.id's zone), and the reason that names them.
    Asked only when ``name`` itself has no record."""
    answer = await resolver.query(f"{name}.{domain}", "TXT")
    found = [] if answer.error else [text for text in answer.texts if marker in text.lower()]
    return found, [Reason("domain.doubled", {"found": f"{name}.{domain}", "meant": name})] if found else []
