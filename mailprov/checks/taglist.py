"""Tag=value lists (RFC 6376 section 3.2), the syntax of DKIM, DMARC, MTA-STS and TLS-RPT records, and the
one-record rule of the extended checks."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .messages import Reason, ReasonError
from .result import WARN, CheckResult, dns_error

if TYPE_CHECKING:
    from .resolver import Answer

_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_WSP = " \t\r\n"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class TagListError(ReasonError, ValueError):
    """What is wrong with a tag list."""


def parse(text: str) -> dict[str, str]:
    """Tags in order; whitespace around tags and values dropped; a trailing ';' allowed.

    A duplicate tag, a tag without '=' or an invalid tag name is an error.
    Tag names keep their case (DKIM compares them case-sensitively).
    """
    tags: dict[str, str] = {}
    parts = text.split(";")
    if parts and not parts[-1].strip(_WSP):
        parts = parts[:-1]
    for part in parts:
        name, sep, raw = part.partition("=")
        name = name.strip(_WSP)
        if not sep:
            raise TagListError(Reason("tags.not_tag_value", {"part": part.strip(_WSP)}))
        if not _TAG.match(name):
            raise TagListError(Reason("tags.bad_name", {"name": name}))
        if name in tags:
            raise TagListError(Reason("tags.twice", {"name": name}))
        value = raw.strip(_WSP)
        if _CONTROL.search(value):
            raise TagListError(Reason("tags.control", {"name": name}))
        tags[name] = value
    return tags


def single(check: str, answer: Answer, version: str) -> tuple[list[str], dict[str, str]] | CheckResult:
    """The one TXT record of ``answer`` starting with ``version`` (e.g. ``v=STSv1``) and its tags, or the
    verdict of an extended check without exactly one valid record: ``error`` when the lookup did not
    answer, else ``warn`` (``CHECK.missing``, or ``CHECK.invalid`` with what is wrong)."""
    if answer.error:
        return dns_error(check, answer)
    records = list(answer.texts)
    found = [r for r in records if r.replace(" ", "").startswith(version)]
    if not found:
        return CheckResult(check, WARN, [Reason(f"{check}.missing")], records)
    if len(found) > 1:
        wrong = Reason("tags.records", {"count": len(found)})
    else:
        try:
            return found, parse(found[0])
        except TagListError as exc:
            wrong = exc.reason
    return CheckResult(check, WARN, [Reason(f"{check}.invalid", {"detail": wrong})], found)
