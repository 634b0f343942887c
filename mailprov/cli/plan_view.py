"""The renderers of a plan and of what apply did, shared by ``plan`` and ``apply``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from ..apply import ApplyReport
    from ..plan import Change, HeldBack, Plan

ROWS_PER_ACTION = 50
_STYLE = {"create": "green", "modify": "yellow", "disable": "red", "enable": "cyan", "delete": "bold red"}


def to_json(data: dict[str, Any]) -> str:
    from ..report import json_lines

    return json_lines(data)


def _values(values: list[str]) -> str:
    if not values:
        return "-"
    shown = ", ".join(values[:4]) + (f", +{len(values) - 4}" if len(values) > 4 else "")
    return shown if len(shown) <= 60 else shown[:57] + "..."


def details(change: Change) -> str:
    parts = []
    if change.action == "create":
        if change.mailbox is not None:
            parts.append(change.mailbox.name)
        elif change.agency_name:
            parts.append(change.agency_name)
    else:
        for attr, mod in change.modifications.items():
            old, new = mod.shown or (mod.old, mod.new)
            parts.append(f"{attr}: {_values(old)} -> {_values(new)}")
    if change.new_dn:
        from ..ldapnames import first_rdn

        parts.append(f"renamed to {first_rdn(change.new_dn)}")
    if change.set_password:
        parts.append("new password (letter)")
    return "; ".join(parts)


def _rows(changes: list[Change], show_all: bool) -> tuple[list[Change], dict[str, int]]:
    shown: list[Change] = []
    hidden: dict[str, int] = {}
    per_action: dict[str, int] = {}
    for change in changes:
        per_action[change.action] = per_action.get(change.action, 0) + 1
        if show_all or per_action[change.action] <= ROWS_PER_ACTION:
            shown.append(change)
        else:
            hidden[change.action] = hidden.get(change.action, 0) + 1
    return shown, hidden


def summary_line(summary: dict[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in summary.items())


def held_back_summary(held: Sequence[HeldBack]) -> str:
    """``1 mailbox and 2 aliases``: what a plan held back, counted."""
    mailboxes = sum(1 for h in held if h.alias is None)
    aliases = len(held) - mailboxes
    parts = [f"{mailboxes} mailbox{'es' if mailboxes > 1 else ''}"] if mailboxes else []
    parts += [f"{aliases} alias{'es' if aliases > 1 else ''}"] if aliases else []
    return " and ".join(parts)


def render_plan(console: Console, plan: Plan, show_all: bool = False, title: str = "Plan") -> None:
    # names, titles and DNs come from the configuration and the directory: Text, never read as markup,
    # whatever console the caller passes
    from rich.table import Table
    from rich.text import Text

    from ..report import terminal_text

    for note in plan.notes:
        console.print(f"note: {note}")
    if plan.empty:
        console.print(f"{title}: no changes ({plan.unchanged} unchanged).")
    else:
        shown, hidden = _rows(plan.changes, show_all)
        table = Table(title=title, title_justify="left", show_lines=False, expand=False)
        table.add_column("action", no_wrap=True)
        table.add_column("kind", no_wrap=True)
        table.add_column("address / domain", overflow="fold", no_wrap=_whole(console, shown))
        table.add_column("details", overflow="fold", ratio=1)
        for change in shown:
            style = _STYLE.get(change.action, "")
            table.add_row(Text(change.action, style=style), change.kind, Text(terminal_text(change.label)),
                          Text(terminal_text(details(change))))
        console.print(table)
        for action, count in hidden.items():
            console.print(f"... and {count} more {action} change(s) (--all or --format json shows every one)")
    if plan.unmanaged:
        listed = ", ".join(plan.unmanaged[:10]) + (" ..." if len(plan.unmanaged) > 10 else "")
        console.print(f"not in the configuration, left alone (--prune deletes them): {len(plan.unmanaged)}: {listed}")
    console.print("summary: " + summary_line(plan.summary))
    if plan.held_back:
        console.print(f"held back: {held_back_summary(plan.held_back)}, until the entries named in the notes above "
                      "are moved or deleted")


def _whole(console: Console, changes: list[Change]) -> bool:
    """Whether addresses, which operators copy, can stay on one line and leave the details 20 columns (rich
    gives a column that may wrap nothing at all once the others do not fit)."""
    widest = max((len(change.label) for change in changes), default=0)
    return widest + len("│ create │ container │  │  │") + 20 <= console.width


def render_report(console: Console, report: ApplyReport) -> None:
    from rich.table import Table
    from rich.text import Text

    from ..report import terminal_text

    problems = [o for o in report.outcomes if o.status in ("failed", "unknown")]
    if problems:
        shown = problems[:200]
        table = Table(title="Changes that did not complete", title_justify="left")
        table.add_column("status")
        table.add_column("action")
        table.add_column("address / domain", overflow="fold", no_wrap=_whole(console, [o.change for o in shown]))
        table.add_column("reason", overflow="fold", ratio=1)
        for outcome in shown:
            table.add_row(Text(outcome.status, style="red"), outcome.change.action,
                          Text(terminal_text(outcome.change.label)), Text(terminal_text(outcome.message)))
        console.print(table)
        if len(problems) > 200:
            console.print(f"... and {len(problems) - 200} more")
    orphans = sum(1 for o in report.outcomes if o.status == "skipped" and o.message)
    if orphans:
        console.print(f"not sent: {orphans} change(s) under an entry that was not created (above)")
    if report.stopped:
        console.print(Text.assemble((f"stopped: {report.stopped}", "red"), "; re-run apply to finish (it plans "
                                    "again from the directory, without duplicates)"))
    console.print("applied: " + summary_line(report.summary))
