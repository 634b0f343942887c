"""``directory export``: the directory's entries as LDIF (RFC 2849) or the mailboxes as CSV."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterable, Iterator

from .csvsrc import spreadsheet_text
from .directory import Found, Stored
from .mailboxes import info
from .profiles import Profile

CSV_COLUMNS = ("address", "domain", "local", "name", "title", "employee_id", "quota_mb", "aliases", "active", "dn")
_SECRET_ATTRS = {"userpassword"}


def _safe(value: str) -> bool:
    """RFC 2849 SAFE-STRING: ASCII, no NUL/CR/LF, no leading space, colon or '<', no trailing space."""
    if not value:
        return True
    if value[0] in " :<" or value[-1] == " ":
        return False
    return all(32 <= ord(c) < 127 for c in value)


def _line(attr: str, value: str | bytes) -> str:
    raw = value if isinstance(value, bytes) else value.encode("utf-8")
    try:
        shown = raw.decode("ascii")
    except UnicodeDecodeError:  # UTF-8 text, or binary (a photo, a certificate): base64 of the bytes as they are
        shown = None
    text = f"{attr}: {shown}" if shown is not None and _safe(shown) else f"{attr}:: {base64.b64encode(raw).decode()}"
    # fold at 76 columns; continuation lines start with one space
    if len(text) <= 76:
        return text
    parts = [text[:76]] + [" " + text[i:i + 75] for i in range(76, len(text), 75)]
    return "\n".join(parts)


def ldif(entries: Iterable[Stored], include_password_hashes: bool = False) -> Iterator[str]:
    yield "version: 1\n"
    for found in entries:
        lines = [_line("dn", found.dn)]
        for attr in sorted(found.attributes, key=lambda a: (a.lower() != "objectclass", a.lower())):
            if attr.lower() in _SECRET_ATTRS and not include_password_hashes:
                continue
            lines += [_line(attr, v) for v in found.attributes[attr]]
        yield "\n" + "\n".join(lines) + "\n"


def mailbox_csv(profile: Profile, entries: Iterable[Found]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    for found in entries:
        buffer.seek(0)
        buffer.truncate()
        mb = info(profile, found)
        local, _, domain = mb.address.partition("@")
        # a name or title is anyone's to write (another tool, a self-service page) and this file is opened in a
        # spreadsheet: text that starts like a formula is marked as text, and read back without the mark
        writer.writerow([spreadsheet_text(mb.address), domain, spreadsheet_text(local), spreadsheet_text(mb.name),
                         spreadsheet_text(mb.title), spreadsheet_text(mb.employee_id),
                         "" if mb.quota_mb is None else mb.quota_mb, spreadsheet_text(";".join(mb.aliases)),
                         "true" if mb.active else "false", mb.dn])
        yield buffer.getvalue()
