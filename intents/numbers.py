"""Numbers as account managers write them: 80, 八十, 百分之八十, 10万, 2w, 100k, 1.5万, 3万5,
一千二百万, 一百二 (120: a trailing digit after a unit is the next unit down), 两千五,
and spans of time: 一个月 -> 30 days, 两周 -> 14, 半年 -> 180, 一个半月 -> 45, 两周半 -> 17.

Chinese numerals are read by cn2an, one numeral span at a time (the regexes below find the span;
cn2an never sees a sentence, whose other words it would turn into digits)."""
from __future__ import annotations

import re
from functools import lru_cache

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
             "七": 7, "八": 8, "九": 9}
# A Chinese numeral up to the hundreds (counts, percentages, days, hours): starts with a digit or
# 十, so 百分之 and 千万 (the adverb "by all means") are not numbers.
CN_NUM = r"[零〇一二两三四五六七八九十][零〇一二两三四五六七八九十百]*"
NUMBER = rf"(?:\d+(?:\.\d+)?|{CN_NUM})"
# A sum of money as written, units inside: 一千二百万, 三万五, 3万5, 1.5万, 12万3千, 5百万, 10万.
MONEY = r"(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九十])(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万亿])*"
UNITS = {"w": 10_000, "k": 1_000, "m": 1_000_000, "元": 1, "块": 1, "块钱": 1}
AMOUNT = re.compile(rf"(?P<n>\d+(?:\.\d+)?e[+-]?\d+|{MONEY})\s*(?P<unit>块钱|块|元|w|k|m)?(?![a-z])")
DAY_UNITS = {"天": 1, "日": 1, "周": 7, "星期": 7, "礼拜": 7, "个月": 30, "月": 30, "年": 365,
             "day": 1, "days": 1, "week": 7, "weeks": 7, "month": 30, "months": 30, "year": 365,
             "years": 365}
# Half of a unit in whole days: 半周 3 (so 两周半 is 17, not 17.5), 半个月 15, 半年 180; 半天 is no day.
HALF_DAYS = {1: 0, 7: 3, 30: 15, 365: 180}
SPAN = re.compile(rf"(?:(?P<n>{NUMBER})\s*(?:个)?(?P<plus>半)?|(?P<half>半)(?:个)?)?\s*"
                  r"(?P<unit>个月|星期|礼拜|天|日|周|月|年|days?|weeks?|months?|years?)(?P<tail>半(?![天日周月年]))?")


def _plain(text: str) -> int:
    """The old reading, for what cn2an refuses: 十二, 一百零五, and digit runs (一二三 -> 123)."""
    if "百" in text:
        hundreds, _, rest = text.partition("百")
        return (CN_DIGITS.get(hundreds, 1) if hundreds else 1) * 100 + (_plain(rest) if rest else 0)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (CN_DIGITS.get(ones, 0) if ones else 0)
    value = 0
    for ch in text:
        value = value * 10 + CN_DIGITS[ch]
    return value


@lru_cache(maxsize=4096)
def _cn2an(text: str) -> int | float | None:
    """cn2an's reading of one numeral span ("smart": digits and Chinese mixed), None if refused."""
    import cn2an  # 0.2 s to import: only when a Chinese numeral is first read

    try:
        return cn2an.cn2an(text, "smart")
    except (ValueError, KeyError, IndexError, OverflowError):
        return None


def cn_number(text: str) -> int:
    """A whole number in digits or Chinese numerals: 12, 十二, 二十, 一百, 一百二 (120), 三."""
    if text.isdigit():
        return int(text)
    value = _cn2an(text)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return _plain(text)


BIG = 1e18  # beyond any sum, count or percentage a question means; keeps what is computed finite


def number(text: str) -> float:
    """At most BIG: 10^400 would be float infinity, and 400 Chinese digits no float at all."""
    try:
        value = float(text)
    except ValueError:
        value = _cn2an(text) if len(text) <= 40 else None
        try:
            value = float(value if value is not None else _plain(text))
        except (OverflowError, KeyError):
            value = BIG
    return min(value, BIG)


def as_json_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def amount(match: re.Match) -> int | float:
    """An AMOUNT match in yuan."""
    return as_json_number(number(match.group("n")) * UNITS.get(match.group("unit") or "", 1))


def span_days(match: re.Match) -> int | None:
    """A SPAN match in whole days: 一个月 30, 两周 14, 半年 180, 3天 3, 一个半月 45, 两周半 17."""
    unit = DAY_UNITS[match.group("unit")]
    raw = match.group("n")
    if not raw:
        return HALF_DAYS.get(unit) if match.group("half") else unit
    days = number(raw) * unit
    if match.group("plus") or match.group("tail"):
        days += HALF_DAYS.get(unit, 0)
    return int(days)
