"""Assessments file (suitability questionnaire results): client,date,score,level,valid_until.

`client` is an account number or a client's name (a name several clients share is a bad row
that lists their accounts); `score` 0-100; `level` C1..C5, derived from the score by the bands of
suitability.yaml when empty (a level that contradicts the score is a bad row); `valid_until` the
last valid day, by default the date plus suitability.yaml's validity.

Keyed by (client, date): an assessment dated D is taken at the start of D in the business time
zone. Re-importing a row changes nothing; a corrected row replaces the score, level and validity.
Each written assessment goes through crm_core.suitability.record_result (audited, and the
client's level follows their newest assessment).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from crm_core import audit
from crm_core.accounts import Account
from crm_core.base import utcnow
from crm_core.clients import RISK_LEVELS, Client
from crm_core.importers.fields import BadCell, Cells, as_day, as_decimal
from crm_core.importers.job import FirstSeen, Job
from crm_core.importers.texts import say
from crm_core.suitability import (MAX_SCORE, SuitabilityAssessment, SuitabilityError, check_result,
                                  default_valid_until, packaged_rules, record_result)

COLUMNS = ("client", "date", "score", "level", "valid_until")
REQUIRED = ("client", "date", "score")
LEVELS = {level.lower(): level for level in RISK_LEVELS}


@dataclass
class Rec:
    line: int
    client: str
    day: date
    score: int
    level: str
    valid_until: date
    client_id: int | None = None


def _score(value: object) -> int:
    try:
        number = as_decimal(value, 0)
    except BadCell as exc:
        raise BadCell("not_whole" if exc.args[0] == "places" else exc.args[0]) from None
    if not 0 <= number <= MAX_SCORE:
        raise BadCell("score_range", {"max": MAX_SCORE})
    return int(number)


def _parse(job: Job, row, today: date) -> tuple[Rec | None, list[str]]:
    rules = job.suitability
    c = Cells(row)
    client = c.text("client", required=True, limit=128)
    day = c.get("date", as_day, required=True)
    points = c.get("score", _score, required=True)
    level = c.choice("level", LEVELS)
    valid_until = c.day("valid_until")
    if day is not None and day > today:
        c.fail(say("future_date", value=day.isoformat()))
    if points is not None:
        try:
            level = check_result(points=points, level=level, rules=rules)
        except SuitabilityError as exc:
            c.fail(say("level_contradicts", **exc.params))
    if day is not None and valid_until is not None and valid_until < day:
        c.fail(say("valid_until_before", value=valid_until.isoformat(), date=day.isoformat()))
    if c.errors:
        return None, c.errors
    return Rec(row.line, client, day, points, level, valid_until or default_valid_until(day, rules)), []


def check(job: Job, rows) -> list[Rec]:
    job.suitability = job.suitability or packaged_rules()
    today = utcnow().astimezone(job.tz).date()
    recs = []
    for row in job.each("checking", rows):
        rec, errors = _parse(job, row, today)
        if errors:
            job.bad(row.line, errors)
        else:
            recs.append(rec)
    by_account = dict(job.lookup(lambda chunk: select(Account.account_no, Account.client_id)
                                 .where(Account.account_no.in_(chunk)), (r.client for r in recs)))
    by_name: dict[str, list[int]] = defaultdict(list)
    for name, client_id in job.lookup(lambda chunk: select(Client.name, Client.id).where(Client.name.in_(chunk))
                                      .order_by(Client.id), (r.client for r in recs if r.client not in by_account)):
        by_name[name].append(client_id)
    accounts: dict[int, list[str]] = defaultdict(list)
    for client_id, account_no in job.lookup(
            lambda chunk: select(Account.client_id, Account.account_no).where(Account.client_id.in_(chunk))
            .order_by(Account.account_no), (cid for ids in by_name.values() if len(ids) > 1 for cid in ids)):
        accounts[client_id].append(account_no)
    seen, good = FirstSeen("client", job.origin.row_word), []
    for rec in recs:
        found = [by_account[rec.client]] if rec.client in by_account else by_name.get(rec.client, [])
        if not found:
            job.bad(rec.line, say("no_client", value=rec.client))
            continue
        if len(found) > 1:
            listed = ", ".join("/".join(accounts[cid]) or f"id {cid}" for cid in found)
            job.bad(rec.line, say("client_ambiguous", value=rec.client, count=len(found), accounts=listed))
            continue
        rec.client_id = found[0]
        if reason := seen.check((rec.client_id, rec.day), rec.line,
                                what=f"an assessment of {rec.client} on {rec.day.isoformat()}"):
            job.bad(rec.line, reason)
            continue
        good.append(rec)
    return good


def apply(job: Job, recs: list[Rec]) -> None:
    session = job.session
    # Aware datetimes compare (and hash) by the instant, whatever their zone.
    stored = {(row.client_id, row.assessed_at): row for (row,) in job.lookup(
        lambda chunk: select(SuitabilityAssessment).where(SuitabilityAssessment.client_id.in_(chunk)),
        (r.client_id for r in recs))}
    rules = job.suitability
    created = updated = 0
    for rec in job.each("writing", recs):
        at = datetime.combine(rec.day, time(0), job.tz)
        expires = datetime.combine(rec.valid_until + timedelta(days=1), time(0), job.tz)
        row = stored.get((rec.client_id, at))
        source = job.origin.source(rec.line)
        client = session.get(Client, rec.client_id)
        if row is None:
            record_result(session=session, actor=None, actor_login=job.origin.platform, client=client,
                          points=rec.score, level=rec.level, assessed_at=at, valid_until=rec.valid_until,
                          rules=rules, source=source)
            created += 1
        elif (row.score, row.level, row.expires_at) != (rec.score, rec.level, expires):
            before = {"score": row.score, "level": row.level, "expires_at": row.expires_at.isoformat()}
            row.score, row.level, row.expires_at, row.reminder_id = rec.score, rec.level, expires, None
            row.set_source(source)
            newest = session.scalar(select(SuitabilityAssessment).where(SuitabilityAssessment.client_id == client.id)
                                    .order_by(SuitabilityAssessment.assessed_at.desc(),
                                              SuitabilityAssessment.id.desc()).limit(1))
            if newest is row:
                client.risk_level = rec.level
            session.flush()
            audit.record(session=session, actor=job.origin.platform, action="suitability.correct",
                         entity="client", entity_id=client.id, source=source,
                         details={"assessment_id": row.id, "before": before, "score": rec.score,
                                  "level": rec.level, "valid_until": rec.valid_until.isoformat()})
            updated += 1
    job.report.created, job.report.updated = created, updated
    job.report.unchanged = len(recs) - created - updated
