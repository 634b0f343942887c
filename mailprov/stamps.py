"""How mailprov writes a moment in its JSON and its history: ``2026-11-28T02:00:00Z`` (UTC, whole seconds).

``dns check --format json`` writes it, the history keeps it, and the letters
and the report read it back: one form, so what one writes the others read.
"""

from __future__ import annotations

import datetime as dt

#: the form, for strftime and strptime
STAMP = "%Y-%m-%dT%H:%M:%SZ"


def stamp(moment: dt.datetime) -> str:
    """``moment`` (aware) as the stamp of its UTC time."""
    return moment.astimezone(dt.UTC).strftime(STAMP)


def parse_stamp(text: str) -> dt.datetime:
    """A stamp as an aware datetime (ValueError: not that form)."""
    return dt.datetime.strptime(text, STAMP).replace(tzinfo=dt.UTC)
