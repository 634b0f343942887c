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

    profile = resolve(cfg.directory.profile).name
    typer.echo(
        f"{config}: valid: {len(cfg.agencies)} agencies, {len(cfg.agencies)} domains, "
        f"{cfg.mailbox_count} mailboxes (directory profile {profile})"
    )
