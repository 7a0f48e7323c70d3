"""list_alerts and ack_alert: a person's open risk alerts, and acknowledging one with what was
done for the client (the evidence that the client was told). Every acknowledgement is kept (the
manager's, then the supervisor's follow-up); only a bare repeat by the same person adds nothing."""
from __future__ import annotations

from sqlalchemy import case, func, select

from crm_core import audit
from crm_core.clients import Client
from crm_core.masking import masked
from crm_core.risk.alerts import ACTIVE, SEVERITY, Alert, AlertAcknowledgement, AlertKind, AlertStatus
from crm_core.staff import Role, Staff
from crm_core.visibility import can_see, visible_clients
from intents import format as fmt
from intents.context import HandlerContext
from intents.registry import handler
from intents.types import Intent
from messaging.replies import Reply

SHOWN = 20
ACTS_ON_ALERTS = {Role.manager, Role.supervisor, Role.risk, Role.admin}  # compliance reads only
SEVERITY_ORDER = case({level.value: rank for level, rank in SEVERITY.items()}, value=Alert.level)


def label_key(alert: Alert) -> str:
    """The messages.yaml key naming an alert: its level (警告/追保/强平), or the kind of a notice."""
    if alert.kind != AlertKind.risk:
        return f"alert_kind_{alert.kind.value}"
    return f"level_{alert.level.value}"


@handler("list_alerts")
def list_alerts(ctx: HandlerContext, intent: Intent) -> Reply:
    where = (Alert.status.in_(ACTIVE), visible_clients(ctx.staff))
    total = ctx.session.scalar(select(func.count()).select_from(Alert).join(Client, Client.id == Alert.client_id)
                               .where(*where))
    if not total:
        return Reply(ctx.t("alerts_none"))
    rows = ctx.session.execute(
        select(Alert, Client.name).join(Client, Client.id == Alert.client_id).where(*where)
        .order_by(SEVERITY_ORDER.desc(), Alert.risk_degree.desc(), Alert.id).limit(SHOWN)).all()
    lines = [ctx.t("alerts_head", count=total)]
    for alert, name in rows:
        risk = fmt.percent(alert.risk_degree) if alert.risk_degree is not None else "-"
        lines.append(ctx.t("alerts_line", id=alert.id, label=ctx.t(label_key(alert)), client=name,
                           account=alert.account.account_no, risk=risk,
                           status=ctx.t(f"alert_status_{alert.status.value}")))
    if total > SHOWN:
        lines.append(ctx.t("alerts_more", more=total - SHOWN))
    lines.append(ctx.t("alerts_ack_hint"))
    return Reply("\n".join(lines), private=True)


@handler("ack_alert")
def ack_alert(ctx: HandlerContext, intent: Intent) -> Reply:
    alert_id = intent.slots.get("alert_id")
    if alert_id is None or not str(alert_id).isdigit():
        return Reply(ctx.t("ack_needs_id"))
    alert = ctx.session.get(Alert, int(alert_id))
    client = ctx.session.get(Client, alert.client_id) if alert is not None else None
    if alert is None or client is None or not can_see(session=ctx.session, staff=ctx.staff, client=client):
        return Reply(ctx.t("ack_not_found", id=alert_id))  # another team's alert is not confirmed to exist
    if ctx.staff.role not in ACTS_ON_ALERTS:
        audit.record(session=ctx.session, actor=ctx.staff.login, action="alert.ack_refused", entity="alert",
                     entity_id=alert.id, details={"role": ctx.staff.role.value}, source=ctx.source)
        return Reply(ctx.t("ack_not_your_role"))
    comment = masked(str(intent.slots.get("comment") or "").strip()) or None  # kept, and shown, masked
    if alert.status == AlertStatus.resolved:
        return Reply(ctx.t("ack_already_resolved", id=alert.id, when=fmt.when(alert.resolved_at, ctx.tz)))
    earlier = ctx.session.execute(
        select(AlertAcknowledgement, Staff.name).join(Staff, Staff.id == AlertAcknowledgement.staff_id)
        .where(AlertAcknowledgement.alert_id == alert.id).order_by(AlertAcknowledgement.id)).all()
    mine = [ack for ack, _ in earlier if ack.staff_id == ctx.staff.id]
    if mine and not comment:  # a repeated click or message: already on record
        return Reply(ctx.t("ack_already", id=alert.id, who=ctx.staff.name,
                           when=fmt.when(mine[-1].acknowledged_at, ctx.tz)))
    ack = AlertAcknowledgement(alert_id=alert.id, staff_id=ctx.staff.id, acknowledged_at=ctx.now, comment=comment)
    ack.set_source(ctx.source)
    ctx.session.add(ack)
    alert.status, alert.acknowledged_by_id, alert.acknowledged_at = AlertStatus.acknowledged, ctx.staff.id, ctx.now
    alert.ack_comment = comment
    alert.set_source(ctx.source)
    audit.record(session=ctx.session, actor=ctx.staff.login, action="alert.acknowledge", entity="alert",
                 entity_id=alert.id, details={"level": alert.level.value, "comment": comment}, source=ctx.source)
    key = "ack_done" if comment else "ack_done_no_comment"
    text = ctx.t(key, id=alert.id, label=ctx.t(label_key(alert)), client=client.name, comment=comment or "")
    others = [(ack, name) for ack, name in earlier if ack.staff_id != ctx.staff.id]
    if others:  # the supervisor following up hears who acknowledged it first
        first, name = others[0]
        text += "\n" + ctx.t("ack_also", who=name, when=fmt.when(first.acknowledged_at, ctx.tz))
    return Reply(text)
