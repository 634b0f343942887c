"""Agencies and their mailboxes, from the YAML file and the CSV staff lists.

Also where duplicate agency ids, domains and addresses (an alias colliding
with a mailbox or another alias counts) are found.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from . import csvsrc
from .addresses import AddressError, check_local, split_address, to_a_label, to_unicode
from .model import LANGUAGES, Agency, Contact, Defaults, Mailbox, Source
from .reader import Reader, control_character, employee_number, kind, parse_bool, shortened_number
from .suffixes import not_an_agency_domain
from .yamlsrc import YList, YMap

QUOTA_MIN_MB = 1
QUOTA_MAX_MB = 1024 * 1024  # 1 TiB
_AGENCY_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62})$")


def check_email(r: Reader, address: str, line: int, ctx: str) -> bool:
    local, sep, domain = address.rpartition("@")
    if not sep or not local or " " in local:
        r.problem(line, f"{ctx}: '{address}' is not an e-mail address")
        return False
    return r.domain(domain, line, ctx) is not None



_AGENCY_KEYS = ("id", "name", "domain", "contact", "quota_mb", "language", "city", "address",
                "mailboxes", "mailboxes_csv")
_MAILBOX_KEYS = ("local", "name", "title", "employee_id", "quota_mb", "aliases", "active")


class _Seen:
    """First place each agency id, domain and address was defined."""

    def __init__(self) -> None:
        self.ids: dict[str, Source] = {}
        self.domains: dict[str, Source] = {}
        self.addresses: dict[str, tuple[Source, str]] = {}


def agencies(r: Reader, root: YMap, base: Path, defaults: Defaults) -> list[Agency]:
    items = root.get("agencies")
    if items is None:
        r.problem(root.line, "configuration: missing 'agencies'")
        return []
    if not isinstance(items, YList):
        r.problem(root.line_of("agencies"), f"agencies: expected a list, got {kind(items)}")
        return []
    seen = _Seen()
    agencies = []
    for index, node in enumerate(items):
        line = items.line_of(index)
        if not isinstance(node, YMap):
            r.problem(line, f"agencies[{index}]: expected a mapping, got {kind(node)}")
            continue
        agency = _agency(r, node, index, base, defaults, seen)
        if agency is not None:
            agencies.append(agency)
    return agencies


def _agency(r: Reader, node: YMap, index: int, base: Path, defaults: Defaults, seen: _Seen) -> Agency | None:
    agency_id = r.string(node, "id", f"agencies[{index}]", required=True)
    ctx = f"agency '{agency_id}'" if agency_id else f"agencies[{index}]"
    r.keys(node, _AGENCY_KEYS, ctx)
    here = Source(r.file, node.line)
    if agency_id:
        if not _AGENCY_ID.match(agency_id):
            r.problem(node.line_of("id"), f"{ctx}: id must be lower-case letters, digits and hyphens")
        elif agency_id in seen.ids:
            r.problem(node.line_of("id"), f"duplicate agency id '{agency_id}' (first at {seen.ids[agency_id]})")
        else:
            seen.ids[agency_id] = Source(r.file, node.line_of("id"))
    name = r.string(node, "name", ctx, required=True)
    written = r.string(node, "domain", ctx, required=True)
    domain = r.domain(written, node.line_of("domain"), ctx) if written else None
    refused = not_an_agency_domain(domain) if domain else None
    if refused:
        r.problem(node.line_of("domain"), f"{ctx}: domain '{domain}' {refused}")
    elif domain:
        if domain in seen.domains:
            r.problem(node.line_of("domain"), f"duplicate domain '{domain}' (first at {seen.domains[domain]})")
        else:
            seen.domains[domain] = Source(r.file, node.line_of("domain"))
    contact = _contact(r, node, ctx)
    quota = r.integer(node, "quota_mb", ctx, defaults.quota_mb, QUOTA_MIN_MB, QUOTA_MAX_MB)
    language = r.choice(node, "language", ctx, LANGUAGES, defaults.language)
    mailboxes: list[Mailbox] = []
    listed = node.get("mailboxes")
    if listed is not None and not isinstance(listed, YList):
        r.problem(node.line_of("mailboxes"), f"{ctx}.mailboxes: expected a list, got {kind(listed)}")
    elif listed:
        for i, item in enumerate(listed):
            mb = _yaml_mailbox(r, item, listed.line_of(i), f"{ctx}.mailboxes[{i}]", domain, quota)
            if mb:
                mailboxes.append(mb)
    csv_name = r.string(node, "mailboxes_csv", ctx)
    if csv_name:
        mailboxes.extend(_csv_mailboxes(r, base, csv_name, node.line_of("mailboxes_csv"), ctx, domain, quota))
    if domain:
        for mb in mailboxes:
            _register_addresses(r, mb, seen)
    city, address = r.string(node, "city", ctx), r.string(node, "address", ctx, one_line=False)
    if not (agency_id and name and domain):
        return None
    return Agency(
        id=agency_id, name=name, domain=domain, domain_display=to_unicode(domain), contact=contact,
        quota_mb=quota, language=language, mailboxes=tuple(mailboxes), city=city, address=address, source=here,
    )


def _contact(r: Reader, node: YMap, ctx: str) -> Contact:
    sub = r.mapping(node, "contact", ctx, required=False)
    if sub is None:
        return Contact(name="")
    r.keys(sub, ("name", "title", "email"), f"{ctx}.contact")
    email = r.string(sub, "email", f"{ctx}.contact")
    if email:
        check_email(r, email, sub.line_of("email"), f"{ctx}.contact.email")
    return Contact(
        name=r.string(sub, "name", f"{ctx}.contact", required=True),
        title=r.string(sub, "title", f"{ctx}.contact"),
        email=email,
    )


def _aliases(raw: list[tuple[str, int]], domain: str | None, report: Any) -> tuple[str, ...]:
    result = []
    for alias, line in raw:
        local, sep, alias_domain = alias.rpartition("@")
        if not sep:
            local, alias_domain = alias, domain or ""
        try:
            local = check_local(local)
            alias_domain = to_a_label(alias_domain) if alias_domain else ""
        except AddressError as exc:
            report(line, f"alias: {exc}")
            continue
        if domain and alias_domain != domain:
            report(line, f"alias '{alias}' must be in the agency's domain {domain}")
            continue
        result.append(f"{local}@{alias_domain}")
    return tuple(result)


def _yaml_mailbox(r: Reader, node: Any, line: int, ctx: str, domain: str | None, quota: int) -> Mailbox | None:
    if not isinstance(node, YMap):
        r.problem(line, f"{ctx}: expected a mapping, got {kind(node)}")
        return None
    r.keys(node, _MAILBOX_KEYS, ctx)
    local_raw = r.string(node, "local", ctx, required=True)
    local = None
    if local_raw:
        try:
            local = check_local(local_raw)
        except AddressError as exc:
            r.problem(node.line_of("local"), f"{ctx}: {exc}")
    name = r.string(node, "name", ctx, required=True)
    aliases = _aliases(r.strings(node, "aliases", ctx), domain, lambda ln, msg: r.problem(ln, f"{ctx}: {msg}"))
    mb_quota = r.integer(node, "quota_mb", ctx, quota, QUOTA_MIN_MB, QUOTA_MAX_MB)
    title = r.string(node, "title", ctx)
    active = r.boolean(node, "active", ctx, True)
    employee_id = r.string(node, "employee_id", ctx)
    shortened = shortened_number(employee_id)
    if shortened:
        r.problem(node.line_of("employee_id"), f"{ctx}.employee_id: {shortened}")
    if not (local and name and domain) or shortened:
        return None
    return Mailbox(local=local, domain=domain, name=name, title=title, employee_id=employee_number(employee_id),
                   quota_mb=mb_quota, aliases=aliases, active=active, source=Source(r.file, node.line))


def _csv_mailboxes(r: Reader, base: Path, name: str, line: int, ctx: str, domain: str | None,
                   quota: int) -> list[Mailbox]:
    path = base / name
    shown = str(path)
    try:
        rows = csvsrc.read_rows(path)
    except FileNotFoundError:
        r.problem(line, f"{ctx}.mailboxes_csv: file not found: {shown}")
        return []
    except csvsrc.CsvFormatError as exc:
        r.problem(exc.line, str(exc), file=shown)
        return []
    named = list(dict.fromkeys(c for c in rows.columns if c))
    unknown = [c for c in named if c not in csvsrc.COLUMNS and c not in csvsrc.EXPORTED]
    for column in unknown:
        close = difflib.get_close_matches(column, csvsrc.COLUMNS, 1)
        meant = csvsrc.INDONESIAN_HEADERS.get(column) or (close[0] if close else None)
        hint = f": did you mean '{meant}'?" if meant else ""
        r.problem(1, f"unknown column '{column}'{hint} (known: {', '.join(csvsrc.COLUMNS)})", file=shown)
    twice = False
    for column in named:  # 'Name' beside 'name' too: one of them would be read silently
        places = [str(i + 1) for i, c in enumerate(rows.columns) if c == column]
        if len(places) > 1:
            r.problem(1, f"column '{column}' is in the header {len(places)} times (columns {', '.join(places)}): "
                         "keep one", file=shown)
            twice = True
    for column in csvsrc.REQUIRED:
        if column not in rows.columns:
            r.problem(1, f"missing column '{column}'", file=shown)
    if unknown or twice or any(c not in rows.columns for c in csvsrc.REQUIRED):
        return []
    result = []
    for row in rows.rows:
        if row.error:
            r.problem(row.line, row.error, file=shown)
            continue
        found: list[str] = []
        mb = _csv_mailbox(row, domain, quota, shown, found)
        for message in found:
            r.problem(row.line, message, file=shown)
        if mb:
            result.append(mb)
    return result


def _exported_columns(values: dict[str, str], local: str, domain: str | None, report: Any) -> None:
    """An export's address and domain columns must name this agency's mailbox (a row of another agency's
    domain, copied in by mistake, would otherwise become a mailbox here)."""
    row_domain, address = values.get("domain", "").strip(), values.get("address", "").strip()
    if not domain or not (row_domain or address):
        return
    try:
        if row_domain and to_a_label(row_domain) != domain:
            report(0, f"domain '{row_domain}' is not the agency's domain {domain}")
        elif address and split_address(address) != (local, domain):
            report(0, f"address '{address}' is not {local}@{domain}")
    except AddressError as exc:
        report(0, f"address: {exc}")


def _csv_mailbox(row: csvsrc.Row, domain: str | None, quota: int, shown: str, found: list[str]) -> Mailbox | None:
    """One CSV row as a mailbox; its problems are appended to ``found``."""
    values = row.values
    ok = True

    def report(_line: int, message: str) -> None:
        found.append(message)
    local = values.get("local", "")
    try:
        local = check_local(local)
    except AddressError as exc:
        report(row.line, str(exc))
        ok = False
    name = values.get("name", "").strip()
    if not name:
        report(row.line, "missing name")
        ok = False
    # one search over the free-text cells; each is searched on its own only to say which one
    free_text = values.get("name", "") + values.get("title", "") + values.get("employee_id", "")
    if control_character(free_text, one_line=True):
        for column in ("name", "title", "employee_id"):
            refused = control_character(values.get(column, ""), one_line=True)
            if refused:
                report(row.line, f"{column} {refused}")
                ok = False
    shortened = shortened_number(values.get("employee_id", ""))
    if shortened:
        report(row.line, f"employee_id {shortened}")
        ok = False
    mb_quota = quota
    if values.get("quota_mb", "").strip():
        try:
            mb_quota = int(values["quota_mb"])
            if not QUOTA_MIN_MB <= mb_quota <= QUOTA_MAX_MB:
                report(row.line, f"quota_mb {mb_quota} is out of range {QUOTA_MIN_MB}..{QUOTA_MAX_MB}")
                ok = False
        except ValueError:
            report(row.line, f"quota_mb '{values['quota_mb']}' is not an integer")
            ok = False
    active = True
    if values.get("active", "").strip():
        parsed = parse_bool(values["active"])
        if parsed is None:
            report(row.line, f"active '{values['active']}' is not true or false (true/false, Y/N, ya/tidak, "
                             "aktif/nonaktif, 1/0)")
            ok = False
        else:
            active = parsed
    cell = values.get("aliases", "")
    if "," in cell:  # 'sekretariat, humas' read as one alias would say only that spaces are not allowed
        report(row.line, f"aliases '{cell}': separate aliases with ';', not ','")
        cell = ""
    raw_aliases = [(a.strip(), row.line) for a in cell.split(";") if a.strip()]
    aliases = _aliases(raw_aliases, domain, report)
    _exported_columns(values, local, domain, report)
    if not ok or found or not domain:
        return None
    return Mailbox(
        local=local, domain=domain, name=name, title=values.get("title", "").strip(),
        employee_id=employee_number(values.get("employee_id", "")), quota_mb=mb_quota, aliases=aliases,
        active=active, source=Source(shown, row.line),
    )


def _register_addresses(r: Reader, mailbox: Mailbox, seen: _Seen) -> None:
    src = mailbox.source or Source(r.file, 0)
    for address, what in [(mailbox.address, "mailbox")] + [(a, "alias") for a in mailbox.aliases]:
        if address in seen.addresses:
            first, first_what = seen.addresses[address]
            article = "an" if first_what == "alias" else "a"
            r.problem(src.line, f"duplicate address '{address}' ({what}; already {article} {first_what} at {first})",
                      file=src.file)
        else:
            seen.addresses[address] = (src, what)


