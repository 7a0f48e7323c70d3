"""Numbers as account managers write them: 80, 八十, 百分之八十, 10万, 2w, 100k, 1.5万,
and spans of time: 一个月 -> 30 days, 两周 -> 14, 半年 -> 180."""
from __future__ import annotations

import re

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
             "七": 7, "八": 8, "九": 9}
CN_NUM = r"[零〇一二两三四五六七八九十百]+"
NUMBER = rf"(?:\d+(?:\.\d+)?|{CN_NUM})"
UNITS = {"万": 10_000, "w": 10_000, "k": 1_000, "千": 1_000, "百万": 1_000_000, "亿": 100_000_000,
         "m": 1_000_000, "元": 1, "块": 1, "块钱": 1}
AMOUNT = re.compile(rf"(?P<n>\d+(?:\.\d+)?e[+-]?\d+|{NUMBER})\s*(?P<unit>百万|万|千|亿|块钱|块|元|w|k|m)?(?![a-z])")
DAY_UNITS = {"天": 1, "日": 1, "周": 7, "星期": 7, "礼拜": 7, "个月": 30, "月": 30, "年": 365,
             "day": 1, "days": 1, "week": 7, "weeks": 7, "month": 30, "months": 30, "year": 365,
             "years": 365}
SPAN = re.compile(rf"(?P<half>半)?(?P<n>{NUMBER}|半)?\s*(?:个)?(?P<unit>个月|星期|礼拜|天|日|周|月|年|days?|weeks?|months?|years?)")


def cn_number(text: str) -> int:
    """A whole number in digits or Chinese numerals: 12, 十二, 二十, 一百, 三."""
    if text.isdigit():
        return int(text)
    if "百" in text:
        hundreds, _, rest = text.partition("百")
        return (CN_DIGITS.get(hundreds, 1) if hundreds else 1) * 100 + (cn_number(rest) if rest else 0)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (CN_DIGITS.get(ones, 0) if ones else 0)
    value = 0
    for ch in text:
        value = value * 10 + CN_DIGITS[ch]
    return value


BIG = 1e18  # beyond any sum, count or percentage a question means; keeps what is computed finite


def number(text: str) -> float:
    """At most BIG: 10^400 would be float infinity, and 400 Chinese digits no float at all."""
    try:
        value = float(text)
    except ValueError:
        try:
            value = float(cn_number(text))
        except OverflowError:
            value = BIG
    return min(value, BIG)


def as_json_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def amount(match: re.Match) -> int | float:
    """An AMOUNT match in yuan."""
    return as_json_number(number(match.group("n")) * UNITS.get(match.group("unit") or "", 1))


def span_days(match: re.Match) -> int | None:
    """A SPAN match in days: 一个月 30, 两周 14, 半年 182 -> 180, 3天 3."""
    unit = DAY_UNITS[match.group("unit")]
    raw = match.group("n")
    if raw == "半" or (match.group("half") and not raw):
        return {7: 3, 30: 15, 365: 180}.get(unit)
    n = number(raw) if raw else 1
    days = n * unit
    if match.group("half"):
        days += unit / 2
    return int(days)
