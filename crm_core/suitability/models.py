"""Suitability records: assessments and signed special risk warnings (kept at least 20 years)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.base import Base, Provenance, Timestamps
from crm_core.clients import Client
from crm_core.types import UTCDateTime

# -- records ---------------------------------------------------------------------------------

class SuitabilityAssessment(Timestamps, Provenance, Base):
    __tablename__ = "suitability_assessments"
    __table_args__ = (Index("ix_suitability_assessments_client_assessed", "client_id", "assessed_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    answers: Mapped[dict] = mapped_column(JSON)
    score: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(2))
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # The manager's re-assessment reminder, once queued (one per assessment).
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminders.id"))

    client: Mapped[Client] = relationship()


class SpecialRiskWarning(Timestamps, Provenance, Base):
    """A client's signed special written risk warning (特别风险警示书) for one product category."""

    __tablename__ = "special_risk_warnings"
    __table_args__ = (Index("ix_special_risk_warnings_client_category", "client_id", "category"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    category: Mapped[str] = mapped_column(String(64))
    client_level: Mapped[str | None] = mapped_column(String(2))  # at signing
    product_level: Mapped[str] = mapped_column(String(2))  # at signing
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Where the signed paper or file is, or what it says: enough to find it in 20 years.
    evidence: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


