"""Risk alerts (evaluation, routing and escalation arrive with the risk issue)."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.base import Base, Timestamps
from crm_core.types import Fixed, UTCDateTime


class AlertLevel(str, enum.Enum):
    warning = "warning"
    margin_call = "margin_call"
    force_close = "force_close"


class AlertStatus(str, enum.Enum):
    open = "open"
    notified = "notified"
    acknowledged = "acknowledged"
    resolved = "resolved"


class Alert(Timestamps, Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_account_status", "account_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("margin_snapshots.id"))
    level: Mapped[AlertLevel] = mapped_column(Enum(AlertLevel, native_enum=False, length=12))
    status: Mapped[AlertStatus] = mapped_column(
        Enum(AlertStatus, native_enum=False, length=12), default=AlertStatus.open)
    risk_degree: Mapped[Decimal | None] = mapped_column(Fixed(6))
    margin_call: Mapped[Decimal | None] = mapped_column(Fixed(2))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ack_comment: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(255))
