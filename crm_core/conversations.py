"""Per-user conversation state (pending numbered choices, the last client talked about).

Kept in the database so that several service replicas share it.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from crm_core.base import Base
from crm_core.types import UTCDateTime


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("staff_id", "platform"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    platform: Mapped[str] = mapped_column(String(16))
    state: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


def load_state(*, session: Session, staff_id: int, platform: str, now: datetime,
               idle: timedelta) -> dict:
    row = session.scalar(select(Conversation).where(
        Conversation.staff_id == staff_id, Conversation.platform == platform))
    if row is None or now - row.updated_at > idle:
        return {}
    return dict(row.state or {})


def save_state(*, session: Session, staff_id: int, platform: str, now: datetime, state: dict) -> None:
    row = session.scalar(select(Conversation).where(
        Conversation.staff_id == staff_id, Conversation.platform == platform))
    if row is None:
        row = Conversation(staff_id=staff_id, platform=platform)
        session.add(row)
    row.state = state
    row.updated_at = now
