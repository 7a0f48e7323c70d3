"""undo_last: my last write through chat in the last 24 hours (an interaction, a reminder, a lead,
a client change), shown and reversed after 确认 (crm_core.undo says how each is reversed)."""
from __future__ import annotations

import re

from crm_core.undo import UndoError, Write, last_write, undo, write_of
from intents.context import HandlerContext
from intents.handlers.client_update import describe as describe_change
from intents.handlers.interactions import show_time
from intents.registry import handler
from intents.types import Intent
from messaging.replies import Reply

ENTRY = "entry"  # a slot of our own: the audit entry of the write the confirmation showed
CORRECTION = re.compile(r"记错|搞错|弄错|写错|录错|错了|不对|应该是|改成|wrong|mistake|should (?:be|have)", re.I)


def describe(ctx: HandlerContext, write: Write) -> str:
    entry, row = write.entry, write.row
    action = entry.action
    if action == "interaction.create":
        what = ctx.t("undo_what_interaction", when=show_time(row.occurred_at.astimezone(ctx.tz), row.date_only, ctx),
                     channel=ctx.t(f"channel_{row.channel.value}"), client=row.client.name, summary=row.summary)
        return what + (ctx.t("undo_what_followup") if write.followup is not None else "")
    if action == "reminder.create":
        return ctx.t("undo_what_reminder", when=show_time(row.due_at.astimezone(ctx.tz), row.date_only, ctx),
                     content=row.content)
    if action == "lead.create":
        return ctx.t("undo_what_lead", name=row.name)
    details = entry.details or {}
    field = details.get("field", "")
    shown = details.get("tag") if field in ("add_tag", "remove_tag") else details.get("after")
    return describe_change(ctx, row.name, field, shown or ctx.t("client_value_none"),
                           details.get("before") or ctx.t("client_value_none"))


def _found(ctx: HandlerContext, write: Write | None) -> str | Reply:
    if write is None:
        return Reply(ctx.t("undo_nothing"))
    if not write.undoable:
        return Reply(ctx.t("undo_not_possible", what=ctx.t("undo_final_" + write.entry.action.replace(".", "_"))))
    return describe(ctx, write)


def preview(ctx: HandlerContext, intent: Intent) -> str | Reply:
    write = last_write(session=ctx.session, actor=ctx.staff, now=ctx.now)
    found = _found(ctx, write)
    if isinstance(found, Reply):
        return found
    intent.slots[ENTRY] = write.entry.id  # 确认 undoes what was shown, whatever was written since
    return ctx.t("undo_summary", what=found)


@handler("undo_last")
def undo_last(ctx: HandlerContext, intent: Intent) -> Reply:
    entry_id = intent.slots.get(ENTRY)
    write = (write_of(session=ctx.session, actor=ctx.staff, now=ctx.now, entry_id=int(entry_id)) if entry_id
             else last_write(session=ctx.session, actor=ctx.staff, now=ctx.now))
    found = _found(ctx, write)
    if isinstance(found, Reply):
        return found
    try:
        undo(session=ctx.session, actor=ctx.staff, write=write, source=ctx.source)
    except UndoError as exc:
        return Reply(ctx.t(exc.key, what=found))
    lines = [ctx.t("undo_done", what=found)]
    if CORRECTION.search(ctx.said):
        lines.append(ctx.t("undo_send_again"))
    return Reply("\n".join(lines))


undo_last.preview = preview
