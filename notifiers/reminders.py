"""Due reminders leave through the outbox to the person's direct-message platform."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.reminders import Reminder, ReminderStatus
from crm_core.staff import Staff
from messaging.replies import Reply
from notifiers.outbox import enqueue

log = logging.getLogger("brokerbot.reminders")


def queue_due_reminders(*, session: Session, now: datetime,
                        address: Callable[[Staff], tuple[str, str, str | None]],
                        text: Callable[[Reminder], str]) -> int:
    """Queue every pending reminder whose time has come; returns how many were queued.
    `address(staff)` is (channel, target, reason): for someone no platform reaches, the reason
    says why and the message is kept undeliverable (sent once a platform reaches them)."""
    queued = 0
    # Claimed: each due reminder is locked (one replica takes it, the others skip it) and marked
    # sent in this transaction; its outbox ref makes a second queueing a no-op as well.
    due = session.scalars(select(Reminder).where(Reminder.status == ReminderStatus.pending,
                                                 Reminder.due_at <= now).order_by(Reminder.due_at).limit(500)
                          .with_for_update(skip_locked=True, of=Reminder)).all()
    for reminder in due:
        staff = session.get(Staff, reminder.staff_id)
        if staff is None:
            log.warning("reminder %s for staff %s, who is not on file", reminder.id, reminder.staff_id)
            continue
        channel, target, reason = address(staff)
        if reason is not None:
            log.warning("reminder %s for %s kept until they can be reached: %s", reminder.id, staff.login, reason)
        reminder.status = ReminderStatus.sent
        if enqueue(session=session, channel=channel, target=target, reply=Reply(text(reminder)),
                   purpose="reminder", ref=f"reminder:{reminder.id}", now=now, unrouted=reason) is not None:
            queued += 1
    return queued
