"""Commands of the dns capability (placeholder until it lands)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
