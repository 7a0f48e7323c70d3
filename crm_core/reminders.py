"""Reminders: stored now, delivered by the service's scheduler at their time."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from crm_core import audit
from crm_core.base import Base, Provenance, Source, Timestamps
from crm_core.db import cipher_of
from crm_core.masking import store_text, stored_words
from crm_core.types import UTCDateTime


class ReminderStatus(str, enum.Enum):
    pending = "pending"
    sent = "sent"
    done = "done"
    cancelled = "cancelled"


class Reminder(Timestamps, Provenance, Base):
    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_status_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    date_only: Mapped[bool] = mapped_column(default=False)
    content: Mapped[str] = mapped_column(Text)  # personal numbers masked (crm_core.masking)
    # The words as written, encrypted, when they hold a personal number: delivered to their writer.
    content_sealed: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ReminderStatus] = mapped_column(
        Enum(ReminderStatus, native_enum=False, length=12), default=ReminderStatus.pending)

    def words(self, cipher) -> str:
        """The content as its writer wrote it, for delivering it to them."""
        return stored_words(cipher, self.content, self.content_sealed)


def create_reminder(*, session: Session, actor, due_at: datetime, content: str, client=None,
                    date_only: bool = False, interaction_id: int | None = None,
                    source: Source | None = None) -> Reminder:
    shown, sealed = store_text(cipher_of(session), content)
    reminder = Reminder(staff_id=actor.id, client_id=client.id if client else None, due_at=due_at,
                        date_only=date_only, content=shown, content_sealed=sealed, interaction_id=interaction_id)
    reminder.set_source(source)
    session.add(reminder)
    session.flush()
    audit.record(session=session, actor=actor.login, action="reminder.create", entity="reminder",
                 entity_id=reminder.id, details={"due_at": due_at.isoformat()}, source=source)
    return reminder


# What a person's list of reminders shows: not yet due, or delivered but not marked done.
OPEN = (ReminderStatus.pending, ReminderStatus.sent)


def reminders_of(*, session: Session, staff_id: int, start: datetime | None = None, end: datetime | None = None,
                 limit: int = 50) -> tuple[list[Reminder], int]:
    """A person's reminders, earliest first, and how many there are: those due in [start, end)
    when a range is given (delivered ones included: "what was I reminded of today"), else every
    one still pending."""
    where = [Reminder.staff_id == staff_id]
    if start is None and end is None:
        where.append(Reminder.status == ReminderStatus.pending)
    else:
        where.append(Reminder.status.in_(OPEN))
        if start is not None:
            where.append(Reminder.due_at >= start)
        if end is not None:
            where.append(Reminder.due_at < end)
    total = session.scalar(select(func.count(Reminder.id)).where(*where))
    rows = session.scalars(select(Reminder).where(*where).order_by(Reminder.due_at, Reminder.id).limit(limit))
    return list(rows), total or 0
