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


@pytest.mark.parametrize("section", _sections())
def test_rfc7208_with_the_include_memo_of_a_run(section: dict[str, Any]) -> None:
    """``dns check`` shares one include memo across a run: every case of a scenario, evaluated twice in one
    run (the second time from what the first left in the memo), must still give the suite's result."""
    resolver = MemoryResolver(section["zonedata"])
    memo: IncludeMemo = {}

    async def run_all() -> list[tuple[str, str, list[str]]]:
        seen = []
        for _ in range(2):
            for name, case in section["tests"].items():
                if name in SKIPPED:
                    continue
                mailfrom, helo = case.get("mailfrom") or "", case.get("helo") or ""
                sender, domain = (mailfrom, mailfrom.rpartition("@")[2]) if mailfrom else (f"postmaster@{helo}", helo)
                outcome = await check_host(resolver, case["host"], domain, sender, helo, memo=memo)
                expected = case["result"] if isinstance(case["result"], list) else [case["result"]]
                seen.append((name, outcome.result, expected))
        return seen

    wrong = [(name, got, expected) for name, got, expected in asyncio.run(run_all()) if got not in expected]
    assert not wrong
