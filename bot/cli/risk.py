"""`brokerbot risk scan` (one sweep now) and `brokerbot risk evidence ID` (who was told what, when)."""
from __future__ import annotations

import typer
from sqlalchemy import select

from bot.alerting import Alerting
from bot.cli.common import CommandError, app, make_app, parse_now
from crm_core.clients import Client
from crm_core.outbox import OutboxMessage, OutboxStatus
from crm_core.risk.alerts import Alert, AlertAcknowledgement, AlertNotification
from crm_core.staff import Staff
from intents.format import percent, when

risk_app = typer.Typer(no_args_is_help=True, help="Risk monitoring.")
app.add_typer(risk_app, name="risk")


@risk_app.command("scan")
def scan(now: str = typer.Option(None, "--now", help="ISO 8601 time with offset (default: now)")) -> None:
    """Evaluate every account's newest margin data now; print what was raised, escalated or
    resolved. Messages are queued; a running `brokerbot serve` delivers them."""
    bot = make_app()
    try:
        moment = parse_now(now, bot.db.tz)
        changes = Alerting(bot).evaluate(now=moment, actor="risk.scan")
        with bot.db.session() as session:
            names = dict(session.execute(select(Client.id, Client.name).where(
                Client.id.in_({c.alert.client_id for c in changes} or {0}))).all())
            for change in changes:
                alert = session.get(Alert, change.alert.id)
                risk = percent(alert.risk_degree) if alert.risk_degree is not None else "-"
                level = alert.level.value if alert.kind.value == "risk" else alert.kind.value
                typer.echo(f"{change.event}\t#{alert.id}\t{level}\t{alert.account.account_no}\t"
                           f"{names.get(alert.client_id, '?')}\t{risk}")
    finally:
        bot.close()
    typer.echo(f"{len(changes)} change(s)", err=True)


@risk_app.command("evidence")
def evidence(alert_id: int) -> None:
    """The record of one alert: figures, every notice with its channel, recipient, delivery time,
    platform message id and status (undeliverable ones with the reason), and every
    acknowledgement with who, when, what and the chat message it came in."""
    bot = make_app()
    try:
        with bot.db.session() as session:
            alert = session.get(Alert, alert_id)
            if alert is None:
                raise CommandError(f"no alert #{alert_id}")
            tz = bot.db.tz
            client = session.get(Client, alert.client_id)
            risk = percent(alert.risk_degree) if alert.risk_degree is not None else "-"
            typer.echo(f"alert #{alert.id} {alert.kind.value}/{alert.level.value} {alert.status.value}: "
                       f"{client.name} account {alert.account.account_no}, risk degree {risk}, "
                       f"opened {when(alert.opened_at, tz)}")
            rows = session.execute(select(AlertNotification, OutboxMessage)
                                   .join(OutboxMessage, OutboxMessage.id == AlertNotification.outbox_id)
                                   .where(AlertNotification.alert_id == alert.id).order_by(AlertNotification.id))
            for note, out in rows:
                delivered = when(out.delivered_at, tz) if out.delivered_at else "-"
                unrouted = out.status == OutboxStatus.unrouted
                via = "-" if unrouted else f"{out.channel}:{out.target}"
                status = f"undeliverable: {out.unrouted_reason}" if unrouted else out.status.value
                history = (f"\tundeliverable until {when(out.routed_at, tz)}: {out.unrouted_reason}"
                           if out.routed_at is not None else "")
                typer.echo(f"  {note.event}\t{note.recipient}\tvia {via}\t"
                           f"queued {when(note.created_at, tz)}\t{status}\tdelivered {delivered}\t"
                           f"msgid {out.platform_message_id or '-'}{' (digest)' if note.digest else ''}{history}"
                           f"{'  last error: ' + out.last_error if out.last_error and out.status.value != 'delivered' else ''}")
            acks = session.execute(select(AlertAcknowledgement, Staff.login)
                                   .join(Staff, Staff.id == AlertAcknowledgement.staff_id)
                                   .where(AlertAcknowledgement.alert_id == alert.id).order_by(AlertAcknowledgement.id))
            for ack, login in acks:
                typer.echo(f"  acknowledged by {login} at {when(ack.acknowledged_at, tz)} "
                           f"via {ack.source_platform or '-'}:{ack.source_message_id or '-'}: "
                           f"{ack.comment or '(no comment)'}\tmessage: {ack.source_text or '-'}")
            if alert.resolved_at is not None:
                typer.echo(f"  resolved at {when(alert.resolved_at, tz)}")
    finally:
        bot.close()
