"""contact_history, list_reminders and list_leads: what account managers read back from the CRM.
A client's contacts are shown only to those who may see the client (the dialog resolves the
client through crm_core.visibility before this handler runs, as for client_profile)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from crm_core.interactions import recent_interactions
from crm_core.leads import leads_of
from crm_core.masking import mask_personal
from crm_core.reminders import ReminderStatus, reminders_of
from crm_core.staff import Role
from intents import format as fmt
from intents.context import HandlerContext
from intents.registry import handler
from intents.types import Intent
from messaging.replies import Reply

CONTACTS_SHOWN = 5
REMINDERS_SHOWN = 20
LEADS_SHOWN = 20
# The days a list of reminders may cover: a range said beyond them ("9999年12月31日") is cut to
# them, so that its bounds stay datetimes in every time zone.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)


def _day(moment: datetime, date_only: bool, ctx: HandlerContext) -> str:
    return moment.astimezone(ctx.tz).date().isoformat() if date_only else fmt.when(moment, ctx.tz)


@handler("contact_history")
def contact_history(ctx: HandlerContext, intent: Intent) -> Reply:
    client = ctx.client
    rows, total = recent_interactions(session=ctx.session, client_id=client.id, limit=CONTACTS_SHOWN)
    if not rows:
        return Reply(ctx.t("contacts_none", client=client.name), private=True)
    lines = [ctx.t("contacts_head", client=client.name, count=total, shown=len(rows))]
    for n, row in enumerate(rows, 1):
        lines.append(ctx.t("contacts_line", n=n, when=_day(row.occurred_at, row.date_only, ctx),
                           channel=ctx.t(f"channel_{row.channel.value}"), staff=row.staff.name,
                           summary=mask_personal(row.summary)[0]))
    return Reply("\n".join(lines), private=True)


def _range(value: str, ctx: HandlerContext) -> tuple[date, date] | None:
    """The `when` slot (an ISO date or an ISO interval of dates) as first and last day."""
    try:
        first, _, last = value.partition("/")
        start = date.fromisoformat(first[:10])
        end = date.fromisoformat(last[:10]) if last else start
    except ValueError:
        return None
    return (start, end) if start <= end else (end, start)


def _span_label(days: tuple[date, date] | None, ctx: HandlerContext) -> str:
    if days is None:
        return ctx.t("reminders_all")
    start, end = days
    return start.isoformat() if start == end else f"{start.isoformat()} ~ {end.isoformat()}"


@handler("list_reminders")
def list_reminders(ctx: HandlerContext, intent: Intent) -> Reply:
    days = _range(str(intent.slots["when"]), ctx) if intent.slots.get("when") else None
    start = end = None
    if days is not None:
        first, last = (min(max(day, FIRST_DAY), LAST_DAY) for day in days)
        start = datetime.combine(first, time(0), ctx.tz)
        end = datetime.combine(last + timedelta(days=1), time(0), ctx.tz)
    rows, total = reminders_of(session=ctx.session, staff_id=ctx.staff.id, start=start, end=end,
                               limit=REMINDERS_SHOWN)
    span = _span_label(days, ctx)
    if not rows:
        return Reply(ctx.t("reminders_none", span=span), private=True)
    lines = [ctx.t("reminders_head", span=span, count=total)]
    for n, row in enumerate(rows, 1):
        key = "reminders_line_sent" if row.status == ReminderStatus.sent else "reminders_line"
        lines.append(ctx.t(key, n=n, when=_day(row.due_at, row.date_only, ctx), content=row.content))
    if total > len(rows):
        lines.append(ctx.t("reminders_more", more=total - len(rows)))
    return Reply("\n".join(lines), private=True)


@handler("list_leads")
def list_leads(ctx: HandlerContext, intent: Intent) -> Reply:
    rows, total = leads_of(session=ctx.session, staff=ctx.staff, limit=LEADS_SHOWN)
    mine = ctx.staff.role == Role.manager
    if not rows:
        return Reply(ctx.t("leads_none_mine" if mine else "leads_none"), private=True)
    lines = [ctx.t("leads_head_mine" if mine else "leads_head", count=total)]
    sep = "，" if ctx.lang == "zh" else ", "
    for n, lead in enumerate(rows, 1):
        parts = [lead.name]
        phone = lead.masked_phone(ctx.cipher) if lead.phone_enc else None
        parts += [p for p in (phone, lead.interest, lead.lead_source) if p]
        if not mine and lead.manager is not None:
            parts.append(ctx.t("leads_owner", manager=lead.manager.name))
        parts.append(ctx.t("leads_since", day=lead.created_at.astimezone(ctx.tz).date().isoformat()))
        lines.append(ctx.t("choice_row", n=n, label=sep.join(mask_personal(p)[0] for p in parts)))
    if total > len(rows):
        lines.append(ctx.t("leads_more", more=total - len(rows)))
    return Reply("\n".join(lines), private=True)
