"""Suitability services: recording results and warnings, the product match, expiry reminders."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Mapping

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from crm_core import audit
from crm_core.base import Source
from crm_core.clients import Client
from crm_core.reminders import Reminder
from crm_core.staff import Staff

from crm_core.suitability.models import SpecialRiskWarning, SuitabilityAssessment
from crm_core.suitability.rules import LOWEST, SuitabilityError, SuitabilityRules, add_months, level_of, rank, score


def _tz(session: Session):
    return session.info.get("tz", timezone.utc)


def record_assessment(*, session: Session, actor: Staff, client: Client, answers: Mapping[str, str],
                      rules: SuitabilityRules, assessed_at: datetime,
                      source: Source | None = None) -> SuitabilityAssessment:
    """Score a questionnaire, store it as the client's current assessment and set Client.risk_level."""
    scored = score(answers, rules)
    expires = add_months(assessed_at.astimezone(_tz(session)), rules.validity_months)
    row = SuitabilityAssessment(client_id=client.id, answers={q: str(a).strip().upper() for q, a in answers.items()},
                                score=scored.points, level=scored.level, assessed_at=assessed_at,
                                expires_at=expires, recorded_by_id=actor.id)
    row.set_source(source)
    session.add(row)
    previous, client.risk_level = client.risk_level, scored.level
    session.flush()
    audit.record(session=session, actor=actor.login, action="suitability.assess", entity="client",
                 entity_id=client.id, source=source,
                 details={"assessment_id": row.id, "score": scored.points, "level": scored.level,
                          "previous_level": previous, "expires_at": expires.isoformat()})
    return row


MAX_SCORE = 100  # a questionnaire result as SPEC section 4 gives it: 0-100 points


def default_valid_until(assessed_on: date, rules: SuitabilityRules) -> date:
    """The last day an assessment made on `assessed_on` is valid: that date plus the validity."""
    return add_months(datetime.combine(assessed_on, time(0)), rules.validity_months).date()


def last_valid_day(assessment: SuitabilityAssessment, tz) -> date:
    """The last day on which the assessment is valid (expires_at is the first moment it is not)."""
    return (assessment.expires_at.astimezone(tz) - timedelta(microseconds=1)).date()


def check_result(*, points: int, level: str | None, rules: SuitabilityRules) -> str:
    """The level of a questionnaire result given as points (and perhaps a level): the level the
    bands give the points; SuitabilityError when the points are out of range or the given level
    is not that one."""
    if not 0 <= points <= MAX_SCORE:
        raise SuitabilityError("suitability_score_invalid", score=points, max=MAX_SCORE)
    derived = level_of(points, rules)
    if level is not None and level != derived:
        raise SuitabilityError("suitability_level_mismatch", score=points, level=level, expected=derived)
    return derived


def record_result(*, session: Session, actor: Staff | None, client: Client, points: int,
                  level: str | None, assessed_at: datetime, rules: SuitabilityRules,
                  valid_until: date | None = None, source: Source | None = None,
                  actor_login: str | None = None) -> SuitabilityAssessment:
    """Store a questionnaire's result given as a score (a level too, when known: it must agree with
    the score) rather than its answers, e.g. from a paper form or another system. The assessment is
    valid through `valid_until` (default: the assessment's date plus the validity). The client's
    level becomes the new level when this is the client's newest assessment. Audited."""
    tz = _tz(session)
    level = check_result(points=points, level=level, rules=rules)
    assessed_on = assessed_at.astimezone(tz).date()
    valid_until = valid_until or default_valid_until(assessed_on, rules)
    if valid_until < assessed_on:
        raise SuitabilityError("suitability_valid_until_before", valid_until=valid_until.isoformat(),
                               date=assessed_on.isoformat())
    newest = session.scalar(select(func.max(SuitabilityAssessment.assessed_at))
                            .where(SuitabilityAssessment.client_id == client.id))
    expires = datetime.combine(valid_until + timedelta(days=1), time(0), tz)
    row = SuitabilityAssessment(client_id=client.id, answers={}, score=points, level=level,
                                assessed_at=assessed_at, expires_at=expires,
                                recorded_by_id=actor.id if actor else None)
    row.set_source(source)
    session.add(row)
    previous = client.risk_level
    if newest is None or assessed_at >= newest:
        client.risk_level = level
    session.flush()
    audit.record(session=session, actor=actor.login if actor else (actor_login or "system"),
                 action="suitability.assess", entity="client", entity_id=client.id, source=source,
                 details={"assessment_id": row.id, "score": points, "level": level,
                          "previous_level": previous, "assessed_at": assessed_at.isoformat(),
                          "valid_until": valid_until.isoformat()})
    return row


def record_special_warning(*, session: Session, actor: Staff, client: Client, product: str,
                           signed_at: datetime, evidence: str, rules: SuitabilityRules,
                           source: Source | None = None) -> SpecialRiskWarning:
    """Record that the client signed a special risk warning for the product's category."""
    found = rules.product(product)
    if found is None:
        raise SuitabilityError("suitability_unknown_product", product=product)
    if not evidence or not evidence.strip():
        raise SuitabilityError("suitability_warning_needs_evidence")
    current = current_assessment(session=session, client=client, now=signed_at)
    row = SpecialRiskWarning(client_id=client.id, category=found.category, product_level=found.level,
                             client_level=current.level if current else client.risk_level,
                             signed_at=signed_at, evidence=evidence.strip(), recorded_by_id=actor.id)
    row.set_source(source)
    session.add(row)
    session.flush()
    audit.record(session=session, actor=actor.login, action="suitability.special_warning", entity="client",
                 entity_id=client.id, source=source,
                 details={"warning_id": row.id, "category": found.category, "product_level": found.level,
                          "client_level": row.client_level, "signed_at": signed_at.isoformat()})
    return row


def current_assessment(*, session: Session, client: Client, now: datetime) -> SuitabilityAssessment | None:
    """The client's latest assessment made by `now` (expired or not)."""
    return session.scalar(
        select(SuitabilityAssessment)
        .where(SuitabilityAssessment.client_id == client.id, SuitabilityAssessment.assessed_at <= now)
        .order_by(SuitabilityAssessment.assessed_at.desc(), SuitabilityAssessment.id.desc()).limit(1))


# -- the match -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SuitabilityCheck:
    allowed: bool
    reason: str  # a key of messages.yaml
    params: dict = field(default_factory=dict)  # its placeholders
    client_level: str | None = None
    product_level: str | None = None
    needs_warning: bool = False  # blocked, but a signed special risk warning would allow it
    category: str | None = None
    assessment_id: int | None = None
    warning_id: int | None = None


def check_product(*, session: Session, client: Client, product: str, now: datetime,
                  rules: SuitabilityRules) -> SuitabilityCheck:
    """May this client be given this product (a category, product code or contract) now?"""
    tz = _tz(session)
    params = {"client": client.name, "product": product.strip()}
    found = rules.product(product)
    if found is None:
        return SuitabilityCheck(False, "suitability_unknown_product", params, client.risk_level)
    assessment = current_assessment(session=session, client=client, now=now)
    base = dict(client_level=assessment.level if assessment else client.risk_level,
                product_level=found.level, category=found.category,
                assessment_id=assessment.id if assessment else None)
    params |= {"client_level": base["client_level"], "product_level": found.level}
    if assessment is None:
        reason = "suitability_undated_level" if client.risk_level else "suitability_no_assessment"
        return SuitabilityCheck(False, reason, params, **base)
    if assessment.expires_at <= now:
        return SuitabilityCheck(False, "suitability_expired",
                                params | {"expired": assessment.expires_at.astimezone(tz).date().isoformat()}, **base)
    # The assessment is the evidence: Client.risk_level may since have been overwritten by an import.
    if rank(found.level) <= rank(assessment.level):
        return SuitabilityCheck(True, "suitability_ok", params, **base)
    if assessment.level == LOWEST:
        return SuitabilityCheck(False, "suitability_lowest_category", params, **base)
    warning = session.scalar(
        select(SpecialRiskWarning)
        .where(SpecialRiskWarning.client_id == client.id, SpecialRiskWarning.category == found.category,
               SpecialRiskWarning.signed_at >= assessment.assessed_at, SpecialRiskWarning.signed_at <= now)
        .order_by(SpecialRiskWarning.signed_at.desc()).limit(1))
    if warning is not None:
        signed = warning.signed_at.astimezone(tz).date().isoformat()
        return SuitabilityCheck(True, "suitability_ok_with_warning", params | {"signed": signed},
                                warning_id=warning.id, **base)
    return SuitabilityCheck(False, "suitability_above_level", params, needs_warning=True, **base)


# -- expiry ----------------------------------------------------------------------------------

def _expiring(now: datetime, within: timedelta):
    a, newer = SuitabilityAssessment, aliased(SuitabilityAssessment)
    superseded = exists().where(newer.client_id == a.client_id, newer.assessed_at <= now,
                                or_(newer.assessed_at > a.assessed_at,
                                    and_(newer.assessed_at == a.assessed_at, newer.id > a.id)))
    return (select(a).where(a.assessed_at <= now, a.expires_at <= now + within, ~superseded)
            .order_by(a.expires_at, a.id))


def expiring(*, session: Session, now: datetime, within: timedelta) -> list[SuitabilityAssessment]:
    """Clients' current assessments that end within `within` of now (or have already ended)."""
    return list(session.scalars(_expiring(now, within)))


def queue_expiry_reminders(*, session: Session, now: datetime, rules: SuitabilityRules,
                           text: Callable[..., str]) -> list[Reminder]:
    """Remind each expiring assessment's client manager once, due now. `text(key, **params)`
    renders a messages.yaml entry (the bot passes its Messages.t)."""
    stmt = (_expiring(now, timedelta(days=rules.reminder_days))
            .where(SuitabilityAssessment.reminder_id.is_(None)).with_for_update(skip_locked=True))
    queued = []
    for assessment in session.scalars(stmt).all():
        manager = assessment.client.manager
        if manager is None or not manager.active:
            continue
        expires = last_valid_day(assessment, _tz(session)).isoformat()
        reminder = Reminder(staff_id=manager.id, client_id=assessment.client_id, due_at=now,
                            content=text("suitability_expiry_reminder", client=assessment.client.name,
                                         level=assessment.level, expires=expires))
        reminder.set_source(Source(platform="system"))
        session.add(reminder)
        session.flush()
        assessment.reminder_id = reminder.id
        audit.record(session=session, actor="system", action="reminder.create", entity="reminder",
                     entity_id=reminder.id,
                     details={"due_at": now.isoformat(), "staff": manager.login,
                              "purpose": "suitability_expiry", "assessment_id": assessment.id})
        queued.append(reminder)
    session.flush()
    return queued
