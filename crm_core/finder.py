"""Client lists by condition (find_clients), always within what the asking person may see."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Float, Integer, and_, cast, exists, extract, func, literal, or_, select, type_coerce
from sqlalchemy.orm import Session, aliased

from crm_core.accounts import Account
from crm_core.clients import Client, ClientTag, Lifecycle
from crm_core.interactions import Interaction
from crm_core.margin import MarginSnapshot, horizon
from crm_core.staff import Staff
from crm_core.visibility import visible_clients


@dataclass(frozen=True)
class ClientFilter:
    risk_above: Decimal | None = None  # a percentage, 80 = 80%
    available_below: Decimal | None = None
    no_contact_days: int | None = None
    no_trade_days: int | None = None
    tag: str | None = None
    risk_level: str | None = None
    birthday: str | None = None  # today | this_week | this_month | next_month
    opened_within_days: int | None = None
    top: int | None = None
    exchange_risk_above: Decimal | None = None  # a percentage of exchange margin / equity
    manager_id: int | None = None  # only this staff member's clients (a supervisor asking about one)

    def empty(self) -> bool:
        """No condition at all (a manager alone is one: "王芳的客户")."""
        return all(v is None for v in vars(self).values())

    def out_of_range(self) -> str | None:
        """The first filter whose value is outside RANGES (None: all are within)."""
        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, Decimal) and not value.is_finite() or not low <= value <= high:
                return name
        return None


# What each number of a ClientFilter may be. Beyond these a question means nothing (a risk degree
# of 10^20 %, 10^11 days) and dates or sums computed from it overflow.
RANGES = {"risk_above": (0, 1000),  # percent; an account can stand well above 100%
          "exchange_risk_above": (0, 1000),
          "available_below": (-10**15, 10**15),  # yuan
          "no_contact_days": (0, 36500), "no_trade_days": (0, 36500),  # 100 years
          "opened_within_days": (0, 36500),
          "top": (0, 10_000)}


@dataclass(frozen=True)
class Found:
    client: Client
    risk_degree: Decimal | None  # the highest of the client's accounts, latest snapshot
    available: Decimal | None  # summed over the client's accounts
    last_contact: datetime | None
    # The highest of the client's accounts, latest snapshot; filled when asked for (exchange_risk_above).
    exchange_risk_degree: Decimal | None = None


def latest_snapshots():
    """An aliased MarginSnapshot restricted to each account's newest row."""
    newest = (select(MarginSnapshot.account_id, func.max(MarginSnapshot.timestamp).label("ts"))
              .where(MarginSnapshot.timestamp <= horizon())  # rows dated in the future do not count
              .group_by(MarginSnapshot.account_id).subquery())
    snap = aliased(MarginSnapshot)
    return snap, and_(snap.account_id == newest.c.account_id, snap.timestamp == newest.c.ts), newest


def _birthday_clause(which: str, today: date):
    month = extract("month", Client.birthday)
    day = extract("day", Client.birthday)
    if which == "today":
        return and_(month == today.month, day == today.day)
    if which == "next_month":
        return month == (today.month % 12) + 1
    if which == "this_week":
        days = [today + timedelta(days=i) for i in range(-today.weekday(), 7 - today.weekday())]
        return or_(*[and_(month == d.month, day == d.day) for d in days])
    return month == today.month


def find_clients(*, session: Session, staff: Staff, filters: ClientFilter, now: datetime,
                 limit: int = 200) -> tuple[list[Found], int]:
    """Matching clients (at most `limit`) and how many matched in all."""
    today = now.date()
    snap, on_latest, newest = latest_snapshots()
    funds = (select(Account.client_id.label("client_id"),
                    func.max(snap.risk_degree).label("risk"), func.sum(snap.available).label("available"))
             .join(newest, newest.c.account_id == Account.id).join(snap, on_latest)
             .group_by(Account.client_id).subquery())
    contact = (select(Interaction.client_id.label("client_id"), func.max(Interaction.occurred_at).label("at"))
               .group_by(Interaction.client_id).subquery())
    query = (select(Client, funds.c.risk, funds.c.available, contact.c.at)
             .outerjoin(funds, funds.c.client_id == Client.id)
             .outerjoin(contact, contact.c.client_id == Client.id)
             .where(visible_clients(staff), Client.lifecycle != Lifecycle.closed))
    f = filters
    if f.risk_above is not None:
        query = query.where(funds.c.risk >= Decimal(f.risk_above) / 100)
    if f.available_below is not None:
        query = query.where(funds.c.available < Decimal(f.available_below))
    if f.no_contact_days is not None:
        query = query.where(or_(contact.c.at.is_(None), contact.c.at < now - timedelta(days=f.no_contact_days)))
    if f.no_trade_days is not None:
        since = now - timedelta(days=f.no_trade_days)
        traded = (select(MarginSnapshot.id).join(Account, Account.id == MarginSnapshot.account_id)
                  .where(Account.client_id == Client.id, MarginSnapshot.timestamp >= since,
                         MarginSnapshot.commission > 0))
        query = query.where(Client.accounts.any(), ~exists(traded))
    if f.exchange_risk_above is not None:
        query = query.where(exists(_exchange_risk_at_least(f.exchange_risk_above).where(Account.client_id == Client.id)))
    if f.manager_id is not None:
        query = query.where(Client.manager_id == f.manager_id)
    if f.tag:
        query = query.where(Client.tag_rows.any(ClientTag.tag == f.tag))
    if f.risk_level:
        query = query.where(Client.risk_level == f.risk_level)
    if f.birthday:
        query = query.where(Client.birthday.is_not(None), _birthday_clause(f.birthday, today))
    if f.opened_within_days is not None:
        query = query.where(Client.accounts.any(Account.opened_on >= today - timedelta(days=f.opened_within_days)))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    if f.top:
        query = query.where(funds.c.risk.is_not(None)).order_by(funds.c.risk.desc(), Client.id)
        limit = min(limit, f.top)
    elif f.exchange_risk_above is not None:
        query = query.order_by(_highest_exchange_risk().desc(), Client.id)
    elif f.risk_above is not None:
        query = query.order_by(funds.c.risk.desc(), Client.id)
    elif f.birthday:
        query = query.order_by(extract("month", Client.birthday), extract("day", Client.birthday), Client.id)
    else:
        query = query.order_by(Client.name, Client.id)
    rows = session.execute(query.limit(limit)).all()
    found = [Found(client, risk, available, at) for client, risk, available, at in rows]
    if f.exchange_risk_above is not None:
        found = _with_exchange_risk(session, found)
    return found, (min(total, f.top) if f.top else total)


# 交易所风险度 = exchange_margin / balance (SPEC section 6). Snapshots from files and the API carry
# exchange_margin; settlement statements do not (it stays NULL and such an account never matches).
# The threshold is compared exactly: exchange_margin * 10000 >= balance * (percent * 100), both
# sides integers on SQLite (where Fixed columns hold cents) and NUMERIC on PostgreSQL.
def _exchange_risk_at_least(percent: Decimal):
    snap, on_latest, newest = latest_snapshots()
    hundredths = int((Decimal(percent) * 100).to_integral_value())
    return (select(Account.id).join(newest, newest.c.account_id == Account.id).join(snap, on_latest)
            .where(snap.exchange_margin.is_not(None), snap.balance > 0,
                   type_coerce(snap.exchange_margin, Integer) * literal(10000, Integer)
                   >= type_coerce(snap.balance, Integer) * literal(hundredths, Integer)))


def _highest_exchange_risk():
    """The client's highest exchange risk degree, as a float for ordering only (shown exactly)."""
    snap, on_latest, newest = latest_snapshots()
    return (select(func.max(cast(snap.exchange_margin, Float) / cast(snap.balance, Float)))
            .select_from(Account).join(newest, newest.c.account_id == Account.id).join(snap, on_latest)
            .where(Account.client_id == Client.id, snap.balance > 0).correlate(Client).scalar_subquery())


def _with_exchange_risk(session: Session, found: list[Found]) -> list[Found]:
    snap, on_latest, newest = latest_snapshots()
    rows = session.execute(select(Account.client_id, snap).join(newest, newest.c.account_id == Account.id)
                           .join(snap, on_latest).where(Account.client_id.in_([item.client.id for item in found])))
    highest: dict[int, Decimal] = {}
    for client_id, snapshot in rows:
        degree = snapshot.exchange_risk_degree
        if degree is not None and (client_id not in highest or degree > highest[client_id]):
            highest[client_id] = degree
    return [replace(item, exchange_risk_degree=highest.get(item.client.id)) for item in found]


def has_exchange_margin(*, session: Session, staff: Staff) -> bool:
    """Does any newest snapshot of the clients `staff` may see carry the exchange margin?"""
    snap, on_latest, newest = latest_snapshots()
    return session.scalar(select(exists(
        select(snap.id).select_from(Account).join(newest, newest.c.account_id == Account.id).join(snap, on_latest)
        .join(Client, Client.id == Account.client_id)
        .where(snap.exchange_margin.is_not(None), visible_clients(staff))))) or False
