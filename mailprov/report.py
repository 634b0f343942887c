"""A compliance report as JSON, CSV, JUnit XML or a terminal table: one renderer per format."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import TYPE_CHECKING, Any

from .checks.result import CheckReport
from .csvsrc import spreadsheet_text
from .reader import CONTROL

if TYPE_CHECKING:
    from rich.console import Console

FORMATS = ("table", "json", "csv", "junit")
CSV_COLUMNS = ("domain", "agency", "domain_status", "check", "selector", "status", "reason", "records")
_STYLE = {"pass": "green", "warn": "yellow", "error": "magenta", "fail": "bold red"}


def to_json(report: CheckReport, lang: str) -> str:
    return json_lines(report.to_dict(lang))


def json_lines(data: dict[str, Any]) -> str:
    """Indented at the top, one item of each list per line: readable, and json's C encoder stays in use
    (indentation switches it off, which made 5,000 domains, or a plan of 10,000 changes, take half a
    second and more to print)."""
    lines = ["{"]
    keys = list(data)
    for index, key in enumerate(keys):
        comma = "," if index < len(keys) - 1 else ""
        value = data[key]
        if isinstance(value, list) and value:
            body = ",\n    ".join(json.dumps(item, ensure_ascii=False) for item in value)
            lines.append(f"  {json.dumps(key)}: [\n    {body}\n  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def domain_count(n: int) -> str:
    """``1 domain``, ``7 domains``: the summary line of the table and the admins' English mail."""
    return f"{n} domain{'' if n == 1 else 's'}"


def to_csv(report: CheckReport, lang: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for domain in report.domains:
        for check in domain.checks:
            writer.writerow([domain.domain, domain.agency or "", domain.status, check.check, check.selector or "",
                             check.status, spreadsheet_text(check.reason(lang)),
                             spreadsheet_text(" | ".join(check.records))])
    return buffer.getvalue()


#: what XML 1.0 cannot carry even escaped (RFC-wise a TXT record may hold any byte; a published record
#: with one made the whole JUnit file unreadable for the CI dashboard)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _escaped(pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", text)


def xml_text(text: str) -> str:
    """``text`` with each character XML cannot carry shown as ``\\xNN`` (``\\uNNNN``)."""
    return _escaped(_NOT_XML, text)


def terminal_text(text: str) -> str:
    """``text`` as a terminal may print it: DNS records and directory values are anyone's to write, and an
    escape sequence among them would act on the operator's terminal. Shown as ``\\xNN`` instead."""
    return _escaped(CONTROL, text)


def to_junit(report: CheckReport, lang: str) -> str:
    """One testsuite per domain, one testcase per check: fail = <failure>, error = <error>, warn passes."""
    from xml.etree import ElementTree as ET  # only this format loads it

    suites = ET.Element("testsuites", name="mailprov dns check",
                        tests=str(sum(len(d.checks) for d in report.domains)),
                        failures=str(sum(1 for d in report.domains for c in d.checks if c.status == "fail")),
                        errors=str(sum(1 for d in report.domains for c in d.checks if c.status == "error")),
                        time=f"{report.seconds:.3f}")
    stamp = report.generated_at.strftime("%Y-%m-%dT%H:%M:%S")
    for domain in report.domains:
        suite = ET.SubElement(suites, "testsuite", name=domain.domain, tests=str(len(domain.checks)),
                              failures=str(sum(1 for c in domain.checks if c.status == "fail")),
                              errors=str(sum(1 for c in domain.checks if c.status == "error")),
                              skipped="0", timestamp=stamp)
        if domain.agency:
            props = ET.SubElement(suite, "properties")
            ET.SubElement(props, "property", name="agency", value=domain.agency)
        for check in domain.checks:
            name = f"{check.check}[{check.selector}]" if check.selector else check.check
            case = ET.SubElement(suite, "testcase", classname=domain.domain, name=name)
            reason = xml_text(check.reason(lang))
            records = xml_text("\n".join(check.records))
            if check.status == "fail":
                ET.SubElement(case, "failure", message=reason, type="fail").text = records
            elif check.status == "error":
                ET.SubElement(case, "error", message=reason, type="error").text = records
            else:
                ET.SubElement(case, "system-out").text = f"{check.status}: {reason}"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def render_table(console: Console, report: CheckReport, lang: str, zone: str = "UTC") -> None:
    """One row per domain: its status and, for each check that is not ``pass``, its verdict and reason.

    What to fix stands out, and hundreds of compliant agencies take a line
    each (with every reason, a compliant domain took 15 lines at 80 columns
    and 5,000 domains 10 s to lay out; with every check's verdict in a column
    of its own, the reasons got a sixth of 80 columns). JSON, CSV and the
    HTML report keep every check and reason.
    """
    from rich.table import Table
    from rich.text import Text

    from .letters import local

    # in the platform's zone, as the HTML report, the letters and the admins' mail give the time
    at = local(report.generated_at, zone)
    table = Table(title=f"DNS compliance ({at:%Y-%m-%d %H:%M} {at.tzname()})", title_justify="left")
    table.add_column("domain", no_wrap=True, overflow="fold")  # the reasons wrap first
    # below 100 columns the agency (which the domain names too) would leave the reasons a fifth of the width
    with_agency = console.width >= 100
    if with_agency:
        table.add_column("agency", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("to fix", overflow="fold", ratio=1)
    for domain in report.domains:
        # reasons quote what agencies published: Text, never read as markup
        problems = Text()
        for check in domain.to_fix():
            problems.append(("\n" if problems else "") + f"{check.label} {check.status}", _STYLE[check.status])
            problems.append(f": {terminal_text(check.reason(lang))}")
        cells = [Text(domain.domain), Text(domain.agency or "-")] if with_agency else [Text(domain.domain)]
        table.add_row(*cells, Text(domain.status, style=_STYLE[domain.status]), problems)
    console.print(table)
    summary = report.summary
    console.print(f"{domain_count(summary['domains'])}: {summary['pass']} pass, {summary['warn']} warn, "
                  f"{summary['fail']} fail, {summary['error']} error")
    if report.newly_failing is not None:
        console.print(f"newly failing: {', '.join(report.newly_failing) or '-'}; "
                      f"fixed: {', '.join(report.fixed or []) or '-'}")


def render(report: CheckReport, fmt: str, lang: str) -> str:
    return {"json": to_json, "csv": to_csv, "junit": to_junit}[fmt](report, lang)
