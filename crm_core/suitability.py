"""Suitability (适当性管理): questionnaire scores -> client levels C1..C5, product risk levels
R1..R5, signed special risk warnings, and the match applied to product permission requests.

The rules come from suitability.yaml (`SuitabilityRules`, validated by pydantic). The matching
rule, from the CSRC's 证券期货投资者适当性管理办法 (2016): a client may have products up to their
own level; above it only with a signed special written risk warning; never above it for the
lowest category. Assessments and warnings are kept at least 20 years, so nothing here deletes.

For the approval flow: `check_product(session=, client=, product=, now=, rules=)` returns a
`SuitabilityCheck`; show `t(check.reason, **check.params)` and send the request on only when
`check.allowed`.
"""
from __future__ import annotations

import calendar
import re
import unicodedata
from pathlib import Path
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Literal, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, and_, exists, func, or_, select
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column, relationship

from crm_core import audit
from crm_core.base import Base, Provenance, Source, Timestamps
from crm_core.clients import RISK_LEVELS, Client
from crm_core.reminders import Reminder
from crm_core.staff import Staff
from crm_core.types import UTCDateTime

PRODUCT_LEVELS = ("R1", "R2", "R3", "R4", "R5")
LOWEST = "C1"  # the lowest category (风险承受能力最低类别)

ClientLevel = Literal["C1", "C2", "C3", "C4", "C5"]
ProductLevel = Literal["R1", "R2", "R3", "R4", "R5"]


def rank(level: str) -> int:
    """1..5 for C1..C5 and R1..R5."""
    return int(level[1:])


# -- rules (suitability.yaml) ----------------------------------------------------------------

class Label(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zh: str
    en: str | None = None


class Category(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: ProductLevel
    label: Label
    aliases: list[str] = []
    codes: list[str] = []
    all_options: bool = False
    other_futures: bool = False


@dataclass(frozen=True)
class Product:
    """What a request asked for, resolved to a category of suitability.yaml."""

    asked: str
    category: str
    level: str


# An option contract: product code, month, C or P, strike (m2601-C-3000, SR601C5000, IO2601-P-3800).
OPTION = re.compile(r"([a-z]{1,2})\d{3,4}-?[cp]-?\d+(?:\.\d+)?")
FUTURES = re.compile(r"([a-z]{1,2})\d{3,4}")  # a futures contract: rb2605, SR601
CODE = re.compile(r"[a-z]{1,2}")  # a bare product code: sc, IF


def _key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


class SuitabilityRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    validity_months: int = Field(24, ge=1, le=120)
    reminder_days: int = Field(30, ge=0, le=366)
    questionnaire: dict[str, dict[str, int]]
    bands: dict[ClientLevel, int]
    products: dict[str, Category]

    _names: dict[str, str] = PrivateAttr(default_factory=dict)
    _codes: dict[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("questionnaire")
    @classmethod
    def _questions(cls, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        if not value:
            raise ValueError("list at least one question")
        for question, options in value.items():
            if not options:
                raise ValueError(f"question {question!r} has no answers")
            if any(points < 0 for points in options.values()):
                raise ValueError(f"question {question!r}: points cannot be negative")
        return {q: {letter.upper(): p for letter, p in options.items()} for q, options in value.items()}

    @field_validator("bands")
    @classmethod
    def _bands(cls, value: dict[str, int], info: ValidationInfo) -> dict[str, int]:
        missing = [level for level in RISK_LEVELS if level not in value]
        if missing:
            raise ValueError(f"give the lowest score of every level; missing {', '.join(missing)}")
        points = [value[level] for level in RISK_LEVELS]
        if any(low >= high for low, high in zip(points, points[1:])):
            raise ValueError("scores must rise from C1 to C5")
        questions = info.data.get("questionnaire")
        if questions:
            best = sum(max(options.values()) for options in questions.values())
            if value["C5"] > best:
                raise ValueError(f"C5 starts at {value['C5']} points but the questionnaire gives at most {best}")
        return value

    @field_validator("products")
    @classmethod
    def _products(cls, value: dict[str, Category]) -> dict[str, Category]:
        for flag in ("other_futures", "all_options"):
            marked = [name for name, category in value.items() if getattr(category, flag)]
            if len(marked) != 1:
                raise ValueError(f"exactly one category needs `{flag}: true` (found {len(marked)})")
        seen_names: dict[str, str] = {}
        seen_codes: dict[str, str] = {}
        for name, category in value.items():
            for word in {_key(w) for w in (name, category.label.zh, category.label.en or "", *category.aliases) if w}:
                if seen_names.setdefault(word, name) != name:
                    raise ValueError(f"{word!r} names both {seen_names[word]} and {name}")
            for code in category.codes:
                if not CODE.fullmatch(_key(code)):
                    raise ValueError(f"{name}: product code {code!r} should be one or two letters")
                if seen_codes.setdefault(_key(code), name) != name:
                    raise ValueError(f"product code {code!r} is in both {seen_codes[_key(code)]} and {name}")
        return value

    def model_post_init(self, _context) -> None:
        for name, category in self.products.items():
            for word in (name, category.label.zh, category.label.en, *category.aliases):
                if word:
                    self._names[_key(word)] = name
            for code in category.codes:
                self._codes[_key(code)] = name

    def _flagged(self, flag: str) -> str:
        return next(name for name, category in self.products.items() if getattr(category, flag))

    def product(self, asked: str) -> Product | None:
        """The category of a category name, alias, product code or contract; None if unknown."""
        key = _key(asked)
        name = self._names.get(key)
        if name is None:
            if OPTION.fullmatch(key):
                name = self._flagged("all_options")
            elif (m := FUTURES.fullmatch(key) or CODE.fullmatch(key)) is not None:
                code = m.group(1) if m.groups() else m.group(0)
                name = self._codes.get(code) or self._flagged("other_futures")
            else:
                return None
        return Product(asked=asked.strip(), category=name, level=self.products[name].level)


def packaged_rules() -> SuitabilityRules:
    """The suitability.yaml shipped with brokerbot, for code without the bot's configuration (the
    demo dataset, an import called without rules)."""
    try:
        import brokerbot_config  # installed package (pyproject maps config/ to it)

        folder = Path(brokerbot_config.__file__).parent
    except ImportError:  # a checkout that was not installed
        folder = Path(__file__).resolve().parent.parent / "config"
    return SuitabilityRules.model_validate(yaml.safe_load((folder / "suitability.yaml").read_text(encoding="utf-8")))


class SuitabilityError(ValueError):
    """A suitability write that cannot be done; `key` and `params` are for messages.yaml."""

    def __init__(self, key: str, **params) -> None:
        super().__init__(f"{key}: {params}")
        self.key, self.params = key, params


@dataclass(frozen=True)
class Scored:
    points: int
    level: str


def score(answers: Mapping[str, str], rules: SuitabilityRules) -> Scored:
    """Total the points of the answers (question id -> answer letter) and band them into C1..C5."""
    for question, answer in answers.items():
        options = rules.questionnaire.get(question)
        if options is None or str(answer).strip().upper() not in options:
            raise SuitabilityError("suitability_answer_invalid", question=question, answer=answer)
    missing = [q for q in rules.questionnaire if q not in answers]
    if missing:
        raise SuitabilityError("suitability_answers_incomplete", questions=", ".join(missing))
    points = sum(rules.questionnaire[q][str(a).strip().upper()] for q, a in answers.items())
    return Scored(points, level_of(points, rules))


def level_of(points: int, rules: SuitabilityRules) -> str:
    """The level C1..C5 a total score falls in by the bands of suitability.yaml."""
    level = LOWEST
    for candidate in RISK_LEVELS:
        if points >= rules.bands[candidate]:
            level = candidate
    return level


def add_months(moment: datetime, months: int) -> datetime:
    """The same local time `months` later; the 31st becomes the month's last day."""
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


# -- records ---------------------------------------------------------------------------------

class SuitabilityAssessment(Timestamps, Provenance, Base):
    __tablename__ = "suitability_assessments"
    __table_args__ = (Index("ix_suitability_assessments_client_assessed", "client_id", "assessed_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    answers: Mapped[dict] = mapped_column(JSON)
    score: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(2))
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # The manager's re-assessment reminder, once queued (one per assessment).
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminders.id"))

    client: Mapped[Client] = relationship()


class SpecialRiskWarning(Timestamps, Provenance, Base):
    """A client's signed special written risk warning (特别风险警示书) for one product category."""

    __tablename__ = "special_risk_warnings"
    __table_args__ = (Index("ix_special_risk_warnings_client_category", "client_id", "category"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    category: Mapped[str] = mapped_column(String(64))
    client_level: Mapped[str | None] = mapped_column(String(2))  # at signing
    product_level: Mapped[str] = mapped_column(String(2))  # at signing
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Where the signed paper or file is, or what it says: enough to find it in 20 years.
    evidence: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


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
