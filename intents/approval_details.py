"""The figure an approval request is about, read from what the requester wrote: the fee multiple
("1.2倍", "1.2x"), the product ("原油", "sc", "期权", "m2601-C-3000"), the new manager (a staff
name or login) or the new margin ratio ("15%", "百分之十五")."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.staff import Role, Staff
from crm_core.suitability import SuitabilityRules
from intents.numbers import CN_NUM, cn_number

MULTIPLE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:倍|x|×|times)(?![a-z])", re.I)
PERCENT = re.compile(rf"(\d+(?:\.\d+)?)\s*[%％]|百分之\s*(\d+(?:\.\d+)?|{CN_NUM})")
CONTRACT = re.compile(r"(?<![a-z])[a-z]{1,2}\d{3,4}(?:-?[cp]-?\d+(?:\.\d+)?)?(?![a-z\d])", re.I)
TAKES_CLIENTS = (Role.manager, Role.supervisor)


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def fee_multiple(text: str) -> Decimal | None:
    """1.2 from "按交易所1.2倍" or "1.2x"."""
    m = MULTIPLE.search(text)
    return _decimal(m.group(1)) if m else None


def margin_ratio(text: str) -> Decimal | None:
    """0.15 from "15%" or "百分之十五"."""
    m = PERCENT.search(text)
    if m is None:
        return None
    raw = m.group(1) or m.group(2)
    value = _decimal(raw) if raw[0].isdigit() else Decimal(cn_number(raw))
    return None if value is None else value / 100


def product(text: str, rules: SuitabilityRules) -> str | None:
    """The product as written, for crm_core.suitability.check_product: the longest category name
    or alias found in the text, else a product code of suitability.yaml or a contract."""
    lowered = text.casefold()
    best = None
    for name, category in rules.products.items():
        for word in (name, category.label.zh, category.label.en, *category.aliases):
            if not word:
                continue
            key = word.casefold()
            if key.isascii():
                found = re.search(rf"(?<![a-z]){re.escape(key)}(?![a-z])", lowered)
            else:
                found = key in lowered
            if found and (best is None or len(word) > len(best)):
                best = word
    if best is not None:
        return best
    codes = {code.casefold() for category in rules.products.values() for code in category.codes}
    for token in re.findall(r"(?<![a-z])[a-z]{1,2}(?![a-z])", lowered):
        if token in codes:
            return token
    m = CONTRACT.search(text)
    return m.group(0) if m else None


def named_staff(*, session: Session, text: str) -> list[Staff]:
    """Active managers and supervisors named (by name or login) in the text, longest names first."""
    lowered = text.casefold()
    people = session.scalars(select(Staff).where(Staff.active.is_(True), Staff.role.in_(TAKES_CLIENTS))
                             .order_by(Staff.id)).all()
    named = []
    for person in people:
        login = person.login.casefold()
        by_login = re.search(rf"(?<![a-z0-9_.]){re.escape(login)}(?![a-z0-9_.])", lowered)
        if (len(person.name) >= 2 and person.name.casefold() in lowered) or by_login:
            named.append(person)
    # "刘洋洋" names 刘洋洋, not also 刘洋.
    return [p for p in named if not any(o is not p and p.name in o.name and o.name in text for o in named)]
