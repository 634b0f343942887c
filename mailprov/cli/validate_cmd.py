"""``mailprov validate``."""

from __future__ import annotations

from pathlib import Path

import typer

from .options import ConfigOpt, load


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
    shared = cfg.shared_employee_ids()
    for number, holders in shared[:5]:
        named = ", ".join(f"{m.address} ({m.name}, {m.source})" if m.source else f"{m.address} ({m.name})"
                          for m in holders)
        typer.echo(f"note: employee_id {number} is given to {len(holders)} mailboxes with different names: {named}; a "
                   "NIP is one person's: check the staff list")
    if len(shared) > 5:
        typer.echo(f"note: and {len(shared) - 5} more employee_id(s) given to different names")
    doubtful = cfg.doubtful_nips()
    for mailbox, why in doubtful[:5]:
        where = f" ({mailbox.source})" if mailbox.source else ""
        typer.echo(f"note: {mailbox.address}{where}: employee_id {mailbox.employee_id} is not a NIP as BKN issues "
                   f"them: {why}; a digit typed wrong?")
    if len(doubtful) > 5:
        typer.echo(f"note: and {len(doubtful) - 5} more 18-digit employee_id(s) that are not NIPs as BKN issues them")
    aliases = resolved.stores_aliases
    kinds = "mailbox or alias" if aliases else f"mailbox (profile {profile} stores no aliases)"
    for agency in cfg.unprovisioned_contacts(aliases):
        where = f" ({agency.source})" if agency.source else ""
        typer.echo(f"note: agency '{agency.id}'{where}: contact.email {agency.contact.email} is in its own domain, but "
                   f"no {kinds} here has it: once the domain's mail comes to the platform, mail to it (the nightly "
                   f"notices too) bounces; give the contact {'a mailbox or an alias' if aliases else 'a mailbox'} "
                   "at that address")
    silent = cfg.agencies_without_contact
    if silent:
        shown = ", ".join(silent[:5]) + (f" and {len(silent) - 5} more" if len(silent) > 5 else "")
        typer.echo(f"note: notify.agency_contacts is on, but {_count(len(silent), 'agenc')} ha"
                   f"{'s' if len(silent) == 1 else 've'} no contact.email and will not be told when "
                   f"{'its' if len(silent) == 1 else 'their'} DNS fails: {shown}")


def _count(n: int, stem: str) -> str:
    plural = {"agenc": ("agency", "agencies"), "mailbox": ("mailbox", "mailboxes")}.get(stem, (stem, stem + "s"))
    return f"{n} {plural[0] if n == 1 else plural[1]}"
