"""log_interaction: a visit, call, WeChat chat or email, and its follow-up reminder."""
from __future__ import annotations

from datetime import date, datetime, time

from crm_core.interactions import Channel, log_interaction
from intents import format as fmt
from intents.context import HandlerContext
from intents.registry import handler
from intents.types import Intent
from messaging.replies import Reply


def parse_slot_time(value: str, ctx: HandlerContext) -> tuple[datetime, bool]:
    """An ISO slot value -> (aware datetime, date_only). A date alone is noon of that day."""
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), time(12, 0), ctx.tz), True
    moment = datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=ctx.tz)), False


def show_time(moment: datetime, date_only: bool, ctx: HandlerContext) -> str:
    return moment.date().isoformat() if date_only else fmt.when(moment, ctx.tz)


@handler("log_interaction")
def log(ctx: HandlerContext, intent: Intent) -> Reply:
    slots = intent.slots
    occurred_at, date_only = parse_slot_time(str(slots.get("when") or ctx.now.date().isoformat()), ctx)
    followup, followup_date_only = (parse_slot_time(str(slots["next_followup"]), ctx)
                                    if slots.get("next_followup") else (None, False))
    channel = Channel(slots.get("channel") or "other")
    summary = str(slots.get("summary") or ctx.said)
    interaction, reminder = log_interaction(session=ctx.session, actor=ctx.staff, client=ctx.client, channel=channel,
                                            occurred_at=occurred_at, date_only=date_only, summary=summary,
                                            next_followup=followup, followup_date_only=followup_date_only,
                                            source=ctx.source)
    lines = [ctx.t("interaction_logged", when=show_time(occurred_at, date_only, ctx),
                   channel=ctx.t(f"channel_{channel.value}"), client=ctx.client.name,
                   summary=interaction.summary)]  # as stored: personal numbers masked
    if reminder is not None:
        lines.append(ctx.t("followup_set", when=show_time(followup, followup_date_only, ctx)))
    return Reply("\n".join(lines))
