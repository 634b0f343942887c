"""Tag=value lists (RFC 6376 section 3.2), the syntax of DKIM, DMARC, MTA-STS and TLS-RPT records."""

from __future__ import annotations

import re

_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_WSP = " \t\r\n"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class TagListError(ValueError):
    pass


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
            raise TagListError(f"'{part.strip(_WSP)}' is not tag=value")
        if not _TAG.match(name):
            raise TagListError(f"invalid tag name '{name}'")
        if name in tags:
            raise TagListError(f"tag '{name}' appears twice")
        value = raw.strip(_WSP)
        if _CONTROL.search(value):
            raise TagListError(f"control character in the value of '{name}'")
        tags[name] = value
    return tags


def single(records: list[str], version: str) -> tuple[list[str], dict[str, str] | None, str | None]:
    """The one record starting with ``version`` (e.g. ``v=STSv1``), parsed.

    Returns the matching records, their tags (None when not exactly one
    parses) and what is wrong: None, "missing", "N records" or the parse error.
    """
    found = [r for r in records if r.replace(" ", "").startswith(version)]
    if not found:
        return found, None, "missing"
    if len(found) > 1:
        return found, None, f"{len(found)} records"
    try:
        return found, parse(found[0]), None
    except TagListError as exc:
        return found, None, str(exc)
