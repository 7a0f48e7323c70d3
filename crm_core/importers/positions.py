"""Positions file: account_no,timestamp,exchange,instrument,direction,volume,open_price,
settlement_price,position_profit,margin,hedge_flag.

A file reports an account's positions at a moment: importing it replaces the stored rows of
each (account, timestamp) it contains, so a position missing from the report is removed. A
report with a bad row is not imported at all, even with --skip-invalid: half a report would
misstate what the account holds.

A row with only account_no and timestamp (exchange, instrument, direction, volume and the
figures empty) reports the account flat at that moment: it held nothing, and any position
stored for that moment is removed. Every report, flat or not, is recorded as a PositionReport,
so the newest report is what the account holds now.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update

from crm_core.accounts import Account
from crm_core.importers.fields import Cells
from crm_core.importers.job import CHUNK, FirstSeen, Job, utc
from crm_core.importers.texts import say
from crm_core.margin import Direction, HedgeFlag, Position, PositionReport, ReportBasis

COLUMNS = ("account_no", "timestamp", "exchange", "instrument", "direction", "volume",
           "open_price", "settlement_price", "position_profit", "margin", "hedge_flag")
REQUIRED = ("account_no", "timestamp", "exchange", "instrument", "direction", "volume")
# Futures exchanges, plus the two stock exchanges for securities accounts.
EXCHANGES = {name.lower(): name for name in ("SHFE", "DCE", "CZCE", "CFFEX", "INE", "GFEX", "SSE", "SZSE")}
DIRECTIONS = {"long": "long", "short": "short", "多": "long", "空": "short"}
HEDGE_FLAGS = {flag.value: flag.value for flag in HedgeFlag}
VALUES = ("volume", "open_price", "settlement_price", "position_profit", "margin")
POSITION_COLUMNS = COLUMNS[2:]  # all empty: the row reports the account flat


@dataclass
class Rec:
    line: int
    account_no: str | None
    timestamp: datetime | None  # UTC
    key: tuple | None  # (exchange, instrument, direction, hedge_flag); None: the account is flat
    values: dict
    errors: list[str]
    account_id: int | None = None

    @property
    def group(self):
        return (self.account_no, self.timestamp)


def _parse(job: Job, row) -> Rec:
    c = Cells(row)
    account_no = c.text("account_no", required=True, limit=32)
    moment = c.moment("timestamp", job.tz)
    if row.cells.get("timestamp") is None:
        c.fail(say("required", column="timestamp"))
    c.not_future("timestamp", moment, job.now, job.tz)
    if all(row.cells.get(column) is None for column in POSITION_COLUMNS):
        return Rec(row.line, account_no, moment and utc(moment), None, {}, c.errors)
    key = (c.choice("exchange", EXCHANGES, required=True), c.text("instrument", required=True, limit=32),
           c.choice("direction", DIRECTIONS, required=True),
           c.choice("hedge_flag", HEDGE_FLAGS) or HedgeFlag.speculation.value)
    values = {"volume": c.count("volume", required=True),
              "open_price": c.money("open_price", places=4, non_negative=True),
              "settlement_price": c.money("settlement_price", places=4, non_negative=True),
              "position_profit": c.money("position_profit"),
              "margin": c.money("margin", non_negative=True)}
    return Rec(row.line, account_no, moment and utc(moment), key, values, c.errors)


def check(job: Job, rows) -> list[Rec]:
    recs = [_parse(job, row) for row in job.each("checking", rows)]
    seen = FirstSeen("position", job.origin.row_word)
    listed: dict = {}  # report -> the line of its first position
    for rec in recs:
        if rec.key is None and rec.account_no and rec.timestamp:
            what = f"a flat report for account_no {rec.account_no} at this timestamp"
            if reason := seen.check((rec.group, None), rec.line, what=what):
                rec.errors.append(reason)
        elif rec.key is not None:
            listed.setdefault(rec.group, rec.line)
            if rec.account_no and rec.timestamp and all(rec.key):
                what = f"{rec.key[1]} {rec.key[2]} {rec.key[3]} for account_no {rec.account_no} at this timestamp"
                if reason := seen.check((rec.group, rec.key), rec.line, what=what):
                    rec.errors.append(reason)
    for rec in recs:
        if rec.key is None and None not in rec.group and rec.group in listed:
            rec.errors.append(say("flat_and_listed", line=listed[rec.group], row_word=job.origin.row_word))
    ids = dict(job.lookup(lambda chunk: select(Account.account_no, Account.id)
                          .where(Account.account_no.in_(chunk)), (r.account_no for r in recs)))
    for rec in recs:
        rec.account_id = ids.get(rec.account_no)
        if rec.account_no and rec.account_id is None:
            rec.errors.append(say("no_account", value=rec.account_no))
    first_bad = {}
    for rec in recs:
        if rec.errors and None not in rec.group:
            first_bad.setdefault(rec.group, rec.line)
    for rec in recs:
        if not rec.errors and rec.group in first_bad:
            rec.errors.append(say("group_has_bad_row", line=first_bad[rec.group], row_word=job.origin.row_word,
                                  account=rec.account_no,
                                  timestamp=rec.timestamp.astimezone(job.tz).isoformat()))
        if rec.errors:
            job.bad(rec.line, rec.errors)
    return [rec for rec in recs if not rec.errors]


def apply(job: Job, recs: list[Rec]) -> None:
    if not recs:
        return
    lines: dict = {}
    for rec in recs:
        lines.setdefault((rec.account_id, rec.timestamp), rec.line)
    reported = record_reports(job, lines, ReportBasis.positions)
    flat = [rec for rec in recs if rec.key is None]
    recs = [rec for rec in recs if rec.key is not None]
    groups = set(lines)
    first, last = min(key[1] for key in groups), max(key[1] for key in groups)
    stored: dict = {}
    for row in job.lookup(lambda chunk: select(
            Position.id, Position.account_id, Position.timestamp, Position.exchange, Position.instrument,
            Position.direction, Position.hedge_flag, *(getattr(Position, v) for v in VALUES))
            .where(Position.account_id.in_(chunk), Position.timestamp.between(first, last)),
            (account_id for account_id, _ in groups)):
        if (row.account_id, row.timestamp) in groups:
            key = (row.exchange, row.instrument, row.direction.value, row.hedge_flag.value)
            stored[(row.account_id, row.timestamp, key)] = row
    inserts, updates = [], []
    for rec in recs:
        row = stored.pop((rec.account_id, rec.timestamp, rec.key), None)
        if row is None:
            exchange, instrument, direction, hedge_flag = rec.key
            inserts.append({"account_id": rec.account_id, "timestamp": rec.timestamp, "exchange": exchange,
                            "instrument": instrument, "direction": Direction(direction),
                            "hedge_flag": HedgeFlag(hedge_flag), **rec.values, **job.source(rec.line)})
        elif any(getattr(row, v) != rec.values[v] for v in VALUES):
            updates.append({"id": row.id, **rec.values, **job.source(rec.line)})
            job.report.changed_accounts.add(rec.account_id)
    gone = [row.id for row in stored.values()]
    job.report.changed_accounts.update(row["account_id"] for row in inserts)
    job.report.changed_accounts.update(row.account_id for row in stored.values())
    for start in range(0, len(gone), CHUNK):
        job.session.execute(delete(Position).where(Position.id.in_(gone[start:start + CHUNK])))
    job.write("writing", update(Position), updates)
    job.write("writing", insert(Position), inserts)
    # A flat row is created when the account's report of that moment is new or held positions.
    news = reported | {(row.account_id, row.timestamp) for row in stored.values()}
    made_flat = [rec.account_id for rec in flat if (rec.account_id, rec.timestamp) in news]
    job.report.changed_accounts.update(made_flat)
    report = job.report
    report.created, report.updated, report.removed = len(inserts) + len(made_flat), len(updates), len(gone)
    report.unchanged = len(recs) + len(flat) - report.created - len(updates)


def record_reports(job: Job, reports: dict[tuple, int], basis: ReportBasis) -> set[tuple]:
    """Records that each (account_id, timestamp) of `reports` had its positions reported (the
    value: the line that said so) on `basis`. A reported basis takes over an implied one; an
    implied one leaves any existing report alone. Returns the reports it wrote."""
    if not reports:
        return set()
    first, last = min(ts for _, ts in reports), max(ts for _, ts in reports)
    stored = {(row.account_id, row.timestamp): row for row in job.lookup(
        lambda chunk: select(PositionReport.id, PositionReport.account_id, PositionReport.timestamp,
                             PositionReport.basis)
        .where(PositionReport.account_id.in_(chunk), PositionReport.timestamp.between(first, last)),
        (account_id for account_id, _ in reports))}
    inserts, updates, written = [], [], set()
    for key, line in reports.items():
        row = stored.get(key)
        if row is None:
            inserts.append({"account_id": key[0], "timestamp": key[1], "basis": basis, **job.source(line)})
        elif basis is ReportBasis.positions and row.basis is not basis:
            updates.append({"id": row.id, "basis": basis, **job.source(line)})
        else:
            continue
        written.add(key)
    job.write("writing", update(PositionReport), updates)
    job.write("writing", insert(PositionReport), inserts)
    return written


def withdraw_implied(job: Job, reports: set[tuple]) -> None:
    """Removes the flat readings that snapshots implied at these (account_id, timestamp)."""
    if not reports:
        return
    first, last = min(ts for _, ts in reports), max(ts for _, ts in reports)
    gone = [row.id for row in job.lookup(
        lambda chunk: select(PositionReport.id, PositionReport.account_id, PositionReport.timestamp)
        .where(PositionReport.account_id.in_(chunk), PositionReport.timestamp.between(first, last),
               PositionReport.basis == ReportBasis.snapshot),
        (account_id for account_id, _ in reports)) if (row.account_id, row.timestamp) in reports]
    for start in range(0, len(gone), CHUNK):
        job.session.execute(delete(PositionReport).where(PositionReport.id.in_(gone[start:start + CHUNK])))
