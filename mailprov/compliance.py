"""The latest DNS check of each domain, as an agency letter shows it, read back from ``dns check``'s JSON.

An agency letter is an official letter: what it says about the agency's DNS
must be what a check found. A file that is not the JSON ``dns check`` writes
(another tool's, one cut short, one edited by hand) is refused with every
place that is wrong, rather than turned into a letter that says "passed"
above an empty table or dates a check "yesterday".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .checks.result import ORDER, worst
from .errors import UsageError
from .model import LANGUAGES
from .stamps import parse_stamp

#: problems listed before the rest are only counted: a file of another tool would list one per domain
MOST_PROBLEMS = 20


@dataclass(frozen=True)
class Compliance:
    """The latest DNS check of a domain, as the agency letter shows it."""

    status: str
    checked_at: str
    checks: tuple[tuple[str, str, str], ...]  # (check, status, reason)


def from_json(path: Path) -> tuple[dict[str, Compliance], str | None]:
    """Results of ``mailprov dns check --format json`` by domain, and the language of their reasons (that
    run's ``--lang``; None for a file written before the JSON said)."""
    import json

    where = f"--results {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{where}: not UTF-8 text, so not the JSON of mailprov dns check") from None
    except OSError as exc:
        raise UsageError(f"{where}: cannot read it ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}:{exc.lineno}: not JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise UsageError(f"{where}: not the JSON of mailprov dns check (nested too deep)") from None
    reader = _Reader()
    found, lang = reader.report(data)
    if reader.problems:
        lines = [f"{where}: {problem}" for problem in reader.problems[:MOST_PROBLEMS]]
        if len(reader.problems) > MOST_PROBLEMS:
            lines.append(f"{where}: ... and {len(reader.problems) - MOST_PROBLEMS} more problem(s)")
        raise UsageError("\n".join(lines))
    return found, lang


def _shown(value: Any) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


class _Reader:
    """Walks the JSON, noting each place that is not what dns check writes."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def field(self, obj: dict[str, Any], key: str, at: str, kind: type, optional: bool = False) -> Any:
        """``obj[key]`` if it is a ``kind``; else None, with a problem unless it may be left out."""
        value = obj.get(key)
        if value is None and optional:
            return None
        if key not in obj:
            self.problems.append(f"{at}{key}: missing")
        elif not isinstance(value, kind):
            self.problems.append(f"{at}{key}: {_shown(value)} is not {_KINDS[kind]}")
        else:
            return value
        return None

    def objects(self, items: list[Any], at: str) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """The objects of a list (index, place, object); anything else in it is a problem."""
        for index, item in enumerate(items):
            if isinstance(item, dict):
                yield index, f"{at}[{index}]", item
            else:
                self.problems.append(f"{at}[{index}]: {_shown(item)} is not an object")

    def status(self, obj: dict[str, Any], at: str) -> str | None:
        status: str | None = self.field(obj, "status", at, str)
        if status is not None and status not in ORDER:
            self.problems.append(f"{at}status: {_shown(status)} is not one of {', '.join(ORDER)}")
            return None
        return status

    def report(self, data: Any) -> tuple[dict[str, Compliance], str | None]:
        if not isinstance(data, dict):
            self.problems.append(f"not the JSON of mailprov dns check: {_KINDS.get(type(data), 'a value')}, "
                                 "not an object with generated_at and domains")
            return {}, None
        stamp = self.field(data, "generated_at", "", str)
        if stamp is not None:
            try:
                parse_stamp(stamp)
            except ValueError:
                self.problems.append(f"generated_at: {_shown(stamp)} is not a time like 2026-11-28T02:00:00Z")
        lang = self.field(data, "lang", "", str, optional=True)
        if lang is not None and lang not in LANGUAGES:
            self.problems.append(f"lang: {_shown(lang)} is not one of {', '.join(LANGUAGES)}")
        domains = self.field(data, "domains", "", list) or []
        found: dict[str, Compliance] = {}
        first: dict[str, int] = {}
        for index, place, item in self.objects(domains, "domains"):
            name = self.field(item, "domain", f"{place}.", str)
            at = place if name is None else f"{place} ({name})"
            if name is not None:
                if name.lower() in first:
                    self.problems.append(f"{at}: listed twice (first as domains[{first[name.lower()]}])")
                first.setdefault(name.lower(), index)
            compliance = self.domain(item, at, stamp or "")
            if name is not None and compliance is not None:
                found[name.lower()] = compliance  # as the configuration keeps domains
        return found, lang

    def domain(self, item: dict[str, Any], at: str, stamp: str) -> Compliance | None:
        status = self.status(item, f"{at}.")
        checks = self.field(item, "checks", f"{at}.", list)
        if checks is None:
            return None
        if not checks:
            self.problems.append(f"{at}.checks: empty (dns check gives every domain its checks)")
            return None
        rows = []
        for _, where, check in self.objects(checks, f"{at}.checks"):
            name = self.field(check, "check", f"{where}.", str)
            selector = self.field(check, "selector", f"{where}.", str, optional=True)
            verdict = self.status(check, f"{where}.")
            reason = self.field(check, "reason", f"{where}.", str)
            if name is not None and verdict is not None and reason is not None:
                rows.append((name + (f" ({selector})" if selector else ""), verdict, reason))
        if status is None or len(rows) != len(checks):
            return None
        derived = worst([verdict for _, verdict, _ in rows])
        if status != derived:
            self.problems.append(f"{at}.status: {_shown(status)}, but the worst of its checks is {_shown(derived)}")
            return None
        return Compliance(status, stamp, tuple(rows))


_KINDS: dict[type, str] = {str: "a string", list: "a list", dict: "an object", int: "a number", float: "a number",
                           bool: "true or false", type(None): "null"}
