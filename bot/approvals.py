"""The approvals' scheduled job: steps that waited past their SLA (approval_flows.yaml) remind
their approver (and delegate) once, then escalate to the approver's supervisor once; both get the
approval card with its buttons, through the outbox."""
from __future__ import annotations

from datetime import datetime

from bot.delivery import direct_notifier
from crm_core.approvals import overdue
from crm_core.base import utcnow
from intents.approval_cards import card


def remind_overdue(app, now: datetime | None = None) -> int:
    """One pass; returns how many reminders and escalations were made."""
    now = now or utcnow()
    tz = app.db.tz
    with app.db.transaction() as session:
        notify = direct_notifier(session, app.settings, now)
        due = overdue(session=session, flows=app.approval_flows, now=now, tz=tz)
        for item in due:
            request = item.request
            for person in item.to:
                for_whom = request.approver if person.id != request.approver_id else None
                reply = card(session=session, texts=app.messages, tz=tz, request=request, kind=item.kind, now=now,
                             for_whom=for_whom)
                notify(person, reply, purpose="approval",
                       ref=f"approval:{request.id}:s{request.step}:{item.kind}:{person.id}")
    return len(due)
