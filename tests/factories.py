"""Small builders for test data, through the real models (no mocks of our own code)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from crm_core.accounts import Account
from crm_core.clients import Client
from crm_core.margin import MarginSnapshot, Position, default_available, ratio
from crm_core.staff import Role, Staff, Team


def team(session, name: str) -> Team:
    row = Team(name=name)
    session.add(row)
    session.flush()
    return row


def staff(session, login: str, name: str, role: Role, team_: Team | None = None,
          supervisor: Staff | None = None, **ids) -> Staff:
    row = Staff(login=login, name=name, role=role, team_id=team_.id if team_ else None,
                supervisor_id=supervisor.id if supervisor else None, **ids)
    session.add(row)
    session.flush()
    return row


def client(session, name: str, manager: Staff | None, accounts=(), **fields) -> Client:
    row = Client(name=name, manager_id=manager.id if manager else None, **fields)
    session.add(row)
    session.flush()
    for no in accounts:
        session.add(Account(account_no=no, client_id=row.id))
    session.flush()
    session.refresh(row)
    return row


def snapshot(session, account_no: str, at: datetime, balance: str, curr_margin: str,
             exchange_margin: str | None = None, frozen_margin: str = "0", available: str | None = None
             ) -> MarginSnapshot:
    account = session.query(Account).filter_by(account_no=account_no).one()
    b, m, f = Decimal(balance), Decimal(curr_margin), Decimal(frozen_margin)
    row = MarginSnapshot(account_id=account.id, timestamp=at, balance=b, curr_margin=m,
                         exchange_margin=Decimal(exchange_margin) if exchange_margin else None,
                         frozen_margin=f,
                         available=Decimal(available) if available else default_available(b, m, f),
                         risk_degree=ratio(m, b))
    session.add(row)
    session.flush()
    return row


def position(session, account_no: str, at: datetime, exchange: str, instrument: str, direction: str,
             volume: int, margin: str, pnl: str) -> Position:
    account = session.query(Account).filter_by(account_no=account_no).one()
    row = Position(account_id=account.id, timestamp=at, exchange=exchange, instrument=instrument,
                   direction=direction, volume=volume, margin=Decimal(margin), position_profit=Decimal(pnl))
    session.add(row)
    session.flush()
    return row


def channels(tmp_path, wecom, *, key: str = "riskkey", levels: str = "warning, margin_call, force_close",
             more: str = ""):
    """A config folder whose channels.yaml has the WeCom group robot `risk-desk` (and `more`
    entries, YAML text); returns the folder."""
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "channels.yaml").write_text(f"""
channels:
  - name: risk-desk
    type: wecom_webhook
    url: {wecom.base_url}/cgi-bin/webhook/send?key={key}
    levels: [{levels}]
    teams: ["*"]
{more}""", encoding="utf-8")
    return config
