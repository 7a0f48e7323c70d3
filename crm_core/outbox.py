"""The durable outbox: every outgoing message is written here before it is sent.

A row is `pending` until a sender delivers it (`delivered`, with the platform's message id) or
gives up after the last retry (`failed`, with the reason, visible to operators). Rows survive
restarts and crashes; a row claimed by a dispatcher that died is retried after its lease.
A direct message to a person no configured platform reaches is kept `unrouted` (channel
`direct`, target their login) with the reason, and queued for their platform once one reaches
them; `routed_at` then records when, so the evidence shows how long it could not be delivered.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.base import Base, utcnow
from crm_core.types import UTCDateTime


class OutboxStatus(str, enum.Enum):
    pending = "pending"
    sending = "sending"
    delivered = "delivered"
    failed = "failed"
    unrouted = "unrouted"  # undeliverable for now: no platform reaches the person (unrouted_reason)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "next_attempt_at"),
                      UniqueConstraint("purpose", "ref"))
    id: Mapped[int] = mapped_column(primary_key=True)
    # wecom | dingtalk | slack (direct messages), wecom_webhook | dingtalk_webhook | slack_channel (groups)
    channel: Mapped[str] = mapped_column(String(24))
    target: Mapped[str] = mapped_column(String(512))  # user id, webhook URL or channel id
    body: Mapped[dict] = mapped_column(JSON)  # the platform-neutral reply: text, title, choices
    purpose: Mapped[str] = mapped_column(String(32), default="reply")  # reply | reminder | alert | approval
    ref: Mapped[str | None] = mapped_column(String(64))  # e.g. "reminder:12"; unique per purpose
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, native_enum=False, length=12), default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    platform_message_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The dispatcher holding the lease, "host:pid:token": a restarted process takes back at once what a
    # dead process on its host had claimed, instead of waiting for the lease to run out.
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    unrouted_reason: Mapped[str | None] = mapped_column(Text)  # e.g. "no platform configured"
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when a route was found for it
    # How many parts of the message went out: the text is part 1, attachment k is part k + 1. A
    # retry after a failed upload starts after them, so the text is not sent twice.
    parts_done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class OutboxMedia(Base):
    """The bytes of an image or file attached to an outbox message (its body names the row by id),
    so a restart still sends them; and the platform's id for the uploaded copy with its expiry
    (a WeCom media_id lives 3 days), so a retry does not upload again while it is valid."""

    __tablename__ = "outbox_media"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # image | file
    filename: Mapped[str] = mapped_column(String(255))
    mime: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    platform_key: Mapped[str | None] = mapped_column(String(160))  # whose media id: "wecom:CORP"...
    platform_media_id: Mapped[str | None] = mapped_column(String(512))
    platform_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlatformToken(Base):
    """Access tokens shared by every replica (WeCom, DingTalk), with their expiry."""

    __tablename__ = "platform_tokens"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    token: Mapped[str] = mapped_column(String(512))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
