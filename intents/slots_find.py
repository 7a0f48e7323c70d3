"""find_clients filters from a message: 风险度超过80% -> risk_above 80, 一个月没联系 ->
no_contact_days 30, 可用低于10万 -> available_below 100000, 风险最高的5个 -> top 5, ..."""
from __future__ import annotations

import re

from intents.lexicon import lexicon
from intents.numbers import (
    AMOUNT,
    NUMBER,
    SPAN,
    amount,
    as_json_number,
    number,
    span_days,
)

N = rf"(?P<n>{NUMBER})"
G = rf"({NUMBER})"
TOP = re.compile(rf"风险度?(?:最高|最大)的?\s*{G}|风险度?(?:排名|排行)?前\s*{G}|top\s*{G}|{G}\s*(?:riskiest|clients? by risk)")
TOP_DEFAULT = re.compile(r"风险度?(?:最高|最大)的(?:客户|几个)|riskiest clients|highest risk")
RISK = re.compile(rf"(?:风险度|风险率|风险|risk(?: degree)?)\s*(?:都)?(?:超过了?|高于|大于|超|在|达到|above|over|>=?|≥|at least)?\s*"
                  rf"(?:百分之)?{N}\s*(?:%|以上|及以上|percent)?")
# 交易所风险度 (exchange margin / equity), read before the client risk degree it contains.
EXCHANGE_RISK = re.compile(rf"(?:交易所(?:的)?风险度?|交易所风险率|exchange risk(?: degree)?)\s*(?:都)?(?:超过了?|高于|大于|超|在|达到|above|over|>=?|≥|at least)?\s*"
                           rf"(?:百分之)?{N}\s*(?:%|以上|及以上|percent)?")
MARGIN_CALL = re.compile(r"追保的客户|要追保|需要追保|追保客户|margin call")
AVAILABLE = re.compile(r"(?:可用资金|可用|available(?: funds)?)\s*(?:低于|少于|小于|不足|不到|below|under|less than|<)\s*")
AVAILABLE_NEGATIVE = re.compile(r"可用(?:资金)?(?:为负|是负|小于0|negative)|negative available")
SPAN_THEN = rf"(?P<span>{SPAN.pattern})(?:都|以上|多|内)?\s*"
NO_CONTACT = re.compile(SPAN_THEN + r"(?:没有?|未|没)(?:有)?(?:联系|跟进|沟通|拜访|回访|联络)")
NO_CONTACT_EN = re.compile(r"(?:not (?:been )?contacted|no contact|haven'?t (?:been )?contacted)\D{0,12}?(?P<n>\d+)\s*(?P<unit>days?|weeks?|months?)")
NO_TRADE = re.compile(SPAN_THEN + r"(?:没有?|未|没)(?:有)?(?:交易|成交|下单|开仓|动过?)")
NO_TRADE_EN = re.compile(r"(?:no trades?|not traded|no trading)\D{0,12}?(?P<n>\d+)\s*(?P<unit>days?|weeks?|months?)")
LEVEL = re.compile(r"(?<![a-z0-9])c([1-5])(?!\d)")
BIRTHDAY = re.compile(r"生日|birthday")
BIRTHDAY_WHEN = (("today", r"今天|today"), ("this_week", r"本周|这周|这个星期|this week"),
                 ("next_month", r"下个?月|next month"))
OPENED = re.compile(r"(?:(?:最近|近|过去)?\s*" + SPAN_THEN + r"(?:内|以内)?\s*|本月|这个月|最近)?新?开户的|新开户的?客户|"
                    r"(?:opened|new accounts?)\D{0,12}?(?:last|past)\s*(?P<en>\d+)\s*(?P<enunit>days?|weeks?|months?)")
EN_UNITS = {"day": 1, "week": 7, "month": 30}


def _en_days(n: str, unit: str) -> int:
    return int(n) * EN_UNITS[unit.rstrip("s")]


def _span(m: re.Match) -> int | None:
    inner = SPAN.match(m.group("span")) if m.group("span") else None
    return span_days(inner) if inner else None


def filters(masked: str, tags: set[str]) -> dict[str, object]:
    """Every filter named in the normalised message (client names masked)."""
    found: dict[str, object] = {}
    rest = masked
    m = TOP.search(rest)
    if m:
        found["top"] = int(number(next(g for g in m.groups() if g)))
        rest = rest[:m.start()] + " " * (m.end() - m.start()) + rest[m.end():]
    elif TOP_DEFAULT.search(rest):
        found["top"] = 10
    m = EXCHANGE_RISK.search(rest)
    if m:
        found["exchange_risk_above"] = as_json_number(number(m.group("n")))
        rest = rest[:m.start()] + " " * (m.end() - m.start()) + rest[m.end():]
    m = RISK.search(rest)
    if m:
        found["risk_above"] = as_json_number(number(m.group("n")))
    elif MARGIN_CALL.search(rest):
        found["risk_above"] = 100
    m = AVAILABLE.search(rest)
    if m:
        money = AMOUNT.match(rest, m.end())
        if money:
            found["available_below"] = amount(money)
    elif AVAILABLE_NEGATIVE.search(rest):
        found["available_below"] = 0
    for key, cn, en in (("no_contact_days", NO_CONTACT, NO_CONTACT_EN), ("no_trade_days", NO_TRADE, NO_TRADE_EN)):
        m = cn.search(rest)
        days = _span(m) if m else None
        if days is None:
            m = en.search(rest)
            days = _en_days(m.group("n"), m.group("unit")) if m else None
        if days:
            found[key] = days
    tag = next((t for t in sorted(tags | set(lexicon().tags), key=len, reverse=True) if t.lower() in rest), None)
    if tag:
        found["tag"] = tag
    m = LEVEL.search(rest)
    if m:
        found["risk_level"] = "C" + m.group(1)
    if BIRTHDAY.search(rest):
        found["birthday"] = next((v for v, p in BIRTHDAY_WHEN if re.search(p, rest)), "this_month")
    m = OPENED.search(rest)
    if m:
        days = _en_days(m.group("en"), m.group("enunit")) if m.group("en") else _span(m)
        found["opened_within_days"] = days or 30
    return found
