"""Per-user conversation state (pending numbered choices, the last client talked about).

Kept in the database so that several service replicas share it, encrypted: a write waiting for
确认 holds what was said and its slots, a phone number among them, until it is saved.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from crm_core.base import Base
from crm_core.db import cipher_of
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
    return _open(session, row.state or {})


def _seal(session: Session, state: dict) -> dict:
    return {"sealed": cipher_of(session).encrypt(json.dumps(state, ensure_ascii=False))}


def _open(session: Session, stored: dict) -> dict:
    if "sealed" not in stored:
        return dict(stored)  # written before the state was encrypted
    return json.loads(cipher_of(session).decrypt(stored["sealed"]))


def save_state(*, session: Session, staff_id: int, platform: str, now: datetime, state: dict) -> None:
    """Store the state. Two first messages of one person handled at once (two threads or two
    replicas) both find no row: the second insert loses on the unique key and updates instead."""
    where = (Conversation.staff_id == staff_id, Conversation.platform == platform)
    state = _seal(session, state)
    row = session.scalar(select(Conversation).where(*where))
    if row is None:
        try:
            with session.begin_nested():
                session.add(Conversation(staff_id=staff_id, platform=platform, state=state, updated_at=now))
            return
        except IntegrityError:
            row = session.scalar(select(Conversation).where(*where).execution_options(populate_existing=True))
    row.state = state
    row.updated_at = now
