"""The demo dataset: deterministic, realistic, and consistent as a broker's ledger."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from crm_core import audit
from crm_core.accounts import Account
from crm_core.risk.alerts import AlertLevel
from crm_core.audit import AuditEntry
from crm_core.clients import Client, ClientType, Lifecycle
from crm_core.db import Database, cipher_of
from bot.demo.seed import DemoSummary, seed_demo, snapshot_points
from bot.demo.names import PRODUCTS
from crm_core.interactions import Interaction
from crm_core.margin import Direction, MarginSnapshot, Position, ratio
from crm_core.staff import Role, Staff

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 18, 10, 30, tzinfo=SH)  # a Wednesday morning, as in the SPEC's examples
MONEY = ("pre_balance", "deposit", "withdraw", "close_profit", "position_profit", "commission",
         "balance", "curr_margin", "exchange_margin", "frozen_margin", "available")
PRODUCT = {p.code: p for p in PRODUCTS}


@pytest.fixture
def demo(session) -> DemoSummary:
    summary = seed_demo(session=session, now=NOW)
    session.commit()
    # Seeding sets foreign keys, not relationships: read back what a new session would see
    # (sessions keep objects after commit, and whether they survive depends on the GC).
    session.expire_all()
    return summary


def _latest(session) -> dict[str, tuple[Client, MarginSnapshot]]:
    """account_no -> (client, newest snapshot)."""
    newest = select(MarginSnapshot.account_id, func.max(MarginSnapshot.timestamp).label("ts")
                    ).group_by(MarginSnapshot.account_id).subquery()
    rows = session.execute(
        select(Account.account_no, Client, MarginSnapshot).join(Client, Account.client_id == Client.id)
        .join(MarginSnapshot, MarginSnapshot.account_id == Account.id)
        .join(newest, (newest.c.account_id == MarginSnapshot.account_id) & (newest.c.ts == MarginSnapshot.timestamp)))
    return {no: (client, snap) for no, client, snap in rows}


def _fingerprint(session) -> dict:
    cipher = cipher_of(session)
    clients = sorted(
        (c.name, c.manager.login, c.client_type.value, c.lifecycle.value, c.risk_level, c.birthday,
         tuple(c.tags), cipher.decrypt(c.phone_enc), cipher.decrypt(c.id_number_enc),
         tuple(a.account_no for a in c.accounts))
        for c in session.scalars(select(Client)))
    snapshots = sorted(
        (s.account.account_no, s.timestamp, s.risk_degree, *(getattr(s, f) for f in MONEY))
        for s in session.scalars(select(MarginSnapshot)))
    positions = sorted(
        (p.account.account_no, p.timestamp, p.instrument, p.direction.value, p.volume, p.open_price,
         p.settlement_price, p.position_profit, p.margin, p.hedge_flag.value)
        for p in session.scalars(select(Position)))
    return {"clients": clients, "snapshots": snapshots, "positions": positions}


def test_same_now_gives_the_same_dataset_on_any_database(demo, session, settings, tmp_path):
    other = Database(f"sqlite:///{tmp_path / 'second.db'}", secret_key=settings.reveal("secret_key"))
    try:
        other.ensure_schema()
        with other.transaction() as second:
            again = seed_demo(session=second, now=NOW)
        with other.session() as second:
            assert _fingerprint(second) == _fingerprint(session)
    finally:
        other.dispose()
    assert again == demo


def test_staff_teams_and_platform_ids(demo, session):
    staff = list(session.scalars(select(Staff).order_by(Staff.id)))
    roles = Counter(s.role for s in staff)
    assert roles[Role.manager] >= 6 and roles[Role.supervisor] == 2
    assert roles[Role.risk] and roles[Role.compliance] and roles[Role.admin]
    assert {s.team_name for s in staff if s.role is Role.manager} == {"华东一部", "华东二部"}
    for member in staff:
        assert re.fullmatch(r"[a-z]{4,12}", member.login) and re.fullmatch(r"[\u4e00-\u9fff]{2,3}", member.name)
        assert member.wecom_userid and member.dingtalk_userid and re.fullmatch(r"U0\d+", member.slack_user_id)
        if member.role is Role.manager:
            assert member.supervisor.role is Role.supervisor and member.supervisor.team_id == member.team_id
    first = min((s for s in staff if s.role is Role.manager), key=lambda s: s.id)
    assert (demo.first_manager_login, demo.first_manager_name) == (first.login, first.name)
    assert [row.login for row in demo.staff] == [s.login for s in staff]
    assert demo.staff[0] == (staff[0].login, staff[0].name, staff[0].role.value, staff[0].team_name)
    assert demo.example_clients[0] == "张三"


def _id_ok(number: str, birthday: date) -> bool:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(number[:17], weights)) % 11]
    return number[17] == check and number[6:14] == birthday.strftime("%Y%m%d")


def test_clients_are_plausible(demo, session):
    cipher = cipher_of(session)
    clients = list(session.scalars(select(Client).order_by(Client.id)))
    assert len(clients) == demo.clients >= 300
    first = demo.first_manager_login
    by_manager = Counter((c.manager.login, c.name) for c in clients)
    assert [key for key, n in by_manager.items() if n > 1] == [(first, "张伟")]
    assert len({c.name for c in clients}) == len(clients) - 1
    zhangs = [c for c in clients if c.manager.login == first and c.name.startswith("张")]
    assert len(zhangs) >= 3
    zhangsan = [c for c in clients if c.name == "张三"]
    assert len(zhangsan) == 1 and zhangsan[0].manager.login == first
    lisi = [c for c in clients if c.name == "李四"]
    first_team = next(s.team for s in demo.staff if s.login == first)
    assert len(lisi) == 1 and lisi[0].manager.team_name != first_team
    twins = [c for c in clients if c.name == "张伟"]
    assert {a.account_no for a in twins[0].accounts}.isdisjoint(a.account_no for a in twins[1].accounts)
    assert twins[0].phone_hash != twins[1].phone_hash

    kinds = Counter(c.client_type for c in clients)
    assert kinds[ClientType.institution] >= 5
    assert all(c.name.endswith("有限公司") for c in clients if c.client_type is ClientType.institution)
    assert sum(1 for c in clients if re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", c.name)) >= 3
    lifecycles = Counter(c.lifecycle for c in clients)
    assert lifecycles[Lifecycle.active] > len(clients) * 0.7
    assert lifecycles[Lifecycle.dormant] and lifecycles[Lifecycle.prospect] and lifecycles[Lifecycle.lead]
    assert all(not c.accounts for c in clients if c.lifecycle in (Lifecycle.lead, Lifecycle.prospect))
    assert all(c.accounts for c in clients if c.lifecycle in (Lifecycle.active, Lifecycle.dormant))
    levels = Counter(c.risk_level for c in clients)
    assert levels["C3"] + levels["C4"] > len(clients) * 0.6 and set(levels) <= {None, "C1", "C2", "C3", "C4", "C5"}
    tags = Counter(tag for c in clients for tag in c.tags)
    assert {"套保", "高净值", "量化", "程序化", "农产品", "黑色系", "新客户"} <= set(tags)

    phones = [cipher.decrypt(c.phone_enc) for c in clients]
    assert all(re.fullmatch(r"1[3-9]\d{9}", p) for p in phones) and len(set(phones)) == len(phones)
    with_id = [c for c in clients if c.id_number_enc]
    assert len(with_id) > 250
    assert all(_id_ok(cipher.decrypt(c.id_number_enc), c.birthday) for c in with_id)
    months = Counter(c.birthday.month for c in clients if c.birthday)
    assert months[NOW.month] >= 10 and months[NOW.month % 12 + 1] >= 10
    soon = [c for c in clients if c.manager.login == first and c.birthday
            and (c.birthday.month, c.birthday.day) != (2, 29)
            and 0 < (c.birthday.replace(year=NOW.year) - NOW.date()).days <= 7]
    assert soon


def test_accounts_and_risk_bands(demo, session, app):
    latest = _latest(session)
    numbers = list(session.scalars(select(Account.account_no)))
    assert len(numbers) == demo.accounts == len(latest) and len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"\d{8}", n) for n in numbers)
    first = demo.first_manager_login
    risk = {no: snap.risk_degree for no, (_, snap) in latest.items()}
    (zhangsan,) = [snap for client, snap in latest.values() if client.name == "张三"]
    assert Decimal("0.8") <= zhangsan.risk_degree < 1
    assert any(snap.risk_degree > 1 for client, snap in latest.values() if client.manager.login == first)
    over = [snap for _, snap in latest.values() if snap.risk_degree > 1]
    assert 2 <= len(over) <= 12 and all(snap.available < 0 and snap.margin_call > 0 for snap in over)
    force_close = [snap for _, snap in latest.values() if snap.exchange_risk_degree >= 1]
    assert 1 <= len(force_close) <= 2
    warning = sum(1 for r in risk.values() if Decimal("0.8") <= r < 1)
    assert len(risk) * 0.03 <= warning <= len(risk) * 0.1
    normal = sum(1 for r in risk.values() if Decimal("0.2") <= r <= Decimal("0.7"))
    assert normal > len(risk) / 2
    level = {client.name: app.risk_rules.level_of(snap) for client, snap in latest.values()
             if client.manager.login == first}
    assert (level["张三"], level["赵建国"], level["孙志强"]) == (AlertLevel.warning, AlertLevel.margin_call,
                                                              AlertLevel.force_close)
    balances = [snap.balance for _, snap in latest.values()]
    assert min(balances) >= 50_000 and max(balances) <= 50_000_000
    assert sum(1 for b in balances if b >= 5_000_000) >= 10 and sum(1 for b in balances if b < 500_000) >= 100


def test_every_snapshot_is_a_consistent_ledger(demo, session):
    snapshots = list(session.scalars(select(MarginSnapshot).order_by(MarginSnapshot.account_id,
                                                                      MarginSnapshot.timestamp)))
    assert len(snapshots) == demo.snapshots == demo.accounts * 4  # three closes and one intraday
    positions = defaultdict(list)
    for p in session.scalars(select(Position)):
        positions[p.account_id, p.timestamp].append(p)
    assert sum(len(v) for v in positions.values()) == demo.positions
    previous = None
    for s in snapshots:
        for name in MONEY:
            value = getattr(s, name)
            assert isinstance(value, Decimal) and value == value.quantize(Decimal("0.01")), (name, value)
        assert s.balance == (s.pre_balance + s.deposit - s.withdraw + s.close_profit + s.position_profit
                             - s.commission)
        assert s.available == s.balance - s.curr_margin - s.frozen_margin
        assert s.balance > 0 and s.risk_degree == ratio(s.curr_margin, s.balance)
        if s.curr_margin:
            assert s.curr_margin / Decimal("1.31") < s.exchange_margin < s.curr_margin / Decimal("1.09")
        if previous is not None and previous.account_id == s.account_id:  # 上日结存 chains
            assert s.pre_balance == previous.balance - previous.position_profit
            assert s.trading_day > previous.trading_day
        held = positions.get((s.account_id, s.timestamp), [])
        assert sum((p.margin for p in held), Decimal("0.00")) == s.curr_margin
        assert sum((p.position_profit for p in held), Decimal("0.00")) == s.position_profit
        previous = s
    assert {k[1] for k in positions} <= {s.timestamp for s in snapshots}


def test_positions_are_real_contracts(demo, session):
    rows = list(session.scalars(select(Position)))
    assert {p.exchange for p in rows} == {"SHFE", "DCE", "CZCE", "CFFEX", "INE", "GFEX"}
    for p in rows:
        code = re.match(r"[A-Za-z]+", p.instrument).group()
        product = PRODUCT[code]
        assert p.exchange == product.exchange
        digits = p.instrument[len(code):]
        if p.exchange == "CZCE":
            assert len(digits) == 3 and code.isupper()
            year, month = 2020 + int(digits[0]), int(digits[1:])
        else:
            assert len(digits) == 4 and code.isupper() == (p.exchange == "CFFEX")
            year, month = 2000 + int(digits[:2]), int(digits[2:])
        assert (year, month) > (NOW.year, NOW.month) and month in product.months
        assert p.volume > 0 and p.settlement_price % product.tick == 0 and p.open_price % product.tick == 0
        sign = 1 if p.direction is Direction.long else -1
        size = p.volume * product.multiplier
        assert p.position_profit == ((p.settlement_price - p.open_price) * size * sign).quantize(Decimal("0.01"))
        assert p.margin == (p.settlement_price * size * product.margin_rate).quantize(Decimal("0.01"),
                                                                                      rounding=ROUND_HALF_UP)
    flags = Counter(p.hedge_flag.value for p in rows)
    assert flags["speculation"] > len(rows) * 0.8 and flags["hedge"] > 0
    sides = Counter(p.direction for p in rows)
    assert sides[Direction.long] and sides[Direction.short]
    # Every active account with a risk degree holds positions; dormant ones are flat.
    for client, snap in _latest(session).values():
        if client.lifecycle is Lifecycle.dormant:
            assert snap.curr_margin == 0


def test_provenance_audit_and_interactions(demo, session):
    entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "demo.seed")))
    assert len(entries) == 1 and entries[0].actor == "demo" and entries[0].details["clients"] == demo.clients
    assert audit.verify(session=session)[1] is None
    for model in (Client, MarginSnapshot, Position, Interaction):
        platforms = set(session.scalars(select(model.source_platform).distinct()))
        assert platforms == {"demo"}, model
    interactions = list(session.scalars(select(Interaction)))
    assert len(interactions) == demo.interactions >= 20
    assert all(i.occurred_at < NOW and i.staff_id == i.client.manager_id for i in interactions)
    assert any(i.client.manager.login == demo.first_manager_login for i in interactions)


def test_refuses_a_database_with_data_and_a_naive_now(session):
    with pytest.raises(ValueError, match="time zone"):
        seed_demo(session=session, now=datetime(2026, 11, 18, 10, 30))
    seed_demo(session=session, now=NOW)
    session.commit()
    with pytest.raises(ValueError, match="already has clients"):
        seed_demo(session=session, now=NOW)


@pytest.mark.parametrize("now, closes, intraday", [
    ("2026-11-18T10:30:00+08:00", ["11-13", "11-16", "11-17"], True),  # Wednesday morning
    ("2026-11-18T15:00:00+08:00", ["11-16", "11-17", "11-18"], False),  # at the close
    ("2026-11-22T11:00:00+08:00", ["11-18", "11-19", "11-20"], False),  # Sunday
    ("2026-11-18T08:59:00+08:00", ["11-13", "11-16", "11-17"], False),  # before the open
    ("2026-11-18T02:30:00+00:00", ["11-13", "11-16", "11-17"], True),  # UTC input, 10:30 in Shanghai
])
def test_snapshot_points_are_trading_closes(now, closes, intraday):
    points = snapshot_points(datetime.fromisoformat(now).astimezone(SH))
    assert [f"{p.at:%m-%d}" for p in points[:3]] == closes
    assert all(p.at.hour == 15 and p.at.minute == 0 for p in points[:3])
    assert (len(points) == 4) == intraday
    if intraday:
        assert points[-1].at == datetime.fromisoformat(now) and points[-1].trading_day == date(2026, 11, 18)


def test_a_weekend_seed_has_three_closes(session):
    summary = seed_demo(session=session, now=datetime(2026, 11, 22, 11, 0, tzinfo=SH))
    assert summary.snapshots == summary.accounts * 3
    assert summary.latest_snapshot_at == datetime(2026, 11, 20, 15, 0, tzinfo=SH)
    zhangsan = session.scalar(select(Client).where(Client.name == "张三"))
    snap = session.scalar(select(MarginSnapshot).where(MarginSnapshot.account_id == zhangsan.accounts[0].id)
                          .order_by(MarginSnapshot.timestamp.desc()).limit(1))
    assert Decimal("0.8") <= snap.risk_degree < 1 and snap.frozen_margin == 0
