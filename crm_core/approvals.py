"""Approval requests (routing and decisions arrive with the approvals issue)."""
from __future__ import annotations

import enum

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.base import Base, Provenance, Timestamps


class ApprovalType(str, enum.Enum):
    account_opening = "account_opening"
    commission_discount = "commission_discount"
    margin_adjustment = "margin_adjustment"
    product_permission = "product_permission"
    client_transfer = "client_transfer"
    other = "other"


class ApprovalStatus(str, enum.Enum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    cancelled = "cancelled"


class ApprovalRequest(Timestamps, Provenance, Base):
    __tablename__ = "approval_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    approval_type: Mapped[ApprovalType] = mapped_column(Enum(ApprovalType, native_enum=False, length=24))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    status: Mapped[ApprovalStatus] = mapped_column(
        Enum(ApprovalStatus, native_enum=False, length=12), default=ApprovalStatus.pending, index=True)
    step: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    comment: Mapped[str | None] = mapped_column(String(500))
