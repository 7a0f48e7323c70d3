"""Approval requests and decisions as stored, and the error a request can meet."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.base import Base, Provenance, Timestamps
from crm_core.clients import Client
from crm_core.staff import Staff
from crm_core.types import UTCDateTime




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


class Decision(str, enum.Enum):
    approve = "approve"
    reject = "reject"


class ApprovalRequest(Timestamps, Provenance, Base):
    """`step` is the index of the current step in `route` (the flow's steps that applied when the
    request was made, with their SLAs); `approver_id` is that step's routed approver."""

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
    route: Mapped[list] = mapped_column(JSON, default=list)
    step_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # this step's reminder, once
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # this step's escalation, once
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the final decision
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    client: Mapped[Client | None] = relationship(lazy="joined")
    requester: Mapped[Staff] = relationship(foreign_keys=[requester_id], lazy="joined")
    approver: Mapped[Staff | None] = relationship(foreign_keys=[approver_id])

    @property
    def last_step(self) -> bool:
        return self.step >= len(self.route) - 1


class ApprovalDecision(Provenance, Base):
    """One decision of one step. Unique per (request, step): a second decision of a step cannot be
    written, whichever replica or retried callback tries."""

    __tablename__ = "approval_decisions"
    __table_args__ = (UniqueConstraint("request_id", "step"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("approval_requests.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    decider_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    # The routed approver, when a delegate or the escalation target decided for them.
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decision: Mapped[Decision] = mapped_column(Enum(Decision, native_enum=False, length=8))
    comment: Mapped[str | None] = mapped_column(String(500))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)

    decider: Mapped[Staff] = relationship(foreign_keys=[decider_id], lazy="joined")


class ApprovalError(ValueError):
    """A request that cannot be made or routed; `key` and `params` are for messages.yaml."""

    def __init__(self, key: str, **params) -> None:
        super().__init__(f"{key}: {params}")
        self.key, self.params = key, params


