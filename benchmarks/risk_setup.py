"""What the risk benchmarks share (benchmarks/risk_bench.py, benchmarks/risk_storm.py): a database of
their own, a book of managers, clients and accounts written in bulk, margin snapshot rows of which
some cross a level, and a channels.yaml with a WeCom and a DingTalk group chat for every level.

Levels are those of the default config/risk_rules.yaml: warning at a risk degree of 80%, margin call
at 100%, force close at an exchange risk degree of 100%; an alert resolves below 75% (resolve_margin 5).
"""
from __future__ import annotations

import random
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, text

from crm_core.accounts import Account
from crm_core.clients import Client
from crm_core.margin import default_available, ratio
from crm_core.staff import Role, Staff, Team
from tests.pg_schema import scratch_schema

KEY = "brokerbot-bench-secret-key-0123456789"
TZ = "Asia/Shanghai"
LEVELS = ("warning", "margin_call", "force_close")
# Of the accounts that cross: which level they reach (shares), as a storm of a sharp market move.
MIX = (("warning", 0.6), ("margin_call", 0.3), ("force_close", 0.1))
CENT = Decimal("0.01")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"


@contextmanager
def database(pg_url: str | None, folder: Path, name: str = "bench"):
    """A SQLite file, or a PostgreSQL schema of its own (as tests/conftest.py), dropped afterwards."""
    if pg_url is None:
        yield f"sqlite:///{folder / (name + '.db')}"
        return
    with scratch_schema(pg_url, name) as url:
        yield url


@dataclass(frozen=True)
class Book:
    account_nos: list[str]  # index i: client i's only account
    account_ids: list[int]
    managers: list[str]  # logins (also their WeCom user ids)
    teams: list[str]
    manager_of: list[int]  # index i: the index in `managers` of client i's manager


def seed(db, accounts: int, managers: int, teams: int = 5) -> Book:
    """Teams (each with a supervisor), managers with WeCom ids, a risk officer, and one client with
    one account per account number, written with bulk inserts (the setup is not what is timed)."""
    rng = random.Random(20261118)
    with db.transaction() as session:
        team_rows = [Team(name=f"期货{i + 1}组") for i in range(teams)]
        session.add_all(team_rows)
        session.flush()
        heads = [Staff(login=f"sup{i + 1}", name=f"主管{i + 1}", role=Role.supervisor, team_id=t.id,
                       wecom_userid=f"sup{i + 1}") for i, t in enumerate(team_rows)]
        session.add_all(heads)
        session.add(Staff(login="riskdesk", name="风控专员", role=Role.risk, wecom_userid="riskdesk"))
        session.flush()
        staff = [Staff(login=f"m{i:03d}", name=f"经理{i}", role=Role.manager, team_id=team_rows[i % teams].id,
                       supervisor_id=heads[i % teams].id, wecom_userid=f"m{i:03d}") for i in range(managers)]
        session.add_all(staff)
        session.flush()
        staff_ids = [s.id for s in staff]
        logins = [s.login for s in staff]
        names = [rng.choice(SURNAMES) + f"客户{i}" for i in range(accounts)]
        client_ids = list(session.scalars(insert(Client).returning(Client.id, sort_by_parameter_order=True),
                                          [{"name": names[i], "manager_id": staff_ids[i % managers]}
                                           for i in range(accounts)]))
        numbers = [f"9{i:07d}" for i in range(accounts)]
        account_ids = list(session.scalars(insert(Account).returning(Account.id, sort_by_parameter_order=True),
                                           [{"account_no": numbers[i], "client_id": client_ids[i]}
                                            for i in range(accounts)]))
        if session.get_bind().dialect.name == "postgresql":
            for table in ("clients", "accounts"):
                session.execute(text(f"ANALYZE {table}"))
    return Book(numbers, account_ids, logins, [t.name for t in team_rows], [i % managers for i in range(accounts)])


def figures(rng: random.Random, level: str | None) -> tuple[Decimal, Decimal, Decimal]:
    """(balance, curr_margin, exchange_margin) of an account at `level` (None: normal, under 70%)."""
    balance = Decimal(rng.randint(50_000_00, 20_000_000_00)) / 100
    low, high = {None: (5, 70), "warning": (81, 99), "margin_call": (101, 130), "force_close": (112, 140)}[level]
    margin = (balance * rng.randint(low * 10, high * 10) / 1000).quantize(CENT)
    exchange = (margin * Decimal("0.9")).quantize(CENT)
    if level == "force_close":  # the exchange's margin alone is over the balance
        exchange = (balance * Decimal("1.02")).quantize(CENT)
    return balance, margin, exchange


def choose_levels(count: int, crossing: int, rng: random.Random) -> list[str | None]:
    """A level for each of `count` accounts: `crossing` of them at some level (MIX), the rest normal."""
    levels: list[str | None] = [None] * count
    chosen = rng.sample(range(count), crossing)
    start = 0
    for n, (level, share) in enumerate(MIX):
        end = crossing if n == len(MIX) - 1 else start + round(crossing * share)
        for index in chosen[start:end]:
            levels[index] = level
        start = end
    return levels


def snapshot_rows(book: Book, at: datetime, levels: list[str | None], seed_: int) -> list[dict]:
    """JSON rows for POST /api/v1/snapshots (SPEC section 4 columns), one per account, exact decimals
    as strings."""
    rng = random.Random(seed_)
    day = at.astimezone(ZoneInfo(TZ)).strftime("%Y%m%d")
    stamp = at.isoformat()
    rows = []
    for no, level in zip(book.account_nos, levels):
        balance, margin, exchange = figures(rng, level)
        rows.append({"account_no": no, "timestamp": stamp, "trading_day": day, "balance": str(balance),
                     "curr_margin": str(margin), "exchange_margin": str(exchange)})
    return rows


def table_rows(book: Book, rows: list[dict]) -> list[dict]:
    """The same rows as margin_snapshots columns, as the importer writes them (for a bare insert)."""
    ids = dict(zip(book.account_nos, book.account_ids))
    out = []
    for index, row in enumerate(rows):
        balance, margin = Decimal(row["balance"]), Decimal(row["curr_margin"])
        day = row["trading_day"]
        out.append({"account_id": ids[row["account_no"]],
                    "timestamp": datetime.fromisoformat(row["timestamp"]).astimezone(timezone.utc),
                    "trading_day": date(int(day[:4]), int(day[4:6]), int(day[6:])),
                    "pre_balance": None, "deposit": None, "withdraw": None, "close_profit": None,
                    "position_profit": None, "commission": None, "balance": balance, "curr_margin": margin,
                    "exchange_margin": Decimal(row["exchange_margin"]), "frozen_margin": None,
                    "available": default_available(balance, margin, None), "risk_degree": ratio(margin, balance),
                    "source_platform": "api", "source_message_id": "bare", "source_user": "bench",
                    "source_text": f"/api/v1/snapshots[{index}]"})
    return out


def channels_yaml(wecom_base: str, ding_base: str, ding_secrets: dict[str, str]) -> str:
    """channels.yaml: for every level, one WeCom group robot and one signed DingTalk group robot
    (robot key / access_token = "<type>-<level>"), each for every team."""
    lines = ["channels:"]
    for level in LEVELS:
        lines += [f"  - name: wecom-{level}", "    type: wecom_webhook",
                  f"    url: {wecom_base}/cgi-bin/webhook/send?key=wecom-{level}",
                  f"    levels: [{level}]", '    teams: ["*"]']
        token = f"ding-{level}"
        lines += [f"  - name: {token}", "    type: dingtalk_webhook",
                  f"    url: {ding_base}/robot/send?access_token={token}", f"    secret: {ding_secrets[token]}",
                  f"    levels: [{level}]", '    teams: ["*"]']
    return "\n".join(lines) + "\n"


def ding_secrets() -> dict[str, str]:
    return {f"ding-{level}": f"SECbench{n}0123456789abcdef" for n, level in enumerate(LEVELS)}


def write_config(folder: Path, wecom_base: str, ding_base: str) -> Path:
    config = folder / "config"
    config.mkdir(exist_ok=True)
    (config / "channels.yaml").write_text(channels_yaml(wecom_base, ding_base, ding_secrets()), encoding="utf-8")
    return config


def window_max(times: list[float], seconds: float = 60.0) -> int:
    """The most of `times` inside any window of `seconds` (a window starts at one of them)."""
    ordered, best, start = sorted(times), 0, 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - seconds:
            start += 1
        best = max(best, end - start + 1)
    return best
