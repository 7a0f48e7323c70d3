"""create_lead: a prospective client, owned by the person who registers it."""
from __future__ import annotations

import re
from dataclasses import replace

from crm_core import audit
from crm_core.crypto import mask_phone
from crm_core.leads import create_lead, find_duplicate_lead
from crm_core.visibility import can_see
from intents.context import HandlerContext
from crm_core.masking import mask_personal
from intents.registry import handler
from intents.types import Intent
from messaging.replies import Reply

PHONE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$|^0\d{2,3}-?\d{7,8}$")


@handler("create_lead")
def lead(ctx: HandlerContext, intent: Intent) -> Reply:
    name = str(intent.slots.get("client") or "").strip()
    if not name:
        return Reply(ctx.t("lead_needs_name"))
    phone = re.sub(r"[\s-]", "", str(intent.slots.get("phone") or "")) or None
    if phone and not PHONE.match(phone):
        return Reply(ctx.t("lead_bad_phone", phone=mask_phone(phone)))
    existing = find_duplicate_lead(session=ctx.session, name=name, phone=phone)
    if existing is not None and not can_see(session=ctx.session, staff=ctx.staff, client=existing):
        # Not registered twice, but who the person is and who serves them stays in their team.
        audit.record(session=ctx.session, actor=ctx.staff.login, action="lead.duplicate_elsewhere", entity="client",
                     entity_id=existing.id, details={"name": name},
                     source=replace(ctx.source, text=mask_personal(ctx.source.text or "")[0]))
        return Reply(ctx.t("lead_duplicate_elsewhere", name=name))
    if existing is not None:
        owner = existing.manager.name if existing.manager else "—"
        return Reply(ctx.t("lead_duplicate", name=name, existing=f"{existing.name}，{owner}"))
    interest = intent.slots.get("interest")
    created = create_lead(session=ctx.session, actor=ctx.staff, name=name, phone=phone,
                          interest=str(interest) if interest else None,
                          lead_source=str(intent.slots["source"]) if intent.slots.get("source") else None,
                          source=ctx.source)
    sep = "，" if ctx.lang == "zh" else ", "
    details = "".join(sep + part for part in (mask_phone(phone) if phone else None, created.interest) if part)
    return Reply(ctx.t("lead_created", name=name, details=details, manager=ctx.staff.name))
