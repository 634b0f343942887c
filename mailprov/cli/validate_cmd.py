"""``mailprov validate``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .options import ConfigOpt, load

if TYPE_CHECKING:
    from ..model import Mailbox, Source


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)


def validate(config: ConfigOpt = Path("domains.yaml")) -> None:
    """Check the configuration and its CSV files; report every problem as file:line."""
    cfg = load(config)
    from ..profiles import resolve

    resolved = resolve(cfg.directory.profile)
    profile = resolved.name
    counts = ", ".join(
        _count(n, word) for n, word in ((len(cfg.agencies), "agenc"), (len(cfg.agencies), "domain"),
                                        (cfg.mailbox_count, "mailbox"))
    )
    typer.echo(f"{config}: valid: {counts} (directory profile {profile})")
    for selector, bits in cfg.short_platform_keys():
        typer.echo(f"note: the platform's DKIM key for selector {selector} is RSA {bits} bit, below "
                   f"dkim.min_key_bits ({cfg.platform.dkim.min_key_bits}): every agency that publishes it gets "
                   "a warning; rotate to a longer key under a new selector")
    _first_five([f"employee_id {number} is given to {len(holders)} mailboxes with different names: "
                 f"{', '.join(_holder(m) for m in holders)}; a NIP is one person's: check the staff list"
                 for number, holders in cfg.shared_employee_ids()],
                "employee_id(s) given to different names")
    _first_five([f"{mailbox.address}{_at(mailbox.source)}: employee_id {mailbox.employee_id} is not a NIP as BKN "
                 f"issues them: {why}; a digit typed wrong?" for mailbox, why in cfg.doubtful_nips()],
                "18-digit employee_id(s) that are not NIPs as BKN issues them")
    aliases = resolved.stores_aliases
    kinds, fix = (("mailbox or alias", "a mailbox or an alias") if aliases else
                  (f"mailbox (profile {profile} stores no aliases)", "a mailbox"))
    for agency in cfg.unprovisioned_contacts(aliases):
        typer.echo(f"note: agency '{agency.id}'{_at(agency.source)}: contact.email {agency.contact.email} is in its "
                   f"own domain, but no {kinds} here has it: once the domain's mail comes to the platform, mail to "
                   f"it (the nightly notices too) bounces; give the contact {fix} at that address")
    silent = cfg.agencies_without_contact
    if silent:
        shown = ", ".join(silent[:5]) + (f" and {len(silent) - 5} more" if len(silent) > 5 else "")
        typer.echo(f"note: notify.agency_contacts is on, but {_count(len(silent), 'agenc')} ha"
                   f"{'s' if len(silent) == 1 else 've'} no contact.email and will not be told when "
                   f"{'its' if len(silent) == 1 else 'their'} DNS fails: {shown}")


def _at(source: Source | None) -> str:
    """`` (file:line)`` where a mailbox or agency is written, for a note."""
    return f" ({source})" if source else ""


def _holder(mailbox: Mailbox) -> str:
    """``address (name, file:line)``: one of the mailboxes a shared NIP is given to."""
    where = f", {mailbox.source}" if mailbox.source else ""
    return f"{mailbox.address} ({mailbox.name}{where})"


def _first_five(notes: list[str], rest: str) -> None:
    """At most five notes of one kind, then how many more: a staff sheet with a whole column wrong would
    otherwise bury the rest of the output."""
    for note in notes[:5]:
        typer.echo(f"note: {note}")
    if len(notes) > 5:
        typer.echo(f"note: and {len(notes) - 5} more {rest}")


def _count(n: int, stem: str) -> str:
    plural = {"agenc": ("agency", "agencies"), "mailbox": ("mailbox", "mailboxes")}.get(stem, (stem, stem + "s"))
    return f"{n} {plural[0] if n == 1 else plural[1]}"
