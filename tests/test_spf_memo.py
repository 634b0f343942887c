"""The SPF check's memo of a run: a pass that depended on the record alone is reused for the next agency
publishing the same record, and only then."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mailprov.checks.spf import SpfMemo, check_spf
from mailprov.config import load_config
from mailprov.model import Platform

from .helpers import SAMPLE
from .memzone import MemoryResolver


@pytest.fixture(scope="module")
def platform() -> Platform:
    return load_config(SAMPLE, {}).platform


def _zone(platform: Platform, records: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return {platform.spf_include: [{"TXT": "v=spf1 " + " ".join(
        f"ip{6 if ':' in ip else 4}:{ip}" for ip in platform.sending_ips) + " -all"}]} | records


def _statuses(platform: Platform, zone: dict[str, list[dict[str, Any]]], domains: list[str],
              memo: SpfMemo) -> tuple[list[str], MemoryResolver]:
    resolver = MemoryResolver(zone)

    async def run_all() -> list[str]:
        return [(await check_spf(resolver, domain, platform, memo)).status for domain in domains]

    return asyncio.run(run_all()), resolver


def test_agencies_publishing_the_same_record_are_evaluated_once(platform: Platform) -> None:
    record = f"v=spf1 include:{platform.spf_include} -all"
    domains = [f"kota{i}.go.id" for i in range(5)]
    memo = SpfMemo()
    statuses, resolver = _statuses(platform, _zone(platform, {d: [{"TXT": record}] for d in domains}), domains,
                                   memo)
    assert statuses == ["pass"] * 5
    assert memo.passes == {record: 1}
    evaluations = len(platform.sending_ips) + 1  # each address, the outside one too: one query of the record each
    # the first agency: its record, then each evaluation's look at it and at the include; then one query each
    assert resolver.queries == 1 + evaluations * 2 + 4


def test_a_pass_that_rests_on_the_domains_own_addresses_is_not_reused(platform: Platform) -> None:
    """'v=spf1 a -all' passes where the domain's addresses are the platform's, and only there."""
    own = [{"A" if ":" not in ip else "AAAA": ip} for ip in platform.sending_ips]
    zone = _zone(platform, {"kota1.go.id": [{"TXT": "v=spf1 a -all"}, *own],
                            "kota2.go.id": [{"TXT": "v=spf1 a -all"}, {"A": "198.51.100.7"}]})
    memo = SpfMemo()
    statuses, _ = _statuses(platform, zone, ["kota1.go.id", "kota2.go.id"], memo)
    assert statuses == ["pass", "fail"]
    assert memo.passes == {}


def test_a_pass_that_rests_on_a_macro_is_not_reused(platform: Platform) -> None:
    record = "v=spf1 include:%{d}.allowed.example -all"
    zone = _zone(platform, {"kota1.go.id": [{"TXT": record}], "kota2.go.id": [{"TXT": record}],
                            "kota1.go.id.allowed.example": [{"TXT": f"v=spf1 include:{platform.spf_include} -all"}],
                            "kota2.go.id.allowed.example": [{"TXT": "v=spf1 ?all"}]})
    memo = SpfMemo()
    statuses, _ = _statuses(platform, zone, ["kota1.go.id", "kota2.go.id"], memo)
    assert statuses == ["pass", "fail"]
    assert memo.passes == {}
