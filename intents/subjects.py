"""The colleague a question is about (the `subject` slot of kpi_report and find_clients): a
supervisor may ask about the members of their team, risk, compliance and admin about anyone, a
manager only about themselves. A refusal is polite, names nobody else's figures and is audited."""
from __future__ import annotations

from crm_core import audit
from crm_core.staff import Staff, staff_named
from crm_core.visibility import may_see_staff
from intents.context import HandlerContext
from intents.types import Intent
from messaging.replies import Reply


def subject_of(ctx: HandlerContext, intent: Intent, refused_key: str) -> Staff | Reply | None:
    """The staff member the question names, a Reply saying why not, or None when none is named."""
    name = str(intent.slots.get("subject") or "").strip()
    if not name:
        return None
    named = staff_named(session=ctx.session, name=name)
    if not named:
        return Reply(ctx.t("subject_not_found", name=name))
    allowed = [person for person in named if may_see_staff(asker=ctx.staff, subject=person)]
    if allowed:
        return allowed[0]
    audit.record(session=ctx.session, actor=ctx.staff.login, action="access.subject_refused", entity="staff",
                 entity_id=named[0].id, details={"intent": intent.name, "role": ctx.staff.role.value},
                 source=ctx.source)
    return Reply(ctx.t(refused_key, name=name))
