"""Risk evaluation: which accounts open, escalate or resolve an alert.

Runs after every ingestion (the accounts just written) and in the scheduled sweep (every
account). Set-based: one query for the newest snapshots, one for the active alerts, then the
rules in Python, so 100,000 accounts evaluate in seconds. Evaluations are serialised across
replicas (a PostgreSQL advisory lock) and an active alert holds a unique key, so one crossing
raises one alert however many replicas sweep.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Iterable

from sqlalchemy import and_, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from crm_core import audit
from crm_core.accounts import Account
from crm_core.risk.alerts import ACTIVE, SEVERITY, Alert, AlertKind, AlertLevel, AlertStatus
from crm_core.clients import Client
from crm_core.margin import MarginSnapshot, horizon
from crm_core.risk.rules import RiskRules
from crm_core.staff import Staff, Team

CHUNK = 5000  # ids per IN (...) list: under SQLite's variable limit, and plannable
HUNDRED = Decimal(100)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Change:
    event: str  # opened | escalated | resolved
    alert: Alert
    previous: AlertLevel | None = None


@dataclass(frozen=True)
class Subject:
    """An evaluated account: its newest snapshot and who looks after it."""

    snapshot: MarginSnapshot
    account_no: str
    client_id: int
    manager_id: int | None
    team: str | None


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _subjects(session: Session, account_ids: list[int] | None) -> list[Subject]:
    newest = (select(MarginSnapshot.account_id, func.max(MarginSnapshot.timestamp).label("ts"))
              .where(MarginSnapshot.timestamp <= horizon()))  # rows dated in the future do not count
    query = lambda ids: (  # noqa: E731
        select(MarginSnapshot, Account.account_no, Client.id, Client.manager_id, Team.name)
        .join(Account, Account.id == MarginSnapshot.account_id)
        .join(Client, Client.id == Account.client_id)
        .outerjoin(Staff, Staff.id == Client.manager_id)
        .outerjoin(Team, Team.id == Staff.team_id)
        .join(sub := (newest.where(MarginSnapshot.account_id.in_(ids)) if ids is not None else newest)
              .group_by(MarginSnapshot.account_id).subquery(),
              and_(sub.c.account_id == MarginSnapshot.account_id, sub.c.ts == MarginSnapshot.timestamp))
        .order_by(Account.account_no))  # alerts open in one order, so their numbers do not depend on the database
    batches = [None] if account_ids is None else list(_chunks(sorted(set(account_ids))))
    found = []
    for ids in batches:
        for snap, account_no, client_id, manager_id, team in session.execute(query(ids)):
            found.append(Subject(snap, account_no, client_id, manager_id, team))
    return found


def _active(session: Session, account_ids: list[int]) -> dict[int, Alert]:
    active: dict[int, Alert] = {}
    for ids in _chunks(account_ids):
        for alert in session.scalars(select(Alert).where(
                Alert.account_id.in_(ids), Alert.kind == AlertKind.risk, Alert.status.in_(ACTIVE))):
            active[alert.account_id] = alert
    return active


def _existing_keys(session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        found.update(session.scalars(select(Alert.dedupe_key).where(Alert.dedupe_key.in_(keys[start:start + CHUNK]))))
    return found


FIGURES = ("snapshot_id", "data_time", "risk_degree", "exchange_risk_degree", "balance", "available", "margin_call")


def _figures(alert: Alert, snap: MarginSnapshot) -> None:
    alert.snapshot_id, alert.data_time = snap.id, snap.timestamp
    alert.risk_degree, alert.exchange_risk_degree = snap.risk_degree, snap.exchange_risk_degree
    alert.balance, alert.available, alert.margin_call = snap.balance, snap.available, snap.margin_call
    # Every figure goes into the UPDATE, changed or not: the ORM batches only consecutive rows that
    # set the same columns, so a figure left out for some alerts (a margin call still 0) split
    # 10,000 resolutions into ~5,000 statements (benchmarks/risk_bench.py, 2026-11).
    for name in FIGURES:
        flag_modified(alert, name)


def _new(subject: Subject, kind: AlertKind, level: AlertLevel, key: str, now: datetime, note: str | None = None) -> Alert:
    alert = Alert(account_id=subject.snapshot.account_id, client_id=subject.client_id, kind=kind, level=level,
                  status=AlertStatus.open, dedupe_key=key, opened_at=now, level_at=now, note=note, created_at=now, updated_at=now)
    _figures(alert, subject.snapshot)
    return alert


def _carried(snap: MarginSnapshot) -> Decimal | None:
    """What the account would hold without trading: the last settlement's balance plus the day's
    deposits less its withdrawals (CTP: Balance = PreBalance + Deposit - Withdraw + CloseProfit +
    PositionProfit - Commission), so that a drop below it is a loss, not a transfer. None
    without the last settlement's balance; a missing deposit or withdrawal counts as none."""
    if snap.pre_balance is None:
        return None
    return snap.pre_balance + (snap.deposit or ZERO) - (snap.withdraw or ZERO)


def _notices(rules: RiskRules, subject: Subject, now: datetime) -> list[tuple[str, Alert]]:
    """One-day notices: equity down since the last settlement by a trading loss (net of the day's
    deposits and withdrawals), large deposits and withdrawals."""
    snap, config, out = subject.snapshot, rules.config, []
    day = (snap.trading_day or snap.timestamp.date()).isoformat()
    base = _carried(snap)
    if config.equity_drop_percent and base is not None and base > 0:
        drop = (base - snap.balance) / base * HUNDRED
        if drop > config.equity_drop_percent:
            key = f"equity_drop:{snap.account_id}:{day}"
            out.append((key, _new(subject, AlertKind.equity_drop, AlertLevel.warning, key, now,
                                  note=f"{drop.quantize(Decimal('0.01'))}")))
    if config.large_transfer is not None:
        for label, amount in (("deposit", snap.deposit), ("withdraw", snap.withdraw)):
            if amount is not None and amount >= config.large_transfer.amount:
                key = f"large_transfer:{snap.account_id}:{day}:{label}"
                out.append((key, _new(subject, AlertKind.large_transfer, AlertLevel.warning, key, now,
                                      note=f"{label}:{amount}")))
    return out


def evaluate(*, session: Session, rules: RiskRules, now: datetime, account_ids: list[int] | None = None,
             actor: str = "risk") -> list[Change]:
    """Evaluate the given accounts (None: every account with a snapshot), in the caller's
    transaction. Returns what changed; the caller routes the notifications."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7042612)"))
    subjects = _subjects(session, account_ids)
    active = _active(session, [s.snapshot.account_id for s in subjects])
    changes: list[Change] = []
    notices: list[tuple[str, Alert]] = []
    for subject in subjects:
        snap, alert = subject.snapshot, active.get(subject.snapshot.account_id)
        level = rules.level_of(snap, team=subject.team, account_no=subject.account_no)
        if alert is None:
            if level is not None:
                changes.append(Change("opened", _new(subject, AlertKind.risk, level, f"risk:{snap.account_id}", now)))
        elif level is not None and SEVERITY[level] > SEVERITY[alert.level]:
            previous = alert.level
            alert.level, alert.status, alert.updated_at = level, AlertStatus.open, now
            alert.escalated_at, alert.level_at = None, now  # the new level has its own deadline
            _figures(alert, snap)
            changes.append(Change("escalated", alert, previous))
        elif not rules.still_at_risk(snap, team=subject.team, account_no=subject.account_no):
            alert.status, alert.resolved_at, alert.dedupe_key, alert.updated_at = AlertStatus.resolved, now, None, now
            _figures(alert, snap)
            changes.append(Change("resolved", alert))
        notices.extend(_notices(rules, subject, now))
    if notices:
        taken = _existing_keys(session, [key for key, _ in notices])
        changes.extend(Change("opened", alert) for key, alert in notices if key not in taken)
    session.add_all([c.alert for c in changes if c.event == "opened"])
    session.flush()
    if changes:
        summary: dict[str, list[int]] = {}
        for change in changes:
            summary.setdefault(change.event, []).append(change.alert.id)
        audit.record(session=session, actor=actor, action="risk.evaluate", entity="alerts",
                     details={"accounts": len(subjects), **summary})
    return changes
