"""Margin snapshots and positions, with the CTP field names of SPEC section 4."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import (Date, Enum, ForeignKey, Index, Integer, String, UniqueConstraint,
                        func, select)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from crm_core.accounts import Account
from crm_core.base import Base, Provenance
from crm_core.types import Fixed, UTCDateTime

ZERO = Decimal("0.00")
# How far ahead of our clock a snapshot's or position's time may be. Intraday figures are sent
# the moment they are taken, so a sender whose clock runs a little ahead must still pass; NTP-
# synchronised servers differ by well under a second, and 5 minutes (the window Slack allows a
# request's timestamp, too) also covers a badly kept clock. Real mistakes are much further off: a
# wrong day or year, or a +08:00 time sent as UTC (8 hours). A row beyond this is refused, and
# reads of "the newest" figures ignore one already stored, so it cannot hide later data.
CLOCK_SKEW = timedelta(minutes=5)


def horizon(now: datetime | None = None) -> datetime:
    """The latest moment margin data may carry: `now` (the real clock when None) plus the skew.
    Reads take the later of `now` and the real clock, so a caller's simulated earlier time never
    hides data that is real."""
    wall = datetime.now(timezone.utc)
    return max(now or wall, wall) + CLOCK_SKEW


class MarginSnapshot(Provenance, Base):
    """One account's funds at one moment (CTP CThostFtdcTradingAccountField)."""

    __tablename__ = "margin_snapshots"
    __table_args__ = (UniqueConstraint("account_id", "timestamp"),
                      Index("ix_margin_snapshots_account_ts", "account_id", "timestamp"))
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    trading_day: Mapped[date | None] = mapped_column(Date)
    pre_balance: Mapped[Decimal | None] = mapped_column(Fixed(2))
    deposit: Mapped[Decimal | None] = mapped_column(Fixed(2))
    withdraw: Mapped[Decimal | None] = mapped_column(Fixed(2))
    close_profit: Mapped[Decimal | None] = mapped_column(Fixed(2))
    position_profit: Mapped[Decimal | None] = mapped_column(Fixed(2))
    commission: Mapped[Decimal | None] = mapped_column(Fixed(2))
    balance: Mapped[Decimal] = mapped_column(Fixed(2))
    curr_margin: Mapped[Decimal] = mapped_column(Fixed(2))
    exchange_margin: Mapped[Decimal | None] = mapped_column(Fixed(2))
    frozen_margin: Mapped[Decimal | None] = mapped_column(Fixed(2))
    available: Mapped[Decimal] = mapped_column(Fixed(2))
    # Derived at write time so that filters ("risk degree above 80%") run in SQL.
    risk_degree: Mapped[Decimal | None] = mapped_column(Fixed(6), index=True)

    account: Mapped[Account] = relationship(lazy="joined")

    @property
    def exchange_risk_degree(self) -> Decimal | None:
        return ratio(self.exchange_margin, self.balance)

    @property
    def margin_call(self) -> Decimal:
        """应追加资金 = max(0, -available) (SPEC section 6)."""
        return max(ZERO, -self.available)


def ratio(part: Decimal | None, whole: Decimal | None) -> Decimal | None:
    """CTP risk degree: part / balance. None when the balance is not positive."""
    if part is None or whole is None or whole <= 0:
        return None
    return (part / whole).quantize(Decimal("0.000001"))


def default_available(balance: Decimal, curr_margin: Decimal, frozen_margin: Decimal | None) -> Decimal:
    return balance - curr_margin - (frozen_margin or ZERO)


class Direction(str, enum.Enum):
    long = "long"
    short = "short"


class HedgeFlag(str, enum.Enum):
    speculation = "speculation"
    hedge = "hedge"
    arbitrage = "arbitrage"


class Position(Provenance, Base):
    __tablename__ = "positions"
    __table_args__ = (
        UniqueConstraint("account_id", "timestamp", "exchange", "instrument", "direction", "hedge_flag"),
        Index("ix_positions_account_ts", "account_id", "timestamp"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    exchange: Mapped[str] = mapped_column(String(8))
    instrument: Mapped[str] = mapped_column(String(32))
    direction: Mapped[Direction] = mapped_column(Enum(Direction, native_enum=False, length=8))
    volume: Mapped[int] = mapped_column(Integer)
    open_price: Mapped[Decimal | None] = mapped_column(Fixed(4))
    settlement_price: Mapped[Decimal | None] = mapped_column(Fixed(4))
    position_profit: Mapped[Decimal | None] = mapped_column(Fixed(2))
    margin: Mapped[Decimal | None] = mapped_column(Fixed(2))
    hedge_flag: Mapped[HedgeFlag] = mapped_column(
        Enum(HedgeFlag, native_enum=False, length=12), default=HedgeFlag.speculation)

    account: Mapped[Account] = relationship(lazy="joined")


class ReportBasis(str, enum.Enum):
    positions = "positions"  # reported: a statement, a positions file or an API batch (the demo too)
    snapshot = "snapshot"  # implied by a snapshot with no margin and no position P/L


class PositionReport(Provenance, Base):
    """That an account's positions were reported at a moment: the Position rows of the same
    account and timestamp are what it held then, and none at all means it was flat. One per
    account and moment; a reported one replaces an implied one, never the other way round."""

    __tablename__ = "position_reports"
    __table_args__ = (UniqueConstraint("account_id", "timestamp"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    basis: Mapped[ReportBasis] = mapped_column(Enum(ReportBasis, native_enum=False, length=12))


def implies_flat(curr_margin: Decimal, position_profit: Decimal | None) -> bool:
    """A snapshot with no margin and no position P/L says the account holds nothing (a client
    holding only bought options, which take no margin, needs its positions reported too)."""
    return curr_margin == 0 and not position_profit


@dataclass(frozen=True)
class Holdings:
    timestamp: datetime  # the report's moment
    positions: list[Position]  # empty: the account was flat


def latest_snapshot(*, session: Session, account_id: int) -> MarginSnapshot | None:
    """The account's newest snapshot, ignoring any dated after `horizon()`."""
    return session.scalar(
        select(MarginSnapshot).where(MarginSnapshot.account_id == account_id,
                                     MarginSnapshot.timestamp <= horizon())
        .order_by(MarginSnapshot.timestamp.desc()).limit(1))


def latest_holdings(*, session: Session, account_id: int) -> Holdings | None:
    """The account's newest position report: what it held then, or nothing (flat). None when its
    positions were never reported. Position rows count as a report of their moment."""
    latest = horizon()  # a report dated in the future does not hide the real ones
    moments = [session.scalar(select(func.max(model.timestamp))
                              .where(model.account_id == account_id, model.timestamp <= latest))
               for model in (PositionReport, Position)]
    if all(moment is None for moment in moments):
        return None
    newest = max(moment for moment in moments if moment is not None)
    return Holdings(newest, list(session.scalars(
        select(Position).where(Position.account_id == account_id, Position.timestamp == newest)
        .order_by(Position.exchange, Position.instrument, Position.direction))))


def latest_positions(*, session: Session, account_id: int) -> list[Position]:
    """The positions of the account's newest position report ([] when it was flat)."""
    holdings = latest_holdings(session=session, account_id=account_id)
    return holdings.positions if holdings is not None else []


@dataclass(frozen=True)
class AccountFunds:
    account: Account
    snapshot: MarginSnapshot | None


def client_funds(*, session: Session, client) -> list[AccountFunds]:
    return [AccountFunds(account, latest_snapshot(session=session, account_id=account.id))
            for account in client.accounts]
