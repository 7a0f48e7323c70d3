"""What an approved request changes: the client's commission (as a multiple of the exchange fee)
and margin ratio, product permissions, the client's manager. Each change names the approval that
made it and is audited with the value before and after.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from crm_core import audit
from crm_core.approvals.models import ApprovalRequest, ApprovalType
from crm_core.base import Base, Source
from crm_core.clients import Client
from crm_core.staff import Staff
from crm_core.types import Fixed, UTCDateTime


class ClientTerms(Base):
    """A client's approved trading terms; each figure remembers the approval that set it."""

    __tablename__ = "client_terms"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), unique=True)
    # Commission as a multiple of the exchange's fee (1.2 = exchange fee × 1.2).
    commission_multiple: Mapped[Decimal | None] = mapped_column(Fixed(scale=4, precision=12))
    commission_approval_id: Mapped[int | None] = mapped_column(ForeignKey("approval_requests.id"))
    # Margin ratio the brokerage charges (0.15 = 15% of the contract value).
    margin_ratio: Mapped[Decimal | None] = mapped_column(Fixed(scale=4, precision=12))
    margin_approval_id: Mapped[int | None] = mapped_column(ForeignKey("approval_requests.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClientPermission(Base):
    """A product category (suitability.yaml) the client may trade, granted by an approval."""

    __tablename__ = "client_permissions"
    __table_args__ = (UniqueConstraint("client_id", "category"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    category: Mapped[str] = mapped_column(String(64))
    approval_id: Mapped[int] = mapped_column(ForeignKey("approval_requests.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)


def terms_of(*, session: Session, client_id: int) -> ClientTerms | None:
    return session.scalar(select(ClientTerms).where(ClientTerms.client_id == client_id))


def permissions_of(*, session: Session, client_id: int) -> list[str]:
    return list(session.scalars(select(ClientPermission.category).where(ClientPermission.client_id == client_id)
                                .order_by(ClientPermission.category)))


def _terms(session: Session, client_id: int, now: datetime) -> ClientTerms:
    row = terms_of(session=session, client_id=client_id)
    if row is None:
        row = ClientTerms(client_id=client_id, updated_at=now)
        session.add(row)
    row.updated_at = now
    return row


def apply_outcome(*, session: Session, request: ApprovalRequest, actor: Staff, now: datetime,
                  source: Source | None = None) -> dict:
    """Make the approved change; returns {"field": ..., "before": ..., "after": ...} (or {})."""
    details, client_id, kind = request.details, request.client_id, request.approval_type
    change: dict = {}
    if kind == ApprovalType.commission_discount:
        row = _terms(session, client_id, now)
        before, row.commission_multiple = row.commission_multiple, Decimal(details["fee_multiple"])
        row.commission_approval_id = request.id
        change = {"field": "commission_multiple", "before": before, "after": row.commission_multiple}
    elif kind == ApprovalType.margin_adjustment:
        row = _terms(session, client_id, now)
        before, row.margin_ratio = row.margin_ratio, Decimal(details["margin_ratio"])
        row.margin_approval_id = request.id
        change = {"field": "margin_ratio", "before": before, "after": row.margin_ratio}
    elif kind == ApprovalType.product_permission:
        category = details["category"]
        if session.scalar(select(ClientPermission.id).where(ClientPermission.client_id == client_id,
                                                            ClientPermission.category == category)) is None:
            session.add(ClientPermission(client_id=client_id, category=category, approval_id=request.id,
                                         granted_at=now))
        change = {"field": "permission", "before": None, "after": category}
    elif kind == ApprovalType.client_transfer:
        client = session.get(Client, client_id)
        before, client.manager_id = client.manager_id, int(details["new_manager_id"])
        change = {"field": "manager_id", "before": before, "after": client.manager_id}
    elif kind == ApprovalType.account_opening:
        change = {"field": "account_opening", "before": None, "after": "approved"}
    session.flush()
    if change:
        audit.record(session=session, actor=actor.login, action="approval.apply", entity="client",
                     entity_id=client_id, source=source,
                     details={"approval_id": request.id, "type": kind.value,
                              **{k: None if v is None else str(v) for k, v in change.items()}})
    return change
