"""The RFC 7208 test suite (../shared/conformance/rfc7208-tests.yml) through mailprov's check_host()."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from mailprov.checks.spf_eval import check_host

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
    assert outcome.result in expected, f"{case.get('description', '')}: got {outcome.result} ({outcome.reason})"
    explanation = case.get("explanation")
    if explanation and explanation != "DEFAULT" and outcome.result == "fail":
        assert outcome.explanation == explanation
