"""Settlement statements (交易结算单): the broker's daily statement text from the trading
system's settlement query, GBK or UTF-8, with its header (客户号, 日期), its 资金状况 block, an
optional 出入金明细 table and its 持仓汇总 table.

One statement is one margin snapshot plus the account's position report, written through the
snapshots and positions importers: re-importing it writes nothing, a corrected statement
replaces the figures, and a position no longer listed is removed. A statement without 持仓汇总
(its 保证金占用 0) reports the account flat: the day's report holds no position. Both are stamped 15:00 of the
statement date in the business time zone, the moment the snapshots importer gives a day's close:
a snapshot file's row for the same trading day is then the same record, not a second one, and
the night session (21:00, which belongs to the next trading day) sorts after it. CFFEX bond
futures trade until 15:15, so an intraday snapshot taken in those minutes sorts after the
statement.

A statement is refused as a whole (ImportFileError, naming the line and the figure) when it is
unreadable, cut short, or does not add up:
  期末结存 = 期初结存 + 出入金 + 平仓盈亏 + 持仓盯市盈亏 − 手续费 (±0.01)
  可用资金 = 客户权益 − 保证金占用
  风险度 = 保证金占用 / 客户权益, as shown (a percentage with two decimals)
  保证金占用 = the positions' margins; each table's rows = its 共 N条 total line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from crm_core.accounts import Account
from crm_core.products import EXCHANGE_OF
from crm_core.importers import positions, reader, snapshots
from crm_core.importers.fields import BadCell, as_day, at_close, from_future
from crm_core.importers.job import Job, utc
from crm_core.importers.reader import ImportFileError
from crm_core.importers.statement_text import Table, block_end, decode, heading, money, pairs, table
from crm_core.importers.texts import say
from crm_core.margin import Direction, HedgeFlag, ratio

COLUMNS = REQUIRED = ()  # not a table: `read` finds the figures by their labels
CENT = Decimal("0.01")
FUNDS, DEPOSITS, POSITIONS = "资金状况", "出入金明细", "持仓汇总"
FIGURES = ("期初结存", "出入金", "平仓盈亏", "持仓盯市盈亏", "手续费", "期末结存", "客户权益",
           "保证金占用", "可用资金", "风险度")
EXCHANGE_NAMES = {"上期所": "SHFE", "上海期货交易所": "SHFE", "能源中心": "INE", "上期能源": "INE",
                  "大商所": "DCE", "大连商品交易所": "DCE", "郑商所": "CZCE", "郑州商品交易所": "CZCE",
                  "中金所": "CFFEX", "中国金融期货交易所": "CFFEX", "广期所": "GFEX", "广州期货交易所": "GFEX"}
HEDGE = {"投": HedgeFlag.speculation, "投机": HedgeFlag.speculation, "保": HedgeFlag.hedge,
         "套保": HedgeFlag.hedge, "套": HedgeFlag.arbitrage, "套利": HedgeFlag.arbitrage,
         **{flag.value: flag for flag in HedgeFlag}}
# 持仓汇总 columns by their Chinese header, spaces removed; the first four are required.
HOLDING_COLUMNS = {"instrument": ("合约",), "long": ("买持",), "short": ("卖持",),
                   "margin": ("保证金占用", "保证金"), "long_price": ("买均价",), "short_price": ("卖均价",),
                   "settlement_price": ("今结算",), "profit": ("持仓盯市盈亏", "盯市盈亏"),
                   "hedge": ("投/保", "投保", "投机/套保"), "exchange": ("交易所",)}
DEPOSIT_COLUMNS = {"deposit": ("入金",), "withdraw": ("出金",)}


@dataclass
class Figure:
    value: Decimal
    line: int


@dataclass
class Holding:
    line: int
    key: tuple  # (exchange, instrument, direction, hedge_flag), as positions.Rec has it
    values: dict


@dataclass
class Funds:
    line: int  # the 资金状况 heading's
    account_no: str
    account_line: int
    day: date
    values: dict  # the snapshot's values, as snapshots.Rec has them


@dataclass
class Plan:
    snapshot: snapshots.Rec
    positions: list[positions.Rec]


# -- reading ------------------------------------------------------------------------------------

def read(path: Path) -> reader.Table:
    """The statement as the records it holds: its Funds, then a Holding per position."""
    if not path.is_file():
        raise ImportFileError(say("no_file"))
    lines = decode(path.read_bytes()).splitlines()
    funds_at = heading(lines, FUNDS)
    if funds_at is None:
        raise ImportFileError(say("st_no_funds"))
    header = pairs(lines, 0, funds_at)
    account = header.get("客户号") or header.get("资金账号")
    day = header.get("日期")
    if account is None or day is None:
        raise ImportFileError(say("st_no_header", label="客户号" if account is None else "日期"))
    try:
        trading_day = as_day(day[0])
    except BadCell:
        raise ImportFileError(say("st_bad_date", line=day[1], value=day[0])) from None
    funds = _figures(lines, funds_at)
    deposits_at, positions_at = heading(lines, DEPOSITS), heading(lines, POSITIONS)
    deposit, withdraw = _deposits(lines, deposits_at, funds["出入金"])
    holdings = _holdings(table(lines, positions_at, POSITIONS)) if positions_at is not None else []
    _check(funds, holdings, positions_at)
    values = {"trading_day": trading_day, "pre_balance": funds["期初结存"].value, "deposit": deposit,
              "withdraw": withdraw, "close_profit": funds["平仓盈亏"].value,
              "position_profit": funds["持仓盯市盈亏"].value, "commission": funds["手续费"].value,
              "balance": funds["客户权益"].value, "curr_margin": funds["保证金占用"].value,
              "exchange_margin": None, "frozen_margin": None, "available": funds["可用资金"].value,
              "risk_degree": ratio(funds["保证金占用"].value, funds["客户权益"].value)}
    return reader.Table(columns=[], rows=[Funds(funds_at + 1, account[0], account[1], trading_day, values),
                                          *holdings])


def _figures(lines: list[str], at: int) -> dict[str, Figure]:
    """The 资金状况 block: from its heading to the next blank line, table or section."""
    found = pairs(lines, at + 1, block_end(lines, at + 1))
    figures = {}
    for label in FIGURES:
        if label not in found:
            raise ImportFileError(say("st_no_figure", line=at + 1, label=label))
        text, line = found[label]
        figures[label] = Figure(money(text.rstrip("%"), line, label), line)
    return figures


def _deposits(lines: list[str], at: int | None, net: Figure) -> tuple[Decimal, Decimal]:
    if at is None:
        return max(net.value, Decimal("0.00")), max(-net.value, Decimal("0.00"))
    listed = table(lines, at, DEPOSITS)
    deposit = listed.column_sum(DEPOSIT_COLUMNS["deposit"])
    withdraw = listed.column_sum(DEPOSIT_COLUMNS["withdraw"])
    if deposit - withdraw != net.value:
        raise ImportFileError(say("st_identity", line=net.line, label="出入金", shown=net.value,
                                  formula=f"{DEPOSITS} 入金 − 出金", computed=deposit - withdraw))
    return deposit, withdraw


def _holdings(listed: Table) -> list[Holding]:
    at = {name: listed.index(names, required=name in ("instrument", "long", "short", "margin"))
          for name, names in HOLDING_COLUMNS.items()}
    listed.column_sum(HOLDING_COLUMNS["long"], 0)
    listed.column_sum(HOLDING_COLUMNS["short"], 0)
    listed.column_sum(HOLDING_COLUMNS["margin"])
    if at["profit"] is not None:
        listed.column_sum(HOLDING_COLUMNS["profit"])
    holdings, seen = [], {}
    for line, cells in listed.rows:
        def cell(name, places=2):
            text = cells[at[name]] if at[name] is not None else ""
            return money(text, line, HOLDING_COLUMNS[name][0], places) if text else None

        instrument = cells[at["instrument"]]
        exchange = _exchange(line, instrument, cells[at["exchange"]] if at["exchange"] is not None else "")
        hedge = _hedge(line, cells[at["hedge"]] if at["hedge"] is not None else "")
        long, short = cell("long", 0) or 0, cell("short", 0) or 0
        if long < 0 or short < 0:
            raise ImportFileError(f"line {line}: " + say(
                "negative", column="买持" if long < 0 else "卖持", value=min(long, short)))
        # One row holds both sides' margin and MTM P/L; each side gets its share by volume
        # (the long side rounded to the cent, the short side the rest, so the row adds up).
        margin, profit = cell("margin") or Decimal("0.00"), cell("profit")
        long_margin, long_profit = _part(margin, long, short), _part(profit, long, short)
        sides = ((Direction.long, long, "long_price", long_margin, long_profit),
                 (Direction.short, short, "short_price", margin - long_margin,
                  None if profit is None else profit - long_profit))
        for direction, volume, price, margin_part, profit_part in sides:
            if not volume:
                continue
            key = (exchange, instrument, direction.value, hedge.value)
            if key in seen:
                raise ImportFileError(f"line {line}: " + say(
                    "duplicate_key", what=f"{instrument} {direction.value} {hedge.value}", line=seen[key]))
            seen[key] = line
            holdings.append(Holding(line, key, {
                "volume": int(volume), "open_price": cell(price, 4) or None,
                "settlement_price": cell("settlement_price", 4),
                "position_profit": profit_part, "margin": margin_part}))
    return holdings


def _part(amount: Decimal | None, long: Decimal, short: Decimal) -> Decimal | None:
    """The long side's share of a row's amount."""
    if amount is None or not long:
        return None if amount is None else Decimal("0.00")
    return (amount * long / (long + short)).quantize(CENT)


def _exchange(line: int, instrument: str, named: str) -> str:
    if not instrument or len(instrument) > 32:
        raise ImportFileError(say("st_bad_instrument", line=line, value=instrument))
    if named:
        code = EXCHANGE_NAMES.get(named) or named.upper()
        if code in set(EXCHANGE_OF.values()):
            return code
        raise ImportFileError(f"line {line}: " + say(
            "not_one_of", column="交易所", value=named, options=", ".join(sorted(set(EXCHANGE_OF.values())))))
    product = re.match(r"[A-Za-z]*", instrument).group()
    if product.lower() not in EXCHANGE_OF:
        raise ImportFileError(say("st_unknown_product", line=line, instrument=instrument, product=product))
    return EXCHANGE_OF[product.lower()]


def _hedge(line: int, text: str) -> HedgeFlag:
    if not text:
        return HedgeFlag.speculation
    if text.lower() not in HEDGE:
        raise ImportFileError(f"line {line}: " + say("not_one_of", column="投/保", value=text,
                                                       options="投, 保, 套"))
    return HEDGE[text.lower()]


def _check(funds: dict[str, Figure], holdings: list[Holding], positions_at: int | None) -> None:
    """The statement's own identities; the first that fails refuses it."""
    f = {label: figure.value for label, figure in funds.items()}
    carried = f["期初结存"] + f["出入金"] + f["平仓盈亏"] + f["持仓盯市盈亏"] - f["手续费"]
    if abs(carried - f["期末结存"]) > CENT:
        _refuse(funds, "期末结存", carried, "期初结存 + 出入金 + 平仓盈亏 + 持仓盯市盈亏 − 手续费")
    if f["客户权益"] - f["保证金占用"] != f["可用资金"]:
        _refuse(funds, "可用资金", f["客户权益"] - f["保证金占用"], "客户权益 − 保证金占用")
    if f["客户权益"] > 0:
        exact = f["保证金占用"] * 100 / f["客户权益"]
        if abs(exact - f["风险度"]) > Decimal("0.005"):  # shown rounded to two decimals
            _refuse(funds, "风险度", f"{exact.quantize(CENT)}%", "保证金占用 / 客户权益", shown=f"{f['风险度']}%")
    if positions_at is None and f["保证金占用"]:
        raise ImportFileError(say("st_no_positions", line=funds["保证金占用"].line, shown=f["保证金占用"]))
    held = sum((h.values["margin"] or 0 for h in holdings), Decimal("0.00"))
    if held != f["保证金占用"]:
        _refuse(funds, "保证金占用", held, f"{POSITIONS} 保证金占用")


def _refuse(funds: dict[str, Figure], label: str, computed, formula: str, shown=None) -> None:
    figure = funds[label]
    raise ImportFileError(say("st_identity", line=figure.line, label=label,
                              shown=figure.value if shown is None else shown,
                              formula=formula, computed=computed))


# -- checking against the database and writing ---------------------------------------------------

def check(job: Job, records: list) -> Plan:
    funds, holdings = records[0], records[1:]
    account_id = job.session.scalar(select(Account.id).where(Account.account_no == funds.account_no))
    if account_id is None:
        raise ImportFileError(say("st_no_account", line=funds.account_line, value=funds.account_no))
    moment = at_close(funds.day, job.tz)
    if from_future(moment, job.now, job.tz):
        raise ImportFileError(say("st_future", value=funds.day.isoformat(),
                                  now=job.now.astimezone(job.tz).isoformat(timespec="seconds")))
    moment = utc(moment)
    snapshot = snapshots.Rec(funds.line, funds.account_no, moment, dict(funds.values), account_id)
    held = [positions.Rec(h.line, funds.account_no, moment, h.key, dict(h.values), [], account_id)
            for h in holdings]
    job.tick("checking", 1, 1)
    return Plan(snapshot, held)


def apply(job: Job, plan: Plan) -> None:
    report, snap = job.report, plan.snapshot
    # A statement without positions reports the account flat at its moment (its 保证金占用 is 0:
    # `_check`); that report is the statement's, not a row of it.
    flat = positions.Rec(snap.line, snap.account_no, snap.timestamp, None, {}, [], snap.account_id)
    positions.apply(job, plan.positions or [flat])
    counts = (report.created, report.updated, report.unchanged) if plan.positions else (0, 0, 0)
    snapshots.apply(job, [snap])
    report.created += counts[0]
    report.updated += counts[1]
    report.unchanged += counts[2]
