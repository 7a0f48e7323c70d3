"""Reminders: stored now, delivered by the service's scheduler at their time."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Text
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
