"""create_reminder: stored now, delivered by the service's scheduler at its time."""
from __future__ import annotations

from crm_core.reminders import create_reminder
from intents.context import HandlerContext
from intents.handlers.interactions import parse_slot_time, show_time
from intents.registry import handler
from intents.types import Intent
from messaging.replies import Reply


@handler("create_reminder")
def remind(ctx: HandlerContext, intent: Intent) -> Reply:
    when = intent.slots.get("when")
    if not when:
        return Reply(ctx.t("reminder_needs_time"))
    due, date_only = parse_slot_time(str(when), ctx)
    if date_only:
        due = due.replace(hour=9, minute=0)  # a day alone: remind at the start of the working day
    if (due.date() < ctx.now.date()) if date_only else (due < ctx.now):
        return Reply(ctx.t("reminder_in_past", when=show_time(due, date_only, ctx)))
    content = str(intent.slots.get("content") or ctx.said)
    reminder = create_reminder(session=ctx.session, actor=ctx.staff, due_at=due, content=content, client=ctx.client,
                               date_only=date_only, source=ctx.source)
    return Reply(ctx.t("reminder_set", when=show_time(due, date_only, ctx), content=reminder.content))
