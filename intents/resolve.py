"""Turn the `client` slot into one client the asking person may see, or a reply that says
why not: not found (with close names the person may see), or a numbered choice.

Another team's client gets the answer an unknown name gets, word for word: saying "not yours"
would confirm that the client exists. The attempt is audited (access.not_visible) instead."""
from __future__ import annotations

import re

from sqlalchemy import select

from crm_core import audit
from crm_core.clients import Client
from crm_core.visibility import SEES_ALL, can_see, visible_clients
from intents.context import HandlerContext
from intents.mentions import index_for
from intents.types import Intent
from messaging.replies import Choice, Reply

PICK = re.compile(r"^\s*(?:第)?\s*(\d{1,2}|[一二三四五六七八九十])\s*(?:个|号|位)?\s*$")
CN_ORDINAL = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def picked_number(text: str) -> int | None:
    m = PICK.match(text)
    if not m:
        return None
    raw = m.group(1)
    return int(raw) if raw.isdigit() else CN_ORDINAL[raw]


def _label(ctx: HandlerContext, client: Client) -> str:
    parts = [client.name]
    details = []
    if client.accounts:
        details.append("账户 " + "、".join(a.account_no for a in client.accounts) if ctx.lang == "zh"
                       else "account " + ", ".join(a.account_no for a in client.accounts))
    if client.manager:
        details.append(("客户经理 " if ctx.lang == "zh" else "manager ") + client.manager.name)
    if client.tags:
        details.append("/".join(client.tags[:2]))
    if details:
        parts.append(("（" + "；".join(details) + "）") if ctx.lang == "zh" else " (" + "; ".join(details) + ")")
    return "".join(parts)


def choice_reply(ctx: HandlerContext, intent: Intent, mention: str, clients: list[Client]) -> Reply:
    ctx.state["pending"] = {"intent": intent.name, "slots": intent.slots, "confidence": intent.confidence,
                            "client_ids": [c.id for c in clients]}
    choices = [Choice(_label(ctx, c), str(n)) for n, c in enumerate(clients, 1)]
    lines = [ctx.t("choose_client", count=len(clients), mention=mention)]
    lines += [ctx.t("choice_row", n=choice.value, label=choice.label) for choice in choices]
    return Reply("\n".join(lines), choices=choices)


def resolve_client(ctx: HandlerContext, intent: Intent) -> Client | Reply:
    mention = intent.slots.get("client")
    if not mention:
        last = ctx.state.get("last_client_id")
        client = ctx.session.get(Client, last) if last else None
        if client is not None and can_see(session=ctx.session, staff=ctx.staff, client=client):
            intent.slots["client"] = client.name
            return client
        return Reply(ctx.t("which_client"))
    index = index_for(ctx.session)
    ids = index.lookup(str(mention))  # names, traditional forms, pinyin, titles, account numbers
    clients = [ctx.session.get(Client, cid) for cid in ids]
    visible = [c for c in clients if c is not None and can_see(session=ctx.session, staff=ctx.staff, client=c)]
    if not visible:
        hidden = [c.id for c in clients if c is not None]
        if hidden:
            audit.record(session=ctx.session, actor=ctx.staff.login, action="access.not_visible", entity="client",
                         entity_id=hidden[0] if len(hidden) == 1 else None, source=ctx.source,
                         details={"intent": intent.name, "client_ids": hidden})
        allowed = None
        if ctx.staff.role not in SEES_ALL:
            allowed = set(ctx.session.scalars(select(Client.id).where(visible_clients(ctx.staff))))
        names = index.close_names(str(mention), allowed)
        if names:
            sep = "、" if ctx.lang == "zh" else ", "
            return Reply(ctx.t("client_not_found_suggest", mention=mention, names=sep.join(names)))
        return Reply(ctx.t("client_not_found", mention=mention))
    if len(visible) > 1:
        return choice_reply(ctx, intent, str(mention), visible)
    return visible[0]
