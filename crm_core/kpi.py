"""Performance figures for one person, a team or the branch over a period."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from crm_core.accounts import Account
from crm_core.clients import Client, Lifecycle
from crm_core.finder import latest_snapshots
from crm_core.interactions import Interaction
from crm_core.staff import Role, Staff

PERIODS = ("today", "week", "month", "quarter", "year")
CUSTOMER = (Lifecycle.opening, Lifecycle.active, Lifecycle.dormant)


def period_start(period: str, now: datetime) -> datetime:
    today = now.date()
    first = {
        "today": today,
        "week": date.fromordinal(today.toordinal() - today.weekday()),
        "month": today.replace(day=1),
        "quarter": today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1),
        "year": today.replace(month=1, day=1),
    }[period]
    return datetime.combine(first, time(0), now.tzinfo)


def allowed_scope(staff: Staff, wanted: str) -> str:
    """The widest scope up to `wanted` that the person's role may see."""
    if staff.role in (Role.risk, Role.compliance, Role.admin):
        return wanted
    if staff.role == Role.supervisor:
        return "team" if wanted == "branch" else wanted
    return "me"


@dataclass(frozen=True)
class Kpi:
    scope: str
    start: datetime
    clients: int
    equity: Decimal
    new_accounts: int
    interactions: int


def kpi(*, session: Session, staff: Staff, scope: str, period: str, now: datetime) -> Kpi:
    scope = allowed_scope(staff, scope)
    start = period_start(period, now)
    if scope == "me":
        managers = select(Staff.id).where(Staff.id == staff.id)
    elif scope == "team":
        managers = select(Staff.id).where(Staff.team_id == staff.team_id) if staff.team_id else \
            select(Staff.id).where(Staff.id == staff.id)
    else:
        managers = select(Staff.id)
    in_scope = Client.manager_id.in_(managers.scalar_subquery())
    clients = session.scalar(select(func.count(Client.id)).where(in_scope, Client.lifecycle.in_(CUSTOMER)))
    snap, on_latest, newest = latest_snapshots()
    equity = session.scalar(
        select(func.sum(snap.balance)).select_from(Account).join(Client, Client.id == Account.client_id)
        .join(newest, newest.c.account_id == Account.id).join(snap, on_latest).where(in_scope))
    new_accounts = session.scalar(
        select(func.count(Account.id)).join(Client, Client.id == Account.client_id).where(
            in_scope, or_(Account.opened_on >= start.date(),
                          (Account.opened_on.is_(None)) & (Account.created_at >= start))))
    interactions = session.scalar(
        select(func.count(Interaction.id)).where(Interaction.staff_id.in_(managers.scalar_subquery()),
                                                 Interaction.occurred_at >= start,
                                                 Interaction.occurred_at <= now))
    return Kpi(scope, start, clients or 0, equity or Decimal("0.00"), new_accounts or 0, interactions or 0)
