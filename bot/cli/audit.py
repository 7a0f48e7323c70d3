"""`brokerbot audit verify` and `brokerbot audit checkpoint`: the audit log as evidence."""
from __future__ import annotations

import typer

from bot.cli.common import CommandError, app, make_app
from crm_core import audit as audit_log

audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log.")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify(anchor: str = typer.Option(
        None, "--anchor", metavar="SEQ:HASH",
        help="A checkpoint kept outside the database (the daily audit message, or `audit checkpoint`'s "
             "output): the entry SEQ must still have this hash.")) -> None:
    """Check the hash chain, the signed checkpoints and an anchor; print the first problem, if any."""
    bot = make_app()
    try:
        try:
            wanted = audit_log.parse_anchor(anchor) if anchor else None
        except audit_log.BadAnchor as exc:
            raise CommandError(f"--anchor: {exc}") from None
        with bot.db.session() as session:
            count, broken = audit_log.verify(session=session, anchor=wanted)
    finally:
        bot.close()
    if broken is not None:
        raise CommandError(f"audit log broken at entry {broken.entry_id}: {broken.reason} "
                           f"({count} entries read)")
    typer.echo(f"audit log intact: {count} entries")


@audit_app.command("checkpoint")
def checkpoint() -> None:
    """Sign the log's newest entry into audit_checkpoints and print SEQ:HASH to keep elsewhere."""
    bot = make_app()
    try:
        with bot.db.transaction() as session:
            point = audit_log.checkpoint(session=session)
    finally:
        bot.close()
    typer.echo(point.anchor)
