"""`brokerbot db upgrade`."""
from __future__ import annotations

import typer

from bot.cli.common import app, make_app

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade() -> None:
    """Create or migrate the database schema to this version of brokerbot."""
    bot = make_app(ensure_schema=False)
    before, after = bot.db.upgrade()
    if before == after:
        typer.echo(f"database schema is up to date ({after})")
    else:
        typer.echo(f"database schema upgraded from {before or 'empty'} to {after}")
