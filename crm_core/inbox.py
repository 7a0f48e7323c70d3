"""Inbound messages: the unit of work of every platform (issue 12).

A message is *accepted* before the platform is told it arrived: its row holds the event, sealed
with the personal-data cipher (a message may carry a phone number), with status `pending`. It is
*answered* in one transaction: the handler's writes, the reply queued in the outbox and the row
turned `done` (its payload dropped) commit together or not at all. So a crash or a database
outage at any point leaves either the whole answer or a pending row that a worker (this replica
or another, once the row's lease runs out) answers again; and a platform's retry of an accepted
message finds the row and is not served twice.

The key is the platform's own id (WeCom MsgId, or FromUserName + CreateTime for events; DingTalk
msgId; Slack event_id); a unique constraint makes acceptance atomic across replicas. Card clicks
and other events answered at once use `claim` in the answer's own transaction.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import Integer, String, Text, UniqueConstraint, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from crm_core.base import Base
from crm_core.types import UTCDateTime


# How long a claim is kept. Platforms retry within minutes (WeCom three times within about 15 s,
# Slack up to three times within about an hour, DingTalk Stream on reconnect); a week is ample.
# It must outlast every window in which a captured request is still accepted, or a replay would be
# served again: WeCom callbacks 5 minutes, Slack signatures 5 minutes, DingTalk HTTP signs 1 hour.
KEEP = timedelta(days=7)
PENDING, DONE, FAILED = "pending", "done", "failed"


class InboundMessage(Base):
    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("platform", "dedupe_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(191))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(8), default=DONE, server_default=DONE, index=True)
    payload: Mapped[str | None] = mapped_column(Text)  # the sealed event while pending
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(160))  # "host:pid:token" of the worker holding it


def claim(*, session: Session, platform: str, key: str, now: datetime) -> bool:
    """True the first time this key is seen, False for every repeat. The claim is part of the
    session's transaction: it is given back if that transaction rolls back."""
    try:
        with session.begin_nested():
            session.execute(insert(InboundMessage).values(platform=platform, dedupe_key=key, received_at=now))
    except IntegrityError:
        return False
    return True


def accept(*, session: Session, platform: str, key: str, now: datetime, payload: str) -> int | None:
    """Keep a message to be answered: its row id, or None when the key was accepted before."""
    try:
        with session.begin_nested():
            return session.execute(insert(InboundMessage).values(
                platform=platform, dedupe_key=key, received_at=now, status=PENDING, payload=payload,
            ).returning(InboundMessage.id)).scalar_one()
    except IntegrityError:
        return None


def lease(*, session: Session, row_id: int, now: datetime, hold: timedelta, worker: str | None = None) -> str | None:
    """Take a pending row for `hold` (no other worker takes it meanwhile): its payload, or None when
    it is answered or another worker holds it."""
    taken = session.execute(update(InboundMessage).where(
        InboundMessage.id == row_id, InboundMessage.status == PENDING,
        or_(InboundMessage.lease_until.is_(None), InboundMessage.lease_until < now),
    ).values(lease_until=now + hold, attempts=InboundMessage.attempts + 1, claimed_by=worker)).rowcount
    if not taken:
        return None
    return session.scalar(select(InboundMessage.payload).where(InboundMessage.id == row_id))


def finish(*, session: Session, row_id: int, status: str = DONE) -> bool:
    """Mark a pending row answered (in the answer's transaction) and drop its payload; False when it
    was answered already (by a worker whose lease ran out before it finished): roll back then."""
    return bool(session.execute(update(InboundMessage).where(
        InboundMessage.id == row_id, InboundMessage.status == PENDING,
    ).values(status=status, payload=None, lease_until=None, claimed_by=None)).rowcount)


def due(*, session: Session, now: datetime, settle: timedelta, limit: int = 100) -> list[int]:
    """Pending rows no worker holds, accepted at least `settle` ago (a fresh one is being answered
    by the worker it was handed to), oldest first."""
    return list(session.scalars(select(InboundMessage.id).where(
        InboundMessage.status == PENDING, InboundMessage.received_at < now - settle,
        or_(InboundMessage.lease_until.is_(None), InboundMessage.lease_until < now),
    ).order_by(InboundMessage.id).limit(limit)))


def take_back(*, session: Session, host: str, alive: Callable[[str], bool]) -> int:
    """Pending rows held by a worker process on this host that no longer runs (killed): free now,
    rather than when their lease runs out. Returns how many."""
    rows = session.scalars(select(InboundMessage).where(
        InboundMessage.status == PENDING, InboundMessage.claimed_by.startswith(f"{host}:")))
    gone = [row for row in rows if not alive(row.claimed_by.split(":")[1])]
    for row in gone:
        row.lease_until, row.claimed_by = None, None
    return len(gone)


def release(*, session: Session, platform: str, key: str) -> None:
    """Give back a claim, so that a later message with the key is taken."""
    session.execute(delete(InboundMessage).where(InboundMessage.platform == platform,
                                                 InboundMessage.dedupe_key == key))


def forget_old(*, session: Session, now: datetime, keep: timedelta = KEEP) -> int:
    """Delete answered claims older than `keep`; returns how many went. Pending rows stay."""
    return session.execute(delete(InboundMessage).where(
        InboundMessage.received_at < now - keep, InboundMessage.status != PENDING)).rowcount or 0
