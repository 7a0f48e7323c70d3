"""`brokerbot audit verify`: walk the audit log's hash chain."""
from __future__ import annotations

import typer

from bot.cli.common import CommandError, app, make_app
from crm_core import audit as audit_log

audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log.")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify() -> None:
    """Check the hash chain; print the first broken link, if any."""
    bot = make_app()
    try:
        with bot.db.session() as session:
            count, broken = audit_log.verify(session=session)
    finally:
        bot.close()
    if broken is not None:
        raise CommandError(f"audit log broken at entry {broken.entry_id}: {broken.reason} "
                           f"({count} entries read)")
    typer.echo(f"audit log intact: {count} entries")
