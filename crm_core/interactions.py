"""Interactions with clients (visits, calls, WeChat chats, emails) and follow-up reminders."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from crm_core import audit
from crm_core.base import Base, Provenance, Source, Timestamps
from crm_core.clients import Client
from crm_core.masking import masked
from crm_core.reminders import Reminder, create_reminder
from crm_core.staff import Staff
from crm_core.types import UTCDateTime


class Channel(str, enum.Enum):
    visit = "visit"
    phone = "phone"
    wechat = "wechat"
    email = "email"
    other = "other"


class Interaction(Timestamps, Provenance, Base):
    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_client_at", "client_id", "occurred_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    channel: Mapped[Channel] = mapped_column(Enum(Channel, native_enum=False, length=8))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # True when only a date was said ("今天"): occurred_at is then that day's noon.
    date_only: Mapped[bool] = mapped_column(default=False)
    summary: Mapped[str] = mapped_column(Text)  # personal numbers masked: only ever shown masked
    next_followup: Mapped[str | None] = mapped_column(String(32))  # ISO date or datetime as said

    client: Mapped[Client] = relationship(lazy="joined")
    staff: Mapped[Staff] = relationship(lazy="joined")


def log_interaction(*, session: Session, actor: Staff, client: Client, channel: Channel,
                    occurred_at: datetime, summary: str, date_only: bool = False,
                    next_followup: datetime | None = None, followup_date_only: bool = False,
                    source: Source | None = None) -> tuple[Interaction, Reminder | None]:
    interaction = Interaction(client_id=client.id, staff_id=actor.id, channel=channel,
                              occurred_at=occurred_at, date_only=date_only, summary=masked(summary))
    interaction.set_source(source)
    reminder = None
    if next_followup is not None:
        interaction.next_followup = (next_followup.date().isoformat() if followup_date_only
                                     else next_followup.isoformat())
    session.add(interaction)
    session.flush()
    if next_followup is not None:
        reminder = create_reminder(session=session, actor=actor, client=client, due_at=next_followup,
                                   date_only=followup_date_only, content=f"跟进：{summary}",
                                   interaction_id=interaction.id, source=source)
    audit.record(session=session, actor=actor.login, action="interaction.create", entity="interaction",
                 entity_id=interaction.id, details={"client_id": client.id, "channel": channel.value},
                 source=source)
    return interaction, reminder


def last_interaction(*, session: Session, client_id: int) -> Interaction | None:
    return session.scalar(select(Interaction).where(Interaction.client_id == client_id)
                          .order_by(Interaction.occurred_at.desc(), Interaction.id.desc()).limit(1))


def recent_interactions(*, session: Session, client_id: int, limit: int = 5) -> tuple[list[Interaction], int]:
    """The client's newest interactions (at most `limit`), newest first, and how many there are."""
    total = session.scalar(select(func.count(Interaction.id)).where(Interaction.client_id == client_id))
    rows = session.scalars(select(Interaction).where(Interaction.client_id == client_id)
                           .order_by(Interaction.occurred_at.desc(), Interaction.id.desc()).limit(limit))
    return list(rows), total or 0
