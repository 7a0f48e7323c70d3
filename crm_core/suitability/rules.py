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
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator

from crm_core.clients import RISK_LEVELS

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


