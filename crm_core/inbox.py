"""Inbound messages already taken: a platform retry of the same message is answered once.

The key is the platform's own id (WeCom MsgId, or FromUserName + CreateTime for events;
DingTalk msgId; Slack event_id). A unique constraint makes the claim atomic across replicas.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, UniqueConstraint, delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from crm_core.base import Base
from crm_core.types import UTCDateTime


# How long a claim is kept. Platforms retry within minutes (WeCom three times within about 15 s,
# Slack up to three times within about an hour, DingTalk Stream on reconnect); a week is ample.
# It must outlast every window in which a captured request is still accepted, or a replay would be
# served again: WeCom callbacks 5 minutes, Slack signatures 5 minutes, DingTalk HTTP signs 1 hour.
KEEP = timedelta(days=7)


class InboundMessage(Base):
    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("platform", "dedupe_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(191))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def claim(*, session: Session, platform: str, key: str, now: datetime) -> bool:
    """True the first time this message is seen, False for every repeat. Commits the claim."""
    try:
        with session.begin_nested():
            session.execute(insert(InboundMessage).values(platform=platform, dedupe_key=key, received_at=now))
    except IntegrityError:
        return False
    return True


def release(*, session: Session, platform: str, key: str) -> None:
    """Give back a claim whose message was turned away, so that a later one with the key is taken."""
    session.execute(delete(InboundMessage).where(InboundMessage.platform == platform,
                                                 InboundMessage.dedupe_key == key))


def forget_old(*, session: Session, now: datetime, keep: timedelta = KEEP) -> int:
    """Delete claims older than `keep`; returns how many went."""
    return session.execute(delete(InboundMessage).where(InboundMessage.received_at < now - keep)).rowcount or 0
