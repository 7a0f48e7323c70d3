"""find_clients: a numbered list of the asking person's clients matching a condition; with a
`subject`, of that colleague's clients (a supervisor asking about a team member)."""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal, InvalidOperation

from crm_core.finder import ClientFilter, find_clients, has_exchange_margin
from intents import format as fmt
from intents.context import HandlerContext
from intents.registry import handler
from intents.subjects import subject_of
from intents.types import Intent
from messaging.replies import Choice, Reply

SHOWN = 20
NUMBERS = ("risk_above", "available_below", "exchange_risk_above")
INTEGERS = ("no_contact_days", "no_trade_days", "opened_within_days", "top")
TEXTS = ("tag", "risk_level", "birthday")
RANGE_TEXTS = {"risk_above": "find_range_risk", "available_below": "find_range_amount",
               "no_contact_days": "find_range_days", "no_trade_days": "find_range_days",
               "opened_within_days": "find_range_days", "top": "find_range_top",
               "exchange_risk_above": "find_range_risk"}


def filter_from(slots: dict) -> ClientFilter:
    values = {}
    for name in NUMBERS:
        if slots.get(name) is not None:
            try:
                values[name] = Decimal(str(slots[name]))
            except InvalidOperation:
                pass
    for name in INTEGERS:
        text = str(slots.get(name))
        if slots.get(name) is not None and text.lstrip("-").isdigit():
            # more digits than str -> int converts (4,300) is out of every range anyway
            values[name] = max(0, int(text)) if len(text) < 100 else 10**100
    for name in TEXTS:
        if slots.get(name):
            values[name] = str(slots[name])
    return ClientFilter(**values)


def _row(ctx: HandlerContext, found, filters: ClientFilter) -> str:
    details = []
    if found.risk_degree is not None:
        details.append(ctx.t("find_risk", value=fmt.percent(found.risk_degree)))
    if found.exchange_risk_degree is not None:
        details.append(ctx.t("find_exchange_risk", value=fmt.percent(found.exchange_risk_degree)))
    if filters.available_below is not None and found.available is not None:
        details.append(ctx.t("find_available", value=fmt.money(found.available)))
    if filters.no_contact_days is not None:
        details.append(ctx.t("find_last_contact", value=found.last_contact.astimezone(ctx.tz).date().isoformat())
                       if found.last_contact else ctx.t("find_never_contacted"))
    if filters.birthday and found.client.birthday:
        details.append(ctx.t("find_birthday", value=found.client.birthday.strftime("%m-%d")))
    sep = "，" if ctx.lang == "zh" else ", "
    return found.client.name + ((" " + sep.join(details)) if details else "")


@handler("find_clients")
def find(ctx: HandlerContext, intent: Intent) -> Reply:
    filters = filter_from(intent.slots)
    person = subject_of(ctx, intent, "find_subject_refused")
    if isinstance(person, Reply):
        return person
    if person is not None:  # only that colleague's clients, and still only those the asker may see
        filters = replace(filters, manager_id=person.id)
    if filters.empty():
        return Reply(ctx.t("find_needs_filter"))
    if bad := filters.out_of_range():
        return Reply(ctx.t(RANGE_TEXTS[bad]))
    found, total = find_clients(session=ctx.session, staff=ctx.staff, filters=filters, now=ctx.now, limit=SHOWN)
    if not found and filters.exchange_risk_above is not None and \
            not has_exchange_margin(session=ctx.session, staff=ctx.staff):
        return Reply(ctx.t("find_exchange_risk_unavailable"))
    if not found:
        return Reply(ctx.t("find_none"))
    lines = [ctx.t("find_title", count=total)]
    choices = []
    for n, item in enumerate(found, 1):
        choices.append(Choice(item.client.name, str(n)))
        lines.append(ctx.t("choice_row", n=n, label=_row(ctx, item, filters)))
    if total > len(found):
        lines.append(ctx.t("find_more", more=total - len(found)))
    lines.append(ctx.t("find_pick"))
    ctx.state["pending"] = {"intent": "client_profile", "slots": {}, "confidence": 1.0,
                            "client_ids": [item.client.id for item in found]}
    return Reply("\n".join(lines), choices=choices, private=True)
