"""The RFC 7208 test suite (../shared/conformance/rfc7208-tests.yml) through mailprov's check_host()."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from mailprov.checks.spf_eval import IncludeMemo, check_host

from .memzone import MemoryResolver

# the suite ships with the tests (with its licence), so a clone alone runs it; where the
# project's shared folder sits next to the checkout, the copy must be identical to it
SUITE = Path(__file__).resolve().parent / "conformance" / "rfc7208-tests.yml"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "rfc7208-tests.yml"
#: test id -> why mailprov does not pass it (every other case must pass)
SKIPPED: dict[str, str] = {}


def _cases() -> list[Any]:
    cases = []
    for section in yaml.safe_load_all(SUITE.read_text(encoding="utf-8")):
        if not section:
            continue
        for name, case in section["tests"].items():
            marks = [pytest.mark.skip(reason=SKIPPED[name])] if name in SKIPPED else []
            cases.append(pytest.param(case, section["zonedata"], id=name, marks=marks))
    return cases


CASES = _cases()


def test_the_copy_is_the_shared_suite() -> None:
    if SHARED.exists():
        assert SUITE.read_bytes() == SHARED.read_bytes()
    assert "openspf.org test suite" in SUITE.read_text(encoding="utf-8")


def test_the_whole_suite_is_collected() -> None:
    names = [str(case.id) for case in CASES]
    assert len(names) > 200 and len(set(names)) == len(names)
    assert sum(1 for case in CASES if case.marks) == len(SKIPPED)


@pytest.mark.parametrize(("case", "zonedata"), CASES)
def test_rfc7208(case: dict[str, Any], zonedata: dict[str, Any]) -> None:
    resolver = MemoryResolver(zonedata)
    mailfrom = case.get("mailfrom") or ""
    helo = case.get("helo") or ""
    if mailfrom:
        sender, domain = mailfrom, mailfrom.rpartition("@")[2]
    else:
        sender, domain = f"postmaster@{helo}", helo
    outcome = asyncio.run(check_host(resolver, case["host"], domain, sender, helo))
    expected = case["result"] if isinstance(case["result"], list) else [case["result"]]
    assert outcome.result in expected, (f"{case.get('description', '')}: got {outcome.result} "
                                        f"({outcome.reason.text('en')})")
    explanation = case.get("explanation")
    if explanation and explanation != "DEFAULT" and outcome.result == "fail":
        assert outcome.explanation == explanation


def _sections() -> list[Any]:
    return [pytest.param(section, id=section["description"][:60])
            for section in yaml.safe_load_all(SUITE.read_text(encoding="utf-8")) if section]


@pytest.mark.parametrize("side_by_side", [False, True], ids=["in-turn", "side-by-side"])
@pytest.mark.parametrize("section", _sections())
def test_rfc7208_with_the_include_memo_of_a_run(section: dict[str, Any], side_by_side: bool) -> None:
    """``dns check`` shares one include memo across a run: every case of a scenario, evaluated twice in one
    run (the second time from what the first left in the memo), must still give the suite's result. Side by
    side, as a run evaluates its agencies, the cases wait for includes that another case is working out
    (and two includes that include each other must not leave two cases waiting for each other)."""
    resolver = MemoryResolver(section["zonedata"], side_by_side=side_by_side)
    memo: IncludeMemo = {}
    cases = [(name, case) for name, case in section["tests"].items() if name not in SKIPPED]

    async def one(case: dict[str, Any]) -> str:
        mailfrom, helo = case.get("mailfrom") or "", case.get("helo") or ""
        sender, domain = (mailfrom, mailfrom.rpartition("@")[2]) if mailfrom else (f"postmaster@{helo}", helo)
        return (await check_host(resolver, case["host"], domain, sender, helo, memo=memo)).result

    async def run_all() -> list[str]:
        if side_by_side:
            return list(await asyncio.wait_for(asyncio.gather(*(one(c) for _ in range(2) for _, c in cases)), 10))
        return [await one(case) for _ in range(2) for _, case in cases]

    got = asyncio.run(run_all())
    expected = [case["result"] if isinstance(case["result"], list) else [case["result"]] for _ in range(2)
                for _, case in cases]
    wrong = [(name, result, want) for (name, _), result, want in zip(cases * 2, got, expected, strict=True)
             if result not in want]
    assert not wrong
    assert all(future.done() for future in memo.values())


def test_agencies_checked_side_by_side_work_out_the_platforms_include_once() -> None:
    zone: dict[str, list[Any]] = {f"agency{i}.example": [{"TXT": "v=spf1 include:_spf.platform.example -all"}]
                                  for i in range(50)}
    zone["_spf.platform.example"] = [{"TXT": "v=spf1 ip4:192.0.2.10 -all"}]
    resolver = MemoryResolver(zone, side_by_side=True)
    memo: IncludeMemo = {}

    async def run_all() -> list[str]:
        return [o.result for o in await asyncio.gather(*(
            check_host(resolver, ip, f"agency{i}.example", f"postmaster@agency{i}.example", memo=memo)
            for i in range(50) for ip in ("192.0.2.10", "198.51.100.1")))]

    results = asyncio.run(run_all())
    assert results == ["pass", "fail"] * 50
    assert resolver.queries == 100 + 2  # each agency's record for each address; the include once per address


def test_includes_that_include_each_other_evaluated_side_by_side_end_in_permerror() -> None:
    zone: dict[str, list[Any]] = {"a.example": [{"TXT": "v=spf1 include:b.example -all"}],
                                  "b.example": [{"TXT": "v=spf1 include:a.example -all"}]}
    resolver = MemoryResolver(zone, side_by_side=True)
    memo: IncludeMemo = {}

    async def run_all() -> list[str]:
        return [o.result for o in await asyncio.wait_for(asyncio.gather(*(
            check_host(resolver, "192.0.2.1", name, f"postmaster@{name}", memo=memo)
            for name in ("a.example", "b.example", "a.example"))), 10)]

    assert asyncio.run(run_all()) == ["permerror"] * 3
