"""Snapshots file (one account's funds at one moment, CTP field names):
account_no,timestamp,trading_day,pre_balance,deposit,withdraw,close_profit,position_profit,
commission,balance,curr_margin,exchange_margin,frozen_margin,available.

Keyed by (account, timestamp). A row is the whole record: re-importing it with other
figures replaces them. Without a timestamp, the snapshot is at 15:00 of its trading day.
A snapshot with curr_margin 0 and position_profit 0 (or empty) also says the account held no
positions at its moment, unless a position report of that moment lists some (in either order).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update

from crm_core.accounts import Account
from crm_core.importers import positions
from crm_core.importers.fields import Cells, at_close
from crm_core.importers.job import FirstSeen, Job, utc
from crm_core.importers.texts import say
from crm_core.margin import MarginSnapshot, ReportBasis, default_available, implies_flat, ratio

COLUMNS = ("account_no", "timestamp", "trading_day", "pre_balance", "deposit", "withdraw",
           "close_profit", "position_profit", "commission", "balance", "curr_margin",
           "exchange_margin", "frozen_margin", "available")
REQUIRED = ("account_no", "balance", "curr_margin")
MONEY = COLUMNS[3:]
NON_NEGATIVE = {"deposit", "withdraw", "commission", "curr_margin", "exchange_margin", "frozen_margin"}
VALUES = ("trading_day", *MONEY, "risk_degree")


@dataclass
class Rec:
    line: int
    account_no: str
    timestamp: datetime  # UTC
    values: dict
    account_id: int | None = None


def _parse(job: Job, row) -> tuple[Rec | None, list[str]]:
    c = Cells(row)
    account_no = c.text("account_no", required=True, limit=32)
    day = c.day("trading_day")
    moment = c.moment("timestamp", job.tz)
    if row.cells.get("timestamp") is None:
        if day is not None:
            moment = at_close(day, job.tz)
        elif row.cells.get("trading_day") is None:
            c.fail(say("no_time"))
    c.not_future("timestamp" if row.cells.get("timestamp") is not None else "trading_day", moment,
                 job.now, job.tz)
    values = {col: c.money(col, required=col in REQUIRED, non_negative=col in NON_NEGATIVE)
              for col in MONEY}
    if c.errors:
        return None, c.errors
    if values["available"] is None:
        values["available"] = default_available(values["balance"], values["curr_margin"],
                                                values["frozen_margin"])
    values["risk_degree"] = ratio(values["curr_margin"], values["balance"])
    values["trading_day"] = day
    return Rec(row.line, account_no, utc(moment), values), []


def check(job: Job, rows) -> list[Rec]:
    recs, seen = [], FirstSeen("account_no", job.origin.row_word)
    for row in job.each("checking", rows):
        rec, errors = _parse(job, row)
        if rec is not None:
            key = (rec.account_no, rec.timestamp)
            shown = f"account_no {rec.account_no} at {rec.timestamp.astimezone(job.tz).isoformat()}"
            if reason := seen.check(key, rec.line, what=shown):
                errors, rec = [reason], None
        if errors:
            job.bad(row.line, errors)
        else:
            recs.append(rec)
    ids = dict(job.lookup(lambda chunk: select(Account.account_no, Account.id)
                          .where(Account.account_no.in_(chunk)), (r.account_no for r in recs)))
    good = []
    for rec in recs:
        rec.account_id = ids.get(rec.account_no)
        if rec.account_id is None:
            job.bad(rec.line, say("no_account", value=rec.account_no))
        else:
            good.append(rec)
    return good


def apply(job: Job, recs: list[Rec]) -> None:
    if not recs:
        return
    first, last = min(r.timestamp for r in recs), max(r.timestamp for r in recs)
    cols = [getattr(MarginSnapshot, col) for col in VALUES]
    stored = {(row.account_id, row.timestamp): row for row in job.lookup(
        lambda chunk: select(MarginSnapshot.id, MarginSnapshot.account_id, MarginSnapshot.timestamp, *cols)
        .where(MarginSnapshot.account_id.in_(chunk), MarginSnapshot.timestamp.between(first, last)),
        (r.account_id for r in recs))}
    inserts, updates, corrected = [], [], set()
    for rec in recs:
        row = stored.get((rec.account_id, rec.timestamp))
        if row is None:
            inserts.append({"account_id": rec.account_id, "timestamp": rec.timestamp, **rec.values,
                            **job.source(rec.line)})
        elif any(getattr(row, col) != rec.values[col] for col in VALUES):
            updates.append({"id": row.id, **rec.values, **job.source(rec.line)})
            corrected.add((rec.account_id, rec.timestamp))
            job.report.changed_accounts.add(rec.account_id)
    job.report.changed_accounts.update(row["account_id"] for row in inserts)
    job.write("writing", insert(MarginSnapshot), inserts)
    job.write("writing", update(MarginSnapshot), updates)
    job.report.created, job.report.updated = len(inserts), len(updates)
    job.report.unchanged = len(recs) - len(inserts) - len(updates)
    # No margin and no position P/L: the account holds nothing at this moment, unless a position
    # report of the same moment says otherwise. A corrected snapshot with margin takes it back.
    flat = {(rec.account_id, rec.timestamp): rec.line for rec in recs
            if implies_flat(rec.values["curr_margin"], rec.values["position_profit"])}
    positions.record_reports(job, flat, ReportBasis.snapshot)
    positions.withdraw_implied(job, corrected - flat.keys())
