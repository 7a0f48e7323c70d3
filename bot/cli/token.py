"""`brokerbot token create --name NAME | list | revoke NAME`: tokens for the REST API."""
from __future__ import annotations

import typer

from bot.cli.common import CommandError, app, make_app
from crm_core import tokens
from crm_core.base import Source
from crm_core.importers import os_user

token_app = typer.Typer(no_args_is_help=True, help="API tokens for the REST API (/api/v1).")
app.add_typer(token_app, name="token")


def _source() -> Source:
    return Source(platform="cli", user=os_user())


@token_app.command("create")
def create(name: str = typer.Option(..., "--name", help="Who or what uses the token, e.g. back-office-sync.")
           ) -> None:
    """Print a new API token. Only its hash is stored: copy it now, it is not shown again."""
    bot = make_app()
    try:
        with bot.db.transaction() as session:
            token = tokens.create_token(session=session, name=name, source=_source())
    except tokens.TokenError as exc:
        raise CommandError(str(exc)) from None
    finally:
        bot.close()
    typer.echo(token)
    typer.echo(f"token {name.strip()!r} created; send it as `Authorization: Bearer TOKEN`. "
               "It is not shown again.", err=True)


@token_app.command("list")
def list_() -> None:
    """List tokens by name: created, last used, revoked (never the tokens themselves)."""
    bot = make_app()
    try:
        with bot.db.session() as session:
            rows = tokens.list_tokens(session=session)
        tz = bot.db.tz
    finally:
        bot.close()

    def when(moment) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else "-"

    for row in rows:
        state = f"revoked {when(row.revoked_at)}" if row.revoked_at else "active"
        typer.echo(f"{row.name}\tcreated {when(row.created_at)}\tlast used {when(row.last_used_at)}\t{state}")


@token_app.command("revoke")
def revoke(name: str = typer.Argument(..., help="The token's name.")) -> None:
    """Revoke a token: requests carrying it are refused from now on."""
    bot = make_app()
    try:
        with bot.db.transaction() as session:
            tokens.revoke_token(session=session, name=name, source=_source())
    except tokens.TokenError as exc:
        raise CommandError(str(exc)) from None
    finally:
        bot.close()
    typer.echo(f"token {name!r} revoked")
