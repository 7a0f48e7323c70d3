"""The demo dataset: a small, realistic brokerage for `brokerbot demo` and for tests.

`seed_demo(session=..., now=...)` fills an empty database with two teams of account managers,
their clients and accounts, a few trading days of margin snapshots and the positions behind
them. The same `now` gives the same rows on every run and machine: every random draw comes
from `random.Random` streams with fixed seeds and is an integer, and money is computed in
integer cents or exact Decimals, never floats.

Ledger model (逐笔对冲, as on a broker's daily statement): for every snapshot
  balance   = pre_balance + deposit - withdraw + close_profit + position_profit - commission
  available = balance - curr_margin - frozen_margin
where position_profit is the floating profit of the open positions against their open prices,
curr_margin is the sum of the positions' margins, and the next snapshot's pre_balance is this
one's balance less its floating profit (当日结存).
"""
from __future__ import annotations

import calendar
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from bot.demo.names import (
    AREA_CODES,
    CLIENTS_PER_MANAGER,
    ENGLISH_NAMES,
    GIVEN_FEMALE,
    GIVEN_MALE,
    INDIVIDUAL_STYLES,
    INSTITUTIONS,
    INTERACTION_NOTES,
    MOBILE_PREFIXES,
    PRODUCTS,
    STAFF,
    STYLES,
    SURNAMES,
    TEAMS,
    Product,
)
from bot.demo.suitability import seed_assessments
from crm_core import audit
from crm_core.accounts import Account
from crm_core.base import Source
from crm_core.clients import Client, ClientType, Lifecycle
from crm_core.db import cipher_of, tz_of
from crm_core.interactions import Channel, log_interaction
from crm_core.margin import (
    Direction,
    HedgeFlag,
    MarginSnapshot,
    Position,
    PositionReport,
    ReportBasis,
    ratio,
)
from crm_core.staff import Role, Staff, Team

SEED = "brokerbot-demo-1"
SOURCE = Source(platform="demo")
CENT = Decimal("0.01")
CLOSE = time(15, 0)  # the daily snapshot is taken at the close
OPEN = time(9, 0)
TRADING_DAYS = 3
MIN_EQUITY = 50_000_00  # cents

# Risk-degree bands (basis points of curr_margin / balance) and their weights.
BANDS = {"low": (800, 2000), "normal": (2000, 7000), "high": (7000, 8000),
         "warning": (8200, 9700), "margin_call": (10050, 10800)}
BAND_WEIGHTS = (("low", 12), ("normal", 70), ("high", 8), ("warning", 5), ("margin_call", 1))
FORCE_CLOSE_BP, FORCE_CLOSE_MARKUP = 13200, 115  # exchange risk degree 1.3200 / 1.15 > 100%


class StaffRow(NamedTuple):
    login: str
    name: str
    role: str
    team: str | None


@dataclass(frozen=True)
class DemoSummary:
    staff: list[StaffRow]
    teams: int
    clients: int
    accounts: int
    snapshots: int
    positions: int
    interactions: int
    first_manager_login: str
    first_manager_name: str
    example_clients: list[str]  # the first manager's clients worth asking about, 张三 first
    latest_snapshot_at: datetime


# -- specifications (pure data, no database) ---------------------------------------------------
@dataclass
class AccountSpec:
    account_no: str
    opened_on: date
    equity: int  # target balance in cents; the ledger derives the exact figure
    band: str | None  # None: no positions
    risk_bp: int = 0
    markup: int = 120  # curr_margin / exchange_margin, percent
    holds: str | None = None  # a product code the positions must include


@dataclass
class ClientSpec:
    name: str
    manager: str
    client_type: ClientType = ClientType.individual
    lifecycle: Lifecycle = Lifecycle.active
    style: str = "mixed"
    male: bool = True
    chinese: bool = True
    risk_level: str | None = None
    tags: list[str] = field(default_factory=list)
    birthday: date | None = None
    phone: str | None = None
    id_number: str | None = None
    accounts: list[AccountSpec] = field(default_factory=list)
    band: str | None = "auto"  # forced band of the first account
    created: date | None = None
    # The first account's number and a product it holds, where the README's examples name them.
    account_no: str | None = None
    holds: str | None = None


EXAMPLES = ("张三", "赵建国", "张伟")  # warning, margin call, two clients of that name


def _specials(first: str) -> list[ClientSpec]:
    """Clients the demo and tests rely on; the first manager's come first."""
    return [
        ClientSpec("张三", first, style="black", risk_level="C4", band="warning", account_no="90012345",
                   holds="rb"),  # README: "90012345 风险度多少", "他有没有螺纹"
        ClientSpec("张伟", first, style="metal", risk_level="C3"),
        ClientSpec("张伟", first, style="agri", risk_level="C4"),
        ClientSpec("赵建国", first, style="black", risk_level="C4", band="margin_call"),
        ClientSpec("孙志强", first, style="energy", risk_level="C5", band="force_close"),
        ClientSpec("欧阳晓峰", first, style="index", risk_level="C5"),
        ClientSpec("李四", "sunli", style="agri", risk_level="C3", band="normal"),
        ClientSpec("周晓东", "huanglei", style="metal", risk_level="C4", band="force_close"),
    ]


def _weighted(rng: random.Random, pairs):
    """One value of (value, integer weight) pairs."""
    total = sum(w for _, w in pairs)
    pick = rng.randrange(total)
    for value, weight in pairs:
        pick -= weight
        if pick < 0:
            return value
    raise AssertionError("unreachable")


def _equity_cents(rng: random.Random, institution: bool) -> int:
    """A log-spread target equity: a bucket by weight, then uniform inside it (yuan -> cents)."""
    buckets = ((1_000_000, 2_000_000, 1), (2_000_000, 5_000_000, 3), (5_000_000, 10_000_000, 4),
               (10_000_000, 20_000_000, 3), (20_000_000, 48_000_000, 2)) if institution else (
               (60_000, 100_000, 12), (100_000, 200_000, 18), (200_000, 500_000, 25),
               (500_000, 1_000_000, 18), (1_000_000, 2_000_000, 12), (2_000_000, 5_000_000, 9),
               (5_000_000, 10_000_000, 4), (10_000_000, 20_000_000, 2), (20_000_000, 45_000_000, 1))
    low, high, _ = _weighted(rng, [((lo, hi, w), w) for lo, hi, w in buckets])
    return rng.randint(low, high) * 100 + rng.randrange(100)


def _birthday(rng: random.Random, today: date) -> date:
    """Born 1958-2001; about one in ten this month and one in twelve next month."""
    year, pick, month, day = (rng.randint(1958, 2001), rng.randrange(100), rng.randint(1, 12),
                              rng.randint(1, 31))
    if pick < 10:
        month = today.month
    elif pick < 18:
        month = today.month % 12 + 1
    return date(year, month, 1 + (day - 1) % calendar.monthrange(year, month)[1])


def _id_number(rng: random.Random, born: date, male: bool) -> str:
    """An 18-digit resident ID (GB 11643-1999) whose birth date is the client's birthday."""
    seq = rng.randint(0, 499) * 2 + (1 if male else 0)  # odd 17th digit for men
    first17 = f"{rng.choice(AREA_CODES)}{born:%Y%m%d}{seq:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]


def _unique(rng: random.Random, taken: set[str], make) -> str:
    while True:
        value = make(rng)
        if value not in taken:
            taken.add(value)
            return value


def client_specs(*, today: date) -> list[ClientSpec]:
    """Every client with its accounts, in insertion order. Depends on `today` only for dates."""
    rng = random.Random(f"{SEED}:clients")
    managers = list(CLIENTS_PER_MANAGER)
    first = managers[0]
    specs = _specials(first)
    for name, owner in zip(ENGLISH_NAMES, (0, 1, 3, 4)):
        specs.append(ClientSpec(name, managers[owner], chinese=False,
                                male=name.split()[0] in ("John", "Michael"), style="mixed"))
    owners = managers + [first, managers[1], managers[3], managers[5]]
    for (name, style), owner in zip(INSTITUTIONS, owners):
        specs.append(ClientSpec(name, owner, client_type=ClientType.institution, style=style,
                                risk_level=rng.choice(("C4", "C5"))))

    taken = {spec.name for spec in specs} | {s.name for s in STAFF}
    for manager, wanted in CLIENTS_PER_MANAGER.items():
        have = sum(1 for spec in specs if spec.manager == manager)
        for _ in range(wanted - have):
            male = rng.randrange(2) == 0
            name = _unique(rng, taken, lambda r: _weighted(r, SURNAMES)
                           + r.choice(GIVEN_MALE if male else GIVEN_FEMALE))
            lifecycle = Lifecycle(_weighted(rng, (("active", 80), ("dormant", 9), ("prospect", 5),
                                                  ("lead", 6))))
            specs.append(ClientSpec(name, manager, lifecycle=lifecycle, male=male,
                                    style=_weighted(rng, INDIVIDUAL_STYLES)))

    phones: set[str] = set()
    numbers: set[str] = set()
    for spec in specs:
        _fill_client(rng, spec, today, phones, numbers)
    # One of the first manager's clients has a birthday in three days (the 张伟 with a metal style).
    special = next(s for s in specs if s.name == "张伟")
    soon = today + timedelta(days=3)
    special.birthday = date(1984, soon.month, soon.day)  # 1984 is a leap year: 29 Feb exists
    special.id_number = _id_number(rng, special.birthday, True)
    rng.shuffle(specs)
    return specs


def _fill_client(rng: random.Random, spec: ClientSpec, today: date, phones: set, numbers: set) -> None:
    institution = spec.client_type is ClientType.institution
    spec.phone = _unique(rng, phones, lambda r: r.choice(MOBILE_PREFIXES) + f"{r.randrange(10**8):08d}")
    if not institution:
        spec.birthday = _birthday(rng, today)
        if spec.chinese:
            spec.id_number = _id_number(rng, spec.birthday, spec.male)
    if spec.risk_level is None:
        if spec.lifecycle in (Lifecycle.lead, Lifecycle.prospect):
            spec.risk_level = _weighted(rng, ((None, 8), ("C1", 3), ("C2", 5), ("C3", 8), ("C4", 4)))
        else:
            spec.risk_level = _weighted(rng, (("C2", 3), ("C3", 45), ("C4", 40), ("C5", 12)))
    style = STYLES[spec.style]
    tags = [style.tag] if style.tag and (institution or rng.randrange(4) > 0) else []
    if spec.style == "quant" and rng.randrange(2) == 0:
        tags.append("程序化")
    elif rng.randrange(40) == 0:
        tags.append("程序化")

    if spec.lifecycle in (Lifecycle.lead, Lifecycle.prospect):
        spec.created = today - timedelta(days=rng.randint(1, 60))
        spec.tags = tags
        return
    count = rng.randint(1, 3) if institution else (2 if rng.randrange(100) < 12 else 1)
    if spec.band != "auto":
        count = 1  # the demo points at this client's one account
    recent = rng.randrange(100) < 8
    opened = today - timedelta(days=rng.randint(10, 85) if recent else rng.randint(100, 3650))
    for i in range(count):
        if i:
            opened = opened + timedelta(days=rng.randint(0, max(0, (today - opened).days - 1)))
        account_no = _unique(rng, numbers, lambda r: str(r.randint(80_000_000, 89_999_999)))
        equity = _equity_cents(rng, institution)
        band = _weighted(rng, BAND_WEIGHTS)
        if spec.lifecycle is Lifecycle.dormant or rng.randrange(100) < 5:
            band = None
        if i == 0 and spec.band != "auto":
            band = spec.band
        low, high = BANDS.get(band, (0, 0)) if band != "force_close" else (FORCE_CLOSE_BP, FORCE_CLOSE_BP)
        markup = FORCE_CLOSE_MARKUP if band == "force_close" else rng.randint(110, 130)
        if band in ("warning", "margin_call", "force_close"):
            equity = max(equity, rng.randint(300_000, 900_000) * 100)  # room for a few lots
        risk_bp = rng.randint(low, high)
        if i == 0 and spec.account_no:  # drawn all the same: the other clients' draws stay as they were
            numbers.add(account_no := spec.account_no)
        spec.accounts.append(AccountSpec(account_no, opened, equity, band, risk_bp, markup,
                                         spec.holds if i == 0 else None))
    spec.created = min(a.opened_on for a in spec.accounts)
    if not institution and sum(a.equity for a in spec.accounts) >= 3_000_000_00:
        tags.append("高净值")
    if (today - spec.created).days <= 90:
        tags.append("新客户")
    spec.tags = tags


# -- market ------------------------------------------------------------------------------------
class Point(NamedTuple):
    at: datetime  # aware, business time zone
    trading_day: date


def snapshot_points(now: datetime) -> list[Point]:
    """The closes of the last trading days up to `now` (weekdays; holidays are ignored), then
    an intraday point at `now` when it falls inside today's session."""
    points = []
    day = now.date()
    while len(points) < TRADING_DAYS:
        at = datetime.combine(day, CLOSE, now.tzinfo)
        if day.weekday() < 5 and at <= now:
            points.append(Point(at, day))
        day -= timedelta(days=1)
    points.reverse()
    if now.weekday() < 5 and OPEN <= now.time() < CLOSE:
        points.append(Point(now.replace(second=0, microsecond=0), now.date()))
    return points


def contract(product: Product, today: date) -> str:
    """The usually most-traded contract: the first listed month at least `months_ahead` out."""
    index = today.year * 12 + today.month - 1 + product.months_ahead
    while index % 12 + 1 not in product.months:
        index += 1
    year, month = divmod(index, 12)
    month += 1
    if product.exchange == "CZCE":  # Zhengzhou codes carry one year digit: MA601
        return f"{product.code}{year % 10}{month:02d}"
    return f"{product.code}{year % 100:02d}{month:02d}"


def _wiggle(rng: random.Random, bp: int) -> int:
    """A roughly bell-shaped integer move of about `bp` basis points (sum of three uniforms)."""
    return sum(rng.randint(-bp, bp) for _ in range(3))


@dataclass(frozen=True)
class Quote:
    product: Product
    instrument: str
    ticks: list[int]  # the price at each point, in ticks


def market(*, points: int, today: date) -> dict[str, Quote]:
    rng = random.Random(f"{SEED}:market")
    quotes = {}
    for product in PRODUCTS:
        latest = int(product.price / product.tick) * (10_000 + rng.randint(-600, 600)) // 10_000
        path = [latest]
        for _ in range(points - 1):
            path.append(path[-1] - path[-1] * _wiggle(rng, product.daily_move) // 10_000)
        quotes[product.code] = Quote(product, contract(product, today), path[::-1])
    return quotes


# -- ledger ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Holding:
    quote: Quote
    direction: Direction
    volume: int
    open_ticks: int
    hedge: HedgeFlag

    def price(self, point: int) -> Decimal:
        return self.quote.ticks[point] * self.quote.product.tick

    def margin(self, point: int) -> int:
        p = self.quote.product
        return _cents(self.price(point) * self.volume * p.multiplier * p.margin_rate)

    def profit(self, point: int) -> int:
        p = self.quote.product
        sign = 1 if self.direction is Direction.long else -1
        return _cents((self.price(point) - self.open_ticks * p.tick) * self.volume * p.multiplier * sign)


def _cents(value: Decimal) -> int:
    return int(value.quantize(CENT, rounding=ROUND_HALF_UP).scaleb(2))


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _holdings(rng: random.Random, quotes: dict[str, Quote], style: str, target: int,
              holds: str | None = None) -> list[Holding]:
    """Positions whose margin at the latest price comes close to `target` cents, in the style's
    products (the cheapest products of the whole market when the style's are too large), one of
    them in `holds` when given."""
    last = -1
    lot = {code: Holding(q, Direction.long, 1, 0, HedgeFlag.speculation).margin(last)
           for code, q in quotes.items()}
    spec = STYLES[style]
    count = 1 + min(_weighted(rng, ((0, 3), (1, 4), (2, 3), (3, 2))), len(spec.products) - 1)
    share = target // count
    pool = [code for code in spec.products if lot[code] <= share]
    if not pool:
        pool = sorted(quotes, key=lot.__getitem__)[:4]
    chosen = rng.sample(pool, min(count, len(pool)))
    if holds and holds not in chosen:
        chosen[0] = holds  # after the draw, so that the random stream stays the same
    share = target // len(chosen)
    holdings, used = [], 0
    for code in chosen:
        quote = quotes[code]
        volume = max(1, share // lot[code])
        used += volume * lot[code]
        if spec.hedge:
            direction = Direction.short if rng.randrange(4) else Direction.long
            hedge = HedgeFlag.hedge if rng.randrange(5) else HedgeFlag.speculation
        else:
            direction = Direction.long if rng.randrange(100) < 55 else Direction.short
            hedge = HedgeFlag.arbitrage if rng.randrange(60) == 0 else HedgeFlag.speculation
        open_ticks = quote.ticks[last] * (10_000 + rng.randint(-450, 450)) // 10_000
        holdings.append(Holding(quote, direction, volume, open_ticks, hedge))
    cheapest = min(range(len(holdings)), key=lambda i: lot[holdings[i].quote.product.code])
    extra = max(0, target - used) // lot[holdings[cheapest].quote.product.code]
    if extra:
        h = holdings[cheapest]
        holdings[cheapest] = Holding(h.quote, h.direction, h.volume + extra, h.open_ticks, h.hedge)
    return holdings


def _flows(rng: random.Random, equity: int, active: bool, intraday: bool) -> dict[str, int]:
    """One period's deposit, withdrawal, closed profit and commission, in cents."""
    deposit = withdraw = close_profit = commission = 0
    if rng.randrange(100) < 4:
        deposit = max(1, equity * rng.randint(5, 20) // 100 // 100_000) * 100_000
    if rng.randrange(100) < 3:
        withdraw = max(1, equity * rng.randint(3, 10) // 100 // 100_000) * 100_000
    if active and rng.randrange(100) < 40:
        close_profit = equity * rng.randint(-150, 150) // 10_000
    if active and rng.randrange(100) < 60:
        commission = rng.randint(500, max(500, equity // (4000 if intraday else 2000)))
    return {"deposit": deposit, "withdraw": withdraw, "close_profit": close_profit,
            "commission": commission}


def account_ledger(rng: random.Random, spec: AccountSpec, quotes: dict[str, Quote], style: str,
                   intraday: bool) -> tuple[list[dict], list[Holding]]:
    """Per point (oldest first) the snapshot figures in cents, and the positions behind them."""
    n = len(next(iter(quotes.values())).ticks)
    holdings = []
    if spec.band is not None:
        holdings = _holdings(rng, quotes, style, spec.equity * spec.risk_bp // 10_000, spec.holds)
    margin = [sum(h.margin(p) for h in holdings) for p in range(n)]
    floating = [sum(h.profit(p) for h in holdings) for p in range(n)]
    flows = [_flows(rng, spec.equity, bool(holdings), intraday and p == n - 1) for p in range(n)]
    if holdings:  # the latest risk degree is the band's: balance = curr_margin / risk degree
        balance = (margin[-1] * 10_000 * 2 + spec.risk_bp) // (2 * spec.risk_bp)
        if spec.band in ("low", "normal", "high"):
            balance = max(balance, MIN_EQUITY + rng.randrange(100_000_00))
    else:
        balance = spec.equity
    rows: list[dict] = [{} for _ in range(n)]
    for p in range(n - 1, -1, -1):
        f = flows[p]
        while True:
            settled = balance - floating[p]
            pre = settled - f["deposit"] + f["withdraw"] - f["close_profit"] + f["commission"]
            if p == 0 or pre + floating[p - 1] >= max(margin[p - 1] * 2 // 3, MIN_EQUITY // 2):
                break
            f["withdraw"] += 100_000_00  # keep yesterday's balance sane: money left today
        frozen = 0
        if intraday and p == n - 1 and holdings and spec.risk_bp < 7000 and rng.randrange(100) < 15:
            frozen = rng.randint(1, balance * 5 // 100)
        rows[p] = dict(f, pre_balance=pre, position_profit=floating[p], balance=balance,
                       curr_margin=margin[p], exchange_margin=margin[p] * 100 // spec.markup,
                       frozen_margin=frozen, available=balance - margin[p] - frozen)
        balance = pre + floating[p - 1] if p else 0
    return rows, holdings


# -- writing -----------------------------------------------------------------------------------
def _add_staff(session: Session) -> dict[str, Staff]:
    teams = {name: Team(name=name) for name in TEAMS}
    session.add_all(teams.values())
    staff: dict[str, Staff] = {}
    for i, spec in enumerate(STAFF):
        member = Staff(login=spec.login, name=spec.name, role=Role(spec.role),
                       team=teams.get(spec.team), supervisor=staff.get(spec.supervisor),
                       wecom_userid=spec.login, dingtalk_userid=f"{spec.login}{4102 + i * 379}",
                       slack_user_id=f"U0{31_415_926 + i * 2_718_281}")
        session.add(member)
        session.flush()  # one at a time: ids follow STAFF (the unit of work would reorder them)
        staff[spec.login] = member
    return staff


def _at(day: date, hour: int, tz) -> datetime:
    return datetime.combine(day, time(hour, 0), tz)


def _add_clients(session: Session, specs: list[ClientSpec], staff: dict[str, Staff], tz
                 ) -> list[tuple[ClientSpec, Client, list[Account]]]:
    cipher = cipher_of(session)
    rows = []
    for spec in specs:
        created = _at(spec.created, 10, tz)
        client = Client(name=spec.name, client_type=spec.client_type, lifecycle=spec.lifecycle,
                        risk_level=spec.risk_level, birthday=spec.birthday,
                        manager=staff[spec.manager], created_at=created, updated_at=created)
        client.set_source(SOURCE)
        client.set_phone(cipher, spec.phone)
        client.set_id_number(cipher, spec.id_number)
        client.set_tags(spec.tags)
        accounts = [Account(account_no=a.account_no, client=client, opened_on=a.opened_on,
                            status="dormant" if spec.lifecycle is Lifecycle.dormant else "active",
                            created_at=_at(a.opened_on, 10, tz), updated_at=_at(a.opened_on, 10, tz))
                    for a in spec.accounts]
        rows.append((spec, client, accounts))
    session.add_all(client for _, client, _ in rows)
    session.flush()
    return rows


def _write_funds(session: Session, clients, quotes: dict[str, Quote], points: list[Point],
                 intraday: bool) -> tuple[int, int]:
    rng = random.Random(f"{SEED}:ledger")
    snapshots, positions, reports = [], [], []
    for spec, _client, accounts in clients:
        for account_spec, account in zip(spec.accounts, accounts):
            rows, holdings = account_ledger(rng, account_spec, quotes, spec.style, intraday)
            reports.extend(dict(account_id=account.id, timestamp=point.at, basis=ReportBasis.positions,
                                source_platform="demo") for point in points)
            for point, row in zip(points, rows):
                money = {key: _money(value) for key, value in row.items()}
                snapshots.append(dict(
                    money, account_id=account.id, timestamp=point.at, trading_day=point.trading_day,
                    risk_degree=ratio(money["curr_margin"], money["balance"]), source_platform="demo"))
            for index, point in enumerate(points):
                for h in holdings:
                    positions.append(dict(
                        account_id=account.id, timestamp=point.at, exchange=h.quote.product.exchange,
                        instrument=h.quote.instrument, direction=h.direction, volume=h.volume,
                        open_price=h.open_ticks * h.quote.product.tick, settlement_price=h.price(index),
                        position_profit=_money(h.profit(index)), margin=_money(h.margin(index)),
                        hedge_flag=h.hedge, source_platform="demo"))
    session.execute(insert(MarginSnapshot), snapshots)
    session.execute(insert(PositionReport), reports)  # each point reports what the account held
    if positions:
        session.execute(insert(Position), positions)
    return len(snapshots), len(positions)


def _add_interactions(session: Session, clients, staff: dict[str, Staff], now: datetime) -> int:
    rng = random.Random(f"{SEED}:interactions")
    first = next(iter(CLIENTS_PER_MANAGER))
    candidates = [(spec, client) for spec, client, _ in clients
                  if spec.client_type is ClientType.individual or rng.randrange(2)]
    mine = [c for c in candidates if c[0].manager == first]
    others = [c for c in candidates if c[0].manager != first]
    picked = rng.sample(mine, 16) + rng.sample(others, 30)
    picked.sort(key=lambda c: c[1].id)
    for spec, client in picked:
        channel, summary = rng.choice(INTERACTION_NOTES)
        day = now.date() - timedelta(days=rng.randint(1, 24))
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        date_only = rng.randrange(4) == 0
        when = (datetime.combine(day, time(12, 0), now.tzinfo) if date_only else
                datetime.combine(day, time(rng.randint(9, 17), rng.choice((0, 15, 30, 45))), now.tzinfo))
        followup = None
        if rng.randrange(3) == 0:
            followup = datetime.combine(now.date() + timedelta(days=rng.randint(1, 10)), time(12, 0),
                                        now.tzinfo)
        log_interaction(session=session, actor=staff[spec.manager], client=client, channel=Channel(channel),
                        occurred_at=when, summary=summary, date_only=date_only, next_followup=followup,
                        followup_date_only=followup is not None, source=SOURCE)
    return len(picked)


def seed_demo(*, session: Session, now: datetime) -> DemoSummary:
    """Fill an empty database with the demo dataset, in the caller's transaction (flushed,
    not committed). Refuses a database that already has staff or clients."""
    if now.tzinfo is None:
        raise ValueError("seed_demo needs an aware `now` (a datetime with a time zone)")
    for model, what in ((Client, "clients"), (Staff, "staff")):
        if session.scalar(select(func.count()).select_from(model)):
            raise ValueError(f"the database already has {what}; the demo dataset needs an empty database")
    tz = tz_of(session)
    now = now.astimezone(tz)
    today = now.date()

    staff = _add_staff(session)
    clients = _add_clients(session, client_specs(today=today), staff, tz)
    points = snapshot_points(now)
    intraday = len(points) > TRADING_DAYS
    quotes = market(points=len(points), today=today)
    snapshots, positions = _write_funds(session, clients, quotes, points, intraday)
    interactions = _add_interactions(session, clients, staff, now)
    seed_assessments(session=session, clients=clients, now=now)

    first = staff[next(iter(CLIENTS_PER_MANAGER))]
    summary = DemoSummary(
        staff=[StaffRow(s.login, s.name, s.role, s.team) for s in STAFF],
        teams=len(TEAMS), clients=len(clients), accounts=sum(len(a) for _, _, a in clients),
        snapshots=snapshots, positions=positions, interactions=interactions,
        first_manager_login=first.login, first_manager_name=first.name,
        example_clients=list(EXAMPLES), latest_snapshot_at=points[-1].at)
    audit.record(session=session, actor="demo", action="demo.seed", details={
        "now": now.isoformat(), "clients": summary.clients, "accounts": summary.accounts,
        "snapshots": snapshots, "positions": positions, "interactions": interactions}, source=SOURCE)
    session.flush()
    return summary
