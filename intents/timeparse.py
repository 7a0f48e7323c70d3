"""Time expressions in Chinese and English, relative to `now` in the business time zone.

A date alone ("下周二", "tomorrow") stays a date: `date_only` is set and `iso()` prints
YYYY-MM-DD. A part of the day without a clock time ("今天下午") is also a date alone.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
             "七": 7, "八": 8, "九": 9}
WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5,
            "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
EN_WEEKDAYS = {name: i for i, name in enumerate(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])}
EN_WEEKDAYS.update({name[:3]: i for name, i in list(EN_WEEKDAYS.items())})
RELATIVE_DAYS = {"大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "今天": 0, "今日": 0, "明天": 1,
                 "明日": 1, "后天": 2, "大后天": 3, "今早": 0, "今晚": 0, "明早": 1, "明晚": 1,
                 "昨晚": -1}
PARTS = {"凌晨": "night", "早上": "am", "早晨": "am", "上午": "am", "中午": "noon", "下午": "pm",
         "傍晚": "pm", "晚上": "eve", "今早": "am", "明早": "am", "今晚": "eve", "明晚": "eve", "昨晚": "eve"}

NUM = r"(?:\d{1,2}|[零〇一二两三四五六七八九十]{1,3})"
DATE_CN = (
    r"(?P<rel>大前天|大后天|前天|昨天|昨日|今天|今日|明天|明日|后天|今早|今晚|明早|明晚|昨晚)"
    r"|(?P<wkpre>这|本|下下|下|上)?个?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天末1-7])"
    r"|(?P<ymd>\d{4})[-/年](?P<ymd_m>\d{1,2})[-/月](?P<ymd_d>\d{1,2})[日号]?"
    r"|(?P<mrel>下个?月|本月|这个?月)?(?P<month>" + NUM + r")月(?P<mday>" + NUM + r")[日号]?"
    r"|(?P<mrel2>下个?月|本月|这个?月)(?P<mday2>" + NUM + r")[日号]"
    r"|(?P<mday3>" + NUM + r")[号]"
    r"|(?P<slash_m>\d{1,2})/(?P<slash_d>\d{1,2})"
    r"|(?P<mend>下个?月|本月|这个?月)?(?P<edge>月底|月初|月中)"
    r"|(?P<ndays>" + NUM + r")(?:天|日)(?P<dir>后|以后|之后|前|以前|之前)"
)
PART_CN = r"(?P<part>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上)"
CLOCK_CN = (r"(?P<hour>" + NUM + r")(?:点|时)(?:(?P<half>半)|(?P<minute>" + NUM + r")分?|整)?"
            r"|(?P<hh>\d{1,2})[:：](?P<mm>\d{2})")
CN_RE = re.compile(rf"(?:{DATE_CN})?\s*{PART_CN}?\s*(?:{CLOCK_CN})?")

EN_RE = re.compile(
    r"\b(?:(?P<rel>today|tomorrow|yesterday|tonight)"
    r"|(?P<wkpre>next|this|last|on)\s+(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun)"
    r"|in\s+(?P<inn>\d+)\s+days?|(?P<ago>\d+)\s+days?\s+ago)?"
    r"(?:\s*(?:at\s+)?(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.))?\b",
    re.IGNORECASE)


@dataclass(frozen=True)
class TimeExpr:
    start: int
    end: int
    value: datetime
    date_only: bool

    def iso(self) -> str:
        return self.value.date().isoformat() if self.date_only else self.value.isoformat()


def cn_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (CN_DIGITS.get(ones, 0) if ones else 0)
    value = 0
    for ch in text:
        value = value * 10 + CN_DIGITS[ch]
    return value


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _cn_date(m: re.Match, today: date, prefer: str | None) -> date | None:
    g = m.groupdict()
    if g["rel"]:
        return today + timedelta(days=RELATIVE_DAYS[g["rel"]])
    if g["wd"]:
        monday = today - timedelta(days=today.weekday())
        weeks = {"下": 1, "下下": 2, "上": -1}.get(g["wkpre"] or "", 0)
        day = monday + timedelta(weeks=weeks, days=WEEKDAYS[g["wd"]])
        if not g["wkpre"]:
            if prefer == "future" and day < today:
                day += timedelta(weeks=1)
            elif prefer == "past" and day > today:
                day -= timedelta(weeks=1)
        return day
    if g["ymd"]:
        return _safe_date(int(g["ymd"]), int(g["ymd_m"]), int(g["ymd_d"]))
    if g["month"]:
        month, mday = cn_number(g["month"]), cn_number(g["mday"])
        day = _safe_date(today.year, month, mday)
        if day and prefer == "future" and day < today - timedelta(days=31):
            day = _safe_date(today.year + 1, month, mday)
        return day
    if g["mday2"] or g["mday3"]:
        base = _add_months(today.replace(day=1), 1) if (g["mrel2"] or "").startswith("下") else today.replace(day=1)
        mday = cn_number(g["mday2"] or g["mday3"])
        day = _safe_date(base.year, base.month, mday)
        if day and g["mday3"] and prefer == "future" and day < today:
            nxt = _add_months(base, 1)
            day = _safe_date(nxt.year, nxt.month, mday)
        return day
    if g["slash_m"]:
        return _safe_date(today.year, int(g["slash_m"]), int(g["slash_d"]))
    if g["edge"]:
        base = _add_months(today.replace(day=1), 1) if (g["mend"] or "").startswith("下") else today.replace(day=1)
        if g["edge"] == "月底":
            return base.replace(day=calendar.monthrange(base.year, base.month)[1])
        return base.replace(day=15 if g["edge"] == "月中" else 1)
    if g["ndays"]:
        n = cn_number(g["ndays"])
        return today + timedelta(days=n if g["dir"] in ("后", "以后", "之后") else -n)
    return None


def _hour(hour: int, part: str | None) -> int:
    if part in ("pm", "eve") and hour < 12:
        return hour + 12
    if part == "noon" and hour < 6:
        return hour + 12
    if part is None and 1 <= hour <= 6:  # "三点" in office talk is 15:00
        return hour + 12
    return hour


def parse_times(text: str, now: datetime, prefer: str | None = None) -> list[TimeExpr]:
    """Every time expression in `text`, in order. `now` must be aware (business time zone)."""
    today, tz = now.date(), now.tzinfo
    found: list[TimeExpr] = []
    for m in CN_RE.finditer(text):
        if m.end() == m.start():
            continue
        g = m.groupdict()
        has_date = any(g[k] for k in ("rel", "wd", "ymd", "month", "mday2", "mday3", "slash_m", "edge", "ndays"))
        has_clock = bool(g["hour"] or g["hh"])
        if not has_date and not has_clock and not g["part"]:
            continue
        day = _cn_date(m, today, prefer) if has_date else today
        if day is None:
            continue
        part = PARTS.get(g["part"] or "") or PARTS.get(g["rel"] or "")
        if has_clock:
            if g["hh"]:
                hour, minute = int(g["hh"]), int(g["mm"])
            else:
                hour = cn_number(g["hour"])
                minute = 30 if g["half"] else (cn_number(g["minute"]) if g["minute"] else 0)
            hour = _hour(hour, part)
            if hour > 23 or minute > 59:
                continue
            if not has_date and prefer == "future" and datetime.combine(today, time(hour, minute), tz) < now:
                day = today + timedelta(days=1)
            found.append(TimeExpr(m.start(), m.end(), datetime.combine(day, time(hour, minute), tz), False))
        else:
            found.append(TimeExpr(m.start(), m.end(), datetime.combine(day, time(12, 0), tz), True))
    for m in EN_RE.finditer(text):
        if m.end() == m.start() or not m.group(0).strip():
            continue
        g = m.groupdict()
        day = today
        has_date = True
        if g["rel"]:
            day = today + timedelta(days={"today": 0, "tonight": 0, "tomorrow": 1, "yesterday": -1}[g["rel"].lower()])
        elif g["wd"]:
            target = EN_WEEKDAYS[g["wd"].lower()]
            monday = today - timedelta(days=today.weekday())
            pre = g["wkpre"].lower()
            day = monday + timedelta(weeks={"next": 1, "last": -1}.get(pre, 0), days=target)
            if pre == "on" and day < today and prefer != "past":
                day += timedelta(weeks=1)
        elif g["inn"]:
            day = today + timedelta(days=int(g["inn"]))
        elif g["ago"]:
            day = today - timedelta(days=int(g["ago"]))
        else:
            has_date = False
        if g["hour"]:
            hour, minute = int(g["hour"]), int(g["minute"] or 0)
            if g["ampm"].lower().startswith("p") and hour < 12:
                hour += 12
            elif g["ampm"].lower().startswith("a") and hour == 12:
                hour = 0
            if hour > 23 or minute > 59:
                continue
            found.append(TimeExpr(m.start(), m.end(), datetime.combine(day, time(hour, minute), tz), False))
        elif has_date:
            found.append(TimeExpr(m.start(), m.end(), datetime.combine(day, time(12, 0), tz), True))
    found.sort(key=lambda t: t.start)
    return found
