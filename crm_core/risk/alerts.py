"""Risk alerts and the evidence that people were told.

An alert is raised for an account when it enters a level (risk_rules.yaml), or as a one-day
notice (equity drop, large transfer). Its states follow a CTP margin notice: open (raised) ->
notified (a message was queued to someone) -> acknowledged (a person said what was done) ->
resolved (the account fell back below the levels by the resolve margin).

Evidence (courts put the burden of proving a margin-call notice was delivered on the broker,
STYLE.md): every notification is an `AlertNotification` pointing at the outbox row that carried
it, whose channel, recipient, delivery time, platform message id and status are the record of
delivery. Every acknowledgement is an `AlertAcknowledgement`: who, when, what they said and the
chat message it came in (the alert's own columns hold the latest one).
"""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.accounts import Account
from crm_core.base import Base, Provenance, Timestamps, utcnow
from crm_core.types import Fixed, UTCDateTime


class AlertLevel(str, enum.Enum):
    warning = "warning"
    margin_call = "margin_call"
    force_close = "force_close"


SEVERITY = {AlertLevel.warning: 1, AlertLevel.margin_call: 2, AlertLevel.force_close: 3}


class AlertStatus(str, enum.Enum):
    open = "open"
    notified = "notified"
    acknowledged = "acknowledged"
    resolved = "resolved"


ACTIVE = (AlertStatus.open, AlertStatus.notified, AlertStatus.acknowledged)


class AlertKind(str, enum.Enum):
    risk = "risk"  # a level of risk_rules.yaml; escalates, re-notifies, resolves
    equity_drop = "equity_drop"  # a one-day notice
    large_transfer = "large_transfer"  # a one-day notice for the anti-money-laundering desk


class Alert(Timestamps, Provenance, Base):
    """Provenance columns record the chat message that acknowledged the alert."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_account_status", "account_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("margin_snapshots.id"))
    kind: Mapped[AlertKind] = mapped_column(Enum(AlertKind, native_enum=False, length=16), default=AlertKind.risk)
    # One active risk alert per account ("risk:<account id>", cleared on resolution) and one
    # notice per account, kind and trading day: a unique key, so concurrent sweeps on several
    # replicas cannot raise the same alert twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(96), unique=True)
    level: Mapped[AlertLevel] = mapped_column(Enum(AlertLevel, native_enum=False, length=12))
    status: Mapped[AlertStatus] = mapped_column(
        Enum(AlertStatus, native_enum=False, length=12), default=AlertStatus.open)
    # The figures of the snapshot that raised (or last escalated) the alert.
    risk_degree: Mapped[Decimal | None] = mapped_column(Fixed(6))
    exchange_risk_degree: Mapped[Decimal | None] = mapped_column(Fixed(6))
    balance: Mapped[Decimal | None] = mapped_column(Fixed(2))
    available: Mapped[Decimal | None] = mapped_column(Fixed(2))
    margin_call: Mapped[Decimal | None] = mapped_column(Fixed(2))
    data_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    level_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when it reached its current level
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # to the supervisor, unacknowledged
    last_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ack_comment: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(255))

    account: Mapped[Account] = relationship(lazy="joined")

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class AlertNotification(Base):
    """One message that told someone of an alert: its delivery record is the outbox row."""

    __tablename__ = "alert_notifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    # opened | escalated (level rose) | renotify | escalation (to the supervisor) | resolved | pre_open
    event: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(128))  # a staff login, or "#" + a channel name
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    digest: Mapped[bool] = mapped_column(Boolean, default=False)  # told inside a digest
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertAcknowledgement(Provenance, Base):
    """One person saying they handled an alert: what they said, when, and the chat message
    (platform, message id, sender, raw text) it came in. Kept however many there are."""

    __tablename__ = "alert_acknowledgements"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    comment: Mapped[str | None] = mapped_column(Text)
